"""Ingestion: files (folders and zips unpacked) -> sections -> chunks -> the store; failures listed, not fatal.

Two stages, each reported to `progress`: reading and chunking the files one by one, then embedding the
new chunks of all files in batches. Unchanged files (same hash and chunk settings) are skipped, changed
ones replace their chunks, and a file that fails leaves whatever was stored for it untouched. A job's `cancel`
stops the first stage (jobs.Cancelled; nothing has been written then); once embedding has begun, it finishes.

A shipped corpus carries its chunks' embeddings (corpora/<name>/embeddings.npz, written by
scripts/ship_embeddings.py): on a first start, embedding ~1,000 chunks took a minute of two CPU cores, and
looking them up takes none. A chunk whose text is not in the file (an edited document, other chunk settings)
is embedded as usual.
"""

from __future__ import annotations

import logging
import tempfile
import threading
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from ..config import REPO_ROOT
from ..jobs import Cancelled
from .archive import ArchiveError, ArchiveLimits, unpack_zip
from .chunking import chunk_sections
from .loaders import LoaderError, load_file
from .parsing import ParseLimits, ParseWorker
from .store import DocumentUpdate, IngestProgress, VectorStore, check_corpus_name, file_sha

CORPORA_DIR = REPO_ROOT / "corpora"
SHIPPED_EMBEDDINGS = "embeddings.npz"
"""Beside a shipped corpus's docs/: its chunks' embeddings, text_key -> vector, and the embedder's name."""
log = logging.getLogger(__name__)


@dataclass
class IngestReport:
    corpus: str
    files_ok: list[str] = field(default_factory=list)
    files_failed: list[dict] = field(default_factory=list)
    """[{"file": name, "error": one-line reason}]"""
    chunks_added: int = 0
    chunks_total: int = 0
    parse_s: float = 0.0
    """Seconds the parsing worker spent on this upload (0 for trusted files parsed in-process)."""


def expand(paths: list[Path]) -> list[tuple[Path, str]]:
    """(file, source name) pairs: files as given, folders walked recursively (hidden files skipped)."""
    out = []
    for path in map(Path, paths):
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(path)
                if (f.is_file() or f.is_symlink()) and not any(part.startswith(".") for part in rel.parts):
                    out.append((f, rel.as_posix()))
        else:
            out.append((path, path.name))
    return out


def check_chunking(chunk_size: int, chunk_overlap: int) -> None:
    """Refuse chunk settings before any file is read."""
    if chunk_size < 1:
        raise ValueError(f"chunk size must be at least 1 token, got {chunk_size}")
    if not 0 <= chunk_overlap < chunk_size:
        raise ValueError(f"chunk overlap ({chunk_overlap}) must be at least 0 and smaller than the chunk size "
                         f"({chunk_size})")


def collect(paths: list[Path], workdir: Path, limits: ArchiveLimits, report: IngestReport) -> list[tuple[Path, str]]:
    """The files to read, zips unpacked under `workdir`; refused inputs go to report.files_failed."""
    files, seen = [], set()
    for number, (path, source) in enumerate(expand(paths)):
        if path.is_symlink():
            report.files_failed.append({"file": source, "error": "symbolic link; links are not followed"})
        elif not path.is_file():
            report.files_failed.append({"file": source, "error": "no such file"})
        elif path.suffix.lower() == ".zip":
            try:
                unpacked = unpack_zip(path, workdir / f"{number}", source + "/", limits)
            except ArchiveError as exc:
                report.files_failed.append({"file": source, "error": str(exc)})
                continue
            report.files_failed += unpacked.failed
            files += unpacked.files
        else:
            files.append((path, source))
    unique = []
    for path, source in files:
        if source in seen:
            report.files_failed.append({"file": source, "error": "another file in this upload has the same name; "
                                                                 "rename one of them"})
        else:
            seen.add(source)
            unique.append((path, source))
    return unique


def ingest(store: VectorStore, corpus: str, paths: list[Path], chunk_size: int = 200, chunk_overlap: int = 30,
           progress: IngestProgress | None = None, limits: ArchiveLimits | None = None,
           parse: ParseLimits | None = None,
           precomputed: Callable[[], dict[str, list[float]]] | None = None,
           cancel: threading.Event | None = None) -> IngestReport:
    """Add files, folders and zips to a corpus idempotently; see the module docstring.

    With `parse` (uploads), files are parsed in a worker process under those limits; without it (the
    CLI and the shipped corpora, trusted files) in this process. `precomputed` returns embeddings by text_key;
    it is called only when some file has chunks to write (an unchanged corpus does not read them).
    """
    check_corpus_name(corpus)
    check_chunking(chunk_size, chunk_overlap)
    report = IngestReport(corpus)
    with tempfile.TemporaryDirectory(prefix="workbench-ingest-") as workdir, \
            (ParseWorker(parse, cancel) if parse else nullcontext()) as worker:
        load = worker.load if worker else load_file
        files = collect(paths, Path(workdir), limits or ArchiveLimits(), report)
        stored = store.document_shas(corpus)
        updates, unchanged = [], []
        for number, (path, source) in enumerate(files):
            if cancel is not None and cancel.is_set():
                raise Cancelled("ingest cancelled before anything was stored")
            if progress:
                progress(number, len(files), "files", f"reading {source}")
            try:
                sha = f"{file_sha(path)}:{chunk_size}:{chunk_overlap}"  # new chunk settings re-chunk
                if stored.get(source) == sha:
                    unchanged.append(source)
                    continue
                chunks = chunk_sections(load(path), source, store.embedder.count_tokens, chunk_size, chunk_overlap)
                updates.append(DocumentUpdate(source, chunks, sha))
            except Cancelled:
                raise
            except (LoaderError, OSError) as exc:
                report.files_failed.append({"file": source, "error": str(exc) or type(exc).__name__})
        if progress and files:
            progress(len(files), len(files), "files", f"read {len(files)} files")
        report.parse_s = round(worker.spent, 3) if worker else 0.0
    table = precomputed() if precomputed and updates else None
    try:
        report.chunks_added = store.write_documents(corpus, updates, progress, table) if updates else 0
        written = [u.source for u in updates]
    except Exception as exc:  # noqa: BLE001 - the store (maybe a remote server) can fail in many ways
        detail = " ".join(str(exc).split())[:160]
        reason = f"could not write to the vector store ({detail}); nothing stored was removed, try again"
        report.files_failed += [{"file": u.source, "error": reason} for u in updates]
        written = []
    done = set(unchanged) | set(written)
    report.files_ok = [source for _, source in files if source in done]
    report.chunks_total = store.count(corpus) if store.exists(corpus) else 0
    return report


def shipped_corpora() -> dict[str, Path]:
    """Corpora shipped in the repo: corpora/<name>/docs/."""
    return {p.parent.name: p for p in sorted(CORPORA_DIR.glob("*/docs")) if p.is_dir()}


def ensure_shipped(store: VectorStore, settings, progress: IngestProgress | None = None) -> list[IngestReport]:
    """Index the shipped corpora; cheap when nothing changed (files are compared by hash)."""
    reports = []
    for name, folder in shipped_corpora().items():
        shipped = folder.parent / SHIPPED_EMBEDDINGS
        report = ingest(store, name, [folder], settings.chunk_size, settings.chunk_overlap, progress,
                        precomputed=lambda: load_embeddings(shipped, store.embedder.name))
        for gone in set(store.documents(name)) - {source for _, source in expand([folder])}:
            store.delete_document(name, gone)  # a file removed from the repo leaves the index too
        reports.append(report)
    return reports


def save_embeddings(store: VectorStore, corpus: str, path: Path) -> int:
    """Write a corpus's stored chunk embeddings to `path` (the SHIPPED_EMBEDDINGS format); returns how many."""
    import numpy as np

    table = store.embeddings(corpus)
    keys = sorted(table)
    np.savez_compressed(path, embedder=np.array(store.embedder.name), keys=np.array(keys),
                        vectors=np.array([table[key] for key in keys], dtype=np.float32))
    return len(keys)


def load_embeddings(path: Path, embedder: str) -> dict[str, list[float]]:
    """text_key -> embedding from a SHIPPED_EMBEDDINGS file; {} without one, or for one of another embedder."""
    import numpy as np

    if not path.is_file():
        return {}
    with np.load(path, allow_pickle=False) as saved:
        if str(saved["embedder"]) != embedder:
            log.info("%s holds embeddings of %s, not of %s: the corpus is embedded anew", path, saved["embedder"], embedder)
            return {}
        return dict(zip(saved["keys"].tolist(), saved["vectors"].tolist()))
