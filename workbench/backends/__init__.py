"""Generation backends: one small interface, two implementations, chosen once from settings.

A backend turns prompts into streamed rows. ``local`` generates in this process (transformers + peft, the
four arms in one batch); ``openai`` sends each arm to an OpenAI-compatible server (vLLM with multi-LoRA),
concurrently, and streams the answers back over SSE. The engine never asks which one it has.

The interface is ``Backend`` below; ``LocalBackend`` and ``OpenAIBackend`` implement it. A backend reaches the
engine through its public attributes and methods (``Workbench.check_adapter``, ``attach_to_model``...);
the engine alone changes its model and the adapters on it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator, Protocol, runtime_checkable

if TYPE_CHECKING:
    from ..engine import Workbench
    from ..generation import GenerationStats, Request, RowState

BACKENDS = ("in-process", "openai")


@runtime_checkable
class Backend(Protocol):
    """Turns prompts into streamed rows; the engine never asks which implementation it has."""

    concurrency: int
    """How many comparisons the app may run at once on this backend."""

    def adapter_names(self) -> list[str]:
        """Adapters the user can pick."""

    def attach(self, name_or_path: str, allow_foreign: bool = False) -> str:
        """Make an adapter usable; returns the handle ``Request.adapter`` carries. Raises ``AdapterError`` or
        ``BackendError`` with a message for the user."""

    def announce(self, name_or_path: str) -> str:
        """A new adapter was trained or uploaded: make it servable now where that takes a step (registering it
        with a server); returns a sentence for the user ("" when nothing was needed)."""

    def detach(self, folder: Path) -> list[str]:
        """Stop serving the adapters whose folders lie in `folder` (they are being deleted) and free what they
        hold; returns the names dropped."""

    def pausable(self) -> bool:
        """Whether a batch in flight may stop between two steps while a comparison runs, and then go on: a long
        job lets comparisons in this way (slot.ModelSlot.let_interactive_in)."""

    def stream(self, requests: list[Request], max_new_tokens: int,
               temperature: float) -> Iterator[tuple[list[RowState], GenerationStats | None]]:
        """``(rows, None)`` while the rows grow, ``(rows, stats)`` once at the end. A row may carry ``error``
        (that row failed, the others went on)."""


class BackendError(ValueError):
    """The backend cannot serve a request (server unreachable or refusing); the message says what to do."""


def make_backend(wb: Workbench) -> Backend:
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
