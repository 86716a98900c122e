"""Yes/no questions: the arm's yes or no decided by its odds, not by its lean.

A small reader asked a yes/no question leans one way whatever its passages say: the reader adapter answers "No."
to almost every one. Its first-token odds still tell the answers apart (on held-out corpora, the area under the
ROC curve of log P(yes) - log P(no) is 0.76); the lean is a threshold in the wrong place. Two ways to move it:

- **the adapter's own threshold** (default): an adapter folder may carry `yes_no.json`, a threshold on
  log P(yes) - log P(no) fitted on yes/no questions of the corpora it was trained on (scripts/fit_yes_no.py);
  the answer is yes when the odds exceed it. The shipped reader carries one.
- **contextual calibration** (Zhao et al. 2021, "Calibrate Before Use"; off by default): the same prompt with a
  content-free passage ("N/A") gives the model's prior for this question, and the answer is yes when the passages
  raise the odds above it. Settings.yes_no_calibration names the arms; it did not reliably help on held-out
  corpora (docs/fine-tuning-recipes.md).

Only the first token changes, and only where the arm itself starts with yes or no: an arm that abstains or answers
in words keeps its answer. generation.py applies them in each row's prefill (in-process engine only: a server's
answers are taken as they come).
"""

from __future__ import annotations

import json
from pathlib import Path

import torch

from .arms import build_prompt
from .results import Passage

AUXILIARIES = frozenset(
    "is are was were am do does did can could should shall will would may might must has have had "
    "isn't aren't wasn't weren't don't doesn't didn't can't couldn't shouldn't won't wouldn't hasn't haven't".split())
"""First words of a yes/no question."""

CONTENT_FREE = Passage(text="N/A", source="none", score=0.0, chunk_id="content-free")
"""The passage of the prompt that measures the arm's prior."""

YES, NO = ("Yes", "yes", "YES"), ("No", "no", "NO")
THRESHOLD_FILE = "yes_no.json"
"""In an adapter folder: {"threshold": float, ...} (scripts/fit_yes_no.py)."""


def is_yes_no(question: str) -> bool:
    """A question answered by yes or no: it starts with an auxiliary verb and offers no alternatives ("… or …")."""
    words = question.strip().lower().split()
    return bool(words) and words[0] in AUXILIARIES and " or " not in f" {question.lower()} "


def calibrated_arms(question: str, setting: str) -> set[str]:
    """The arms whose yes or no `question` weighs: those Settings.yes_no_calibration names ("rag, raft"), when it is
    a yes/no question; none otherwise."""
    return {name.strip() for name in setting.split(",") if name.strip()} if is_yes_no(question) else set()


def null_prompt(tokenizer, question: str, system_prompt: str) -> str:
    """The retrieval prompt for `question` with one content-free passage in place of the retrieved ones."""
    return build_prompt(tokenizer, question, [CONTENT_FREE], system_prompt)


def answer_ids(tokenizer) -> tuple[list[int], list[int]]:
    """Token ids that start a yes and a no answer (the words that are one token for this tokenizer)."""
    def single(words):
        ids = [tokenizer.encode(w, add_special_tokens=False) for w in words]
        return sorted({i[0] for i in ids if len(i) == 1})
    return single(YES), single(NO)


def lean(logits: torch.Tensor, yes: list[int], no: list[int]) -> float:
    """log P(yes) - log P(no) from one position's logits (vocab,)."""
    logp = torch.log_softmax(logits.float(), -1)
    return float(torch.logsumexp(logp[yes], 0) - torch.logsumexp(logp[no], 0))


def calibrated_token(token: int, logits: torch.Tensor, null_logits: torch.Tensor, yes: list[int],
                     no: list[int]) -> int:
    """The first token after calibration: `token` itself unless it starts a yes or a no; then the likelier yes
    token when the passages lean to yes more than the content-free prompt does, else the likelier no token."""
    if not yes or not no:
        return token
    return thresholded_token(token, logits, lean(null_logits, yes, no), yes, no)


def threshold(folder: str | Path) -> float | None:
    """The yes/no threshold an adapter folder carries (THRESHOLD_FILE), or None."""
    path = Path(folder) / THRESHOLD_FILE
    try:
        return float(json.loads(path.read_text())["threshold"])
    except (OSError, ValueError, KeyError, TypeError):
        return None


def thresholded_token(token: int, logits: torch.Tensor, cut: float, yes: list[int], no: list[int]) -> int:
    """The first token decided by the odds: `token` itself unless it starts a yes or a no; then the likelier yes
    token when log P(yes) - log P(no) exceeds `cut`, else the likelier no token."""
    if not yes or not no or token not in yes + no:
        return token
    side = yes if lean(logits, yes, no) > cut else no
    return max(side, key=lambda i: float(logits[i]))


def fit_threshold(scored: list[tuple[float, bool]]) -> float:
    """The cut on log P(yes) - log P(no) that answers the most of `scored` ((odds, answer is yes) pairs) right:
    halfway between two neighbouring odds (ties: the cut nearest 0)."""
    odds = sorted({s for s, _ in scored})
    cuts = [odds[0] - 1.0] + [(a + b) / 2 for a, b in zip(odds, odds[1:])] + [odds[-1] + 1.0]
    return max(cuts, key=lambda c: (sum((s > c) == y for s, y in scored), -abs(c)))
