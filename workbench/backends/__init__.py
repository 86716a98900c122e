"""Generation backends: one small interface, two implementations, chosen once from settings.

A backend turns prompts into streamed rows. ``local`` generates in this process (transformers + peft, the
four arms in one batch); ``openai`` sends each arm to an OpenAI-compatible server (vLLM with multi-LoRA),
concurrently, and streams the answers back over SSE. The engine never asks which one it has.

Interface (duck-typed, see LocalBackend and OpenAIBackend):

- ``concurrency``: how many comparisons the app may run at once on this backend.
- ``attach(name_or_path, allow_foreign=False) -> str``: make an adapter usable; returns the handle that
  ``Request.adapter`` carries. Raises ``AdapterError`` or ``BackendError`` with a message for the user.
- ``adapter_names() -> list[str]``: adapters the user can pick.
- ``announce(name_or_path) -> str``: a new adapter was trained or uploaded; make it servable now where that
  takes a step (registering it with a server); returns a sentence for the user ("" when nothing was needed).
- ``stream(requests, max_new_tokens, temperature) -> Iterator[(rows, stats)]``: ``(rows, None)`` while the rows
  grow, ``(rows, stats)`` once at the end; rows are ``RowState``-like (text, tokens, prompt_tokens,
  first_token_s, last_token_s, done) and may carry ``error`` (that row failed, the others went on).
"""

from __future__ import annotations

BACKENDS = ("in-process", "openai")


class BackendError(ValueError):
    """The backend cannot serve a request (server unreachable or refusing); the message says what to do."""


def make_backend(wb):
    """The backend named by wb.settings.backend, bound to the workbench (its tokenizer, adapters, model)."""
    kind = wb.settings.backend
    if kind == "in-process":
        from .local import LocalBackend

        return LocalBackend(wb)
    if kind == "openai":
        from .openai import OpenAIBackend

        return OpenAIBackend(wb)
    raise ValueError(f"unknown backend {kind!r}; set WORKBENCH_BACKEND to one of {', '.join(BACKENDS)}")


def needs_weights(backend: str) -> bool:
    """Only the in-process backend generates with the base weights in this process."""
    return backend == "in-process"
