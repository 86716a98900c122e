"""Decide's stages beyond accuracy on facts that never change: questions the documents do not answer, and facts
that change after the adapters were trained. Both ask the four arms over a temporary copy of the corpus:

    unanswerable  held-out facts whose chunks are withheld from the copy,    -> unanswerable/withheld/, unseen/
                  and questions about a name or number the corpus never        (abstains per arm)
                  mentions (asked of the corpus itself)
    updates       training facts whose answer is swapped for another value   -> updates/ (follows / stale per arm)
                  of the same kind from the same corpus, in their document

The temporary corpus is private (a session name no client holds) and deleted when the stage ends; one left by
a killed run is swept like any orphaned session corpus.
"""

from __future__ import annotations

import json
import random
import re
import time
import uuid
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from ..arms import ALL_ARMS
from ..evaluation.datasets import EvalItem
from ..evaluation.metrics import contains_answer, final_answer
from ..qa.answers import qualifier
from ..qa.split import read_jsonl
from ..retrieval.sessions import SESSION_PREFIX

if TYPE_CHECKING:
    from ..engine import Workbench

UNANSWERABLE_QUESTIONS = 12
"""Questions the documents do not answer, asked per run (each costs one four-arm answer): half withheld facts,
half questions about something the corpus never mentions."""
UNSEEN_NAMES = ("Brannoch", "Quillsby", "Tesmarra", "Orvendel", "Kaldrith", "Fenwyke", "Ostrava Vale", "Marrowgate")
"""Made-up names swapped into a question for the one it held; only those the corpus does not contain are used."""
UPDATED_FACTS = 12
"""Training facts edited in the copy of the corpus (fewer when the corpus has fewer facts with a substitute)."""
MAX_WITHHELD_SHARE = 0.3
"""Withhold at most this share of the corpus's chunks: the rest must still look like the user's documents."""


@contextmanager
def temporary_corpus(wb: Workbench, corpus: str, edit):
    """A private copy of `corpus` through `edit` (see VectorStore.copy_corpus), deleted afterwards."""
    name = f"{SESSION_PREFIX}decide{uuid.uuid4().hex[:12]}--{corpus.split('--')[-1]}"[:500]
    try:
        wb.store.copy_corpus(corpus, name, edit)
        yield name
    finally:
        if wb.store.exists(name):
            wb.store.delete_corpus(name)


def _ask(run, wb: Workbench, items: list[EvalItem], corpus: str, stage: str, folder: str | None = None) -> list[dict]:
    """The four arms (Decide's adapters) over `items` with retrieval from `corpus`; rows as the eval writes them."""
    from ..evaluation.report import build_report, write_report
    from ..evaluation.runner import iter_eval

    adapters = run.state["adapters"]
    overrides = dict(corpus=corpus, lora_adapter=adapters["lora"], raft_adapter=adapters["raft"])
    records, started = [], time.perf_counter()
    for done, question_records in enumerate(iter_eval(wb, items, ALL_ARMS, None, run.cancel,
                                                      **overrides), 1):
        records += question_records
        run.report_progress(stage, done / len(items), None)
    report = build_report(records)
    out = run.path / (folder or stage)
    write_report(report, out, {"stage": stage, "questions": len(items),
                               "seconds": round(time.perf_counter() - started, 1)})
    return json.loads((out / "per_question.json").read_text())


# --- questions the documents do not answer -------------------------------------------------------------------
def withheld_questions(test_rows: list[dict], chunks, n: int = UNANSWERABLE_QUESTIONS) -> tuple[list[dict], set[str]]:
    """Up to `n` held-out facts, and the ids of every chunk holding one of their answers: with those chunks
    withheld, the documents no longer answer the facts' questions. Facts are taken in order while the withheld
    chunks stay under MAX_WITHHELD_SHARE of the corpus."""
    texts = {c.chunk_id: c.text.lower() for c in chunks}
    chosen, withheld = [], set()
    for row in test_rows:
        answer = str(row["answer"]).lower()
        holding = {cid for cid, text in texts.items() if answer in text}
        if len(answer) < 3 or not holding or len(withheld | holding) > MAX_WITHHELD_SHARE * len(texts):
            continue
        chosen.append(row)
        withheld |= holding
        if len(chosen) == n:
            break
    return chosen, withheld


_NUMBER = re.compile(r"(?<![\w.,-])\d{1,6}(?![\w,-]|[.,]\d)")
_NAME = re.compile(r"(?<=\s)[A-Z][a-z]{2,}(?: [A-Z][a-z]{2,})*")


def unseen_questions(rows: list[dict], corpus_text: str, n: int) -> list[dict]:
    """Up to `n` questions about something the corpus never mentions: a fact's question with a name in it (not its
    first word) swapped for a made-up one, or a number for one the corpus does not hold. The documents do not
    answer them, whatever the fact said."""
    text = corpus_text.lower()
    names = [name for name in UNSEEN_NAMES if name.lower() not in text]
    out = []
    for row in rows:
        question, swapped = row["question"], None
        if names and (m := _NAME.search(question)):
            swapped = question[:m.start()] + names[len(out) % len(names)] + question[m.end():]
        elif m := _NUMBER.search(question):
            value = int(m.group())
            new = next(str(value + step) for step in range(37, 10**7, 37)
                       if not re.search(rf"(?<![\d.,]){value + step}(?![\d]|[.,]\d)", text))
            swapped = question[:m.start()] + new + question[m.end():]
        if swapped and swapped != question:
            out.append({**row, "question": swapped, "asked_about": row["question"]})
        if len(out) == n:
            break
    return out


def stage_unanswerable(run, wb: Workbench) -> dict:
    """Questions the documents do not answer; each arm should say it does not know. Half are held-out facts asked
    with their answers' chunks withheld (a copy of the corpus), half ask about a name or number the corpus never
    mentions (the corpus itself)."""
    want = run.state["plan"].get("unanswerable_questions", UNANSWERABLE_QUESTIONS)
    test_rows = read_jsonl(run.path / "qa" / "test.jsonl")
    chunks = wb.store.chunks(run.corpus)
    rows, withheld = withheld_questions(test_rows, chunks, (want + 1) // 2)
    unseen = unseen_questions(test_rows + read_jsonl(run.path / "qa" / "train.jsonl"),
                              " ".join(c.text for c in chunks), want - len(rows))
    if rows:
        items = [EvalItem(f"u-{r['id']}", r["question"], [""], r.get("source"), "unanswerable") for r in rows]
        with temporary_corpus(wb, run.corpus, lambda p: None if p.chunk_id in withheld else p.text) as corpus:
            _ask(run, wb, items, corpus, "unanswerable", "unanswerable/withheld")
    if unseen:
        items = [EvalItem(f"n-{i}", r["question"], [""], None, "unanswerable") for i, r in enumerate(unseen)]
        _ask(run, wb, items, run.corpus, "unanswerable", "unanswerable/unseen")
    return {"unanswerable_stage": {"withheld": len(rows), "unseen": len(unseen), "withheld_chunks": len(withheld)}}


# --- facts that change --------------------------------------------------------------------------------------
def _word_pattern(value: str) -> re.Pattern:
    return re.compile(rf"(?<![\w-]){re.escape(value)}(?![\w-])", re.IGNORECASE)


def _distinct(a: str, b: str) -> bool:
    x, y = a.lower(), b.lower()
    return x != y and x not in y and y not in x


def pick_updates(facts: list[dict], train_ids: set[str], n: int = UPDATED_FACTS, seed: int = 0) -> list[dict]:
    """Up to `n` training facts, each with a new value: another fact's answer of the same kind and qualifier from
    the same corpus (a sum for a sum, "every 2 years" for "every 18 months", a name for a name), never one the
    fact's sentence already holds."""
    rng = random.Random(seed)
    by_kind: dict[tuple[str, str], list[str]] = {}

    def kind(f: dict) -> tuple[str, str]:
        return f.get("kind") or "", qualifier(f["answer"])

    for f in facts:
        values = by_kind.setdefault(kind(f), [])
        if f["answer"] not in values:
            values.append(f["answer"])
    candidates = [f for f in facts if f["fact_id"] in train_ids]
    rng.shuffle(candidates)
    out, used_sentences = [], set()
    for f in candidates:
        options = [a for a in by_kind.get(kind(f), [])
                   if _distinct(a, f["answer"]) and a.lower() not in f["sentence"].lower()]
        if not options or f["sentence"] in used_sentences:
            continue
        used_sentences.add(f["sentence"])
        out.append({**f, "new_answer": rng.choice(options)})
        if len(out) == n:
            break
    return out


def _edit_for(updates: list[dict]):
    """An edit of chunk texts: each updated fact's answer replaced by its new value in its own document."""
    by_source: dict[str, list[tuple[re.Pattern, str]]] = {}
    for u in updates:
        by_source.setdefault(u["source"], []).append((_word_pattern(u["answer"]), u["new_answer"]))

    def edit(passage):
        text = passage.text
        for pattern, new in by_source.get(passage.source, []):
            text = pattern.sub(lambda _: new, text)
        return text

    return edit


def stage_updates(run, wb: Workbench) -> dict:
    """Swap training facts' answers in a copy of the corpus and ask their questions: who follows the documents?"""
    want = run.state["plan"].get("updated_facts", UPDATED_FACTS)
    facts = read_jsonl(run.path / "qa" / "facts.jsonl")
    train_rows = read_jsonl(run.path / "qa" / "train.jsonl")
    first_question: dict[str, str] = {}
    for row in train_rows:
        first_question.setdefault(row["fact_id"], row["question"])
    updates = pick_updates(facts, set(first_question), want, run.seed)
    if not updates:
        return {"updates_stage": {"facts": 0, "note": "no training fact has another value of its kind to swap in"}}
    items = [EvalItem(f"x-{u['fact_id']}", first_question[u["fact_id"]], [u["new_answer"]], u["source"])
             for u in updates]
    with temporary_corpus(wb, run.corpus, _edit_for(updates)) as corpus:
        rows = _ask(run, wb, items, corpus, "updates")
    old = {f"x-{u['fact_id']}": u["answer"] for u in updates}
    scored = [{"arm": r["arm"], "follows": r["contains"],
               "stale": 0.0 if r["contains"] else contains_answer(final_answer(r["answer"]), [old[r["id"]]])}
              for r in rows]
    (run.path / "updates" / "follows.json").write_text(json.dumps(
        {"changes": [{k: u[k] for k in ("fact_id", "source", "answer", "new_answer")} for u in updates],
         "rows": scored}, indent=1))
    return {"updates_stage": {"facts": len(updates)}}


def updates_summary(run_path: Path) -> dict:
    """{arm: {"follows", "stale", "n"}} from the updates stage (empty when it did not run)."""
    data = json.loads((run_path / "updates" / "follows.json").read_text()) if (
        run_path / "updates" / "follows.json").is_file() else {"rows": []}
    out: dict[str, dict] = {}
    for row in data["rows"]:
        arm = out.setdefault(row["arm"], {"follows": [], "stale": []})
        arm["follows"].append(row["follows"])
        arm["stale"].append(row["stale"])
    return {arm: {"follows": v["follows"], "stale": v["stale"], "n": len(v["follows"])} for arm, v in out.items()}


def unanswerable_summary(run_path: Path) -> dict:
    """{arm: {"abstains": [0/1 per question], "n", "withheld": share, "unseen": share}} from the unanswerable
    stage (empty when it did not run); the shares are those of each kind of question (None without any)."""
    out: dict[str, dict] = {}
    for kind in ("withheld", "unseen"):
        path = run_path / "unanswerable" / kind / "per_question.json"
        for r in json.loads(path.read_text()) if path.is_file() else []:
            arm = out.setdefault(r["arm"], {"abstains": [], "withheld": [], "unseen": []})
            arm["abstains"].append(float(r["abstained"]))
            arm[kind].append(float(r["abstained"]))
    return {arm: {"abstains": v["abstains"], "n": len(v["abstains"]),
                  **{k: round(sum(v[k]) / len(v[k]), 4) if v[k] else None for k in ("withheld", "unseen")}}
            for arm, v in out.items()}
