"""One call for the CLI and the UI: a corpus's chunks -> facts -> train/test JSONL files + quality figures."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable

from ..results import Passage
from .facts import QAError, generate_facts
from .quality import quality
from .split import heldout_path, qa_items, split_by_fact, write_jsonl


def corpus_chunks(store, corpus: str, settings=None) -> list[Passage]:
    """Every chunk of a corpus; a shipped corpus not yet indexed in this data directory is indexed first."""
    from ..retrieval.ingest import ensure_shipped, shipped_corpora

    if not store.exists(corpus) and corpus in shipped_corpora() and settings is not None:
        if store.embedder is None:
            from ..retrieval.embedder import Embedder

            store.embedder = Embedder.load(settings.embedder, settings.device)
        ensure_shipped(store, settings)
    chunks = store.chunks(corpus)
    if not chunks:
        raise QAError(f"corpus {corpus!r} is empty: add documents to it first "
                      f"(python -m workbench ingest PATH --corpus {corpus})")
    return chunks


def read_reference(paths: list[str | Path]) -> list[dict]:
    """Hand-written Q/A rows (JSONL with question, answer, source) to measure recall against."""
    rows = []
    for path in paths:
        if not Path(path).is_file():
            raise QAError(f"reference file {path} not found: give a JSONL file of hand-written Q/A")
        with open(path, encoding="utf-8") as f:
            for n, line in enumerate(f, 1):
                if not line.strip():
                    continue
                try:
                    row = json.loads(line)
                except json.JSONDecodeError:
                    row = None
                if not isinstance(row, dict) or "answer" not in row:
                    raise QAError(f"reference file {path} line {n} is not a JSON object with an answer: write one "
                                  '{"question", "answer", "source"} object per line')
                rows.append(row)
    return rows


REFERENCE_FILES = ("train.jsonl", "test.jsonl", "independent.jsonl")
"""A shipped corpus's hand-written Q/A with answers (unanswerable.jsonl and augmented copies left out)."""


def shipped_reference(corpus: str) -> list[dict] | None:
    """The hand-written Q/A shipped with a corpus (corpora/<name>/qa/), or None when it has none."""
    from ..retrieval.ingest import CORPORA_DIR

    paths = [CORPORA_DIR / corpus / "qa" / name for name in REFERENCE_FILES]
    rows = read_reference([p for p in paths if p.is_file()])
    return [r for r in rows if str(r.get("answer", "")).strip().lower() not in ("yes", "no", "maybe")] or None


def make_qa_files(chunks: list[Passage], out: str | Path, max_facts: int | None = None, test_fraction: float = 0.2,
                  seed: int = 0, reference: list[dict] | None = None,
                  progress: Callable[[int, int], None] | None = None) -> dict:
    """Write `out` (train rows, every phrasing) and its `.test` sibling (one reworded phrasing per fact).

    Returns the quality figures plus {"train", "test"} row counts, {"train_facts", "test_facts"} and both paths.
    """
    if max_facts is not None and max_facts < 1:
        raise ValueError(f"max facts must be at least 1, got {max_facts}")
    if not 0 <= test_fraction < 1:  # before the parsing, not after it
        raise ValueError(f"test fraction must be at least 0 and below 1, got {test_fraction}")
    facts = generate_facts(chunks, max_facts=max_facts, seed=seed, progress=progress)
    train, test = split_by_fact(facts, test_fraction, seed)
    train_rows, test_rows = qa_items(train, "train", reword=True), qa_items(test, "test", reword=True)
    train_path = write_jsonl(train_rows, out)
    test_file = write_jsonl(test_rows, heldout_path(out))
    return {**quality(facts, chunks, reference), "train": len(train_rows), "test": len(test_rows),
            "train_facts": len(train), "test_facts": len(test), "out": str(train_path), "test_out": str(test_file)}
