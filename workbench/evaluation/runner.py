"""The batch runner: every selected arm over an eval set. The arms of `eval_batch` questions (a setting, 8 by default)
generate together in one batch: each decode step reads the weights once for all their rows, and the greedy answers
are those of one question at a time. Each arm's latency is its own cost (see `score` in report.py).

Answers are cached in SQLite in the data directory, one entry per (model, arm, adapter weights, corpus contents,
settings that change the output, question), so a re-run, or a larger run over the same set, only generates
what is new. Cached rows keep the latency measured when they were generated (and the batch they ran in).
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import sqlite3
import threading
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

from .. import polar
from ..adapters import WEIGHTS_FILE, AdapterError, find_adapter
from ..arms import Arm, parse_arms, passages_read
from ..results import ArmResult, Metrics, Passage
from ..retrieval.store import StoreError, file_sha
from ..slot import BATCH
from ..validation import EVAL_BATCH_MAX, check_number
from .datasets import EvalItem, EvalSet

if TYPE_CHECKING:
    from ..engine import Workbench

CACHE_VERSION = 3
"""Bump when prompts or generation change in a way the key does not see, to ignore older entries."""


@dataclass
class EvalRecord:
    """One arm's answer to one question, with what scoring needs."""

    item: EvalItem
    result: ArmResult
    evidence: list[Passage]
    """The question's top-k passages from the corpus (the retrieval arms' own): groundedness is measured
    against them for every arm, so closed-book arms are judged against the same evidence."""
    cached: bool = False


class ResultCache:
    """ArmResults by key in one SQLite table; a connection per call, so Gradio's worker threads can share it."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path)) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS answers (key TEXT PRIMARY KEY, arm TEXT, created REAL, result TEXT)")

    @classmethod
    def in_data_dir(cls, settings) -> "ResultCache":
        return cls(settings.data_path / "eval_cache.sqlite")

    def get(self, key: str) -> ArmResult | None:
        with closing(sqlite3.connect(self.path)) as db:
            row = db.execute("SELECT result FROM answers WHERE key = ?", (key,)).fetchone()
        if row is None:
            return None
        try:
            data = json.loads(row[0])
            return ArmResult(**{**data, "passages": [Passage(**p) for p in data["passages"]],
                                "metrics": Metrics(**data["metrics"])})
        except (TypeError, KeyError, json.JSONDecodeError):  # an entry from an older result format: recompute
            return None

    def put(self, key: str, result: ArmResult) -> None:
        with closing(sqlite3.connect(self.path)) as db, db:
            db.execute("INSERT OR REPLACE INTO answers VALUES (?, ?, ?, ?)",
                       (key, result.arm, time.time(), json.dumps(dataclasses.asdict(result))))

    def count(self) -> int:
        """Cached answers, all runs together."""
        with closing(sqlite3.connect(self.path)) as db:
            return db.execute("SELECT COUNT(*) FROM answers").fetchone()[0]


def _sha(payload) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def corpus_fingerprint(store, corpus: str) -> str:
    """Changes when any document of the corpus, the chunking or the embedder changes."""
    return _sha([store.embedder.name, sorted(store.document_shas(corpus).items())])


def adapter_fingerprint(name: str, dirs: list[Path]) -> str | None:
    """The adapter's folder, weights hash and yes/no threshold (a retrained or re-fitted adapter gets new answers);
    None if it cannot be found."""
    try:
        folder = find_adapter(name, dirs).resolve() if name else None
    except AdapterError:
        return None
    weights = folder / WEIGHTS_FILE if folder else None
    if not (weights and weights.is_file()):
        return None
    cut = polar.threshold(folder)
    return f"{folder}:{file_sha(weights)}" + (f":yes-no {cut}" if cut is not None else "")


class ArmKeys:
    """Cache keys per arm for one run: the run-wide part is computed once, the question is added per item."""

    def __init__(self, wb: Workbench, opts, arms: list[Arm], corpus_known: bool):
        corpus_fp = corpus_fingerprint(wb.store, opts.corpus) if corpus_known and any(a.retrieval for a in arms) else None
        # bf16 and fp32 weights can give different greedy answers: never serve one's answers for the other
        dtype = str(getattr(wb.model, "dtype", "")).removeprefix("torch.")
        self.parts: dict[str, dict | None] = {}
        for arm in arms:
            adapter = adapter_fingerprint(getattr(opts, arm.adapter_setting), opts.adapter_dirs) if arm.adapter_setting else None
            if arm.adapter_setting and adapter is None:
                self.parts[arm.name] = None  # the arm will report its error; errors are never cached
                continue
            self.parts[arm.name] = {
                "version": CACHE_VERSION, "model": wb.model_id, "arm": arm.name, "adapter": adapter,
                "corpus": [opts.corpus, corpus_fp, opts.top_k, passages_read(arm, opts)] if arm.retrieval else None,
                "max_new_tokens": opts.max_new_tokens, "temperature": opts.temperature,
                "system_prompt": opts.system_prompt, "dtype": dtype,
            }

    def key(self, arm: str, question: str) -> str | None:
        part = self.parts.get(arm)
        return _sha({**part, "question": question}) if part else None


def iter_eval(wb: Workbench, items: list[EvalItem], arms: str | list[str] | None = None,
              cache: ResultCache | None = None, cancel: threading.Event | None = None,
              **overrides) -> Iterator[list[EvalRecord]]:
    """Yield the records of each question in turn (one per selected arm). Questions are generated `eval_batch` at a
    time, so they arrive in bursts. Setting `cancel` stops the run at its next decode step (InterruptedError);
    what finished batches generated stays in the cache."""
    opts = wb.options(**overrides)
    check_number(opts.eval_batch, "eval_batch", 1, EVAL_BATCH_MAX, integer=True)
    selected = parse_arms(arms)
    corpus_known = wb.store.exists(opts.corpus)  # private per-session corpora too, when named
    if any(a.retrieval for a in selected) and not corpus_known:
        raise StoreError(f"unknown corpus {opts.corpus!r} (known: {', '.join(wb.store.corpora()) or 'none'})")
    keys = ArmKeys(wb, opts, selected, corpus_known) if cache is not None else None
    for start in range(0, len(items), opts.eval_batch):
        batch = items[start:start + opts.eval_batch]
        item_keys = [{arm.name: keys.key(arm.name, item.question) if keys else None for arm in selected}
                     for item in batch]
        results: list[dict[str, ArmResult]] = [
            {name: hit for name, key in k.items() if key and (hit := cache.get(key)) is not None} for k in item_keys]
        cached = [set(r) for r in results]
        # The arms still to answer, generated together. Questions missing the same arms share a call; in a run
        # that is all of them, unless the cache holds some arms of some questions.
        groups: dict[tuple[str, ...], list[int]] = {}
        for j, found in enumerate(results):
            pending = tuple(arm.name for arm in selected if arm.name not in found)
            if pending:
                groups.setdefault(pending, []).append(j)
        for pending, members in groups.items():
            # BATCH: a comparison waiting for the model goes before this batch (workbench/slot.py)
            comparisons = wb.compare_many([batch[j].question for j in members], list(pending),
                                          cancel=cancel, priority=BATCH, **overrides)
            for j, comparison in zip(members, comparisons):
                for result in comparison.arms:
                    results[j][result.arm] = result
                    if item_keys[j][result.arm] and result.done and not result.error:
                        cache.put(item_keys[j][result.arm], result)
        for item, found, hits in zip(batch, results, cached):
            evidence = max((r.passages for r in found.values()), key=len, default=None) or None  # all retrieved
            if evidence is None and corpus_known:  # closed-book arms only: retrieve the evidence to judge them against
                evidence, _ = wb.retrieve(item.question, opts.corpus, opts.top_k)
            yield [EvalRecord(item, found[arm.name], evidence or [], arm.name in hits) for arm in selected]


def run_eval(wb: Workbench, eval_set: EvalSet, arms: str | list[str] | None = None, limit: int | None = None,
             cache: ResultCache | None = None, progress: Callable[[int, int], None] | None = None,
             **overrides) -> list[EvalRecord]:
    """All records of the first `limit` questions (all when None); `progress(done, total)` after each question."""
    items = eval_set.items[:limit] if limit else eval_set.items
    records: list[EvalRecord] = []
    for done, question_records in enumerate(iter_eval(wb, items, arms, cache, **overrides), 1):
        records += question_records
        if progress:
            progress(done, len(items))
    return records


def evaluation_work(wb, items: list[EvalItem], arms, cache: ResultCache | None, overrides: dict):
    """`iter_eval` as the work of a job (workbench/jobs.py): one Progress per question, its records the detail;
    the job's cancel stops generation at its next step. The UI and the CLI run evaluations this way."""
    from ..jobs import Progress, eta

    def work(job) -> int:
        started, done = time.perf_counter(), 0
        for done, question_records in enumerate(iter_eval(wb, items, arms, cache, job.cancelled, **overrides), 1):
            job.report(Progress("evaluate", done, len(items), "questions", eta(started, done, len(items)),
                                f"question {done}/{len(items)}", detail=question_records))
        return done

    return work
