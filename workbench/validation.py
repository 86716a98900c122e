"""Request validation shared by every endpoint (UI, API, evaluation, CLI): types, finite numbers, ranges.

Each check returns the cleaned value or raises ValueError with a one-line message that says what to send
instead, so an API client gets the same bounds as the UI's sliders and never a bare `{"error": null}`.
"""

from __future__ import annotations

import math
from numbers import Real

TEMPERATURE_MAX = 2.0
SYSTEM_PROMPT_MAX_CHARS = 4000
CHARS_PER_TOKEN_BOUND = 16
"""No tokenizer packs more characters into one token on real text; longer questions are refused untokenised."""


def check_text(value, what: str, max_chars: int, allow_empty: bool = True) -> str:
    """A string without lone surrogates (they cannot be encoded) and at most `max_chars` long."""
    if value is None and allow_empty:
        return ""
    if not isinstance(value, str):
        raise ValueError(f"{what} must be text, got {type(value).__name__}")
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValueError(f"{what} holds invalid characters (lone UTF-16 surrogates); send valid Unicode text") from None
    if len(value) > max_chars:
        raise ValueError(f"{what} is {len(value)} characters long; the limit is {max_chars}")
    if not allow_empty and not value.strip():
        raise ValueError(f"{what} is empty")
    return value


def check_question(tokenizer, question, limit: int) -> str:
    """The stripped question; refuses one that is not text, empty, or longer than `limit` tokens (0 = no limit).

    Long prompts cost quadratic attention and gigabytes of memory on CPU, and hold the single model slot for
    minutes while other users wait, so they are refused before anything is generated.
    """
    if question is None or (isinstance(question, str) and not question.strip()):
        raise ValueError("the question is empty: type a question first")
    question = check_text(question, "the question", 10**9, allow_empty=False).strip()
    # A token holds at most CHARS_PER_TOKEN_BOUND characters of real text, so a huge paste is refused untokenised.
    if limit and len(question) > limit * CHARS_PER_TOKEN_BOUND:
        raise ValueError(f"the question is too long: the limit is {limit} tokens; shorten it")
    if limit and tokenizer is not None:
        tokens = len(tokenizer(question, add_special_tokens=False)["input_ids"])
        if tokens > limit:
            raise ValueError(f"the question is {tokens} tokens long; the limit is {limit} tokens, shorten it")
    return question


def check_number(value, what: str, low: float, high: float, integer: bool = False) -> float | int:
    """A finite number in [low, high] (an integer when asked; 3.0 counts as 3)."""
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{what} must be a number, got {type(value).__name__}")
    if not math.isfinite(value):
        raise ValueError(f"{what} must be a finite number, got {value}")
    if integer:
        if value != int(value):
            raise ValueError(f"{what} must be a whole number, got {value}")
        value = int(value)
    if not low <= value <= high:
        bound = f"{int(low)} and {int(high)}" if integer else f"{low:g} and {high:g}"
        raise ValueError(f"{what} must be between {bound}, got {value}")
    return value


EVAL_BATCH_MAX = 64
"""Most questions one evaluation batch may hold (each adds its rows' KV cache to the process's memory)."""


def check_options(opts) -> None:
    """The generation and retrieval settings of one request (a Settings with the request's overrides)."""
    check_number(opts.max_new_tokens, "max_new_tokens", 1, opts.max_new_tokens_cap, integer=True)
    check_number(opts.temperature, "temperature", 0.0, TEMPERATURE_MAX)
    check_number(opts.top_k, "top_k", 1, opts.max_top_k, integer=True)
    check_number(opts.rag_passages, "rag_passages", 0, opts.max_top_k, integer=True)
    check_text(opts.system_prompt, "the system prompt", SYSTEM_PROMPT_MAX_CHARS)
    for what, name in (("corpus", opts.corpus), ("lora_adapter", opts.lora_adapter), ("raft_adapter", opts.raft_adapter)):
        check_text(name, what, 600)


def optional_number(value, what: str, default_below: float = 0.0):
    """API convenience: None or a value at or below `default_below` means "the app's default" (None)."""
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, Real):
        raise ValueError(f"{what} must be a number, got {type(value).__name__}")
    if math.isfinite(value) and value <= default_below:
        return None
    return value


def check_adapter_choice(name, known: list[str], what: str = "adapter") -> str:
    """An adapter chosen by a user: empty (none) or one of the installed names, never a server path.

    The message is the same for any unknown value, so it says nothing about the server's folders.
    """
    name = check_text(name, what, 200).strip()
    if name and name not in known:
        raise ValueError(f"no {what} named {name[:64]!r}; choose one of: {', '.join(known) or 'none installed yet'}")
    return name
