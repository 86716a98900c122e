"""File loaders: one small function per format, registered by suffix.

A loader turns a file into Sections (text plus page/heading metadata). It raises LoaderError with a
one-line reason for files it cannot read, so ingestion can list the failure and go on with the rest.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable


class LoaderError(ValueError):
    """A file that cannot be parsed; the message is the one-line reason shown to the user."""


@dataclass
class Section:
    text: str
    heading: str = ""
    page: int | None = None


LOADERS: dict[str, Callable[[Path], list[Section]]] = {}


def loader(*suffixes: str):
    def register(fn):
        for suffix in suffixes:
            LOADERS[suffix] = fn
        return fn

    return register


def read_text(path: Path) -> str:
    data = path.read_bytes()
    if b"\x00" in data[:4096]:
        raise LoaderError("binary data, not text")
    for encoding in ("utf-8-sig", "utf-16") if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LoaderError("not decodable as UTF-8 text")


@loader(".txt")
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


def load_file(path: Path) -> list[Section]:
    """Sections of a file, or LoaderError with the reason it cannot be used."""
    fn = LOADERS.get(path.suffix.lower())
    if fn is None:
        raise LoaderError(f"unsupported file type {path.suffix or '(no extension)'}; supported: {' '.join(sorted(LOADERS))}")
    if path.stat().st_size == 0:
        raise LoaderError("empty file")
    sections = [s for s in fn(path) if s.text.strip()]
    if not sections:
        raise LoaderError("no text found")
    return sections
