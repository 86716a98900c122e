"""Fit a Decide run into its time budget: how many test questions and how many epochs per adapter.

The plan is made after the questions exist (their token counts are known) from speeds measured on this machine
a moment before (a short training run on lora's examples and raft's, the first step not counted, and one batch of
questions), so it holds on a laptop, a 2-core Space and a GPU alike. Each adapter also gets a hard time limit, so
a wrong estimate shortens training instead of the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


@dataclass
class Speed:
    train_tokens_per_s: float
    """Training throughput (prompt + target tokens) on the training questions' examples (packed Q/A), measured by
    the speed probe."""
    eval_s_per_question: float
    """Seconds to answer one question with all four arms."""
    doc_tokens_per_s: float | None = None
    """The same on the documents' chunks; None where the probe had none to time (train_tokens_per_s counts)."""
    raft_tokens_per_s: float | None = None
    """The same on raft's examples (long prompts, short targets); None where the probe had none to time."""

    @property
    def docs(self) -> float:
        return self.doc_tokens_per_s or self.train_tokens_per_s

    @property
    def raft(self) -> float:
        return self.raft_tokens_per_s or self.train_tokens_per_s


class BudgetError(ValueError):
    """The budget cannot fit a meaningful run; the message says how many minutes it needs (`min_minutes`, at the
    `speed` the plan was made with)."""

    def __init__(self, message: str, min_minutes: float = 0.0, speed: Speed | None = None):
        super().__init__(message)
        self.min_minutes = min_minutes
        self.speed = speed


@dataclass
class Plan:
    budget_minutes: float
    test_questions: int
    lora_qa_repeats: int
    """Times the lora run sees each training question phrasing."""
    lora_doc_repeats: int
    """Times the lora run sees each document chunk."""
    raft_epochs: float
    lora_seconds: float
    """Hard limit of the lora training stage."""
    raft_seconds: float
    eval_seconds: float
    """Estimated evaluation time."""
    speed: Speed
    notes: list[str] = field(default_factory=list)
    """What the plan chose and why, in words, for the report."""
    unanswerable_questions: int = 0
    """Questions asked with their answers' chunks withheld (decide/criteria.py)."""
    updated_facts: int = 0
    """Training facts edited in a copy of the corpus and asked again (decide/criteria.py)."""
    criteria_seconds: float = 0.0
    """Estimated time of those two stages."""
    min_budget_minutes: float = 0.0
    """The smallest budget that fits this corpus on this machine (what a too-small budget's error names); the
    Decide tab's plan computes it the same way before a run (decide/preview.py)."""
    refit_seconds: float = 0.0
    """Hard limit of the refit stage: the measured lora continued on the held-out facts (0: no refit)."""


# Shares of the time left after question generation: evaluation first (a verdict needs enough questions),
# then the two adapters. lora learns facts by repetition and gets more of the rest; raft learns to read.
EVAL_SHARE = 0.22
LORA_SHARE_OF_TRAINING = 0.8
"""lora's share of the training time, raft's the rest (at least half an epoch). A closed-book adapter recalls a fact
by repeating it, and a larger corpus has more facts to repeat; raft continues a reader that already reads, and
on people's questions the tuned reader read about as well as the reader alone. On the three held-out corpora the
refitted lora answered 30 of 86 hand-written questions at 80/20 against 21 at 60/40, raft 45 against 47
(docs/decide.md, "lora's share of the budget")."""
MIN_TEST_QUESTIONS = 12
MAX_TEST_QUESTIONS = 120
MAX_QA_REPEATS = 24
MAX_DOC_REPEATS = 2
MAX_RAFT_EPOCHS = 3.0
"""Epochs of a fresh raft LoRA (where no reader fits the base model)."""
MAX_READER_EPOCHS = 2.0
"""At most two passes over the corpus's questions when raft continues the reader (more learnt them by rote and
looped); the time a third would take goes to lora."""
MIN_RAFT_EPOCHS = 0.5
SAFETY = 0.9
"""Plans use 90 % of each stage's time: model loading, saving and the report take the rest."""
REFIT_REPLAY = 0.5
"""The refit shows the training questions again this share of lora's repeats, beside the held-out facts' questions
at every repeat: with the training questions once, a refit of 24 repeats forgot 5 of the 7 hand-written questions
the measured adapter answered (docs/decide.md, "The refit")."""


def validation_seconds(validation_facts: int, eval_s_per_question: float) -> float:
    """Raft's validation: each validation fact answered twice (the reader alone, the tuned adapter), a raft answer
    costing about half a four-arm question since it reads three passages (greenway-lab: 953 of 2,286 ms, the
    four arms' median times added)."""
    return validation_facts * eval_s_per_question


def refit_replays(qa_repeats: int) -> int:
    """Times the refit shows the training questions again."""
    return max(1, round(qa_repeats * REFIT_REPLAY))


def refit_repeats(tokens: float, recall_tokens: int, qa_tokens: int) -> tuple[int, float]:
    """(repeats, epochs) of the refit where it has time for `tokens` at the lora stage's speed: the held-out facts'
    questions (`recall_tokens` once) repeated to fill it, the training questions (`qa_tokens` once) REFIT_REPLAY as
    often, at least once; and epochs over those up to MAX_QA_REPEATS repeats in all, for the refit's time limit to
    end. Its questions train faster than the lora stage's mix of chunks and questions (harbour-ferries: 296-373
    tokens/s against 283-292), so a refit of the repeats alone ended a minute early (docs/decide.md, "The refit
    fills the run's time")."""
    repeats = max(1, min(MAX_QA_REPEATS, int(tokens / max(recall_tokens + REFIT_REPLAY * qa_tokens, 1))))
    return repeats, MAX_QA_REPEATS / repeats


def make_plan(budget_minutes: float, elapsed_s: float, test_available: int, qa_tokens: int, doc_tokens: int,
              raft_tokens_per_epoch: int, speed: Speed, criteria_questions: tuple[int, int] = (0, 0),
              recall_tokens: int = 0, raft_from_reader: bool = False) -> Plan:
    """Repeats, epochs and test size that fit in what is left of the budget; BudgetError when the minimum does not.

    The minimum: lora sees the documents and the questions once, raft half its examples, 12 test questions, and
    the unanswerable and updated questions (`criteria_questions`), halved or left out when a tight budget needs it.
    lora's time also holds the refit where it fits (`recall_tokens`: the held-out facts' questions, seen as often
    as the training questions, with the training questions again so the refit does not forget them).
    raft runs at most MAX_READER_EPOCHS where it continues the reader (`raft_from_reader`), MAX_RAFT_EPOCHS from a
    fresh LoRA; what it cannot use goes to lora.
    """
    base = budget_minutes * 60 * SAFETY - elapsed_s
    qa_s, doc_s = qa_tokens / speed.train_tokens_per_s, doc_tokens / speed.docs  # one pass of each
    lora_min_s = qa_s + doc_s
    raft_min_s = raft_tokens_per_epoch * MIN_RAFT_EPOCHS / speed.raft
    floor = min(MIN_TEST_QUESTIONS, test_available, MAX_TEST_QUESTIONS)
    room_s = base - lora_min_s - raft_min_s - floor * speed.eval_s_per_question
    unanswerable, updated = criteria_questions
    if (unanswerable + updated) * speed.eval_s_per_question > room_s:  # a tight budget: half of each, or none
        unanswerable, updated = unanswerable // 2, updated // 2
        if (unanswerable + updated) * speed.eval_s_per_question > room_s:
            unanswerable = updated = 0
    criteria = (unanswerable, updated)
    criteria_s = (unanswerable + updated) * speed.eval_s_per_question
    left = base - criteria_s
    needed_s = elapsed_s + lora_min_s + raft_min_s + floor * speed.eval_s_per_question
    # The evaluation's share of the time, but never under the minimum test set, and never so many questions that
    # the adapters lose their minimum: a budget that fits the minimum (needed_s, the figure in the error) plans.
    share = int(left * EVAL_SHARE / speed.eval_s_per_question) if left > 0 else 0
    room = left - lora_min_s - raft_min_s
    fits = int(room / speed.eval_s_per_question) if room >= 0 else -1
    test = min(test_available, MAX_TEST_QUESTIONS, max(share, floor), fits)
    min_minutes = math.ceil(needed_s / 60 / SAFETY)
    if test < floor:
        raise BudgetError(
            f"a budget of {budget_minutes:g} min is too small for this corpus on this machine: it needs at least "
            f"{min_minutes} min (lora: one pass over the documents and questions; raft: half "
            f"a pass; {floor} test questions). Raise the budget or use fewer documents.", min_minutes, speed)
    eval_s = test * speed.eval_s_per_question
    train_s = left - eval_s
    # The usual split, unless it leaves either adapter under its minimum (a tight budget): then that one gets its
    # minimum and the other the rest (at least its own minimum, since `test` left room for both).
    lora_s = max(lora_min_s, train_s * LORA_SHARE_OF_TRAINING)
    raft_s = max(raft_min_s, train_s - lora_s)
    lora_s = train_s - raft_s
    # Time either adapter cannot use goes to the other: lora's past its most repeats (refit included), raft's past
    # its most epochs.
    refit_per_repeat = recall_tokens + REFIT_REPLAY * qa_tokens if recall_tokens else 0
    per_repeat_s = (qa_tokens + refit_per_repeat) / speed.train_tokens_per_s
    lora_max_s = MAX_DOC_REPEATS * doc_s + MAX_QA_REPEATS * per_repeat_s
    raft_s += max(0.0, lora_s - lora_max_s)
    lora_s = min(lora_s, lora_max_s)
    max_epochs = MAX_READER_EPOCHS if raft_from_reader else MAX_RAFT_EPOCHS
    raft_epochs = min(max_epochs, raft_s * speed.raft / max(raft_tokens_per_epoch, 1))
    lora_s += raft_s - raft_epochs * raft_tokens_per_epoch / speed.raft
    # Documents once (twice when there is room); the rest of lora's time repeats the questions: the training
    # questions in the lora stage and, where two repeats of everything fit, the refit's share of each repeat.
    if not recall_tokens or lora_s < doc_s + 2 * per_repeat_s:
        per_repeat_s, recall_tokens = qa_s, 0
    doc_repeats = MAX_DOC_REPEATS if lora_s >= MAX_DOC_REPEATS * doc_s + 4 * per_repeat_s else 1
    qa_repeats = max(1, min(MAX_QA_REPEATS, int((lora_s - doc_repeats * doc_s) / max(per_repeat_s, 1e-3))))
    lora_used_s = doc_repeats * doc_s + qa_repeats * qa_s
    refit_tokens = qa_repeats * recall_tokens + refit_replays(qa_repeats) * qa_tokens if recall_tokens else 0
    refit_s = refit_tokens / speed.train_tokens_per_s
    noise_note = " (whole once, then with some words left out)" if qa_repeats > 1 else ""  # examples.lora_examples
    notes = [
        f"measured training tokens/s: {speed.train_tokens_per_s:.0f} on questions, {speed.docs:.0f} on documents, "
        f"{speed.raft:.0f} on raft's examples; {speed.eval_s_per_question:.1f} s per question for four arms",
        f"{test} of {test_available} held-out questions evaluated (~{eval_s / 60:.1f} min)",
        f"lora: documents ({doc_tokens:,} tokens) seen {doc_repeats}×, training questions ({qa_tokens:,} tokens) "
        f"seen {qa_repeats}×{noise_note} (~{lora_used_s / 60:.1f} min)",
        f"raft: {raft_epochs:.2f} epochs over {raft_tokens_per_epoch:,} tokens "
        f"(~{raft_epochs * raft_tokens_per_epoch / speed.raft / 60:.1f} min)",
    ]
    if refit_s:
        notes.insert(3, f"lora refit after the evaluation, in the run's last minutes: the held-out facts' questions "
                        f"({recall_tokens:,} tokens) seen about {qa_repeats}× and the training questions "
                        f"{refit_replays(qa_repeats)}× more (~{refit_s / 60:.1f} min)")
    if any(criteria_questions):
        notes.append(f"{criteria[0]} questions the documents do not answer and {criteria[1]} changed facts "
                     f"(~{criteria_s / 60:.1f} min)" + (" (fewer: the budget is tight)" if criteria != criteria_questions
                                                         else ""))
    return Plan(budget_minutes, test, qa_repeats, doc_repeats, round(raft_epochs, 2),
                round(lora_used_s / SAFETY), round(raft_s / SAFETY), round(eval_s), speed, notes, *criteria,
                round(criteria_s), min_minutes, math.ceil(refit_s / SAFETY))
