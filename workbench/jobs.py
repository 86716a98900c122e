"""One way to run a long job (training, evaluation, Decide, ingest, question generation): an id, its stages, one
`Progress`, `cancel()` and a result. The UI and the CLI only start jobs and show their progress.

A job's work is a plain function `work(job)`: it calls `job.report(Progress(...))` as it goes and checks
`job.cancelled` (a threading.Event it may hand to code that stops at its next step); what it returns is the result.
The work runs in a thread of this process; work that must give its memory back (training) starts its own worker
process from there (workbench/training/worker.py), so its progress and cancel still go through the job.

`Jobs` is the app's registry: a tab gives each run an id before it is queued (what its Cancel button names), starts
the job under that id, and cancels by id; a run cancelled while still queued ends as soon as its turn comes.

Jobs today: training (training.jobs.training_work), evaluation (evaluation.runner.evaluation_work), Decide
(decide.pipeline.decide_work) and its re-check (decide.recheck.recheck_work), ingestion (retrieval.ingest, its
`cancel` the job's event) and question generation (retrieval.parsing.make_qa_files_limited). None of them runs in
the comparisons' Gradio queue (concurrency_id "model"): their questions' batches let a waiting comparison in
between two decode steps (workbench/slot.py). The tabs' buttons for them are ui/jobview.py.
"""

from __future__ import annotations

import queue
import threading
import time
import uuid
from dataclasses import dataclass, field
from typing import Any, Callable, Iterator


@dataclass
class Progress:
    """Where a job is: `done` of `total` `unit` in `stage`, the seconds left when known, a line for people."""

    stage: str
    done: float = 0
    total: float = 0
    unit: str = ""
    eta_s: float | None = None
    message: str = ""
    detail: Any = field(default=None, repr=False, compare=False)
    """What a view shows beside the line (a training step's loss, an evaluated question's records)."""

    @property
    def fraction(self) -> float:
        return min(1.0, self.done / self.total) if self.total else 0.0


class JobCancelled(RuntimeError):
    """Raised by `Job.result()` for a job that was cancelled before its work finished."""


def eta(started: float, done: float, total: float) -> float | None:
    """Seconds left at the pace since `started` (time.perf_counter()), None before anything is done."""
    return (time.perf_counter() - started) / done * (total - done) if done > 0 else None


def give_back_memory() -> None:
    """Hand the heap a finished job freed back to the operating system. torch allocates CPU tensors with malloc, and
    glibc keeps freed pages in its arenas: without a trim, the KV caches of an evaluation's batches stay in the
    app's RSS as free heap (measured on the embedded model: 1.3 GiB after loading, 1.9 to 2.6 GiB after each
    round of 16 questions' four arms, 1.3 GiB again after the trim). A no-op without glibc."""
    import ctypes
    import gc

    gc.collect()
    try:
        ctypes.CDLL("libc.so.6").malloc_trim(0)
    except (OSError, AttributeError):  # not glibc (macOS, musl): the allocator keeps its own counsel
        pass


class Job:
    """One long job, run in a thread by `start()`; `events()` follows it, `result()` waits for it."""

    def __init__(self, work: Callable[["Job"], Any], name: str = "job", stages: tuple[str, ...] = (),
                 job_id: str | None = None):
        self.id = job_id or uuid.uuid4().hex
        self.name = name
        self.stages = tuple(stages)
        self.progress: Progress | None = None
        """The latest report."""
        self.cancelled = threading.Event()
        self._work = work
        self._updates: queue.Queue = queue.Queue()
        self._finished = threading.Event()
        self._result: Any = None
        self._error: BaseException | None = None
        self._thread: threading.Thread | None = None

    # --- the work's side -------------------------------------------------------------------------------
    def report(self, progress: Progress) -> None:
        self.progress = progress
        self._updates.put(progress)

    # --- the caller's side -----------------------------------------------------------------------------
    def start(self) -> "Job":
        self._thread = threading.Thread(target=self._run, name=self.name, daemon=True)
        self._thread.start()
        return self

    def _run(self) -> None:
        try:
            if self.cancelled.is_set():  # cancelled before it started
                raise JobCancelled(f"{self.name} was cancelled before it started")
            self._result = self._work(self)
        except BaseException as exc:  # handed to whoever follows the job
            self._error = exc
        finally:
            give_back_memory()
            self._finished.set()
            self._updates.put(None)

    def cancel(self) -> None:
        """Ask the work to stop at its next step; `result()` then raises JobCancelled (unless it had finished)."""
        self.cancelled.set()

    @property
    def done(self) -> bool:
        return self._finished.is_set()

    def events(self, wait_s: float = 1.0) -> Iterator[Progress | None]:
        """Each Progress as it is reported, and None whenever `wait_s` passed without one; ends when the job does
        (then call `result()`)."""
        while True:
            try:
                update = self._updates.get(timeout=wait_s)
            except queue.Empty:
                if self.done and self._updates.empty():
                    return
                yield None
                continue
            if update is None:
                return
            yield update

    def result(self, timeout: float | None = None) -> Any:
        """The work's return value; its exception re-raised; JobCancelled when it stopped because it was cancelled."""
        if not self._finished.wait(timeout):
            raise TimeoutError(f"{self.name} is still running")
        if self._error is not None:
            if self.cancelled.is_set() and isinstance(self._error, (InterruptedError, JobCancelled, Cancelled)):
                raise JobCancelled(f"{self.name} was cancelled") from None
            raise self._error
        return self._result

    def run(self, on_progress: Callable[[Progress], None] | None = None) -> Any:
        """Start, pass every Progress to `on_progress`, and return the result (the CLI's way)."""
        self.start()
        try:
            for update in self.events():
                if update is not None and on_progress is not None:
                    on_progress(update)
        except KeyboardInterrupt:
            self.cancel()
            raise
        return self.result()


class Cancelled(InterruptedError):
    """What work raises when it saw `job.cancelled` and stopped."""


def reporter(job: Job, stage: str) -> Callable[[float, float, str, str], None]:
    """A progress callback of ingestion's shape, `(done, total, unit, message)`, that reports to `job`."""
    def report(done: float, total: float, unit: str, message: str) -> None:
        job.report(Progress(stage, done, total, unit, message=message))
    return report


class Jobs:
    """The app's running jobs by id. Cancel by id works before a job starts, while it runs, and is a no-op after."""

    def __init__(self):
        self._jobs: dict[str, Job] = {}
        self._cancelled_early: set[str] = set()
        self._lock = threading.Lock()

    @staticmethod
    def new_id() -> str:
        return uuid.uuid4().hex

    def start(self, work: Callable[[Job], Any], name: str, stages: tuple[str, ...] = (),
              job_id: str | None = None) -> Job:
        job = Job(work, name, stages, job_id)
        with self._lock:
            self._jobs[job.id] = job
            if job.id in self._cancelled_early:
                self._cancelled_early.discard(job.id)
                job.cancel()
        return job.start()

    def get(self, job_id: str) -> Job | None:
        return self._jobs.get(job_id)

    def cancel(self, job_id: str) -> None:
        if not job_id:
            return
        with self._lock:
            job = self._jobs.get(job_id)
            if job is None:
                self._cancelled_early.add(job_id)
        if job is not None:
            job.cancel()

    def forget(self, job: Job) -> None:
        """Once its view has shown the end: the registry holds running jobs only."""
        with self._lock:
            self._jobs.pop(job.id, None)

    def running(self) -> list[Job]:
        return [job for job in list(self._jobs.values()) if not job.done]
