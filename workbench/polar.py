"""Yes/no questions: the arm's yes or no, weighed against what it says with no evidence at all.

A small reader asked a yes/no question leans one way whatever its passages say (the reader adapter answers "No."
to almost every one). Contextual calibration (Zhao et al. 2021, "Calibrate Before Use") removes that lean: the
same prompt with a content-free passage ("N/A") gives the model's prior for this question, and the answer is yes
when the passages raise the odds of yes over no above that prior:

    yes  iff  log P(yes | passages) - log P(no | passages)  >  log P(yes | N/A) - log P(no | N/A)

Only the first token changes, and only where the arm itself starts with yes or no: an arm that abstains or answers
in words keeps its answer. generation.py applies it in each row's prefill (one extra short prefill per yes/no
question) for the arms Settings.yes_no_calibration names; it is off by default, since on held-out corpora it
did not reliably help (docs/fine-tuning-recipes.md).
"""

from __future__ import annotations

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
    if not yes or not no or token not in yes + no:
        return token
    side = yes if lean(logits, yes, no) > lean(null_logits, yes, no) else no
    return max(side, key=lambda i: float(logits[i]))
