"""The numbers behind a Decide verdict: bootstrap intervals, break-even, and the verdict in words.

Pure functions over per-question scores (1/0 contains-answer, or F1) and measured costs, so they are tested
without a model. Intervals are percentile bootstraps over questions, paired across arms (every resample takes
the same questions for every arm), as the arms answered the same questions.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

RESAMPLES = 2000
"""Bootstrap resamples; the interval's ends move by well under a point between seeds at this count."""

ARM_MEANING = {
    "base": "the model alone",
    "rag": "retrieval (RAG)",
    "lora": "fine-tuning (LoRA, closed book)",
    "raft": "fine-tuning and retrieval together (RAFT)",
}


def mean(values: list[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def bootstrap_ci(scores: dict[str, list[float]], resamples: int = RESAMPLES, seed: int = 0) -> dict[str, tuple[float, float]]:
    """95 % interval of each arm's mean score; `scores[arm][i]` is the arm's score on question i."""
    n = len(next(iter(scores.values()), []))
    rng = random.Random(seed)
    means: dict[str, list[float]] = {arm: [] for arm in scores}
    for _ in range(resamples if n else 0):
        picks = [rng.randrange(n) for _ in range(n)]
        for arm, values in scores.items():
            means[arm].append(sum(values[i] for i in picks) / n)
    return {arm: _interval(m) if m else (0.0, 0.0) for arm, m in means.items()}


def paired_difference_ci(a: list[float], b: list[float], resamples: int = RESAMPLES, seed: int = 1) -> tuple[float, float]:
    """95 % interval of mean(a) - mean(b) over the same questions."""
    n = len(a)
    if n == 0:
        return (0.0, 0.0)
    rng = random.Random(seed)
    diffs = []
    for _ in range(resamples):
        picks = [rng.randrange(n) for _ in range(n)]
        diffs.append(sum(a[i] - b[i] for i in picks) / n)
    return _interval(diffs)


def sign_test_p(a: list[float], b: list[float]) -> float:
    """Two-sided exact sign test over the questions where a and b differ (McNemar's exact test for 0/1 scores).

    On a handful of questions the bootstrap interval is too narrow (3 of 3 right against 0 of 3 resamples to
    +100 to +100 points); the exact test says what so few questions can show (3 of 3: p = 0.25)."""
    wins, losses = sum(x > y for x, y in zip(a, b)), sum(x < y for x, y in zip(a, b))
    n = wins + losses
    if n == 0:
        return 1.0
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(min(wins, losses) + 1)) / 2 ** n)


def resolvable_points(questions: int) -> int:
    """Differences (in points of contains) that `questions` questions may not tell apart at 95 %: the worst case,
    two unrelated arms near 50 %, 1.96 × sqrt(0.5 / n), rounded to 5 points (6: ~55, 12: ~40, 30: ~25, 120: ~15)."""
    if questions <= 0:
        return 100
    return min(100, 5 * round(1.96 * math.sqrt(0.5 / questions) * 100 / 5))


def _interval(values: list[float]) -> tuple[float, float]:
    values = sorted(values)
    lo, hi = values[int(0.025 * (len(values) - 1))], values[int(round(0.975 * (len(values) - 1)))]
    return (round(lo, 4), round(hi, 4))


def break_even_queries(train_seconds: float, arm_query_ms: float, rag_query_ms: float) -> int | None:
    """Queries after which an adapter's training time is repaid by answering faster than rag; None if never."""
    saving_ms = rag_query_ms - arm_query_ms
    if saving_ms <= 0:
        return None
    return max(1, round(train_seconds * 1000 / saving_ms))


def _nice_ceiling(x: float) -> int:
    """The smallest of 1, 2, 2.5, 5 × 10^k that is at least x."""
    magnitude = 10 ** math.floor(math.log10(max(x, 1)))
    return int(next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= x))


def chart_queries(train_seconds: dict[str, float], query_ms: dict[str, float], break_even: dict[str, int | None],
                  points: int = 5) -> list[int]:
    """Query counts at which to draw the cost lines: up to 1.5× the farthest break-even, so the crossing and the
    training cost (the lines' start at 0 queries) are both on the chart. When no adapter pays back, up to where
    rag's query time reaches twice the largest training time. Break-even points are included; the lines are
    straight, so a few points draw them exactly."""
    repaid = [n for n in break_even.values() if n]
    if repaid:
        top = 1.5 * max(repaid)
    else:
        per_query_s = (query_ms.get("rag") or max(query_ms.values(), default=0.0)) / 1000
        top = 2 * max(train_seconds.values(), default=0.0) / per_query_s if per_query_s else 100
    top = _nice_ceiling(max(top, 10))
    return sorted({round(i * top / points) for i in range(points + 1)} | set(repaid))


def cost_curve(train_seconds: float, query_ms: float, queries: list[int]) -> list[float]:
    """Cumulative compute seconds after each number of queries: upfront training plus per-query time."""
    return [round(train_seconds + n * query_ms / 1000, 1) for n in queries]


@dataclass
class Verdict:
    winner: str
    """The arm that answered best (highest mean score)."""
    tied_with: list[str]
    """Arms whose difference to the winner is within the 95 % interval (empty when its lead is clear)."""
    text: str
    reasons: list[str]

    @property
    def clear(self) -> bool:
        return not self.tied_with


def _pts(x: float) -> str:
    return f"{x * 100:+.0f}"


def decide(scores: dict[str, list[float]], train_minutes: dict[str, float], total_p50_ms: dict[str, float],
           break_even: dict[str, int | None]) -> Verdict:
    """Which arm to use, and why, from per-question contains scores and the measured costs.

    The best arm by mean score wins when the 95 % paired interval of its lead over every other arm excludes 0 and
    the exact sign test agrees (p < 0.05; it decides on a handful of questions, where the bootstrap cannot);
    otherwise it is tied with the arms it cannot be told apart from, and the verdict says so and prefers the
    cheapest of the tied arms (no training beats training; shorter answers beat longer ones).
    """
    means = {arm: mean(v) for arm, v in scores.items()}
    ranked = sorted(means, key=lambda arm: -means[arm])
    best = ranked[0]
    tied = [arm for arm in ranked[1:] if paired_difference_ci(scores[best], scores[arm])[0] <= 0
            or sign_test_p(scores[best], scores[arm]) >= 0.05]
    n = len(next(iter(scores.values())))
    reasons = [f"{arm}: {means[arm] * 100:.0f} % of questions answered" for arm in ranked]
    reasons.append(f"{n} test questions: differences under ~{resolvable_points(n)} points between two arms can be "
                   "chance" + (" (a larger corpus gives more questions and narrower intervals)" if n < 30 else ""))

    def cost(arm: str) -> str:
        minutes = train_minutes.get(arm)
        parts = [f"costs {minutes:.{0 if minutes >= 10 else 1}f} min of training" if minutes else "needs no training"]
        if arm in break_even:
            n = break_even[arm]
            parts.append(f"pays back after ~{n:,} queries" if n else "never pays back its training in query time "
                         "(it is not faster per query than rag)")
        return ", ".join(parts)

    if not tied:
        second = ranked[1] if len(ranked) > 1 else None
        lead = ""
        if second:
            lo, hi = paired_difference_ci(scores[best], scores[second])
            lead = (f": {_pts(means[best] - means[second])} points over {second} "
                    f"(95 % CI {_pts(lo)} to {_pts(hi)})")
        text = f"Use {best} — {ARM_MEANING.get(best, best)}{lead}; it {cost(best)}."
        return Verdict(best, [], text, reasons)

    group = [best, *tied]
    cheapest = min(group, key=lambda arm: (train_minutes.get(arm) or 0.0, total_p50_ms.get(arm, 0.0)))
    second = tied[0]
    lo, hi = paired_difference_ci(scores[best], scores[second])
    text = (f"Best measured: {best} — {ARM_MEANING.get(best, best)}, {_pts(means[best] - means[second])} points "
            f"over {second}, but on {n} questions that lead is not clear (95 % CI {_pts(lo)} to {_pts(hi)}); "
            f"{', '.join(tied)} {'is' if len(tied) == 1 else 'are'} within the interval. {best} {cost(best)}.")
    if cheapest != best:
        text += f" If cost matters more than the last points, {cheapest} is the cheaper choice ({cost(cheapest)})."
    text += " More questions (a larger corpus) would narrow the intervals."
    return Verdict(best, tied, text, reasons)
