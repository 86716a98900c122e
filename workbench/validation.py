"""Checks of user input that run before any model work, each raising ValueError with a one-line message."""

from __future__ import annotations


def check_question(tokenizer, question: str, limit: int) -> str:
    """The stripped question; refuses an empty one and one longer than `limit` tokens (0 = no limit).

    Long prompts cost quadratic attention and gigabytes of memory on CPU, and hold the single model slot
    for minutes while other users wait, so they are refused before anything is generated.
    """
    if not isinstance(question, str):
        raise ValueError(f"the question must be text, not {type(question).__name__}")
    question = question.strip()
    if not question:
        raise ValueError("the question is empty: type a question first")
    # Characters bound tokens from below (a token holds at least one character for these tokenizers),
    # so a huge paste is refused without tokenizing all of it.
    if limit and len(question) > limit * 64:
        raise ValueError(f"the question is too long: the limit is {limit} tokens; shorten it")
    if limit:
        n = len(tokenizer(question, add_special_tokens=False)["input_ids"])
        if n > limit:
            raise ValueError(f"the question is {n} tokens long; the limit is {limit} tokens, shorten it")
    return question
