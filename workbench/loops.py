"""When an answer starts repeating itself, generation ends it (generation.py calls `dropped_tail` after each token).

A small model that does not know what to say next often says it again: `The context says: "The context says: …`,
or a list whose items are one sentence under new numbers. Two guards, each returning how many tokens to drop from
the end (0: the answer goes on):

- `repeated_tail`: the answer ends in one unit said over and over in a row (three times for a unit of four tokens
  or more, more often for shorter ones); it keeps the unit once.
- `repeated_phrase`: the last few tokens are a phrase said for the third time, with other words between the copies
  ("1. The lab has two autoclaves. 2. The lab has two autoclaves. 3. The lab has"); it keeps what came before the
  second copy. A short phrase twice is allowed: a reader quotes its evidence and then gives the answer out of it.
  A long one (`LOOP_SENTENCE` tokens, most of a sentence) said a second time ends the answer before that copy:
  "The generator starts automatically when a power cut is detected. The generator starts automatically when a
  power cut is detected, which …" keeps its first sentence.

A greedy answer that never repeats itself so is left exactly as it was. Evaluation counts what is left
(evaluation.metrics.loops); docs/fine-tuning-recipes.md has the guards' effect on the held-out corpora.
"""

from __future__ import annotations

LOOP_MIN_SPAN = 12
"""A repeated unit ends an answer once its copies in a row span at least this many tokens (and it came 3 times)."""
LOOP_MAX_UNIT = 32
"""Longest unit (in tokens) checked for repetition."""
LOOP_PHRASE = 6
"""Tokens in a phrase that ends an answer when said a third time (a word is one to three tokens)."""
LOOP_SENTENCE = 12
"""Tokens in a phrase that ends an answer when said a second time."""


def repeated_tail(tokens: list[int]) -> int:
    """How many tokens to drop from the end of `tokens` because they repeat a unit: 0 when the answer does not end
    in a loop. A loop is a unit of p tokens (p <= LOOP_MAX_UNIT) that comes at least max(3, LOOP_MIN_SPAN / p)
    times in a row at the end; all copies but the first are dropped. ("The context says: "The context says: ..."
    is a unit of 5 tokens three times; a list such as "1, 2, 3, 4" never repeats a unit.)"""
    n = len(tokens)
    for p in range(1, min(LOOP_MAX_UNIT, n // 3) + 1):
        times = max(3, -(-LOOP_MIN_SPAN // p))
        if times * p > n:
            continue
        unit = tokens[n - p:]
        if all(tokens[n - k * p:n - (k - 1) * p] == unit for k in range(2, times + 1)):
            return (times - 1) * p
    return 0


def repeated_phrase(tokens: list[int], n: int = LOOP_PHRASE, times: int = 3) -> int:
    """How many tokens to drop from the end of `tokens` because their last `n` tokens are a phrase said for the
    `times`-th time (copies that do not overlap, counted from the start): everything from the second copy on. 0
    when the phrase came fewer times."""
    if len(tokens) < times * n:
        return 0
    tail, copies, free_from = tokens[-n:], [], 0
    for start in range(len(tokens) - n + 1):
        if start >= free_from and tokens[start:start + n] == tail:
            copies.append(start)
            free_from = start + n
    return len(tokens) - copies[1] if len(copies) >= times else 0


def dropped_tail(tokens: list[int]) -> int:
    """Tokens to drop from the end of an answer that has begun to loop (any guard); 0 while it has not."""
    return repeated_tail(tokens) or repeated_phrase(tokens) or repeated_phrase(tokens, LOOP_SENTENCE, times=2)
