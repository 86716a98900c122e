"""Quality figures of generated facts: answers verbatim in their chunk, no copied word runs, recall."""

from __future__ import annotations

import re
from pathlib import PurePosixPath

from ..results import Passage
from .facts import Fact
from .text import copies_run, documents, normalise, one_line, runs, words


_QUALIFIER = re.compile(r"^(?:(?:up to|at least|at most|no more than|no fewer than|no less than|more than|less than|"
                        r"fewer than|over|under|above|below|about|around|roughly|approximately|nearly|almost|"
                        r"within|only|exactly|maximum of|minimum of|maximum|minimum|once every|every) )+|"
                        r" (?:or more|or less|or fewer|or over|or under|extra|in total|at most|at least)$")


def core(answer: str) -> str:
    """A normalised answer without its qualifier ("at least 25 photographs" -> "25 photographs", "every 20
    minutes" -> "20 minutes"), so a reference and a generated answer name the same fact whether either keeps it
    (generated answers keep the qualifiers of `answers.QUALIFIERS`, not comparisons such as "over")."""
    return _QUALIFIER.sub("", normalise(answer)).strip()


def found(reference_answer: str, answers: set[str]) -> bool:
    """A reference answer counts as found when a generated answer (normalised, qualifier removed) equals its
    core or contains it as whole words."""
    ref = core(reference_answer)
    return bool(ref) and any(ref == a or f" {ref} " in f" {a} " for a in answers)


def document(source: str) -> str:
    """A source without its file extension: "rules.md" ingested as "rules.docx" is the same document."""
    return PurePosixPath(source).with_suffix("").as_posix()


def recall(facts: list[Fact], reference: list[dict]) -> tuple[float, int]:
    """(share of reference rows found among the answers generated from the same document, rows with an answer)."""
    by_source: dict[str, set[str]] = {}
    for f in facts:
        by_source.setdefault(document(f.source), set()).add(core(f.answer))
    rows = [r for r in reference if str(r.get("answer", "")).strip()]
    hits = sum(1 for r in rows if found(str(r["answer"]), by_source.get(document(str(r.get("source", ""))), set())))
    return (round(hits / len(rows), 4) if rows else 0.0), len(rows)


def corpus_words(chunks: list[Passage]) -> int:
    """Words of a corpus's text, each document's overlapping chunks stitched so an overlap counts once."""
    return sum(len(words(text)) for _, text in documents(chunks))


def quality(facts: list[Fact], chunks: list[Passage], reference: list[dict] | None = None) -> dict:
    """{"facts", "questions", "answer_in_source", "no_copy_6", "duplicates_removed", "words",
    "facts_per_1000_words"[, "recall", "reference"]}.

    answer_in_source: share of facts whose answer is verbatim in their chunk (a line break read as a space);
    no_copy_6: share of all phrasings that repeat no run of 6 words of their chunk; words: the corpus's words
    (overlaps once);
    facts_per_1000_words: facts / words x 1000; recall: share of reference Q/A rows whose answer
    (case-insensitive, articles and a qualifier such as "at least" ignored) is among the answers generated
    from the same document (its source, file extension ignored).
    """
    text = {c.chunk_id: c.text for c in chunks}
    n_words = corpus_words(chunks)
    chunk_runs = {cid: runs(t) for cid, t in text.items()}
    questions = [(q, f.chunk_id) for f in facts for q in f.questions]
    flat = {cid: one_line(t) for cid, t in text.items()}  # a line break inside an answer is a space
    in_source = sum(1 for f in facts if f.answer and one_line(f.answer) in flat.get(f.chunk_id, ""))
    no_copy = sum(1 for q, cid in questions if not copies_run(q, "", source_runs=chunk_runs.get(cid, set())))
    out = {
        "facts": len(facts),
        "questions": len(questions),
        "answer_in_source": round(in_source / len(facts), 4) if facts else 0.0,
        "no_copy_6": round(no_copy / len(questions), 4) if questions else 0.0,
        "duplicates_removed": int(getattr(facts, "duplicates_removed", 0)),
        "words": n_words,
        "facts_per_1000_words": round(1000 * len(facts) / n_words, 1) if n_words else 0.0,
    }
    if reference is not None:
        out["recall"], out["reference"] = recall(facts, reference)
    return out
