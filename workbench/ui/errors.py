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


MAX_MESSAGE_CHARS = 300
"""Longest error message a client gets (a refused value is quoted at most in part)."""


def one_line(message: str) -> str:
    """A message as one line of at most MAX_MESSAGE_CHARS characters."""
    text = " ".join(str(message).split())
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS - 1] + "…"


def _one_line_payload(original):
    def error_payload(error, show_error):
        """Gradio's error payload, always with a one-line message: ours as raised (gr.Error), a request Gradio could
        not turn into the handler's arguments (wrong types, nulls, missing fields) said as such, and anything else
        as a generic line (never a traceback or an exception's internals)."""
        content = original(error, show_error)
        if isinstance(error, gr.Error):
            content["error"] = one_line(error.message)
        elif error is not None:
            detail = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
            malformed = isinstance(error, (ValueError, TypeError, KeyError, IndexError)) or \
                type(error).__name__ == "ValidationError"
            content["error"] = one_line(f"malformed request: {detail}" if malformed else
                                        "the server could not answer this request; try again or report it")
            content["visible"] = True
        return content
    error_payload.one_line = True
    return error_payload


def install_one_line_errors() -> None:
    """Make every error Gradio reports one line (see _one_line_payload); idempotent. Gradio builds the payload in
    one function (gradio.utils.error_payload), which its queue imported by name."""
    import gradio.queueing
    import gradio.utils

    for module in (gradio.utils, gradio.queueing):
        if not getattr(module.error_payload, "one_line", False):
            module.error_payload = _one_line_payload(module.error_payload)
    queue = gradio.queueing.Queue
    if not getattr(queue.push, "one_line", False):  # a validator that cannot even read the request: HTTP 400
        push = queue.push

        async def one_line_push(self, *args, **kwargs):
            success, detail, state = await push(self, *args, **kwargs)
            if not success and state == "error":
                first = str(detail).strip().splitlines()[0] if str(detail).strip() else "unreadable request"
                detail = one_line(f"malformed request: {first}")
            return success, detail, state

        one_line_push.one_line = True
        queue.push = one_line_push
