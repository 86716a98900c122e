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
        with open(path, encoding="utf-8") as f:
            rows += [json.loads(line) for line in f if line.strip()]
    return rows


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
