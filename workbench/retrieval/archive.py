"""Safe unpacking of uploaded .zip archives: limits checked before anything is written.

Refused as a whole (ArchiveError): not a zip, too many files, too many uncompressed bytes, a
compression ratio that looks like a zip bomb. Refused per entry (listed, the rest still unpacked):
paths that would land outside the target folder (zip-slip), symbolic links, encrypted entries,
archives nested deeper than allowed, entries whose data does not match their header.
"""

from __future__ import annotations

import stat
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

RATIO_FLOOR = 1 << 20
"""Ratios are only judged above 1 MiB: tiny or repetitive files compress absurdly well yet are harmless."""


class ArchiveError(ValueError):
    """An archive refused as a whole; the message is the one-line reason shown to the user."""


@dataclass(frozen=True)
class ArchiveLimits:
    max_files: int = 2000
    """Most files one zip (with its nested zips) may hold."""
    max_bytes: int = 512 * 2**20
    """Most bytes one zip (with its nested zips) may unpack to."""
    max_ratio: float = 200.0
    """Highest uncompressed/compressed ratio, for the archive and each entry (zip-bomb guard)."""
    max_depth: int = 1
    """Levels of zip that are opened: 1 opens an uploaded zip but refuses zips inside it."""

    @classmethod
    def from_settings(cls, settings) -> "ArchiveLimits":
        return cls(settings.zip_max_files, settings.zip_max_bytes, settings.zip_max_ratio, settings.zip_max_depth)


@dataclass
class Unpacked:
    """What came out of an archive: (file on disk, source name) pairs, and the entries refused."""

    files: list[tuple[Path, str]] = field(default_factory=list)
    failed: list[dict] = field(default_factory=list)
    """[{"file": source name, "error": one-line reason}]"""


@dataclass
class _Budget:
    files: int
    bytes: int


def _mb(n: int) -> str:
    return f"{n / 2**20:.1f} MB"


def _is_junk(name: str) -> bool:
    """Operating-system litter (macOS resource forks, dot-files) that nobody means to ingest."""
    parts = PurePosixPath(name).parts
    return not parts or parts[0] == "__MACOSX" or any(p.startswith(".") and p not in (".", "..") for p in parts)


def _safe_parts(name: str) -> tuple[str, ...] | None:
    """Path parts of an entry name, or None when it could land outside the target folder."""
    name = name.replace("\\", "/")  # some Windows tools write backslashes
    path = PurePosixPath(name)
    if path.is_absolute() or not path.parts or any(p == ".." for p in path.parts) or ":" in path.parts[0]:
        return None
    return tuple(p for p in path.parts if p != ".")


def check_sizes(infos: list[zipfile.ZipInfo], limits: ArchiveLimits, budget: _Budget | None = None) -> None:
    """Refuse an archive from its directory alone (declared sizes), before anything is unpacked.

    zipfile never returns more than an entry's declared size (and checks its CRC), so the declared
    sizes are a bound we can trust.
    """
    files = budget.files if budget else limits.max_files
    max_bytes = budget.bytes if budget else limits.max_bytes
    if len(infos) > files:
        raise ArchiveError(f"{len(infos)} files in the zip; the limit is {files} (split it into smaller zips)")
    total = sum(i.file_size for i in infos)
    if total > max_bytes:
        raise ArchiveError(f"unpacks to {_mb(total)}; the limit is {_mb(max_bytes)} (split it into smaller zips)")
    packed = sum(i.compress_size for i in infos)
    worst = max(infos, key=lambda i: i.file_size / max(i.compress_size, 1), default=None)
    for size, packed_size, what in [(total, packed, "the zip"),
                                    *([(worst.file_size, worst.compress_size, worst.filename)] if worst else [])]:
        ratio = size / max(packed_size, 1)
        if size > RATIO_FLOOR and ratio > limits.max_ratio:
            raise ArchiveError(f"compression ratio {ratio:.0f}:1 of {what} looks like a zip bomb; "
                               f"the limit is {limits.max_ratio:.0f}:1")


def open_zip(path: Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(path)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError) as exc:
        raise ArchiveError(f"not a valid zip file ({exc})") from None


def unpack_zip(path: Path, dest: Path, prefix: str = "", limits: ArchiveLimits = ArchiveLimits(),
               depth: int = 1, budget: _Budget | None = None) -> Unpacked:
    """Unpack `path` into `dest` (which must be empty or new); sources are `prefix` + the entry path."""
    budget = budget or _Budget(limits.max_files, limits.max_bytes)
    dest.mkdir(parents=True, exist_ok=True)
    root = dest.resolve()
    out = Unpacked()
    with open_zip(path) as zf:
        infos = [i for i in zf.infolist() if not i.is_dir() and not _is_junk(i.filename.replace("\\", "/"))]
        check_sizes(infos, limits, budget)
        budget.files -= len(infos)
        for info in infos:
            source = prefix + info.filename.replace("\\", "/")
            try:
                nested = _unpack_entry(zf, info, root, budget)
            except ArchiveError as exc:
                out.failed.append({"file": source, "error": str(exc)})
                continue
            if nested.suffix.lower() != ".zip":
                out.files.append((nested, source))
            elif depth >= limits.max_depth:
                out.failed.append({"file": source, "error": f"a zip inside a zip is not opened (nesting limit "
                                                             f"{limits.max_depth}); unzip it and upload its files"})
            else:
                try:
                    inner = unpack_zip(nested, nested.with_name(nested.name + ".d"), source + "/", limits, depth + 1,
                                       budget)
                except ArchiveError as exc:
                    out.failed.append({"file": source, "error": str(exc)})
                    continue
                out.files += inner.files
                out.failed += inner.failed
    return out


def _unpack_entry(zf: zipfile.ZipFile, info: zipfile.ZipInfo, root: Path, budget: _Budget) -> Path:
    """Write one entry under `root`, or raise ArchiveError with the reason it was refused."""
    parts = _safe_parts(info.filename)
    target = root.joinpath(*parts).resolve() if parts else None
    if target is None or not target.is_relative_to(root) or target == root:
        raise ArchiveError("path would land outside the archive folder (zip-slip); entry skipped")
    if stat.S_ISLNK(info.external_attr >> 16):
        raise ArchiveError("symbolic link; links are not followed")
    if info.flag_bits & 0x1:
        raise ArchiveError("encrypted zip entry; unzip it with its password and upload the files")
    if target.exists():
        raise ArchiveError("another entry of the zip has the same path")
    target.parent.mkdir(parents=True, exist_ok=True)
    written = 0
    try:
        with zf.open(info) as src, open(target, "wb") as dst:
            while block := src.read(1 << 20):
                written += len(block)
                if written > info.file_size or written > budget.bytes:  # defence in depth: never trust one check
                    raise ArchiveError("entry is larger than its header says; entry skipped")
                dst.write(block)
    except (zipfile.BadZipFile, EOFError, OSError, ValueError, NotImplementedError) as exc:
        target.unlink(missing_ok=True)
        if isinstance(exc, ArchiveError):
            raise
        raise ArchiveError(f"corrupt zip entry ({exc})") from None
    budget.bytes -= written
    return target


def check_container(path: Path, limits: ArchiveLimits = ArchiveLimits()) -> None:
    """Size checks for zip-based document formats (.docx .pptx .xlsx .odt .ods .epub) before a parser inflates
    them in memory."""
    with open_zip(path) as zf:
        check_sizes(zf.infolist(), limits)
