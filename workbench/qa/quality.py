"""Quality figures of generated facts: answers verbatim in their chunk, no copied word runs, recall."""

from __future__ import annotations

from ..results import Passage
from .facts import Fact
from .text import copies_run, normalise, runs


def _found(reference_answer: str, answers: set[str]) -> bool:
    """A reference answer counts as found when a generated answer equals it or contains it as whole words."""
    ref = normalise(reference_answer)
    return bool(ref) and any(ref == a or f" {ref} " in f" {a} " for a in answers)


def quality(facts: list[Fact], chunks: list[Passage], reference: list[dict] | None = None) -> dict:
    """{"facts", "questions", "answer_in_source", "no_copy_6", "duplicates_removed"[, "recall", "reference"]}.

    answer_in_source: share of facts whose answer is verbatim in their chunk; no_copy_6: share of all
    phrasings that repeat no run of 6 words of their chunk; recall: share of reference Q/A rows whose
    answer (case-insensitive, articles ignored) is among the answers generated from the same source.
    """
    text = {c.chunk_id: c.text for c in chunks}
    chunk_runs = {cid: runs(t) for cid, t in text.items()}
    questions = [(q, f.chunk_id) for f in facts for q in f.questions]
    in_source = sum(1 for f in facts if f.answer and f.answer in text.get(f.chunk_id, ""))
    no_copy = sum(1 for q, cid in questions if not copies_run(q, "", source_runs=chunk_runs.get(cid, set())))
    out = {
        "facts": len(facts),
        "questions": len(questions),
        "answer_in_source": round(in_source / len(facts), 4) if facts else 0.0,
        "no_copy_6": round(no_copy / len(questions), 4) if questions else 0.0,
        "duplicates_removed": int(getattr(facts, "duplicates_removed", 0)),
    }
    if reference is not None:
        by_source: dict[str, set[str]] = {}
        for f in facts:
            by_source.setdefault(f.source, set()).add(normalise(f.answer))
        rows = [r for r in reference if str(r.get("answer", "")).strip()]
        hits = sum(1 for r in rows if _found(str(r["answer"]), by_source.get(r.get("source", ""), set())))
        out["recall"] = round(hits / len(rows), 4) if rows else 0.0
        out["reference"] = len(rows)
    return out
