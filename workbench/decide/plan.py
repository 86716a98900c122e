"""Fit a Decide run into its time budget: how many test questions and how many epochs per adapter.

The plan is made after the questions exist (their token counts are known) from speeds measured on this machine
a moment before (a two-step training run and one comparison), so it holds on a laptop, a 2-core Space and a GPU
alike. Each adapter also gets a hard time limit, so a wrong estimate shortens training instead of the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field


class BudgetError(ValueError):
    """The budget cannot fit a meaningful run; the message says how many minutes it needs."""


@dataclass
class Speed:
    train_tokens_per_s: float
    """Training throughput (prompt + target tokens) measured on a two-step run."""
    eval_s_per_question: float
    """Seconds to answer one question with all four arms."""


@dataclass
class Plan:
    budget_minutes: float
    test_questions: int
    lora_epochs: float
    raft_epochs: float
    lora_seconds: float
    """Hard limit of the lora training stage."""
    raft_seconds: float
    eval_seconds: float
    """Estimated evaluation time."""
    speed: Speed
    notes: list[str] = field(default_factory=list)
    """What the plan chose and why, in words, for the report."""


# Shares of the time left after question generation: evaluation first (a verdict needs enough questions),
# then the two adapters. lora learns facts by repetition and gets more of the rest; raft learns to read.
EVAL_SHARE = 0.22
LORA_SHARE_OF_TRAINING = 0.6
MIN_TEST_QUESTIONS = 12
MAX_TEST_QUESTIONS = 120
MAX_LORA_EPOCHS = 12.0
MIN_LORA_EPOCHS = 1.0
MAX_RAFT_EPOCHS = 3.0
MIN_RAFT_EPOCHS = 0.5
SAFETY = 0.9
"""Plans use 90 % of each stage's time: model loading, saving and the report take the rest."""


def make_plan(budget_minutes: float, elapsed_s: float, test_available: int, lora_tokens_per_epoch: int,
              raft_tokens_per_epoch: int, speed: Speed) -> Plan:
    """Epochs and test size that fit in what is left of the budget; BudgetError when even the minimum does not."""
    left = budget_minutes * 60 * SAFETY - elapsed_s
    test = min(test_available, MAX_TEST_QUESTIONS, int(left * EVAL_SHARE / speed.eval_s_per_question))
    lora_min_s = lora_tokens_per_epoch * MIN_LORA_EPOCHS / speed.train_tokens_per_s
    raft_min_s = raft_tokens_per_epoch * MIN_RAFT_EPOCHS / speed.train_tokens_per_s
    needed_s = elapsed_s + lora_min_s + raft_min_s + MIN_TEST_QUESTIONS * speed.eval_s_per_question
    if test < min(MIN_TEST_QUESTIONS, test_available) or left - test * speed.eval_s_per_question < lora_min_s + raft_min_s:
        raise BudgetError(
            f"a budget of {budget_minutes:g} min is too small for this corpus on this machine: it needs at least "
            f"{math.ceil(needed_s / 60 / SAFETY)} min (one pass over the documents and questions for lora, half a "
            f"pass for raft, {MIN_TEST_QUESTIONS} test questions). Raise --budget or use fewer documents.")
    eval_s = test * speed.eval_s_per_question
    train_s = left - eval_s
    lora_s, raft_s = train_s * LORA_SHARE_OF_TRAINING, train_s * (1 - LORA_SHARE_OF_TRAINING)
    lora_epochs = min(MAX_LORA_EPOCHS, lora_s * speed.train_tokens_per_s / lora_tokens_per_epoch)
    raft_epochs = min(MAX_RAFT_EPOCHS, raft_s * speed.train_tokens_per_s / max(raft_tokens_per_epoch, 1))
    # Time the raft stage cannot use (capped epochs) goes to lora, and the other way round.
    spare_raft = raft_s - raft_epochs * raft_tokens_per_epoch / speed.train_tokens_per_s
    if spare_raft > 0 and lora_epochs < MAX_LORA_EPOCHS:
        lora_s += spare_raft
        lora_epochs = min(MAX_LORA_EPOCHS, lora_s * speed.train_tokens_per_s / lora_tokens_per_epoch)
    notes = [
        f"measured {speed.train_tokens_per_s:.0f} training tokens/s and {speed.eval_s_per_question:.1f} s per "
        f"question for four arms",
        f"{test} of {test_available} held-out questions evaluated (~{eval_s / 60:.1f} min)",
        f"lora: {lora_epochs:.1f} epochs over {lora_tokens_per_epoch:,} tokens (documents + question phrasings)",
        f"raft: {raft_epochs:.1f} epochs over {raft_tokens_per_epoch:,} tokens",
    ]
    return Plan(budget_minutes, test, round(lora_epochs, 2), round(raft_epochs, 2), round(lora_s / SAFETY),
                round(raft_s / SAFETY), round(eval_s), speed, notes)
