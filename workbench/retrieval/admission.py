"""Who may parse uploaded files now: ingest slots (one kept for small uploads) and each session's parse time.

Parsing an upload holds a worker process and a CPU core for as long as its files take (ParseLimits bounds each
file and each upload). `IngestSlots` lets `slots` uploads parse at once, keeps `small_slots` more for uploads of
at most `small_bytes` (parsed under a short time limit, so a hostile small file holds its slot only briefly),
and refuses a large upload at once, with a message, when `waiting` others already wait. `ParseBudget` gives each
session so many seconds of parsing an hour, and a second one each client address (ui/clients.py).
"""

from __future__ import annotations

import threading
import time
from collections import deque
from contextlib import contextmanager
from pathlib import Path


class Busy(ValueError):
    """No ingest slot now; the message says to try again."""


def upload_bytes(paths) -> int:
    """Bytes of the uploaded files (as stored, zips compressed); an unreadable path counts 0."""
    total = 0
    for path in paths or []:
        try:
            total += Path(getattr(path, "path", path)).stat().st_size
        except (OSError, TypeError, ValueError):
            continue
    return total


class IngestSlots:
    def __init__(self, slots: int = 2, small_slots: int = 1, waiting: int = 2, small_bytes: int = 64 * 1024):
        self.slots, self.small_slots, self.waiting, self.small_bytes = max(1, slots), small_slots, waiting, small_bytes
        self._large = threading.BoundedSemaphore(self.slots)
        self._small = threading.BoundedSemaphore(max(1, small_slots))
        self._lock = threading.Lock()
        self._waiters = 0

    @property
    def concurrency(self) -> int:
        """Gradio workers the ingest event needs so that a small upload always finds one (slots, the small
        slots, and the large uploads allowed to wait)."""
        return self.slots + self.small_slots + self.waiting

    def is_small(self, size: int) -> bool:
        return self.small_slots > 0 and size <= self.small_bytes

    @contextmanager
    def take(self, size: int):
        """Hold a slot while parsing an upload of `size` bytes; yields whether it counts as small. Busy when a
        large upload would wait behind `waiting` others."""
        small = self.is_small(size)
        if self._large.acquire(blocking=False):
            held = self._large
        elif small:
            self._small.acquire()  # small uploads parse within seconds: waiting here is short
            held = self._small
        else:
            with self._lock:
                if self._waiters >= self.waiting:
                    raise Busy(f"{self.slots} uploads are being read and {self._waiters} more are waiting; try again "
                               f"in a minute (files up to {self.small_bytes // 1024} KiB are read at once)")
                self._waiters += 1
            try:
                self._large.acquire()
            finally:
                with self._lock:
                    self._waiters -= 1
            held = self._large
        try:
            yield small
        finally:
            held.release()


class ParseBudget:
    """Seconds of parsing each key (a session, or a client address) may use in a sliding `window` (seconds); `who`
    names the key's owner in the refusal."""

    def __init__(self, seconds: float = 600.0, window: float = 3600.0, clock=time.monotonic,
                 who: str = "this session"):
        self.seconds, self.window, self.clock, self.who = float(seconds), float(window), clock, who
        self._spent: dict[str, deque] = {}
        self._lock = threading.Lock()

    def _recent(self, sid: str) -> deque:
        spent = self._spent.setdefault(sid, deque())
        while spent and spent[0][0] <= self.clock() - self.window:
            spent.popleft()
        return spent

    def left(self, sid: str) -> float:
        """Seconds key `sid` may still parse; 0 when spent (inf without a budget, or for the unknown key "")."""
        if self.seconds <= 0 or not sid:
            return float("inf")
        with self._lock:
            return max(0.0, self.seconds - sum(s for _, s in self._recent(sid)))

    def check(self, sid: str) -> float:
        """What `left` says, or ValueError (one line) when nothing is left."""
        left = self.left(sid)
        if left <= 0:
            raise ValueError(f"{self.who} has used its {self.seconds:g} s of file parsing for the hour; "
                             "try again later")
        return left

    def spend(self, sid: str, seconds: float) -> None:
        if not sid:
            return
        with self._lock:
            self._recent(sid).append((self.clock(), float(seconds)))
            if len(self._spent) > 10_000:  # forget sessions with nothing recent
                for key in [k for k, v in self._spent.items() if not v]:
                    del self._spent[key]
