"""Plain text and Markdown."""

from __future__ import annotations

import re
from pathlib import Path

from . import Section, loader, read_text


@loader(".txt", ".text")
def load_txt(path: Path) -> list[Section]:
    return [Section(read_text(path))]


_HEADING = re.compile(r"^(#{1,6})\s+(.+?)\s*#*\s*$", re.MULTILINE)


@loader(".md", ".markdown")
def load_markdown(path: Path) -> list[Section]:
    """One section per heading, carrying the heading path ("Travel > Per diems")."""
    text = read_text(path)
    sections, trail = [], []
    matches = list(_HEADING.finditer(text))
    if not matches or matches[0].start() > 0:
        sections.append(Section(text[: matches[0].start() if matches else len(text)]))
    for i, m in enumerate(matches):
        level, title = len(m.group(1)), m.group(2).strip()
        trail = trail[: level - 1] + [title]
        end = matches[i + 1].start() if i + 1 < len(matches) else len(text)
        sections.append(Section(text[m.start():end], heading=" > ".join(trail)))
    return sections
