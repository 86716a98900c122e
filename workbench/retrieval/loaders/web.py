"""HTML: visible text only (no script, style or hidden elements), one section per heading."""

from __future__ import annotations

import re
from pathlib import Path

from . import Outline, Section, loader, read_bytes_checked

INVISIBLE = ["head", "script", "style", "noscript", "template", "svg", "canvas", "iframe", "object", "embed"]
BLOCKS = ["address", "article", "aside", "blockquote", "dd", "div", "dl", "dt", "figcaption", "figure", "footer",
          "form", "header", "hr", "li", "main", "nav", "ol", "p", "pre", "section", "table", "tr", "ul"]
_HIDDEN_STYLE = re.compile(r"display\s*:\s*none|visibility\s*:\s*hidden", re.IGNORECASE)
_MARK = "\x1e"  # stands for a heading in the flattened text; a control character never seen in pages


@loader(".html", ".htm", ".xhtml")
def load_html(path: Path) -> list[Section]:
    from bs4 import BeautifulSoup, NavigableString

    # Bytes, not str: BeautifulSoup honours <meta charset> and falls back sensibly.
    soup = BeautifulSoup(read_bytes_checked(path), "html.parser")
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
