"""Yes/no questions: the arm's yes or no decided by its odds, not by its lean.

A small reader asked a yes/no question leans one way whatever its passages say: the reader adapter answers "No."
to almost every one. Its first-token odds still tell the answers apart (on held-out corpora, the area under the
ROC curve of log P(yes) - log P(no) is 0.76); the lean is a threshold in the wrong place. Two ways to move it:

- **the adapter's own thresholds** (default): an adapter folder may carry `yes_no.json`, two thresholds on
  log P(yes) - log P(no) fitted on yes/no questions of the corpora it was trained on (scripts/fit_yes_no.py);
  the answer is yes when the odds exceed the threshold that applies. Which one applies depends on the evidence:
  the passages' sentence that shares the most content words with the question. When that sentence is negated
  ("Season tickets are not sold."), the second, higher threshold applies: a question asked against a negated
  statement is mostly answered "no", and the reader's odds alone do not see the negation. The shipped reader
  carries both.
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
import re
from dataclasses import dataclass
from pathlib import Path

import torch

from .arms import build_prompt
from .evaluation.metrics import content_words
from .results import Passage

AUXILIARIES = frozenset(
    "is are was were am do does did can could should shall will would may might must has have had "
    "isn't aren't wasn't weren't don't doesn't didn't can't couldn't shouldn't won't wouldn't hasn't haven't".split())
"""First words of a yes/no question."""

CONTENT_FREE = Passage(text="N/A", source="none", score=0.0, chunk_id="content-free")
"""The passage of the prompt that measures the arm's prior."""

YES, NO = ("Yes", "yes", "YES"), ("No", "no", "NO")
THRESHOLD_FILE = "yes_no.json"
"""In an adapter folder: {"threshold": float, "threshold_negated": float, ...} (scripts/fit_yes_no.py)."""

NEGATION = re.compile(r"\b(?:not|no|never|cannot|nor|neither|none|nothing|without|unless|except|prohibited|"
                      r"forbidden|banned)\b|n't\b", re.IGNORECASE)
"""Words that negate a statement (or restrict it: "except", "unless")."""

_SENTENCE_END = re.compile(r"(?<=[.!?;:])\s+|\n+")


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


def _stems(text: str) -> set[str]:
    """The content words of `text`, each cut to its first five letters ("renewed" and "renewal" meet)."""
    return {w[:5] for w in content_words(text)}


def evidence(question: str, passages: list[Passage]) -> str:
    """The sentence of `passages` that shares the most content words with `question` (the first of equals, in
    passage order); "" without passages."""
    asked = _stems(question)
    found = [s for p in passages for s in _SENTENCE_END.split(p.text) if s.strip()]
    return max(found, key=lambda s: len(asked & _stems(s)), default="")


def negated_evidence(question: str, passages: list[Passage]) -> bool:
    """Whether the evidence for `question` among `passages` is a negated statement."""
    return bool(NEGATION.search(evidence(question, passages)))


@dataclass(frozen=True)
class YesNoCut:
    """An adapter's two thresholds on log P(yes) - log P(no): one for plain evidence, one for negated evidence."""

    plain: float
    negated: float

    def of(self, negated: bool) -> float:
        """The threshold for negated or for plain evidence."""
        return self.negated if negated else self.plain

    def at(self, question: str, passages: list[Passage]) -> float:
        """The threshold that applies to `question` asked over `passages`."""
        return self.of(negated_evidence(question, passages))


def threshold(folder: str | Path) -> YesNoCut | None:
    """The yes/no thresholds an adapter folder carries (THRESHOLD_FILE), or None. A file with one threshold
    applies it to both kinds of evidence."""
    path = Path(folder) / THRESHOLD_FILE
    try:
        record = json.loads(path.read_text())
        plain = float(record["threshold"])
        return YesNoCut(plain, float(record.get("threshold_negated", plain)))
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
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


def fit_cuts(scored: list[tuple[float, bool, bool]]) -> YesNoCut:
    """The two thresholds fitted on `scored` ((odds, evidence negated, answer is yes) triples), each on its own
    kind of evidence by fit_threshold; a kind with no questions takes the threshold fitted on all."""
    both = fit_threshold([(s, y) for s, _, y in scored])
    plain, negated = ([(s, y) for s, n, y in scored if n == kind] for kind in (False, True))
    return YesNoCut(fit_threshold(plain) if plain else both, fit_threshold(negated) if negated else both)
