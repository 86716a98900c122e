"""Plain text and Markdown."""

from __future__ import annotations

import re
from pathlib import Path

from . import Section, loader, read_text


@loader(".txt", ".text")
def load_txt(path: Path) -> list[Section]:
    return [Section(read_text(path))]


# Linear time: the line is matched with one greedy group and the closing #s are stripped with str methods
# (the former lazy-group pattern backtracked polynomially: a 4 KB heading line took over a minute).
_HEADING = re.compile(r"^(#{1,6})[ \t]+(\S[^\n]*)$", re.MULTILINE)


def _title(raw: str) -> str:
    """A heading's text without trailing spaces and its optional closing sequence of #s."""
    title = raw.rstrip()
    stripped = title.rstrip("#")
    if stripped != title and (not stripped or stripped[-1] in " \t"):
        title = stripped.rstrip()
    return title or raw.strip()


@loader(".md", ".markdown")
def load_markdown(path: Path) -> list[Section]:
    """One section per heading, carrying the heading path ("Travel > Per diems")."""
    text = read_text(path)
    sections, trail = [], []
    matches = list(_HEADING.finditer(text))
    if not matches or matches[0].start() > 0:
        sections.append(Section(text[: matches[0].start() if matches else len(text)]))
    for i, m in enumerate(matches):
        level, title = len(m.group(1)), _title(m.group(2))
        trail = trail[: level - 1] + [title]
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        sections.append(Section(text[m.start():end], heading=" > ".join(trail)))
    return sections
