"""`generate_facts` in a parsing worker (retrieval/parsing.py): under its memory limit, stopped after
`Settings.qa_timeout_s`, and never on the server's threads, where a spaCy parse of a large corpus would hold a core
and the interpreter lock for a minute while other people's questions wait. Decide's qa stage and its plan preview
call it."""

from __future__ import annotations

from ..results import Passage
from .facts import Fact, QAError, generate_facts


def _facts(chunks: list[Passage], seed: int) -> list[Fact]:
    """Runs in the worker: the facts, or a one-line QAError (running out of memory too)."""
    try:
        return list(generate_facts(chunks, seed=seed))
    except (MemoryError, RecursionError):
        raise QAError("the corpus needs more memory to turn into questions than a worker may use; split the "
                      "corpus") from None
    except ValueError as exc:
        raise QAError(str(exc)) from None  # a fresh exception pickles without its chained cause


def generate_facts_isolated(settings, chunks: list[Passage], seed: int = 0) -> list[Fact]:
    """`generate_facts(chunks, seed=seed)` in a parsing worker; QAError when it finds none, fails or runs out of
    time (the message says what to do)."""
    from ..retrieval.parsing import ParseLimits, ParseWorker

    if not chunks:
        raise QAError("the corpus has no chunks: ingest some documents into it first")
    timeout = settings.qa_timeout_s
    with ParseWorker(ParseLimits.from_settings(settings)) as worker:
        try:
            return worker.call(_facts, chunks, seed, timeout=timeout)
        except TimeoutError:
            raise QAError(f"generating questions took longer than {timeout:g} s and was stopped; use a smaller "
                          "corpus") from None
