"""Tabular and record files: CSV, JSON and JSON Lines, one section per record.

A record's text is its column or key named text, content or body (first found, any case); without one,
its string fields are joined as "key: value" lines. A title or heading field becomes the section heading.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from . import LoaderError, Section, loader, read_text

TEXT_KEYS = ("text", "content", "body")
TITLE_KEYS = ("title", "heading")


def record_section(record: dict) -> Section | None:
    fields = {str(k).strip().lower(): v for k, v in record.items()}
    title = next((fields[k].strip() for k in TITLE_KEYS if isinstance(fields.get(k), str)), "")
    for key in TEXT_KEYS:
        value = fields.get(key)
        if isinstance(value, str) and value.strip():
            return Section(value.strip(), heading=title)
    joined = "\n".join(f"{k}: {v.strip()}" for k, v in record.items() if isinstance(v, str) and v.strip())
    return Section(joined, heading=title) if joined else None


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
        rows = list(csv.DictReader(io.StringIO(text, newline=""), dialect=dialect))
    except csv.Error as exc:
        raise LoaderError(f"not a valid CSV file ({exc})") from None
    # DictReader puts surplus cells of a ragged row under the key None; keep them as text.
    rows = [{k if k is not None else "extra": v if isinstance(v, str) else " ".join(v or []) for k, v in row.items()}
            for row in rows]
    return records_to_sections(rows)


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
