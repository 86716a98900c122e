"""Office and e-book formats (.pptx .xlsx .ods .odt .rtf .epub): real files written here with the libraries that
read them, what a user would look for in the text, and broken, protected and hostile files refused in one line."""

import datetime
import os
import zipfile
from pathlib import Path

import pytest
from corpus_files import write_bomb

from workbench.retrieval.ingest import ingest
from workbench.retrieval.loaders import LoaderError, load_file
from workbench.retrieval.parsing import ParseLimits

FACTS = {
    "deck.pptx": "The lighthouse budget doubled after the storm.",
    "prices.xlsx": "teapot",
    "staff.ods": "desk 42",
    "rules.odt": "The rake hangs by the greenhouse door.",
    "memo.rtf": "The boiler key is under the red mat.",
    "handbook.epub": "Visitor badges are collected at the east gate.",
}


def write_pptx(path: Path) -> Path:
    from pptx import Presentation
    from pptx.util import Inches

    deck = Presentation()
    first = deck.slides.add_slide(deck.slide_layouts[1])  # title and content
    first.shapes.title.text = "Quarterly review"
    first.placeholders[1].text = "Revenue grew in the north.\nCosts stayed flat."
    first.notes_slide.notes_text_frame.text = FACTS["deck.pptx"]
    second = deck.slides.add_slide(deck.slide_layouts[6])  # blank: no title
    second.shapes.add_textbox(Inches(1), Inches(1), Inches(4), Inches(1)).text_frame.text = "Mascots by office"
    grid = second.shapes.add_table(2, 2, Inches(1), Inches(3), Inches(4), Inches(1)).table
    for (r, c), text in {(0, 0): "city", (0, 1): "mascot", (1, 0): "Oslo", (1, 1): "walrus"}.items():
        grid.cell(r, c).text = text
    deck.save(str(path))
    return path


def write_xlsx(path: Path) -> Path:
    from openpyxl import Workbook

    book = Workbook()
    prices = book.active
    prices.title = "Prices"
    prices.append(["item", "price", "since"])
    prices.append(["teapot", 12.0, datetime.datetime(2024, 3, 1)])
    prices.append(["cup", 3.5, None])
    notes = book.create_sheet("Notes")
    notes.append(["title", "text"])
    notes.append(["Storage", "The spare cups are in cupboard nine."])
    book.save(str(path))
    return path


def write_ods(path: Path) -> Path:
    from odf.opendocument import OpenDocumentSpreadsheet
    from odf.table import Table, TableCell, TableRow
    from odf.text import P

    document = OpenDocumentSpreadsheet()
    sheet = Table(name="Staff")
    for cells in [["name", "desk"], ["Ada", "desk 42"]]:
        row = TableRow()
        for text in cells:
            cell = TableCell(valuetype="string")
            cell.addElement(P(text=text))
            row.addElement(cell)
        sheet.addElement(row)
    # Calc ends a sheet with its empty rows and cells as one element repeated up to the sheet's edge.
    tail = TableRow(numberrowsrepeated=1_048_574)
    tail.addElement(TableCell(numbercolumnsrepeated=16_384))
    sheet.addElement(tail)
    document.spreadsheet.addElement(sheet)
    document.save(str(path))
    return path


def write_odt(path: Path) -> Path:
    from odf.opendocument import OpenDocumentText
    from odf.table import Table, TableCell, TableRow
    from odf.namespaces import XMLNS as XML
    from odf.office import ChangeInfo
    from odf.text import ChangedRegion, Deletion, H, IndexBody, List, ListItem, P, S, TableOfContent, TrackedChanges

    document = OpenDocumentText()
    # Writer keeps deleted text (tracked changes) and a table of contents that repeats the headings: neither is text.
    changes, region, deletion = TrackedChanges(), ChangedRegion(qattributes={(XML, "id"): "ct1"}), Deletion()
    deletion.addElement(ChangeInfo())
    deletion.addElement(P(text="DELETEDRULE: feed the ducks bread."))
    region.addElement(deletion)
    changes.addElement(region)
    document.text.addElement(changes)
    contents, body = TableOfContent(name="Contents"), IndexBody()
    body.addElement(P(text="TOCLINE Garden rules 1"))
    contents.addElement(body)
    document.text.addElement(contents)
    document.text.addElement(H(outlinelevel=1, text="Garden rules"))
    paragraph = P(text="Water the cactus")
    paragraph.addElement(S(c=100000))  # 100,000 spaces in one element; the text keeps one
    paragraph.addText("on Sundays.")
    document.text.addElement(paragraph)
    document.text.addElement(H(outlinelevel=2, text="Tools"))
    items, item = List(), ListItem()
    item.addElement(P(text=FACTS["rules.odt"]))
    items.addElement(item)
    document.text.addElement(items)
    table, row = Table(name="Sheds"), TableRow()
    for text in ["shovel", "north shed"]:
        cell = TableCell()
        cell.addElement(P(text=text))
        row.addElement(cell)
    table.addElement(row)
    document.text.addElement(table)
    document.save(str(path))
    return path


def write_rtf(path: Path) -> Path:
    path.write_text(r"{\rtf1\ansi\ansicpg1252\deff0{\fonttbl{\f0 Times New Roman;}}\f0\fs24 Caf\'e9 memo\par "
                    r"The boiler key is under the {\b red} mat.\par Smile \u9786?.\par}")
    return path


def write_epub(path: Path) -> Path:
    from ebooklib import epub

    book = epub.EpubBook()
    book.set_identifier("handbook-1")
    book.set_title("Visitor handbook")
    book.set_language("en")
    arrival = epub.EpubHtml(title="Arrival", file_name="arrival.xhtml", lang="en")
    arrival.content = f"<h1>Arrival</h1><p>{FACTS['handbook.epub']}</p><script>var leak='SCRIPTLEAK';</script>"
    leaving = epub.EpubHtml(title="Leaving", file_name="leaving.xhtml", lang="en")
    leaving.content = "<h1>Leaving</h1><h2>Keys</h2><p>Return the keys to the porter.</p>"
    for chapter in (arrival, leaving):
        book.add_item(chapter)
    book.toc = (arrival, leaving)
    book.add_item(epub.EpubNcx())
    book.add_item(epub.EpubNav())
    book.spine = ["nav", leaving, arrival]  # reading order, not the order the files were added in
    epub.write_epub(str(path), book)
    return path


WRITERS = {"deck.pptx": write_pptx, "prices.xlsx": write_xlsx, "staff.ods": write_ods, "rules.odt": write_odt,
           "memo.rtf": write_rtf, "handbook.epub": write_epub}
ZIP_FORMATS = ["deck.pptx", "prices.xlsx", "staff.ods", "rules.odt", "handbook.epub"]


def rewrite_zip(source: Path, target: Path, replace: dict[str, bytes]) -> Path:
    """A copy of a zip-based document with some parts replaced or added."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zout:
        for info in zin.infolist():
            zout.writestr(info, replace.pop(info.filename, None) or zin.read(info))
        for name, data in replace.items():
            zout.writestr(name, data)
    return target


def test_a_pptx_gives_one_section_per_slide_with_its_title_text_tables_and_notes(tmp_path):
    first, second = load_file(write_pptx(tmp_path / "deck.pptx"))
    assert (first.heading, first.page, second.page) == ("Quarterly review", 1, 2)
    assert "Revenue grew in the north." in first.text and "Notes: " + FACTS["deck.pptx"] in first.text
    assert second.heading == "Slide 2" and "Mascots by office" in second.text
    assert "city | mascot\n\nOslo | walrus" in second.text  # the table, row by row


def test_a_slide_with_only_a_title_keeps_its_title_as_text(tmp_path):
    from pptx import Presentation

    deck = Presentation()
    deck.slides.add_slide(deck.slide_layouts[5]).shapes.title.text = "Headcount reached 412 in May"  # title only
    deck.slides.add_slide(deck.slide_layouts[6])  # blank: nothing to read
    deck.save(str(tmp_path / "titles.pptx"))
    [section] = load_file(tmp_path / "titles.pptx")
    assert (section.text, section.heading, section.page) == ("Headcount reached 412 in May",) * 2 + (1,)


def test_an_xlsx_gives_one_section_per_sheet_with_each_cell_under_its_header(tmp_path):
    prices, notes = load_file(write_xlsx(tmp_path / "prices.xlsx"))
    assert prices.heading == "Prices" and notes.heading == "Notes"
    assert prices.text == "item: teapot\nprice: 12\nsince: 2024-03-01\n\nitem: cup\nprice: 3.5"
    assert notes.text == "Storage\nThe spare cups are in cupboard nine."  # a text column, with its row's title


def test_an_ods_gives_one_section_per_sheet_and_calcs_repeated_empty_rows_cost_nothing(tmp_path):
    [staff] = load_file(write_ods(tmp_path / "staff.ods"))
    assert (staff.heading, staff.text) == ("Staff", "name: Ada\ndesk: desk 42")


def test_an_odt_keeps_its_heading_path_lists_and_tables(tmp_path):
    rules, tools = load_file(write_odt(tmp_path / "rules.odt"))
    assert (rules.heading, rules.text) == ("Garden rules", "Garden rules\n\nWater the cactus on Sundays.")
    assert tools.heading == "Garden rules > Tools"
    assert FACTS["rules.odt"] in tools.text and "shovel | north shed" in tools.text
    assert "DELETEDRULE" not in rules.text + tools.text and "TOCLINE" not in rules.text + tools.text


def test_an_rtf_gives_its_text_with_accents_and_unicode_escapes(tmp_path):
    [memo] = load_file(write_rtf(tmp_path / "memo.rtf"))
    assert "Café memo" in memo.text and FACTS["memo.rtf"] in memo.text and "Smile ☺." in memo.text
    assert "Times New Roman" not in memo.text  # the font table is not text
    (tmp_path / "fake.rtf").write_text("Dear all, this is plain text with an .rtf name.")
    with pytest.raises(LoaderError, match=r"not an RTF file .*save it again as \.rtf or \.docx"):
        load_file(tmp_path / "fake.rtf")


def test_an_epub_is_read_chapter_by_chapter_in_spine_order(tmp_path):
    sections = load_file(write_epub(tmp_path / "handbook.epub"))
    assert [s.heading for s in sections] == ["Leaving > Keys", "Arrival"]  # no table-of-contents section
    assert FACTS["handbook.epub"] in sections[1].text and "SCRIPTLEAK" not in sections[1].text


@pytest.mark.parametrize("name", ZIP_FORMATS)
def test_a_broken_zip_document_gets_a_one_line_reason_that_says_what_to_do(tmp_path, name):
    good = WRITERS[name](tmp_path / name)
    suffix = good.suffix
    data = good.read_bytes()
    broken = {"random": os.urandom(4096), "truncated": data[: len(data) // 2]}
    for kind, content in broken.items():
        (tmp_path / f"{kind}{suffix}").write_bytes(content)
    with zipfile.ZipFile(tmp_path / f"plain{suffix}", "w") as zf:  # a zip, but none of the format's parts
        zf.writestr("hello.txt", "hi")
    write_bomb(tmp_path / f"bomb{suffix}")
    for kind in [*broken, "plain"]:
        with pytest.raises(LoaderError) as caught:
            load_file(tmp_path / f"{kind}{suffix}")
        message = str(caught.value)
        assert message.startswith(f"not a valid {suffix} file (") and "\n" not in message, (kind, message)
        assert "save it again" in message or "convert it to .epub again" in message, (kind, message)
    with pytest.raises(LoaderError, match="looks like a zip bomb"):
        load_file(tmp_path / f"bomb{suffix}")


def test_password_protected_and_drm_protected_files_say_so(tmp_path):
    # Office encrypts a password-protected .xlsx/.pptx/.docx into an OLE2 container instead of a zip.
    (tmp_path / "locked.xlsx").write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + os.urandom(2048))
    with pytest.raises(LoaderError, match=r"password-protected, or a \.xls file renamed \.xlsx; remove the password"):
        load_file(tmp_path / "locked.xlsx")
    odt = write_odt(tmp_path / "rules.odt")
    with zipfile.ZipFile(odt) as zf:  # LibreOffice lists how each encrypted part was encrypted in the manifest
        manifest = zf.read("META-INF/manifest.xml").replace(b"</manifest:manifest>", (
            b'<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml">'
            b'<manifest:encryption-data/></manifest:file-entry></manifest:manifest>'))
    locked = rewrite_zip(odt, tmp_path / "locked.odt", {"META-INF/manifest.xml": manifest})
    with pytest.raises(LoaderError, match="password-protected; open it in LibreOffice and save it again without"):
        load_file(locked)
    encryption = (b'<encryption xmlns="urn:oasis:names:tc:opendocument:xmlns:container"><EncryptedData>'
                  b'<CipherData><CipherReference URI="EPUB/arrival.xhtml"/></CipherData></EncryptedData></encryption>')
    drm = rewrite_zip(write_epub(tmp_path / "handbook.epub"), tmp_path / "drm.epub",
                      {"META-INF/encryption.xml": encryption})
    with pytest.raises(LoaderError, match="DRM-protected e-book"):
        load_file(drm)
    fonts = rewrite_zip(write_epub(tmp_path / "fonts.epub"), tmp_path / "fonts-obfuscated.epub",
                        {"META-INF/encryption.xml": encryption.replace(b"EPUB/arrival.xhtml", b"EPUB/serif.otf")})
    assert load_file(fonts)  # publishers obfuscate embedded fonts; the chapters are plain


@pytest.mark.parametrize("name, part, anchor", [
    ("rules.odt", "content.xml", b"Water the cactus"),
    ("staff.ods", "content.xml", b"desk 42"),
    ("prices.xlsx", "xl/worksheets/sheet1.xml", b"<sheetData>"),
    ("deck.pptx", "ppt/slides/slide1.xml", b"Revenue grew"),
    ("handbook.epub", "EPUB/arrival.xhtml", FACTS["handbook.epub"].encode()),
])
def test_xml_entities_never_read_server_files(tmp_path, name, part, anchor):
    secret = tmp_path / "secret.txt"
    secret.write_text("SERVERSECRET")
    good = WRITERS[name](tmp_path / name)
    with zipfile.ZipFile(good) as zf:
        xml = zf.read(part)
    assert anchor in xml
    doctype = f'<!DOCTYPE x [<!ENTITY leak SYSTEM "file://{secret}">]>'.encode()
    head, sep, rest = xml.partition(b"?>") if xml.startswith(b"<?xml") else (b"", b"", xml)
    hostile = rewrite_zip(good, tmp_path / f"hostile{good.suffix}",
                          {part: head + sep + doctype + rest.replace(anchor, b"&leak; " + anchor, 1)})
    try:
        text = " ".join(s.text for s in load_file(hostile))
    except LoaderError as exc:
        text = str(exc)
    assert "SERVERSECRET" not in text


def test_the_old_binary_office_formats_are_refused_with_what_to_do(tmp_path):
    for name, hint in [("a.doc", "save it as .docx"), ("b.xls", "save it as .xlsx"), ("c.ppt", "save it as .pptx")]:
        (tmp_path / name).write_bytes(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(512))
        with pytest.raises(LoaderError, match=f"unsupported file type {Path(name).suffix} \\({hint}"):
            load_file(tmp_path / name)


def test_every_new_format_ingests_through_the_parse_worker_and_a_file_turned_bad_keeps_its_chunks(store, tmp_path):
    folder = tmp_path / "office"
    folder.mkdir()
    for name, write in WRITERS.items():
        write(folder / name)
    report = ingest(store, "office", [folder], 40, 5, parse=ParseLimits(timeout_s=60))
    assert sorted(report.files_ok) == sorted(WRITERS) and report.files_failed == []
    texts = " ".join(p.text for p in store.chunks("office"))
    for fact in FACTS.values():
        assert fact in texts
    before = store.documents("office")
    (folder / "prices.xlsx").write_bytes(os.urandom(2048))
    again = ingest(store, "office", [folder / "prices.xlsx"], 40, 5, parse=ParseLimits(timeout_s=60))
    [failure] = again.files_failed
    assert again.files_ok == [] and failure["file"] == "prices.xlsx"
    assert failure["error"].startswith("not a valid .xlsx file") and "\n" not in failure["error"]
    assert store.documents("office") == before
