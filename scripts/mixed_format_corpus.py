"""Write handbook chapters out as .docx, .html, .pdf, .txt and .md: a mixed-format corpus for trying Decide.

    python scripts/mixed_format_corpus.py OUT_DIR [chapter.md=format ...]

Default: benefits as .docx, it-handbook as .html, onboarding as .pdf, expenses as .txt (about 10,400 words), the
shape of a user's folder of documents. Markdown emphasis is dropped; headings stay headings where the format has
them.
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


def main() -> int:
    out = Path(sys.argv[1])
    out.mkdir(parents=True, exist_ok=True)
    plan = dict(arg.split("=") for arg in sys.argv[2:]) or DEFAULT
    writers = {"docx": to_docx, "html": to_html, "pdf": to_pdf}
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
