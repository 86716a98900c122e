"""Tabular and record files: CSV, JSON and JSON Lines (one section per record) and Excel .xlsx (openpyxl: one
section per sheet, its rows rendered as CSV records are).

A record's text is its column or key named text, content or body (first found, any case); without one,
its string fields are joined as "key: value" lines. A title or heading field becomes the section heading.
"""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path

from . import LoaderError, Section, loader, read_text, zip_document

TEXT_KEYS = ("text", "content", "body")
TITLE_KEYS = ("title", "heading")


def _title_and_text(record: dict) -> tuple[str, str, bool]:
    """A record's title, its text ("" if none) and whether that text is its text column."""
    fields = {str(k).strip().lower(): v for k, v in record.items()}
    title = next((fields[k].strip() for k in TITLE_KEYS if isinstance(fields.get(k), str)), "")
    for key in TEXT_KEYS:
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return title, value.strip(), True
    joined = "\n".join(f"{k}: {v.strip()}" for k, v in record.items() if isinstance(v, str) and v.strip())
    return title, joined, False


def record_section(record: dict) -> Section | None:
    title, text, _ = _title_and_text(record)
    return Section(text, heading=title) if text else None


def record_block(record: dict) -> str:
    """A record as one block of a longer text: as record_section renders it, with its title on the first line
    when the text column leaves it out."""
    title, text, from_text_column = _title_and_text(record)
    return f"{title}\n{text}" if text and title and from_text_column else text


def table_records(rows) -> list[dict]:
    """Rows of cells (the first non-blank row the header) as records, by csv.DictReader's rules: blank rows are
    skipped, missing cells are "", surplus cells are joined under "extra"."""
    rows = (row for row in rows if any(cell.strip() for cell in row))
    header = next(rows, None)
    if header is None:
        return []
    records = []
    for row in rows:
        record = dict(zip(header, row))
        record.update({key: "" for key in header[len(row):] if key not in record})
        if len(row) > len(header):
            record["extra"] = " ".join(row[len(header):])
        records.append(record)
    return records


def sheet_section(name: str, rows) -> Section:
    """A sheet of a spreadsheet as one section headed by its name: its rows as records, one block each."""
    blocks = (record_block(record) for record in table_records(rows))
    return Section("\n\n".join(block for block in blocks if block), heading=name)


def records_to_sections(records) -> list[Section]:
    sections = []
    for record in records:
        if isinstance(record, str) and record.strip():
            sections.append(Section(record.strip()))
        elif isinstance(record, dict) and (section := record_section(record)):
            sections.append(section)
    return sections


@loader(".csv", ".tsv")
def load_csv(path: Path) -> list[Section]:
    text = read_text(path)
    sample = text[:8192]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t|")
    except csv.Error:
        dialect = csv.excel_tab if path.suffix.lower() == ".tsv" else csv.excel
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), dialect=dialect))
    except csv.Error as exc:
        raise LoaderError(f"not a valid CSV file ({exc})") from None
    return records_to_sections(table_records(rows))


@loader(".xlsx", ".xlsm")
def load_xlsx(path: Path) -> list[Section]:
    """One section per worksheet; formulas give the value Excel last computed (none if it never did)."""
    from openpyxl import load_workbook

    fix = "open it in Excel or LibreOffice Calc and save it again as .xlsx, or export its sheets as .csv"
    with zip_document(path, fix):
        book = load_workbook(path, read_only=True, data_only=True)  # read_only: rows stream from the zip
        try:
            sections = []
            for sheet in book.worksheets:
                sheet.reset_dimensions()  # rows as stored, not padded to the size the file declares
                rows = ([_cell_text(value) for value in row] for row in sheet.iter_rows(values_only=True))
                sections.append(sheet_section(sheet.title, rows))
            return sections
        finally:
            book.close()


def _cell_text(value) -> str:
    """A cell as Excel's CSV export writes it, near enough: 3 not 3.0, dates without a midnight time."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, datetime.datetime):
        return value.date().isoformat() if value.time() == datetime.time() else value.isoformat(" ")
    return str(value).strip()


@loader(".jsonl", ".ndjson")
def load_jsonl(path: Path) -> list[Section]:
    records = []
    for number, line in enumerate(read_text(path).splitlines(), start=1):
        if line.strip():
            try:
                records.append(json.loads(line))
            except json.JSONDecodeError as exc:
                raise LoaderError(f"line {number} is not valid JSON ({exc.msg}); fix or remove that line") from None
    return records_to_sections(records)


@loader(".json")
def load_json(path: Path) -> list[Section]:
    """A list of records (objects or strings), one object, or an object wrapping lists of records."""
    try:
        data = json.loads(read_text(path))
    except json.JSONDecodeError as exc:
        raise LoaderError(f"not valid JSON ({exc.msg} at line {exc.lineno}); a file of one JSON object per line "
                          "should be named .jsonl") from None
    if isinstance(data, dict) and record_section(data) is None:  # e.g. {"items": [{...}, ...]}
        data = [item for value in data.values() if isinstance(value, list) for item in value]
    return records_to_sections(data if isinstance(data, list) else [data])
