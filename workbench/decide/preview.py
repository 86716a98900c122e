"""The plan of a Decide run before it runs: the stages, how many questions and examples each gets, the minutes
each should take and the smallest budget that fits, or why the corpus cannot run and what to do.

What the corpus gives (facts, held-out questions, examples and their tokens) is built by the functions the run's
qa and plan stages use (examples.py, in a parsing worker for the facts), and fitted to the budget by the same
`plan.make_plan`, at the speeds the latest run measured on this machine (estimate.py). Without a measurement the
plan gives the counts and leaves the minutes to the run's own speed probe. The corpus's figures cost a parse of
every chunk and a retrieval per raft example, so `FiguresCache` keeps them per corpus contents: a new budget is
planned at once.
"""

from __future__ import annotations

import threading
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING

from ..retrieval.sessions import display_name
from .estimate import Measured
from .examples import DecideError, check_facts, knowledge_items, plan_inputs, split_rows
from .pipeline import STAGE_SECONDS, stage_seconds
from .plan import MAX_TEST_QUESTIONS, BudgetError, Plan, make_plan, validation_seconds

if TYPE_CHECKING:
    from ..engine import Workbench

SEED = 0
"""The seed of a run (DecideRun.seed): the preview splits the facts as the run will."""


@dataclass
class CorpusFigures:
    """What a corpus gives a Decide run, whatever the budget."""

    words: int
    passages: int
    facts: int
    train_facts: int
    test_questions: int
    validation_facts: int
    raft_examples: int
    qa_tokens: int
    doc_tokens: int
    raft_tokens: int
    criteria: tuple[int, int]
    """At most (questions the documents do not answer, changed facts)."""
    recall_tokens: int
    """The held-out facts' questions once (what the refit repeats)."""
    raft_from_reader: bool
    """raft continues the shipped reader (plan.MAX_READER_EPOCHS at most)."""


def corpus_figures(wb: Workbench, corpus: str) -> CorpusFigures:
    """The figures of `corpus`; DecideError (what to do) when it has no documents or too few facts."""
    from ..qa import QAError
    from ..qa.worker import generate_facts_isolated

    chunks = wb.store.chunks(corpus) if wb.store.exists(corpus) else []
    if not chunks:
        raise DecideError(f"corpus {display_name(corpus)!r} has no documents; add some in the Corpora tab first")
    try:
        facts = generate_facts_isolated(wb.settings, chunks, SEED)
    except QAError as exc:
        raise DecideError(str(exc)) from None
    check_facts(len(facts), corpus)
    rows = split_rows(facts, SEED)
    train = knowledge_items(rows.train)
    inputs = plan_inputs(wb, corpus, train, len(rows.test), SEED, knowledge_items(rows.recall))
    return CorpusFigures(sum(len(c.text.split()) for c in chunks), len(chunks), len(facts), len(train),
                         len(rows.test), inputs.validation_facts, len(inputs.raft_examples), inputs.qa_tokens,
                         inputs.doc_tokens, inputs.raft_tokens, inputs.criteria, inputs.recall_tokens,
                         inputs.raft_from_reader)


class FiguresCache:
    """`corpus_figures` (or its refusal) per corpus contents, computed one at a time; the newest `size` kept."""

    def __init__(self, size: int = 32):
        self.size = size
        self._found: dict[tuple, CorpusFigures | DecideError] = {}
        self._lock = threading.Lock()

    def get(self, wb: Workbench, corpus: str) -> CorpusFigures:
        from ..evaluation.runner import corpus_fingerprint

        key = (corpus, corpus_fingerprint(wb.store, corpus) if wb.store.exists(corpus) else None)
        with self._lock:
            if key not in self._found:
                try:
                    self._found[key] = corpus_figures(wb, corpus)
                except DecideError as exc:
                    self._found[key] = exc
                while len(self._found) > self.size:
                    self._found.pop(next(iter(self._found)))
            found = self._found[key]
        if isinstance(found, DecideError):
            raise found
        return found


@dataclass
class Preview:
    budget_minutes: float
    figures: CorpusFigures
    measured: Measured | None
    plan: Plan | None = None
    refusal: str = ""
    """Why this budget cannot run (BudgetError's message)."""
    min_minutes: int | None = None
    seconds: dict[str, float] | None = None
    """Expected seconds per stage."""


def make_preview(figures: CorpusFigures, budget_minutes: float, measured: Measured | None) -> Preview:
    """The plan for this corpus and budget at the measured speeds (None: counts only)."""
    if measured is None:
        return Preview(budget_minutes, figures, None)
    qa_s = measured.qa_s_per_word * figures.words if measured.qa_s_per_word is not None else STAGE_SECONDS["qa"]
    probe_s = measured.probe_s if measured.probe_s is not None else STAGE_SECONDS["plan"]
    try:
        plan = make_plan(budget_minutes, qa_s + probe_s, figures.test_questions, figures.qa_tokens,
                         figures.doc_tokens, figures.raft_tokens, measured.speed, figures.criteria,
                         figures.recall_tokens, figures.raft_from_reader)
    except BudgetError as exc:
        return Preview(budget_minutes, figures, measured, refusal=str(exc), min_minutes=int(exc.min_minutes))
    # raft's plan is its time limit (what the split gave it), which holds its epochs' time and its validation
    # answers (stages.stage_raft trains for the limit less those)
    speed = measured.speed
    raft_s = (plan.raft_epochs * figures.raft_tokens / speed.raft
              + validation_seconds(figures.validation_facts, speed.eval_s_per_question))
    seconds = {**stage_seconds(asdict(plan)), "qa": qa_s, "plan": probe_s, "raft": min(raft_s, plan.raft_seconds)}
    return Preview(budget_minutes, figures, measured, plan, min_minutes=int(plan.min_budget_minutes),
                   seconds=seconds)


def _rows(p: Preview) -> list[tuple[str, str]]:
    """(stage, what it runs) for each stage, with the plan's sizes when there is one."""
    f, plan = p.figures, p.plan
    sized = plan is not None
    tests = plan.test_questions if sized else min(MAX_TEST_QUESTIONS, f.test_questions)
    unanswerable, updated = (plan.unanswerable_questions, plan.updated_facts) if sized else f.criteria
    upto = "" if sized else "up to "
    return [
        ("qa", f"{f.facts} facts from {f.passages} passages ({f.words:,} words): {f.train_facts} for training, "
               f"{f.test_questions} held out"),
        ("plan", "measures this machine: an 8-step training run and one batch of questions"),
        ("lora", f"the documents ({f.doc_tokens:,} tokens) seen {plan.lora_doc_repeats}× and the {f.train_facts} "
                 f"training questions {plan.lora_qa_repeats}×" if sized else
                 f"the documents ({f.doc_tokens:,} tokens) and the {f.train_facts} training questions, repeated as "
                 "the budget allows"),
        ("raft", f"{f.raft_examples} reader examples ({f.raft_tokens:,} tokens)"
                 + (f", {plan.raft_epochs:.2f} epochs" if sized else "")
                 + (f"; {f.validation_facts} validation facts choose the reader or the tuned one"
                    if f.validation_facts else "")),
        ("eval", f"{upto}{tests} of the {f.test_questions} held-out questions, four arms each"),
        ("unanswerable", f"{upto}{unanswerable} questions the documents do not answer, four arms each"),
        ("updates", f"{upto}{updated} training facts changed in a copy of the documents, four arms each"),
        ("refit", (f"the measured lora learns the {f.test_questions} held-out facts too (as often as the run's last "
                   f"minutes allow, about {plan.lora_qa_repeats}×), the adapter a user takes" if plan.refit_seconds
                   else "none: the budget leaves no time for it")
                  if sized else f"the measured lora learns the {f.test_questions} held-out facts too, if time allows"),
        ("report", "verdict per need, intervals, cost and break-even"),
    ]


def describe(p: Preview, corpus: str) -> str:
    """The plan in Markdown: a line on the whole, then one row per stage."""
    name = display_name(corpus)
    if p.measured is None:
        head = (f"**Plan for `{name}`**: no Decide run on this machine yet, so no minutes: the run measures this "
                "machine first (stage 2) and sizes the stages to the budget then; a budget too small stops there "
                "and says how many minutes it needs.")
    elif p.plan is None:
        head = (f"**Not enough time for `{name}`**: {p.refusal.rstrip('.')}. The minimum budget is **{p.min_minutes} "
                f"min** (at the speeds run `{p.measured.run}` measured on this machine).")
    else:
        total = sum(p.seconds.values()) / 60
        head = (f"**Plan for `{name}` in {p.budget_minutes:g} min**: about **{total:.0f} min** on this machine; "
                f"the minimum budget for this corpus is **{p.min_minutes} min** (at the speeds run "
                f"`{p.measured.run}` measured; the machine's load moves them).")
    minutes = p.seconds or {}
    lines = [head, "", "| stage | what it runs | minutes |", "|---|---|---|"]
    lines += [f"| {stage} | {what} | {f'~{minutes[stage] / 60:.1f}' if stage in minutes else '–'} |"
              for stage, what in _rows(p)]
    return "\n".join(lines)
