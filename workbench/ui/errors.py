"""How user-input errors reach the browser: once, beside the input, and without a traceback in the server log.

Two tools: event *validators* (Gradio runs them before the event; a failed `gr.validate` shows its message
under that input and nothing else changes), and `user_error` for refusals found later, raised on events whose
progress is shown on a single status component (`show_progress_on`), so no other component shows an error.
"""

from __future__ import annotations

from contextlib import contextmanager

import gradio as gr

from ..retrieval.store import StoreError


def user_error(message: str) -> gr.Error:
    """A one-line error for the user; the server log gets no traceback (it is not a bug)."""
    return gr.Error(message, print_exception=False)


@contextmanager
def user_errors():
    """Bad input and store refusals reach the user as one-line messages, not stack traces."""
    try:
        yield
    except (StoreError, ValueError) as exc:
        raise user_error(str(exc)) from None


def verdict(check, *args) -> dict:
    """gr.validate of one input: valid when `check(*args)` returns, else its ValueError's message."""
    try:
        check(*args)
    except (StoreError, ValueError) as exc:
        return gr.validate(False, str(exc))
    return gr.validate(True, "")


def ok() -> dict:
    """The verdict of an input that needs no check."""
    return gr.validate(True, "")
