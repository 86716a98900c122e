"""Documents: PDF (pypdf: one section per page, headings from the bookmarks), Word .docx (python-docx),
PowerPoint .pptx (python-pptx: one section per slide) and RTF (striprtf)."""

from __future__ import annotations

import re
from pathlib import Path

from . import LoaderError, Outline, Section, clean_text, loader, parser_errors, read_bytes_checked, zip_document

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


@loader(".pptx")
def load_pptx(path: Path) -> list[Section]:
    """One section per slide (its number as the page): the title as heading, then text boxes, tables, notes."""
    from pptx import Presentation

    with zip_document(path, "open it in PowerPoint or LibreOffice Impress and save it again as .pptx"):
        sections = []
        for number, slide in enumerate(Presentation(str(path)).slides, start=1):
            outline = Outline(page=number)
            title = slide.shapes.title
            title_text = title.text_frame.text.strip() if title is not None else ""
            outline.heading(1, title_text or f"Slide {number}")
            _slide_text(outline, slide.shapes, skip=title.shape_id if title is not None else None)
            notes = slide.notes_slide.notes_text_frame if slide.has_notes_slide else None
            if notes is not None and notes.text.strip():
                outline.text("Notes: " + notes.text)
            slide_sections = outline.finish()
            if not slide_sections and clean_text(title_text):  # a title-only slide: its title is what it says
                slide_sections = [Section(clean_text(title_text), clean_text(title_text), number)]
            sections += slide_sections
        return sections


def _slide_text(outline: Outline, shapes, skip: int | None = None) -> None:
    """Text boxes and tables of a slide in the order it lists them, inside groups too (pictures, charts: none)."""
    from pptx.enum.shapes import MSO_SHAPE_TYPE

    for shape in shapes:
        if shape.shape_id == skip:
            continue
        if shape.shape_type == MSO_SHAPE_TYPE.GROUP:
            _slide_text(outline, shape.shapes)
        elif shape.has_text_frame:
            outline.text(shape.text_frame.text)
        elif shape.has_table:
            _table_rows(outline, ([cell.text for cell in row.cells] for row in shape.table.rows))


_RTF_START = re.compile(rb"\s*\{\\rtf")


@loader(".rtf")
def load_rtf(path: Path) -> list[Section]:
    from striprtf.striprtf import rtf_to_text

    fix = "open it in a word processor and save it again as .rtf or .docx"
    data = read_bytes_checked(path)
    if not _RTF_START.match(data.removeprefix(b"\xef\xbb\xbf")):
        raise LoaderError(f"not an RTF file (it does not start with {{\\rtf); {fix}")
    # RTF is 7-bit text (other characters come as \'xx and \u escapes), but some writers put raw 8-bit text in it.
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        text = data.decode("cp1252", errors="replace")
    # errors="replace": one \'xx escape that is invalid in its code page must not cost the whole document.
    with parser_errors(path, fix):
        return [Section(rtf_to_text(text, errors="replace"))]
