"""A document's text as units to ask about: prose paragraphs, list items under their heading, table rows.

Markdown (`#` headings, `- item`, `| a | b |` rows) and the plain text other loaders store (a .docx or .html
table row is one line with cells joined by " | ", a heading is a short line of its own) are both read.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINK = re.compile(r"\[([^\]]+)\]\([^)]*\)")
_EMPHASIS = re.compile(r"\*\*|__|(?<![\w*])\*(?=\w)|(?<=\w)\*(?![\w*])|`")
_BULLET = re.compile(r"^\s*(?:[-*+•]|\d{1,2}[.)])\s+")
_NUMBERING = re.compile(r"^(?:\d+(?:\.\d+)*\.?|[A-Z]\.|Section \d+[.:]?)\s+")
_LABELLED = re.compile(r"^((?:[^:()]|\([^():]*\)){2,60}?):\s+(\S.*)$")
"""A list item that names a thing and then gives its value or its rule ("Video games: 14 days")."""
_LEADING_VALUE = re.compile(r"^((?:about |around |up to |at least |at most )?[£$€]?\d[\d.,:]*(?: ?[A-Za-z%]+)?)"
                            r"[,.;] ")
"""A labelled item's value that opens with an amount and goes on ("35 minutes, operated by Marram Queen. ..."):
the amount is the label's value, the rest a sentence about it."""
_MODALS = {"can", "may", "must", "should", "will", "need", "cannot", "must not", "should not"}
_RULE = re.compile(r"[-=_*\s]{3,}")
"""A horizontal rule ("---", "***", "==="), matched whole."""
_SEPARATOR = re.compile(r"^\|?\s*:?-{2,}:?\s*(?:\|\s*:?-{2,}:?\s*)*\|?$")


def unmark(text: str) -> str:
    """Markdown links and emphasis removed: "**£35** ([form](x))" -> "£35 (form)"."""
    return _EMPHASIS.sub("", _LINK.sub(r"\1", text)).strip()


@dataclass
class Unit:
    """One piece of a document to make questions from."""

    kind: str
    """"prose" (a paragraph), "item" (a list item) or "row" (a table row)."""
    text: str
    """Markup removed; for a row, its cells joined by " | "."""
    heading: str = ""
    """The nearest heading above it, numbering removed ("Long service")."""
    cells: list[str] = field(default_factory=list)
    """A row's cells (markup removed)."""
    header: list[str] = field(default_factory=list)
    """The header cells of a row's table (empty when the table has none)."""
    lead: str = ""
    """For a list item: the sentence that introduces the list ("The standard arrangement is:")."""


def _cells(line: str) -> list[str]:
    return [unmark(c) for c in line.strip().strip("|").split("|")]


def _is_row(line: str) -> bool:
    return line.startswith("|") or line.count(" | ") >= 1 and not line.rstrip().endswith((".", ";"))


def _heading_text(line: str) -> str:
    return _NUMBERING.sub("", unmark(line.lstrip("#").strip())).strip(" :")


def _plain_heading(line: str, nxt: str) -> bool:
    """A short line without final punctuation on its own, mostly capitalised or before a blank line (a .docx or
    .html heading; a PDF line broken mid-sentence is neither)."""
    words = line.split()
    capitalised = sum(w[:1].isupper() for w in words if len(w) > 3) >= max(1, len([w for w in words if len(w) > 3]))
    return 1 <= len(words) <= 8 and not line.endswith((".", ";", ",", ":", "?", "!")) and line[:1].isupper() \
        and not _is_row(line) and (capitalised or not nxt)


def _joined_items(lines: list[str]) -> list[str]:
    """A list item's wrapped lines joined to it: a text line right after an item line (no blank line between, not
    itself an item, heading, table row, quote, fence or rule) continues the item, as in Markdown, and as a PDF or
    a hard-wrapped text breaks one ("... rescue dummy nicknamed" / ""Barnaby".")."""
    out: list[str] = []
    for line in lines:
        if out and line and _BULLET.match(out[-1]) and not _BULLET.match(line) and not _is_row(line) and \
                not line.startswith(("#", ">", "```")) and not _RULE.fullmatch(line):
            out[-1] = f"{out[-1]} {line}"
        else:
            out.append(line)
    return out


def units(text: str) -> list[Unit]:
    """The units of one (stitched) document text, in order.

    A table's first row is its header when a separator line (|---|) follows it or, without one, when no cell
    of it holds a digit; the first cell of a row is its label. Code fences and quotes are left out.
    """
    out: list[Unit] = []
    lines = _joined_items([raw.strip() for raw in text.splitlines()])
    heading, paragraph, fenced, header, table_start, lead = "", [], False, [], True, ""

    def flush():
        if paragraph:
            out.append(Unit("prose", " ".join(paragraph), heading))
            paragraph.clear()

    for k, line in enumerate(lines):
        nxt = lines[k + 1] if k + 1 < len(lines) else ""
        if line.startswith("```"):
            fenced = not fenced
            flush()
            continue
        if fenced or not line or line.startswith(">") or _RULE.fullmatch(line):
            flush()
            table_start = True
            continue
        if line.startswith("#"):
            flush()
            heading, table_start, lead = _heading_text(line), True, ""
            continue
        if _SEPARATOR.match(line):
            continue
        if _is_row(line):
            flush()
            cells = _cells(line)
            if table_start:
                table_start = False
                if _SEPARATOR.match(nxt) or not any(re.search(r"\d", c) for c in cells):
                    header = cells
                    continue
                header = []
            if len([c for c in cells if c]) >= 2:
                out.append(Unit("row", " | ".join(cells), heading, cells, header))
            continue
        table_start = True
        if _BULLET.match(line):
            flush()
            item = unmark(_BULLET.sub("", line))
            pair = _LABELLED.match(item)
            value = pair[2].split(";")[0].strip(" ,") if pair else ""
            if pair and len(value.split()) <= 8 and not value.endswith("."):  # "Video games: 14 days"
                out.append(Unit("row", item, heading, [pair[1].strip(), value], []))
            elif pair:  # "Festival week: site build begins on ...": the label is the item's context
                first = _LEADING_VALUE.match(pair[2])  # "Holloway Island crossing (...): 35 minutes, operated by"
                if first:
                    out.append(Unit("row", item, heading, [pair[1].strip(), first[1]], []))
                out.append(Unit("item", pair[2], _heading_text(pair[1]), lead=lead))
            elif re.search(r"[a-z]", item):
                opener = lead[:-1].split()
                if 2 <= len(opener) <= 4 and opener[-1].lower() in _MODALS and item[:1].islower():
                    item = f"{lead[:-1]} {item}"  # "Members can:" + "borrow 12 books" -> a whole sentence
                out.append(Unit("item", item, heading, lead=lead))
            continue
        if _plain_heading(line, nxt) and not paragraph:
            heading, lead = _heading_text(line), ""
            continue
        line = unmark(line)
        if re.search(r"[a-z]", line):
            paragraph.append(line)
            lead = line if line.endswith(":") else ""
    flush()
    return out


def context(heading: str) -> str:
    """A heading fit to open a question ("Under Long service, ..."); "" for one that is itself a question."""
    first = heading.split()[0].lower() if heading.split() else ""
    return "" if first in ("what", "which", "who", "whom", "when", "where", "how", "why") or heading.endswith("?") \
        or len(heading.split()) > 8 else heading


def sentences(unit: Unit) -> list[str]:
    """The text of a prose or item unit cut where clauses are joined by a semicolon, first letter capitalised."""
    parts = [p.strip() for p in re.split(r"(?<=;)\s+", " ".join(unit.text.split())) if p.strip()]
    # The parser reads a clause that starts in lower case as a fragment; the capital helps it.
    return [p[:1].upper() + p[1:] for p in parts]
