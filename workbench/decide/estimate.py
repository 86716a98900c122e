"""The budget a Decide run needs, known before pressing Decide: from the runs already made on this machine.

A run's plan stage measures this machine and the corpus, and records the smallest budget that fits
(`min_budget_minutes`, also when the budget given was too small). The same corpus reuses its figure; another corpus
scales the latest one by its word count (training and question counts grow with the text). Without any run there
is no estimate: the first run measures, and a budget too small stops after question generation saying how much
it needs.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from pathlib import Path


@dataclass
class Estimate:
    minutes: int
    """The smallest budget expected to run."""
    basis: str
    """Where the figure comes from, in words."""


def _measured(root: Path) -> list[tuple[float, str, str, float, int]]:
    """(mtime, run name, corpus, min minutes, words) of every run that recorded its minimum budget."""
    out = []
    for record in Path(root).glob("*/run.json"):
        try:
            data = json.loads(record.read_text())
            state = data.get("state", {})
            minutes = (state.get("plan") or {}).get("min_budget_minutes") or state.get("min_budget_minutes")
            words = (state.get("qa") or {}).get("words") or 0
            if minutes:
                out.append((record.stat().st_mtime, record.parent.name, data["corpus"], float(minutes), int(words)))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return sorted(out, reverse=True)


def estimate_budget(root: Path, corpus: str, words: int) -> Estimate | None:
    """The smallest budget for `corpus` (of `words` words), from the latest measured run; None before any run."""
    runs = _measured(root)
    for _, name, run_corpus, minutes, _ in runs:
        if run_corpus == corpus:
            return Estimate(math.ceil(minutes), f"measured by run {name} on this corpus")
    for _, name, _, minutes, run_words in runs:
        if run_words and words:
            return Estimate(max(1, math.ceil(minutes * words / run_words)),
                            f"scaled by word count from run {name} on this machine")
    return None
