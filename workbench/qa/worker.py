"""`generate_facts` and `yes_no_questions` in a parsing worker (retrieval/parsing.py): under its memory limit,
stopped after `Settings.qa_timeout_s`, and never on the server's threads, where a spaCy parse of a large corpus
would hold a core and the interpreter lock for a minute while other people's questions wait. Decide's qa stage
and its plan preview call them."""

from __future__ import annotations

from ..results import Passage
from .facts import Fact, QAError, generate_facts
from .yesno import YesNo, yes_no_questions


def _facts(chunks: list[Passage], seed: int) -> list[Fact]:
    """Runs in the worker: the facts, or a one-line QAError (running out of memory too)."""
    try:
        return list(generate_facts(chunks, seed=seed))
    except (MemoryError, RecursionError):
        raise QAError("the corpus needs more memory to turn into questions than a worker may use; split the "
                      "corpus") from None
    except ValueError as exc:
        raise QAError(str(exc)) from None  # a fresh exception pickles without its chained cause


def _yes_no(chunks: list[Passage], max_questions: int, seed: int, avoid: list[str]) -> list[YesNo]:
    try:
        return yes_no_questions(chunks, max_questions, seed, avoid)
    except (MemoryError, RecursionError):
        raise QAError("the corpus needs more memory to turn into questions than a worker may use; split the "
                      "corpus") from None


def _isolated(settings, function, *args):
    from ..retrieval.parsing import ParseLimits, ParseWorker

    if not args[0]:
        raise QAError("the corpus has no chunks: ingest some documents into it first")
    timeout = settings.qa_timeout_s
    with ParseWorker(ParseLimits.from_settings(settings)) as worker:
        try:
            return worker.call(function, *args, timeout=timeout)
        except TimeoutError:
            raise QAError(f"generating questions took longer than {timeout:g} s and was stopped; use a smaller "
                          "corpus") from None


def generate_facts_isolated(settings, chunks: list[Passage], seed: int = 0) -> list[Fact]:
    """`generate_facts(chunks, seed=seed)` in a parsing worker; QAError when it finds none, fails or runs out of
    time (the message says what to do)."""
    return _isolated(settings, _facts, chunks, seed)


def yes_no_isolated(settings, chunks: list[Passage], max_questions: int, seed: int = 0,
                    avoid: list[str] = ()) -> list[YesNo]:
    """`yes_no_questions(...)` in a parsing worker, under the same limits; QAError as above."""
    return _isolated(settings, _yes_no, chunks, max_questions, seed, list(avoid))
