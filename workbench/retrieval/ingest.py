"""Ingestion: files -> sections -> chunks -> the store, one file at a time, failures listed not fatal."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from ..config import REPO_ROOT
from .chunking import chunk_sections
from .loaders import LoaderError, load_file
from .store import Progress, VectorStore, check_corpus_name, file_sha

CORPORA_DIR = REPO_ROOT / "corpora"


@dataclass
class IngestReport:
    corpus: str
    files_ok: list[str] = field(default_factory=list)
    files_failed: list[dict] = field(default_factory=list)
    """[{"file": name, "error": one-line reason}]"""
    chunks_added: int = 0
    chunks_total: int = 0


def expand(paths: list[Path]) -> list[tuple[Path, str]]:
    """(file, source name) pairs: files as given, folders walked recursively (hidden files skipped)."""
    out = []
    for path in map(Path, paths):
        if path.is_dir():
            for f in sorted(path.rglob("*")):
                rel = f.relative_to(path)
                if f.is_file() and not any(part.startswith(".") for part in rel.parts):
                    out.append((f, rel.as_posix()))
        else:
            out.append((path, path.name))
    return out


def ingest(store: VectorStore, corpus: str, paths: list[Path], chunk_size: int = 200, chunk_overlap: int = 30,
           progress: Progress | None = None) -> IngestReport:
    """Add files to a corpus idempotently: unchanged files are skipped, changed ones replace their chunks."""
    check_corpus_name(corpus)
    report = IngestReport(corpus)
    files = expand(paths)
    for i, (path, source) in enumerate(files):
        if progress:
            progress(i / max(len(files), 1), f"reading {source} ({i + 1}/{len(files)})")
        try:
            if not path.is_file():
                raise LoaderError("no such file")
            sha = f"{file_sha(path)}:{chunk_size}:{chunk_overlap}"  # new chunk settings re-chunk
            if store.stored_sha(corpus, source) != sha:
                chunks = chunk_sections(load_file(path), source, store.embedder.count_tokens, chunk_size, chunk_overlap)
                report.chunks_added += store.replace_document(corpus, source, chunks, sha)
            report.files_ok.append(source)
        except (LoaderError, OSError) as exc:
            report.files_failed.append({"file": source, "error": str(exc) or type(exc).__name__})
    report.chunks_total = store.count(corpus) if corpus in store.corpora() else 0
    if progress:
        progress(1.0, f"{corpus}: {report.chunks_total} chunks")
    return report


def shipped_corpora() -> dict[str, Path]:
    """Corpora shipped in the repo: corpora/<name>/docs/."""
    return {p.parent.name: p for p in sorted(CORPORA_DIR.glob("*/docs")) if p.is_dir()}


def ensure_shipped(store: VectorStore, settings, progress: Progress | None = None) -> list[IngestReport]:
    """Index the shipped corpora; cheap when nothing changed (files are compared by hash)."""
    reports = []
    for name, folder in shipped_corpora().items():
        report = ingest(store, name, [folder], settings.chunk_size, settings.chunk_overlap, progress)
        for gone in set(store.documents(name)) - {source for _, source in expand([folder])}:
            store.delete_document(name, gone)  # a file removed from the repo leaves the index too
        reports.append(report)
    return reports
