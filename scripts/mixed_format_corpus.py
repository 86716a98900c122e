"""Write handbook chapters out as .docx, .html, .pdf, .pptx, .odt, .epub, .rtf, .txt or .md: a mixed-format
corpus for trying Decide.

    python scripts/mixed_format_corpus.py OUT_DIR [chapter.md=format ...]

Default: benefits as .docx, it-handbook as .html, onboarding as .pdf, expenses as .txt (about 10,400 words), the
shape of a user's folder of documents. Markdown emphasis is dropped; headings stay headings where the format has
them (a slide per section in .pptx, a chapter per section in .epub).
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

DOCS = Path(__file__).resolve().parent.parent / "corpora" / "handbook" / "docs"
DEFAULT = {"benefits.md": "docx", "it-handbook.md": "html", "onboarding.md": "pdf", "expenses.md": "txt"}


def plain(line: str) -> str:
    return re.sub(r"[*_`]", "", line)


def to_docx(text: str, out: Path) -> None:
    import docx

    doc = docx.Document()
    for line in text.splitlines():
        if line.startswith("#"):
            doc.add_heading(plain(line.lstrip("#").strip()), level=min(line.count("#", 0, 6), 4))
        elif line.strip():
            doc.add_paragraph(plain(line))
    doc.save(out)


def to_html(text: str, out: Path) -> None:
    from markdown_it import MarkdownIt

    body = MarkdownIt("commonmark").enable("table").render(text)
    out.write_text(f"<!doctype html><html><head><title>{out.stem}</title></head><body><nav>Home | Policies</nav>"
                   f"<main>{body}</main><footer>Kestrel Loom intranet</footer></body></html>")


def to_pdf(text: str, out: Path) -> None:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_auto_page_break(True, margin=15)
    pdf.add_page()
    font = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
    if Path(font).is_file():  # £ and € need a Unicode font
        pdf.add_font("DejaVu", fname=font)
        pdf.set_font("DejaVu", size=10)
    else:
        pdf.set_font("Helvetica", size=10)
        text = text.replace("£", "GBP ").replace("€", "EUR ").encode("latin-1", "replace").decode("latin-1")
    for line in text.splitlines():
        pdf.multi_cell(0, 5, plain(line) or " ", new_x="LMARGIN", new_y="NEXT")
    pdf.output(str(out))


def sections(text: str) -> list[tuple[str, list[str]]]:
    """(heading, lines) per heading of the chapter; the text before the first heading goes under the file's title."""
    parts: list[tuple[str, list[str]]] = [("", [])]
    for line in text.splitlines():
        if line.startswith("#"):
            parts.append((plain(line.lstrip("#").strip()), []))
        elif line.strip():
            parts[-1][1].append(plain(line))
    return [(heading, lines) for heading, lines in parts if heading or lines]


def to_pptx(text: str, out: Path) -> None:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    for heading, lines in sections(text):
        slide = deck.slides.add_slide(deck.slide_layouts[5])  # title only; the body goes in a text box
        slide.shapes.title.text = heading or out.stem
        box = slide.shapes.add_textbox(Inches(0.5), Inches(1.5), Inches(9), Inches(5)).text_frame
        box.word_wrap = True
        box.text = "\n".join(lines)
    deck.save(out)


def to_odt(text: str, out: Path) -> None:
    from odf.opendocument import OpenDocumentText
    from odf.text import H, P

    doc = OpenDocumentText()
    for line in text.splitlines():
        if line.startswith("#"):
            doc.text.addElement(H(outlinelevel=min(line.count("#", 0, 6), 4), text=plain(line.lstrip("#").strip())))
        elif line.strip():
            doc.text.addElement(P(text=plain(line)))
    doc.save(str(out))


def to_epub(text: str, out: Path) -> None:
    from ebooklib import epub
    from markdown_it import MarkdownIt

    book = epub.EpubBook()
    book.set_identifier(out.stem)
    book.set_title(out.stem)
    book.set_language("en")
    chapters = []
    for i, (heading, lines) in enumerate(sections(text), 1):
        chapter = epub.EpubHtml(title=heading or out.stem, file_name=f"chapter{i}.xhtml", lang="en")
        chapter.content = f"<h1>{heading or out.stem}</h1>" + MarkdownIt("commonmark").render("\n\n".join(lines))
        book.add_item(chapter)
        chapters.append(chapter)
    book.toc = chapters
    book.spine = ["nav", *chapters]
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    epub.write_epub(str(out), book)


def to_rtf(text: str, out: Path) -> None:
    def escape(line: str) -> str:
        line = line.replace("\\", "\\\\").replace("{", "\\{").replace("}", "\\}")
        # RTF writes other characters as \uN? with N a signed 16-bit number (the ? is what old readers show)
        return "".join(c if ord(c) < 128 else f"\\u{ord(c) - 65536 if ord(c) > 32767 else ord(c)}?" for c in line)

    body = []
    for line in text.splitlines():
        if line.startswith("#"):
            body.append(f"{{\\b {escape(plain(line.lstrip('#').strip()))}}}\\par")
        elif line.strip():
            body.append(escape(plain(line)) + "\\par")
    out.write_text("{\\rtf1\\ansi\\deff0{\\fonttbl{\\f0 Helvetica;}}\n" + "\n".join(body) + "\n}")


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    plan = dict(arg.split("=") for arg in sys.argv[2:]) or DEFAULT
    writers = {"docx": to_docx, "html": to_html, "pdf": to_pdf, "pptx": to_pptx, "odt": to_odt, "epub": to_epub,
               "rtf": to_rtf}
    for chapter, fmt in plan.items():
        text = (DOCS / chapter).read_text()
        target = out / f"{Path(chapter).stem}.{fmt}"
        if fmt in writers:
            writers[fmt](text, target)
        else:
            target.write_text(text if fmt == "md" else "\n".join(plain(x) for x in text.splitlines()))
        print(target)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
