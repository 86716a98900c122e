"""OpenDocument (odfpy): Writer .odt (headings open sections, as in .docx) and Calc .ods (one section per sheet,
its rows rendered as CSV records are)."""

from __future__ import annotations

import contextlib
import io
import zipfile
from pathlib import Path

from . import LoaderError, Outline, Section, loader, zip_document
from .records import sheet_section

TEXT = "urn:oasis:names:tc:opendocument:xmlns:text:1.0"
TABLE = "urn:oasis:names:tc:opendocument:xmlns:table:1.0"
OFFICE = "urn:oasis:names:tc:opendocument:xmlns:office:1.0"
FIX_ODT = "open it in LibreOffice Writer and save it again as .odt or .docx"
FIX_ODS = "open it in LibreOffice Calc and save it again as .ods, or export its sheets as .csv"

# Block elements of a text document whose children are read in order. The rest is not body text: the table of
# contents repeats the headings, tracked changes hold deleted text, forms and declarations hold none.
_CONTAINERS = {(TEXT, "list"), (TEXT, "list-item"), (TEXT, "list-header"), (TEXT, "section")}
_ROW_GROUPS = {(TABLE, "table-header-rows"), (TABLE, "table-rows"), (TABLE, "table-row-group")}
_CELLS = {(TABLE, "table-cell"), (TABLE, "covered-table-cell")}
_VALUES = ["value", "date-value", "time-value", "boolean-value", "string-value"]
# Calc writes runs of identical rows and cells as one element with a repeat count (empty ones up to the sheet's
# edge); these are the largest sheet LibreOffice makes, so a hostile count cannot blow a row up further.
MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384


@loader(".odt")
def load_odt(path: Path) -> list[Section]:
    """Paragraphs, lists and tables in document order; headings (text:h, with their outline level) open sections."""
    with zip_document(path, FIX_ODT):
        outline = Outline()
        _read_blocks(_open(path, "text", FIX_ODT), outline)
        return outline.finish()


@loader(".ods")
def load_ods(path: Path) -> list[Section]:
    """One section per sheet, headed by its name."""
    with zip_document(path, FIX_ODS):
        sheets = _children(_open(path, "spreadsheet", FIX_ODS), {(TABLE, "table")})
        return [sheet_section(_attribute(sheet, TABLE, "name"), _table_rows(sheet)) for sheet in sheets]


class _Sink(io.TextIOBase):
    """Swallows what odfpy prints; notes when it says that it failed to parse a part of the file."""

    failed = False

    def write(self, text: str) -> int:
        self.failed = self.failed or "SAX FAILED" in text
        return len(text)


def _open(path: Path, kind: str, fix: str):
    """The body element of an OpenDocument `kind` ("text", "spreadsheet"), or LoaderError."""
    from odf.opendocument import load

    with zipfile.ZipFile(path) as zf:
        manifest = zf.read("META-INF/manifest.xml") if "META-INF/manifest.xml" in zf.namelist() else b""
    if b"encryption-data" in manifest:
        raise LoaderError("password-protected; open it in LibreOffice and save it again without a password")
    sink = _Sink()
    with contextlib.redirect_stdout(sink):  # on malformed XML odfpy prints the whole part and goes on
        document = load(str(path))
    if sink.failed:
        raise LoaderError(f"not a valid {path.suffix.lower()} file (malformed XML inside); {fix}")
    body = getattr(document, kind, None)
    if body is None:
        found = document.mimetype.rsplit(".", 1)[-1]
        raise LoaderError(f"not an OpenDocument {kind} but a {found}; {fix}")
    return body


def _children(element, names: set) -> list:
    return [child for child in element.childNodes if getattr(child, "qname", None) in names]


def _attribute(element, namespace: str, name: str, default: str = "") -> str:
    return element.attributes.get((namespace, name), default)


def _count(element, name: str, most: int) -> int:
    """An element's repeat count (table:number-rows-repeated ...), at least 1 and at most `most`."""
    try:
        return max(1, min(int(_attribute(element, TABLE, name, "1")), most))
    except ValueError:
        return 1


def _text(element) -> str:
    """The text of a paragraph or heading; spaces, tabs and line breaks as they show."""
    parts = []
    for child in element.childNodes:
        name = getattr(child, "qname", None)
        if child.nodeType == child.TEXT_NODE:
            parts.append(child.data)
        elif name == (TEXT, "line-break"):
            parts.append("\n")
        elif name in ((TEXT, "s"), (TEXT, "tab")):  # text:s c="n" is n spaces; clean_text keeps one
            parts.append(" ")
        elif name is not None and name != (OFFICE, "annotation"):  # comments are not the document's text
            parts.append(_text(child))
    return "".join(parts)


def _read_blocks(element, outline: Outline) -> None:
    for child in element.childNodes:
        name = getattr(child, "qname", None)
        if name == (TEXT, "h"):
            try:
                level = int(_attribute(child, TEXT, "outline-level", "1"))
            except ValueError:
                level = 1
            outline.heading(level, _text(child))
        elif name == (TEXT, "p"):
            outline.text(_text(child))
        elif name == (TABLE, "table"):
            for row in _table_rows(child):
                outline.text(" | ".join(row))
        elif name in _CONTAINERS:
            _read_blocks(child, outline)


def _rows(table) -> list:
    """The table:table-row elements of a table, inside header and row groups too."""
    rows = []
    for child in table.childNodes:
        name = getattr(child, "qname", None)
        if name == (TABLE, "table-row"):
            rows.append(child)
        elif name in _ROW_GROUPS:
            rows += _rows(child)
    return rows


def _table_rows(table):
    """A table's rows as lists of cell texts: repeats expanded, trailing empty cells left out, empty rows once."""
    count = 0
    for row in _rows(table):
        runs = []  # (text, repeat)
        for cell in _children(row, _CELLS):
            text = "\n".join(_text(p) for p in _children(cell, {(TEXT, "p")}))
            if not text.strip():  # a cell whose text:p is missing still has its value
                text = next((_attribute(cell, OFFICE, v) for v in _VALUES if _attribute(cell, OFFICE, v)), "")
            runs.append((text, _count(cell, "number-columns-repeated", MAX_COLUMNS)))
        while runs and not runs[-1][0].strip():
            runs.pop()
        cells = []
        for text, repeat in runs:
            cells += [text] * min(repeat, MAX_COLUMNS - len(cells))
        repeat = _count(row, "number-rows-repeated", MAX_ROWS - count) if cells else 1
        for _ in range(repeat):
            yield cells
        count += repeat
        if count >= MAX_ROWS:
            return
