"""A verdict per need: for each thing a user may need from the assistant, the best arm, its figure with a 95 %
interval, and whether its lead is clear (its interval does not overlap any other arm's).

    need                                          measured as (per question)           better
    accuracy on facts                             contains the answer (eval)           higher
    follows document updates without retraining   gives the new value (updates)        higher
    admits when the documents do not say          says the abstention phrase           higher
    short exact answers                           exact match (eval)                   higher
    lowest cost at N queries a day                compute s/day: training amortised    lower
                                                  over a month + N x the query's time
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

from .verdict import bootstrap_ci, mean

AMORTISE_DAYS = 30
"""Training is counted as repeated once a month (documents change; an adapter learnt from old ones goes stale)."""
COST_ARMS = ("rag", "lora", "raft")
"""The options the rule weighs; base answers cheapest and is no option for a user's documents."""


@dataclass
class Need:
    need: str
    best: str
    figure: float
    ci95: tuple[float, float]
    clear: bool
    unit: str
    """"share" (0..1) or "s/day"."""
    n: int
    tied_with: list[str]
    """Other arms with exactly the best figure (then `best` is only the first of them)."""


def best_of(need: str, scores: dict[str, list[float]], unit: str = "share", lower_is_better: bool = False) -> Need | None:
    """The arm with the best mean over the same questions, with its bootstrap interval; None with no data."""
    scores = {arm: v for arm, v in scores.items() if v}
    if not scores:
        return None
    ci = bootstrap_ci(scores)
    means = {arm: mean(v) for arm, v in scores.items()}
    best = (min if lower_is_better else max)(means, key=means.get)
    lo, hi = ci[best]
    others = [ci[a] for a in scores if a != best]
    clear = bool(others) and all((hi < o_lo) if lower_is_better else (lo > o_hi) for o_lo, o_hi in others)
    digits = 1 if unit == "s/day" else 4
    tied = [a for a in scores if a != best and means[a] == means[best]]
    return Need(need, best, round(means[best], digits), (round(lo, digits), round(hi, digits)), clear and not tied,
                unit, len(scores[best]), tied)


def needs_table(contains: dict, exact: dict, abstains: dict, follows: dict, seconds_per_query: dict,
                training_minutes: dict, queries_per_day: int) -> list[dict]:
    """The decision table rows (as dicts for report.json), in the order of the module docstring; a need whose
    stage did not run is left out."""
    daily = {arm: [training_minutes.get(arm, 0.0) * 60 / AMORTISE_DAYS + queries_per_day * s for s in values]
             for arm, values in seconds_per_query.items() if arm in COST_ARMS}
    rows = [best_of("accuracy on facts", contains),
            best_of("follows document updates without retraining", follows),
            best_of("admits when the documents do not say", abstains),
            best_of("short exact answers", exact),
            best_of(f"lowest cost at {queries_per_day:,} queries a day", daily, "s/day", lower_is_better=True)]
    return [asdict(r) for r in rows if r is not None]


def best_label(row: dict) -> str:
    """"rag", or "base (tied with rag, lora)"."""
    tied = row.get("tied_with") or []
    return f"{row['best']} (tied with {', '.join(tied)})" if tied else row["best"]


def format_figure(row: dict) -> str:
    """"62 % (48–75)" or "1,234 s/day (1,100–1,400)"."""
    lo, hi = row["ci95"]
    if row["unit"] == "s/day":
        return f"{row['figure']:,.0f} s/day ({lo:,.0f}–{hi:,.0f})"
    return f"{row['figure'] * 100:.0f} % ({lo * 100:.0f}–{hi * 100:.0f})"
