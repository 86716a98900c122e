"""PDF (pypdf: one section per page, headings from the bookmarks) and Word .docx (python-docx)."""

from __future__ import annotations

import re
from pathlib import Path

from . import LoaderError, Outline, Section, loader, zip_document

ENCRYPTED = "encrypted PDF; remove its password (e.g. print it to a new PDF) and upload it again"


@loader(".pdf")
def load_pdf(path: Path) -> list[Section]:
    from pypdf import PdfReader
    from pypdf.errors import DependencyError, FileNotDecryptedError, PdfReadError

    try:
        reader = PdfReader(str(path))
        if reader.is_encrypted:
            try:
                # Many PDFs are "encrypted" with an empty user password (owner restrictions only).
                opened = reader.decrypt("")
            except (DependencyError, NotImplementedError):
                opened = 0
            if not opened:
                raise LoaderError(ENCRYPTED)
        headings = _page_headings(reader)
        sections = []
        for number, page in enumerate(reader.pages, start=1):
            text = page.extract_text() or ""
            if text.strip():
                sections.append(Section(text, heading=headings.get(number, ""), page=number))
    except FileNotDecryptedError:
        raise LoaderError(ENCRYPTED) from None
    except PdfReadError as exc:
        raise LoaderError(f"broken or not a PDF ({exc})") from None
    if not sections:
        raise LoaderError("no text found in the PDF (a scanned PDF needs OCR first)")
    return sections


def _page_headings(reader) -> dict[int, str]:
    """Page number -> the bookmark title in force on that page (bookmarks are optional and often broken)."""
    starts: list[tuple[int, str]] = []

    def walk(items, trail):
        last = trail
        for item in items:
            if isinstance(item, list):
                walk(item, last)
                continue
            try:
                page = reader.get_destination_page_number(item) + 1
            except Exception:  # noqa: BLE001 - a dangling bookmark must not cost the document
                continue
            last = trail + [str(item.title).strip()]
            starts.append((page, " > ".join(last)))

    try:
        walk(reader.outline, [])
    except Exception:  # noqa: BLE001
        return {}
    by_page: dict[int, str] = {}
    for page, title in starts:
        by_page.setdefault(page, title)  # the first bookmark on a page names it
    headings, current = {}, ""
    for number in range(1, len(reader.pages) + 1):
        headings[number] = current = by_page.get(number, current)
    return headings


_HEADING_STYLE = re.compile(r"^(?:heading\s*(\d)|title)$", re.IGNORECASE)


@loader(".docx")
def load_docx(path: Path) -> list[Section]:
    """Paragraphs and tables in document order; "Heading n" and "Title" styles open sections."""
    import docx
    from docx.table import Table

    with zip_document(path, "save it again from Word as .docx"):
        document = docx.Document(str(path))
        outline = Outline()
        for block in document.iter_inner_content():
            if isinstance(block, Table):
                _table_rows(outline, ([cell.text for cell in row.cells] for row in block.rows))
                continue
            style = (block.style.name if block.style is not None else "") or ""
            match = _HEADING_STYLE.match(style.strip())
            if match and block.text.strip():
                outline.heading(int(match.group(1) or 1), block.text)
            else:
                outline.text(block.text)
        return outline.finish()


def _table_rows(outline: Outline, rows) -> None:
    """A table as one line per row, cells joined by " | "."""
    for row in rows:
        cells: list[str] = []
        for text in row:  # merged cells repeat; keep one copy
            if not cells or text.strip() != cells[-1]:
                cells.append(text.strip())
        outline.text(" | ".join(cells))

