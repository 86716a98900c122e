"""Benchmark: the four arms batched in one generate call vs one arm at a time, measured in one run.

Also reports the retrieval top-k source hit rate on a QA set. Prints figures; asserts nothing.
"""

from __future__ import annotations

import platform
import statistics
import time
from pathlib import Path

import torch

from .arms import parse_arms
from .evaluation.datasets import load_eval_set


def machine() -> str:
    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA)"
    return f"{platform.processor() or platform.machine()} CPU, {torch.get_num_threads()} threads, torch {torch.__version__}"


def retrieval_hit_rate(wb, items, corpus: str, k: int) -> float:
    """Share of eval items whose `source` is among the sources of the top-k passages."""
    hits = sum(item.source in {p.source for p in wb.store.query(corpus, item.question, k)} for item in items)
    return hits / len(items)


def run_bench(wb, qa_path: Path, n: int = 5, arms: str = "base,rag,lora,raft", max_new_tokens: int = 48,
              corpus: str | None = None) -> dict:
    """Time n questions both ways; greedy decoding with ignore of EOS is not forced, so outputs are real answers."""
    eval_set = load_eval_set(qa_path)
    rows = eval_set.items
    corpus = corpus or eval_set.corpus or wb.settings.corpus
    selected = [a.name for a in parse_arms(arms)]
    opts = dict(max_new_tokens=max_new_tokens, corpus=corpus, temperature=0.0)
    wb.compare(rows[0].question, selected, **opts)  # warm-up: attach adapters, first-call overheads

    batched_s, sequential_s, batched_tokens, sequential_tokens = [], [], 0, 0
    for row in rows[:n]:
        started = time.perf_counter()
        result = wb.compare(row.question, selected, **opts)
        batched_s.append(time.perf_counter() - started)
        batched_tokens += sum(a.metrics.output_tokens for a in result.arms)
        started = time.perf_counter()
        for arm in selected:
            sequential_tokens += wb.compare(row.question, [arm], **opts).arms[0].metrics.output_tokens
        sequential_s.append(time.perf_counter() - started)
    errors = {a.arm: a.error for a in result.arms if a.error}
    return {
        "machine": machine(),
        "model": wb.model_id,
        "arms": selected,
        "arm_errors": errors,
        "questions": len(batched_s),
        "max_new_tokens": max_new_tokens,
        "batched_wall_s_mean": round(statistics.mean(batched_s), 2),
        "sequential_wall_s_mean": round(statistics.mean(sequential_s), 2),
        "speedup_batched_vs_sequential": round(sum(sequential_s) / sum(batched_s), 2),
        "batched_tokens_per_s": round(batched_tokens / sum(batched_s), 1),
        "sequential_tokens_per_s": round(sequential_tokens / sum(sequential_s), 1),
        "retrieval_top3_source_hit_rate": round(retrieval_hit_rate(wb, [r for r in rows if r.source], corpus, 3), 3),
        "retrieval_questions": len(rows),
    }
