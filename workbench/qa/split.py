"""Train/test split by fact, and facts as Q/A rows for JSONL files."""

from __future__ import annotations

import json
import random
from collections import defaultdict
from pathlib import Path

from .facts import Fact
from .text import copies_run, runs, words


def _group_key(f: Fact) -> tuple[str, str]:
    # Facts from one sentence share their words: a train question about one of them would give away the
    # test answer about another ("Who owns the policy?" / "What does Anselm Turnbull own?").
    return f.source, " ".join(words(f.sentence))


def split_by_fact(facts: list[Fact], test_fraction: float = 0.2, seed: int = 0) -> tuple[list[Fact], list[Fact]]:
    """Whole facts (all facts of one sentence together) go to train or test, stratified by source.

    A test fact never shares its fact_id, its sentence, or any phrasing with a train fact; a test fact
    whose every phrasing also appears in train is dropped.
    """
    if not 0 <= test_fraction < 1:
        raise ValueError(f"test fraction must be at least 0 and below 1, got {test_fraction}")
    rng = random.Random(seed)
    by_source: dict[str, dict[tuple, list[Fact]]] = defaultdict(lambda: defaultdict(list))
    for f in facts:
        by_source[f.source][_group_key(f)].append(f)
    # Largest-remainder quotas: the test share of each source, rounded so the total is right.
    want = {s: test_fraction * sum(len(g) for g in groups.values()) for s, groups in by_source.items()}
    quota = {s: int(w) for s, w in want.items()}
    total = round(test_fraction * len(facts))
    order = sorted(want, key=lambda s: (-(want[s] - quota[s]), rng.random()))
    for s in order[:max(0, total - sum(quota.values()))]:
        quota[s] += 1
    test_keys = set()
    for source in sorted(by_source):
        groups = sorted(by_source[source])
        rng.shuffle(groups)
        taken = 0
        for key in groups:
            if taken < quota[source]:
                test_keys.add((source, key))
                taken += len(by_source[source][key])
    train = [f for f in facts if (f.source, _group_key(f)) not in test_keys]
    train_ids = {f.fact_id for f in train}
    train_questions = {q.lower() for f in train for q in f.questions}
    test = []
    for f in facts:
        if (f.source, _group_key(f)) in test_keys and f.fact_id not in train_ids:
            kept = [q for q in f.questions if q.lower() not in train_questions]
            if kept:
                test.append(Fact(**{**f.__dict__, "questions": kept}))
    return train, test


def heldout_phrasing(f: Fact) -> str:
    """The phrasing of a test fact that differs most from its first (most natural) one: direct questions first,
    and ones that copy no 6-word run of the fact's sentence first (a cloze question may have no other kind)."""
    if len(f.questions) == 1:
        return f.questions[0]
    first = set(words(f.questions[0]))
    sentence = runs(f.sentence)
    return min(f.questions[1:], key=lambda q: (copies_run(q, "", source_runs=sentence), q.startswith("Do you know"),
                                                len(set(words(q)) & first) / max(1, len(set(words(q)))), q))


def qa_items(facts: list[Fact], split: str, reword: bool) -> list[dict]:
    """Rows {"id", "question", "answer", "source", "chunk_id", "fact_id"} for a JSONL file.

    train: one row per fact (its first phrasing), or with `reword` one row per phrasing (augmentation); the first
    phrasing's row also holds the fact's aliased questions ("aliased", qa/aliases.py) where it has any.
    test: one row per fact: its first phrasing, or with `reword` the phrasing least like the first.
    """
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    rows = []
    for f in facts:
        if split == "train":
            phrasings = f.questions if reword else f.questions[:1]
        else:
            phrasings = [heldout_phrasing(f) if reword else f.questions[0]]
        for k, q in enumerate(phrasings):
            rows.append({"id": f"{f.fact_id}-{k}" if len(phrasings) > 1 else f.fact_id, "question": q,
                         "answer": f.answer, "source": f.source, "chunk_id": f.chunk_id, "fact_id": f.fact_id})
            if split == "train" and k == 0 and f.aliased:
                rows[-1]["aliased"] = f.aliased
    return rows


def read_jsonl(path: str | Path) -> list[dict]:
    """The rows of a JSONL file written by `write_jsonl` (blank lines skipped)."""
    return [json.loads(line) for line in Path(path).read_text(encoding="utf-8").splitlines() if line.strip()]


def write_jsonl(rows: list[dict], path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        for row in rows:
            f.write(json.dumps(row, ensure_ascii=False) + "\n")
    return path


def heldout_path(out: str | Path) -> Path:
    """The test file beside a train file: qa.jsonl -> qa.test.jsonl."""
    out = Path(out)
    return out.with_name(f"{out.stem}.test{out.suffix or '.jsonl'}")
