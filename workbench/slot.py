"""The model's generation slots, granted to interactive requests first.

One batch at a time runs on an in-process model (the batch already holds all four arms). A comparison holds a
slot while it generates; an evaluation takes one for each batch of questions and gives it back in between, and a
waiting comparison goes before the evaluation's next batch, so a comparison waits at most one batch.
"""

from __future__ import annotations

import threading
from contextlib import contextmanager

INTERACTIVE, BATCH = 0, 1
"""Priorities: a person waiting on a comparison; a batch of a long job (evaluation, Decide)."""


class ModelSlot:
    def __init__(self, capacity: int = 1):
        self.capacity = max(1, int(capacity))
        self._free = self.capacity
        self._waiting = {INTERACTIVE: 0, BATCH: 0}
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, priority: int = INTERACTIVE):
        """A slot for the block; a BATCH caller waits while any INTERACTIVE one does."""
        with self._cond:
            self._waiting[priority] += 1
            try:
                while self._free == 0 or (priority == BATCH and self._waiting[INTERACTIVE]):
                    self._cond.wait()
            finally:
                self._waiting[priority] -= 1
            self._free -= 1
        try:
            yield
        finally:
            with self._cond:
                self._free += 1
                self._cond.notify_all()

    def waiting(self, priority: int = INTERACTIVE) -> int:
        return self._waiting[priority]
