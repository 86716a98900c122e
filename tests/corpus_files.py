"""A folder of documents in every supported format, plus broken and hostile files, generated for the tests.

Each good file holds one fact found in no other file, so retrieval tests can tell which file answered.
"""

from __future__ import annotations

import json
import os
import stat
import zipfile
from pathlib import Path

FACTS = {
    "report.pdf": ("Where is the observatory telescope kept?",
                   "The observatory telescope is kept in vault seven behind the greenhouse."),
    "memo.docx": ("What currency pays the marine biology bonuses?",
                  "Marine biology bonuses are paid quarterly in kelp vouchers."),
    "page.html": ("How many jars of honey does the rooftop beehive produce?",
                  "The rooftop beehive produces forty jars of lavender honey every August."),
    "notes.txt": ("Which day is the chess tournament?", "The chess tournament happens on Thursday evenings."),
    "guide.md": ("What colour are the visitor lanyards?", "Visitor lanyards are bright orange."),
    "faq.csv": ("Where do bicycles go?", "Bicycles are stored in the basement cage."),
    "records.jsonl": ("Who waters the office ferns?", "The ferns are watered by the night porter."),
    "records.json": ("What does the espresso machine need?", "The espresso machine needs descaling monthly."),
}
GOOD = sorted(FACTS) + ["bundle.zip/inner/extra.txt", "slip.zip/ok.txt"]
BROKEN = {  # file -> words its one-line reason must contain
    "random.pdf": "PDF",
    "empty.txt": "empty file",
    "latin1.txt": "not decodable as UTF-8",
    "locked.pdf": "encrypted PDF",
    "slip.zip/../evil.txt": "zip-slip",
    "bomb.zip": "zip bomb",
    "archive.tar": "unsupported file type .tar",
}


def write_pdf(path: Path, pages: list[str]) -> Path:
    from fpdf import FPDF

    pdf = FPDF()
    pdf.set_font("helvetica", size=12)
    for text in pages:
        pdf.add_page()
        pdf.multi_cell(0, 8, text)
    pdf.output(str(path))
    return path


def write_docx(path: Path, heading: str, paragraphs: list[str], table: list[list[str]] | None = None) -> Path:
    import docx

    document = docx.Document()
    document.add_heading(heading, level=1)
    for text in paragraphs:
        document.add_paragraph(text)
    if table:
        grid = document.add_table(rows=len(table), cols=len(table[0]))
        for r, row in enumerate(table):
            for c, value in enumerate(row):
                grid.cell(r, c).text = value
    document.save(str(path))
    return path


def write_encrypted_pdf(path: Path, text: str) -> Path:
    from pypdf import PdfReader, PdfWriter

    plain = write_pdf(path.with_suffix(".plain"), [text])
    writer = PdfWriter(clone_from=PdfReader(str(plain)))
    writer.encrypt(user_password="secret", algorithm="RC4-128")  # RC4 needs no extra crypto package
    writer.write(str(path))
    plain.unlink()
    return path


def write_zip(path: Path, entries: dict[str, bytes], symlinks: dict[str, str] | None = None) -> Path:
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in entries.items():
            zf.writestr(name, data)
        for name, target in (symlinks or {}).items():
            info = zipfile.ZipInfo(name)
            info.external_attr = (stat.S_IFLNK | 0o777) << 16
            zf.writestr(info, target)
    return path


def write_bomb(path: Path, megabytes: int = 20) -> Path:
    """A zip whose one entry inflates ~1000-fold (zeros compress extremely well)."""
    return write_zip(path, {"zeros.txt": b"0" * (megabytes << 20)})


def write_format_folder(folder: Path) -> Path:
    """One file of each format (each with its fact), a zip of more, and the broken and hostile ones."""
    folder.mkdir(parents=True, exist_ok=True)
    f = {name: fact for name, (_, fact) in FACTS.items()}
    write_pdf(folder / "report.pdf", ["Annual facilities report. Chapter one covers the gardens.", f["report.pdf"]])
    write_docx(folder / "memo.docx", "Compensation memo", ["This memo covers team rewards.", f["memo.docx"]],
               table=[["team", "reward"], ["marine biology", "kelp vouchers"]])
    (folder / "page.html").write_text(
        "<html><head><title>Roof</title><style>body{color:red}</style><script>var leak='SCRIPTLEAK';</script></head>"
        "<body><h1>Rooftop</h1><h2>Bees</h2><p>" + f["page.html"] + "</p><div hidden>HIDDENLEAK</div>"
        "<!-- COMMENTLEAK --></body></html>"
    )
    (folder / "notes.txt").write_text(f["notes.txt"] + "\n")
    (folder / "guide.md").write_text("# Visitors\n## Lanyards\n" + f["guide.md"] + "\n")
    (folder / "faq.csv").write_text('title,text,owner\nBikes,"' + f["faq.csv"] + '",facilities\n')
    (folder / "records.jsonl").write_text(json.dumps({"question": "ferns?", "answer": f["records.jsonl"]}) + "\n")
    (folder / "records.json").write_text(json.dumps([{"title": "Coffee", "body": f["records.json"], "id": 3}]))
    write_zip(folder / "bundle.zip", {"inner/extra.txt": b"The bundle holds the fire drill schedule.\n",
                                      "__MACOSX/._junk": b"junk"})
    # Broken and hostile files.
    (folder / "random.pdf").write_bytes(os.urandom(4096))
    (folder / "empty.txt").write_bytes(b"")
    (folder / "latin1.txt").write_bytes("caf\xe9 cr\xe8me".encode("latin-1"))
    write_encrypted_pdf(folder / "locked.pdf", "Locked secrets live here.")
    write_zip(folder / "slip.zip", {"../evil.txt": b"escaped!", "ok.txt": b"The slip zip also holds a harmless file."})
    write_bomb(folder / "bomb.zip")
    (folder / "archive.tar").write_bytes(b"not really a tar")
    return folder
