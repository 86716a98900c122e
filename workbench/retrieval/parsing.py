"""Parse untrusted files in a worker process with a time and memory limit per file.

A hostile upload (10^6 nested HTML tags, a pathological line for a parser, a decompression bomb inside a
document) must not hold the server: the parser runs in a child process (multiprocessing, forkserver
context) whose address space may grow by at most `memory_bytes`, and a file that takes longer than
`timeout_s` is refused and its worker killed and replaced. The server's own threads never run the parser,
so other sessions' questions and ingests go on meanwhile. A job's `cancelled` event given to the worker kills it
within a fraction of a second (jobs.Cancelled), so Cancel stops a parse stuck in C code too.
"""

from __future__ import annotations

import multiprocessing
import resource
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from ..jobs import Cancelled
from .loaders import LoaderError, Section, load_file


@dataclass(frozen=True)
class ParseLimits:
    timeout_s: float = 60.0
    """Seconds one file may take to parse."""
    memory_bytes: int = 2 * 2**30
    """How much the worker's address space may grow while parsing."""
    max_chars: int = 2_000_000
    """Most characters of text one file may yield."""
    budget_s: float = 0.0
    """Seconds all files of one upload (one ParseWorker) may take together; 0: only the limit per file."""

    @classmethod
    def from_settings(cls, settings, budget_s: float = 0.0) -> "ParseLimits":
        return cls(settings.parse_timeout_s, settings.parse_memory_bytes, settings.max_document_chars, budget_s)


def check_size(sections: list[Section], max_chars: int) -> list[Section]:
    """Refuse a file whose text is longer than `max_chars` (it would take minutes to chunk and embed)."""
    total = sum(len(s.text) for s in sections)
    if total > max_chars:
        raise LoaderError(f"{total:,} characters of text; the limit per file is {max_chars:,} "
                          "(split the file into smaller ones)")
    return sections


def _vm_size() -> int:
    """This process's current address-space size in bytes (Linux), 0 when unknown."""
    try:
        with open("/proc/self/status") as f:
            for line in f:
                if line.startswith("VmSize:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


def _limit_memory(memory_bytes: int) -> None:
    """Worker initializer: the address space may grow by `memory_bytes` beyond what the worker already maps."""
    limit = _vm_size() + memory_bytes
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    if hard != resource.RLIM_INFINITY:
        limit = min(limit, hard)
    resource.setrlimit(resource.RLIMIT_AS, (limit, hard))


def _parse(path: str, max_chars: int) -> list[Section]:
    """Runs in the worker: load the file, turn running out of memory into a one-line reason."""
    try:
        return check_size(load_file(Path(path)), max_chars)
    except MemoryError:
        raise LoaderError("needs more memory to parse than one file may use; split it or simplify it") from None
    except LoaderError as exc:
        if isinstance(exc.__cause__, (MemoryError, RecursionError)):
            what = "more memory" if isinstance(exc.__cause__, MemoryError) else "deeper nesting"
            raise LoaderError(f"needs {what} to parse than one file may use; split it or simplify it") from None
        raise LoaderError(str(exc)) from None  # a fresh exception pickles without its chained cause


class ParseWorker:
    """One worker process that parses files one at a time; replaced when a file overruns its limits.

    Use as a context manager around one ingest; the process starts on the first file.
    """

    CANCEL_POLL_S = 0.2
    """How often a call in flight looks at `cancel`."""

    def __init__(self, limits: ParseLimits, cancel: threading.Event | None = None):
        self.limits = limits
        self.cancel = cancel
        """Set (a job's Cancel): the call in flight kills the worker and raises jobs.Cancelled."""
        self._pool = None
        self.spent = 0.0
        """Seconds the worker has spent on this upload's files so far (what counts against budget_s)."""

    def _start(self) -> None:
        context = multiprocessing.get_context("forkserver")
        # The forkserver imports the parsers once, so a worker forked from it starts in well under a second
        # (it still imports the main module, as multiprocessing does: app.py keeps its imports in main()).
        context.set_forkserver_preload([__name__])
        self._pool = context.Pool(1, initializer=_limit_memory, initargs=(self.limits.memory_bytes,))

    def load(self, path: Path) -> list[Section]:
        """The file's sections, or LoaderError (also when it takes too long or needs too much memory, or the
        upload's parse time is spent)."""
        per_file, left = self.limits.timeout_s, self.limits.budget_s - self.spent
        if self.limits.budget_s and left <= 0:
            raise LoaderError(f"not parsed: this upload's parse time ({self.limits.budget_s:g} s) is spent; "
                              "upload this file on its own")
        timeout = min(per_file, left) if self.limits.budget_s else per_file
        try:
            return self.call(_parse, str(path), self.limits.max_chars, timeout=timeout)
        except TimeoutError:
            if timeout < per_file:
                raise LoaderError(f"parsing was stopped when this upload's parse time ({self.limits.budget_s:g} s) "
                                  "was spent; upload this file on its own") from None
            raise LoaderError(f"parsing took longer than {per_file:g} s and was stopped; "
                              "split the file or simplify it") from None

    def call(self, fn, *args, timeout: float):
        """fn(*args) in the worker, under the memory limit; TimeoutError (worker killed) after `timeout` seconds,
        jobs.Cancelled (worker killed) once `cancel` is set. The time counts towards `spent`. `fn` must be
        importable (pickled by name)."""
        if self.cancel is not None and self.cancel.is_set():
            raise Cancelled("cancelled")
        if self._pool is None:
            self._start()
        started = time.perf_counter()
        pending = self._pool.apply_async(fn, args)
        try:
            while True:
                left = timeout - (time.perf_counter() - started)
                try:
                    return pending.get(max(0.0, min(left, self.CANCEL_POLL_S)))
                except multiprocessing.TimeoutError:
                    if self.cancel is not None and self.cancel.is_set():
                        self._kill()
                        raise Cancelled("cancelled") from None
                    if left <= self.CANCEL_POLL_S:
                        self._kill()
                        raise TimeoutError(f"took longer than {timeout:g} s") from None
        finally:
            self.spent += time.perf_counter() - started

    def _kill(self) -> None:
        if self._pool is not None:
            self._pool.terminate()  # SIGTERM to the worker; a parser stuck in C code cannot ignore it
            self._pool.join()
            self._pool = None

    def close(self) -> None:
        self._kill()

    def __enter__(self) -> "ParseWorker":
        return self

    def __exit__(self, *exc) -> None:
        self.close()



def _qa_files(chunks, out: str, max_facts, test_fraction: float, reference) -> dict:
    """Runs in the worker: workbench.qa's question files, running out of memory turned into a one-line reason."""
    from ..qa.run import make_qa_files

    try:
        return make_qa_files(chunks, out, max_facts, test_fraction, reference=reference)
    except (MemoryError, RecursionError):
        raise ValueError("the corpus needs more memory to turn into questions than a worker may use; "
                         "set fewer facts or split the corpus") from None
    except ValueError as exc:
        raise ValueError(str(exc)) from None  # a fresh exception pickles without its chained cause


def make_qa_files_limited(limits: ParseLimits, timeout_s: float, chunks, out: Path, max_facts: int | None,
                          test_fraction: float, reference: list[dict] | None = None,
                          cancel: threading.Event | None = None) -> dict:
    """workbench.qa.run.make_qa_files in a parsing worker (its memory limit), stopped after `timeout_s` or once
    `cancel` is set (jobs.Cancelled): the server's threads never run it, so questions to the model go on
    meanwhile. ValueError (one line) on failure."""
    with ParseWorker(limits, cancel) as worker:
        try:
            return worker.call(_qa_files, chunks, str(out), max_facts, test_fraction, reference, timeout=timeout_s)
        except TimeoutError:
            raise ValueError(f"generating questions took longer than {timeout_s:g} s and was stopped; set fewer "
                             "facts or use a smaller corpus") from None
