"""HTML (visible text only: no script, style or hidden elements; one section per heading) and EPUB e-books
(ebooklib: their XHTML chapters in reading order, each read as HTML)."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path

from . import LoaderError, Outline, Section, loader, read_bytes_checked, zip_document

INVISIBLE = ["head", "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed"]
BLOCKS = ["address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
          "form", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul"]
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_MARK = "\x1e"  # stands for a heading in the flattened text; a control character never seen in pages


@loader(".html", ".htm", ".xhtml")
def load_html(path: Path) -> list[Section]:
    return html_sections(read_bytes_checked(path))


def html_sections(page: bytes) -> list[Section]:
    """The visible text of an HTML page, one section per heading."""
    from bs4 import BeautifulSoup, NavigableString

    # Bytes, not str: BeautifulSoup honours <meta charset> and falls back sensibly.
    soup = BeautifulSoup(page, "html.parser")
    for tag in soup.find_all(INVISIBLE):
        tag.decompose()
    hidden = soup.find_all(lambda t: t.has_attr("hidden") or t.get("aria-hidden") == "true"
                           or _HIDDEN_STYLE.search(t.get("style") or ""))
    for tag in hidden:
        if not tag.decomposed:  # a hidden parent may already have taken it
            tag.decompose()
    for string in soup.find_all(string=re.compile(_MARK)):
        string.replace_with(string.replace(_MARK, ""))
    for tag in soup.find_all(re.compile(r"^h[1-6]$")):
        title = " ".join(tag.get_text(" ").split())
        tag.replace_with(NavigableString(f"\n{_MARK}{tag.name[1]}{title}\n"))
    for tag in soup.find_all("br"):
        tag.replace_with(NavigableString("\n"))
    for tag in soup.find_all(["td", "th"]):
        tag.append(NavigableString(" | "))
    for tag in soup.find_all(BLOCKS):
        tag.insert_before(NavigableString("\n"))
        tag.append(NavigableString("\n"))

    outline = Outline()
    for line in soup.get_text().split("\n"):
        if line.startswith(_MARK):
            outline.heading(int(line[1]), line[2:])
        else:
            outline.text(line.strip(" |"))
    return outline.finish()


FIX_EPUB = "convert it to .epub again (e.g. with Calibre), or save it as .html or .pdf"
_FONTS = (".ttf", ".otf", ".woff", ".woff2")


@loader(".epub")
def load_epub(path: Path) -> list[Section]:
    """The chapters in the order of the book's spine, each as an HTML page (its headings open sections)."""
    from ebooklib import epub

    with zip_document(path, FIX_EPUB):
        if _drm_protected(path):
            raise LoaderError("DRM-protected e-book (its chapters are encrypted); use a DRM-free copy")
        book = epub.read_epub(str(path), options={"ignore_ncx": True})
        sections = []
        for entry in book.spine:
            item = book.get_item_with_id(entry[0] if isinstance(entry, tuple) else entry)
            if isinstance(item, epub.EpubHtml) and item.is_chapter():  # not the cover nor the table of contents
                sections += html_sections(item.get_content())
        return sections


def _drm_protected(path: Path) -> bool:
    """Whether META-INF/encryption.xml encrypts anything but fonts (publishers obfuscate embedded fonts)."""
    with zipfile.ZipFile(path) as zf:
        if "META-INF/encryption.xml" not in zf.namelist():
            return False
        listing = zf.read("META-INF/encryption.xml").decode("utf-8", errors="replace")
    uris = re.findall(r"""URI\s*=\s*["']([^"']*)["']""", listing)
    return any(not uri.lower().endswith(_FONTS) for uri in uris)
