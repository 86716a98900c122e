"""Stop and Cancel buttons that end a long run as a run that finished, not as an error.

Gradio's `cancels` closes a running generator from another thread; when that met a step in flight, the page
showed a red "Error" for a run the user had merely stopped (seen in CI). Instead, a tab's quick start step gives
each run an id (kept in a `gr.State`), its Stop or Cancel button asks for that id to stop, and the run checks
`asked(id)` between its steps, ends cleanly and says so in its status line.

API clients have no page state: they stop a run by cancelling their job, which `cancel_for_api_clients` wires.
"""

from __future__ import annotations

import uuid
from contextlib import contextmanager

import gradio as gr


class Stops:
    """The ids of runs whose Stop or Cancel was pressed, until each run has seen its own."""

    def __init__(self):
        self._asked: set[str] = set()

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def ask(self, run_id: str) -> None:
        if run_id:  # a run stopped while still queued ends as soon as its turn comes
            self._asked.add(run_id)

    def asked(self, run_id: str) -> bool:
        return run_id in self._asked

    @contextmanager
    def watching(self, run_id: str):
        """Around a run: its id is forgotten when it ends, however it ends."""
        try:
            yield
        finally:
            self._asked.discard(run_id)


def cancel_for_api_clients(event) -> None:
    """gradio_client cancels a job through an event that lists it in `cancels`; a hidden one serves."""
    gr.Button(visible=False).click(None, None, None, cancels=[event], api_visibility="private")
