"""File loaders: one small function per format, registered by suffix.

A loader turns a file into Sections (text plus page/heading metadata). It raises LoaderError with a
one-line reason for files it cannot read, so ingestion can list the failure and go on with the rest.
The formats live in submodules: text (.txt .md), documents (.pdf .docx .pptx .rtf), opendocument (.odt .ods),
web (.html .htm .epub) and records (.csv .json .jsonl .xlsx); importing this package registers them all.
"""

from __future__ import annotations

import importlib
import re
import zipfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from ..archive import ArchiveError, check_container


class LoaderError(ValueError):
    """A file that cannot be parsed; the message is the one-line reason shown to the user."""


@dataclass
class Section:
    text: str
    heading: str = ""
    """Heading path of the text, e.g. "Travel > Per diems" ("" when the format has none)."""
    page: int | None = None
    """1-based page number (PDF) or slide number (.pptx)."""


LOADERS: dict[str, Callable[[Path], list[Section]]] = {}

# Formats people often have that we do not parse, with what to do instead.
HINTS = {
    ".doc": "save it as .docx", ".xls": "save it as .xlsx or export it as .csv", ".ppt": "save it as .pptx",
    ".tar": "upload a .zip instead", ".gz": "upload a .zip instead", ".tgz": "upload a .zip instead",
    ".7z": "upload a .zip instead", ".rar": "upload a .zip instead",
}


def loader(*suffixes: str):
    def register(fn):
        for suffix in suffixes:
            LOADERS[suffix] = fn
        return fn

    return register


def supported_suffixes() -> list[str]:
    """Every suffix ingestion accepts (the registered loaders plus .zip archives)."""
    return sorted([*LOADERS, ".zip"])


def read_bytes_checked(path: Path) -> bytes:
    """The file's bytes, refusing binary data (NUL bytes near the start) for text formats."""
    data = path.read_bytes()
    if b"\x00" in data[:4096] and data[:2] not in (b"\xff\xfe", b"\xfe\xff"):
        raise LoaderError("binary data, not text")
    return data


def read_text(path: Path) -> str:
    data = read_bytes_checked(path)
    for encoding in ("utf-16",) if data[:2] in (b"\xff\xfe", b"\xfe\xff") else ("utf-8-sig",):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise LoaderError("not decodable as UTF-8 text")


def clean_text(text: str) -> str:
    """Collapse runs of spaces, strip each line, and keep at most one blank line between paragraphs."""
    lines = [re.sub(r"[ \t\r\f\v\u00a0]+", " ", line).strip() for line in text.split("\n")]
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


class Outline:
    """Builds Sections from a document read top to bottom: headings open sections, text fills them.

    A heading of level n replaces the trail from level n down, so sections carry their heading path.
    A heading directly followed by another heading makes no section of its own (it stays in the path).
    """

    def __init__(self, page: int | None = None):
        self.sections: list[Section] = []
        self.page = page
        self._trail: list[str] = []
        self._parts: list[str] = []
        self._has_body = False

    def heading(self, level: int, title: str) -> None:
        title = clean_text(title)
        if not title:
            return
        self._flush()
        self._trail = self._trail[: max(level, 1) - 1] + [title]
        self._parts = [title]  # the heading text stays in the chunk: it helps retrieval

    def text(self, text: str) -> None:
        text = clean_text(text)
        if text:
            self._parts.append(text)
            self._has_body = True

    def finish(self) -> list[Section]:
        self._flush()
        return self.sections

    def _flush(self) -> None:
        if self._has_body:
            self.sections.append(Section("\n\n".join(self._parts), " > ".join(self._trail), self.page))
        self._parts, self._has_body = [], False


# Word, Excel and PowerPoint write password-protected files (and wrote their old binary formats) as OLE2 containers.
_OLE2 = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
_OLD_OFFICE = {".docx": ".doc", ".xlsx": ".xls", ".xlsm": ".xls", ".pptx": ".ppt"}


def one_line(exc: BaseException) -> str:
    """An exception's message on one short line (its type name when it has none)."""
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text if len(text) <= 160 else text[:159] + "…"


@contextmanager
def parser_errors(path: Path, fix: str):
    """Turn what a third-party parser raises on a malformed file into one line ending with `fix` (what to do)."""
    try:
        yield
    except (LoaderError, OSError, MemoryError, RecursionError):  # parsing.py words the last two
        raise
    except Exception as exc:  # noqa: BLE001 - parsers fail on broken files in many ways (KeyError, lxml, zlib...)
        raise LoaderError(f"not a valid {path.suffix.lower()} file ({one_line(exc)}); {fix}") from None


@contextmanager
def zip_document(path: Path, fix: str):
    """Guard the parsing of a zip-based format (.docx .pptx .xlsx .odt .ods .epub): as parser_errors, and
    a zip bomb is refused before the parser inflates the file in memory."""
    suffix = path.suffix.lower()
    with path.open("rb") as f:
        if suffix in _OLD_OFFICE and f.read(len(_OLE2)) == _OLE2:
            raise LoaderError(f"password-protected, or a {_OLD_OFFICE[suffix]} file renamed {suffix}; remove the "
                              f"password, or open it and save it as {suffix}")
    if not zipfile.is_zipfile(path):
        raise LoaderError(f"not a valid {suffix} file (no readable zip container in it: truncated, or another "
                          f"type of file); {fix}")
    try:
        check_container(path)
    except ArchiveError as exc:  # the sizes of a zip bomb
        raise LoaderError(str(exc)) from None
    with parser_errors(path, fix):
        yield


def load_file(path: Path) -> list[Section]:
    """Sections of a file, or LoaderError with the reason it cannot be used."""
    suffix = path.suffix.lower()
    fn = LOADERS.get(suffix)
    if fn is None:
        hint = f" ({HINTS[suffix]})" if suffix in HINTS else ""
        raise LoaderError(f"unsupported file type {suffix or '(no extension)'}{hint}; "
                          f"supported: {' '.join(supported_suffixes())}")
    if path.stat().st_size == 0:
        raise LoaderError("empty file")
    try:
        sections = fn(path)
    except (LoaderError, OSError):
        raise
    except Exception as exc:  # noqa: BLE001
        # Third-party parsers meet hostile input here and fail in many ways (KeyError, struct.error,
        # RecursionError...); one bad file must become a listed failure, not abort the whole upload.
        raise LoaderError(f"cannot parse this {suffix} file ({one_line(exc)})") from exc
    sections = [s for s in sections if s.text.strip()]
    if not sections:
        raise LoaderError("no text found")
    return sections


# Importing a format module registers its loaders.
for _module in ("text", "documents", "opendocument", "web", "records"):
    importlib.import_module(f"{__name__}.{_module}")
