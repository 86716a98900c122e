"""Start-up that does not keep the page waiting: the app opens while the shipped corpora are indexed.

`Startup.run(work)` runs the indexing, prints its progress to the console and keeps a one-line status that
the page shows in a banner (polled by a gr.Timer) until it is done.
"""

from __future__ import annotations

import sys
import threading
import time
from dataclasses import dataclass, field


@dataclass
class Startup:
    message: str = "indexing the shipped corpora"
    """What start-up is doing now (shown in the page's banner and printed)."""
    error: str = ""
    """Set when indexing failed; the app still runs on what is indexed."""
    ready: threading.Event = field(default_factory=threading.Event)
    stream: object = field(default=sys.stdout, repr=False)
    _printed: float = 0.0

    def progress(self, done: int, total: int, unit: str, desc: str) -> None:
        """A retrieval.store.IngestProgress: remembers the line and prints it (at most twice a second)."""
        self.message = f"{desc}: {done}/{total} {unit}"
        now = time.monotonic()
        if now - self._printed >= 0.5 or done == total:
            self._printed = now
            print(f"[start-up] {self.message}", file=self.stream, flush=True)

    def run(self, work) -> None:
        """Run `work(progress)` (e.g. ensure_shipped), then mark start-up as done, failed or not."""
        started = time.perf_counter()
        try:
            work(self.progress)
            self.message = f"The shipped corpora are indexed ({time.perf_counter() - started:.0f} s)."
        except Exception as exc:  # the app stays useful without the shipped corpora; say what broke
            self.error = self.message = f"Indexing the shipped corpora failed: {exc}"
        finally:
            print(f"[start-up] {self.message}", file=self.stream, flush=True)
            self.ready.set()

    def check_ready(self) -> None:
        """Raise ValueError (shown under the question) while the retrieval arms cannot run yet."""
        if not self.ready.is_set():
            raise ValueError(f"the app is still starting ({self.message}); ask again in a few seconds")
