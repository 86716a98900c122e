"""The model's generation slots, granted to interactive requests first.

One batch at a time runs on an in-process model (the batch already holds all four arms). A comparison holds a
slot while it generates. A long job's batch (an evaluation's or Decide's questions) holds one with BATCH priority
and, between its decode steps, lets a waiting comparison in (`let_interactive_in`): it gives the slot up, keeps its
place (its rows and their cache wait in memory), and takes the slot back once no comparison waits. So a comparison
waits for one decode step of a long job, not for its whole batch.

Changing the model under a paused batch (dropping the adapters it reads) waits until no batch is paused
(`hold(exclusive=True)`).
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
        self._paused = 0
        self._cond = threading.Condition()

    @contextmanager
    def hold(self, priority: int = INTERACTIVE, exclusive: bool = False):
        """A slot for the block; a BATCH caller waits while any INTERACTIVE one does. `exclusive` (a change to the
        model, such as dropping adapters) also waits until no batch is paused; it does not hold paused batches
        back, so it never waits on itself."""
        with self._cond:
            if not exclusive:
                self._waiting[priority] += 1
            try:
                while self._free == 0 or (priority == BATCH and self._waiting[INTERACTIVE]) or \
                        (exclusive and self._paused):
                    self._cond.wait()
            finally:
                if not exclusive:
                    self._waiting[priority] -= 1
            self._free -= 1
        try:
            yield
        finally:
            self._release()

    def let_interactive_in(self) -> bool:
        """Called by a BATCH holder between decode steps: when a comparison waits, give the slot up until none
        waits and take it back. Returns whether it paused."""
        with self._cond:
            if not self._waiting[INTERACTIVE]:
                return False
            self._free += 1
            self._paused += 1
            self._waiting[BATCH] += 1
            self._cond.notify_all()
            try:
                while self._free == 0 or self._waiting[INTERACTIVE]:
                    self._cond.wait()
            finally:
                self._waiting[BATCH] -= 1
                self._paused -= 1
            self._free -= 1
            self._cond.notify_all()  # an exclusive holder may have waited for this batch to resume
            return True

    def _release(self) -> None:
        with self._cond:
            self._free += 1
            self._cond.notify_all()

    def waiting(self, priority: int = INTERACTIVE) -> int:
        return self._waiting[priority]

    def paused(self) -> int:
        """Batches that gave their slot up between two steps and will take it back."""
        return self._paused
