"""Training in a worker process that exits when it is done, so everything a training takes (its copy of the base,
the optimiser, autograd's buffers, the allocator's fragments) goes back to the operating system.

The worker (multiprocessing, spawn) loads its own copy of the base model from a `BaseSpec` (settings, not live
objects), trains the examples the app built, and writes the adapter into the folder it is given. Its progress comes
back over a queue; a cancel reaches it as an event it checks at every step, and a worker that does not stop within
`grace_s` is terminated; a worker whose parent was killed (so could not stop it) exits rather than train on for
nobody. A training that would not fit in the memory that is free is refused before it starts.
"""

from __future__ import annotations

import logging
import multiprocessing
import os
import queue
import shutil
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

from .trainer import TrainConfig, TrainingCancelled, TrainResult, train

log = logging.getLogger(__name__)
GiB = 2**30
RUNTIME_BYTES = 1 * GiB
"""What a worker holds before any weights: Python, torch, transformers and peft imported."""
WORKER_NICE = 10
"""How much lower the worker's CPU priority is than the app's: a comparison asked while a training runs gets the
cores first (on Linux a process at nice 10 gets about a tenth of a core's share against one at 0), and a training
alone on the machine runs at full speed."""


class WorkerError(RuntimeError):
    """The worker process died without an answer (killed by the kernel, a crash)."""


@dataclass(frozen=True)
class BaseSpec:
    """What a worker needs to load the base model itself (picklable: names and paths, no tensors)."""

    name: str
    """For models.load_llm: a catalog name or a folder."""
    device: str = "cpu"
    dtype: str = "auto"
    cache_dir: str | None = None
    threads: int = 0


def base_spec(wb) -> BaseSpec:
    """The workbench's base as a spec; a model built in memory (tests) is saved once into the data directory."""
    s = wb.settings
    if wb.source is not None:
        return BaseSpec(wb.source.name, wb.device, s.dtype, str(s.data_path / "models"), s.threads)
    folder = getattr(wb, "_worker_base", None)
    if folder is None or not (Path(folder) / "config.json").is_file():
        from .trainer import fresh_base

        root = s.data_path / "models"
        root.mkdir(parents=True, exist_ok=True)
        folder = Path(tempfile.mkdtemp(prefix="in-memory-base-", dir=root))
        fresh_base(wb.model).save_pretrained(str(folder), safe_serialization=True)
        wb.tokenizer.save_pretrained(str(folder))
        wb._worker_base = folder
    return BaseSpec(str(folder), wb.device, s.dtype, None, s.threads)


def available_bytes() -> int:
    """Memory the kernel could give a new process now (MemAvailable)."""
    try:
        import psutil

        return int(psutil.virtual_memory().available)
    except ImportError:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) * 1024
    return 1 << 62


def training_bytes(module_shapes: dict[str, tuple[int, int]], config: TrainConfig) -> int:
    """An upper estimate of a training worker's peak memory: the runtime, the fp32 base twice (loaded, then its
    trainable copy's buffers), and the activations autograd keeps: every linear layer's output for each token of a
    full batch (batch_size × max_length), in fp32. The head is left out (only the target columns reach it)."""
    weights = sum(i * o for i, o in module_shapes.values()) * 4
    head = max((o for name, (_, o) in module_shapes.items() if name.endswith("lm_head")), default=0)
    per_token = (sum(o for _, o in module_shapes.values()) - head) * 4
    return RUNTIME_BYTES + 2 * weights + config.batch_size * config.max_length * per_token


def check_memory(module_shapes: dict[str, tuple[int, int]], config: TrainConfig) -> None:
    """Refuse a training that would not fit in the memory that is free, before anything starts."""
    need, free = training_bytes(module_shapes, config), available_bytes()
    if need > free:
        raise MemoryError(f"this training needs about {need / GiB:.1f} GiB of memory and {free / GiB:.1f} GiB is "
                          "free: lower the batch size or the max length, or wait for other runs to finish")


def _exit_with_parent() -> None:
    """In the worker: exit as soon as the process that started it is gone. A parent killed outright (SIGKILL, or
    a SIGTERM Python does not catch) runs no `finally`, so nothing else would stop its training."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return

    def watch():
        parent.join()  # returns when the parent's end of the pipe closes, however it died
        os._exit(1)

    threading.Thread(target=watch, name="exit-with-parent", daemon=True).start()


def _work(spec: BaseSpec, examples, config: TrainConfig, out_dir: str, base_model_id: str, updates, stop) -> None:
    """The worker process: load the base, train, answer ("done", TrainResult) / ("cancelled",) / ("error", …)."""
    _exit_with_parent()
    try:
        from ..models import load_llm

        if hasattr(os, "nice"):
            os.nice(WORKER_NICE)
        model, tokenizer, source, device = load_llm(spec.name, spec.device, spec.dtype,
                                                    Path(spec.cache_dir) if spec.cache_dir else None, spec.threads)
        result = train(model, tokenizer, examples, config, Path(out_dir), base_model_id, progress=updates.put,
                       cancel=stop, model_source=source, device=device)
        updates.put(("done", result))
    except TrainingCancelled:
        updates.put(("cancelled", None))
    except BaseException as exc:  # sent back as text: the parent raises it as a ValueError or RuntimeError
        updates.put(("error", (isinstance(exc, ValueError), f"{exc}" or type(exc).__name__)))



def train_in_worker(spec: BaseSpec, examples, config: TrainConfig, out_dir: Path, base_model_id: str,
                    progress: Callable[[dict], None] | None = None, cancel=None, grace_s: float = 30.0,
                    on_start: Callable[[int], None] | None = None) -> TrainResult:
    """Train `examples` in a worker process that exits afterwards; same contract as trainer.train.

    `progress` receives the trainer's {step, total, loss, eta_s}; once `cancel` (a threading.Event) is set the
    worker stops at its next step (TrainingCancelled) and is terminated if it has not within `grace_s`.
    `on_start(pid)` learns the worker's process id."""
    ctx = multiprocessing.get_context("spawn")
    updates, stop = ctx.Queue(), ctx.Event()
    worker = ctx.Process(target=_work, args=(spec, examples, config, str(out_dir), base_model_id, updates, stop),
                         name="workbench-train", daemon=True)
    worker.start()
    if on_start is not None:
        on_start(worker.pid)
    asked_at = None
    try:
        while True:
            if cancel is not None and cancel.is_set() and asked_at is None:
                stop.set()
                asked_at = time.monotonic()
            try:
                message = updates.get(timeout=0.2)
            except queue.Empty:
                if asked_at is not None and time.monotonic() - asked_at > grace_s:
                    raise TrainingCancelled("training was cancelled; no adapter was saved") from None
                if not worker.is_alive():
                    try:
                        message = updates.get(timeout=1.0)  # what it put just before exiting
                    except queue.Empty:
                        raise WorkerError(f"the training worker exited with code {worker.exitcode} before it "
                                          "finished (killed for memory?); lower the batch size or the max "
                                          "length") from None
                else:
                    continue
            if isinstance(message, dict):
                if progress is not None:
                    progress(message)
                continue
            kind, value = message
            if kind == "done":
                return value
            if kind == "cancelled":
                raise TrainingCancelled("training was cancelled; no adapter was saved")
            is_value_error, text = value
            raise (ValueError if is_value_error else RuntimeError)(text)
    finally:
        if worker.is_alive():
            stop.set()
            worker.join(grace_s if asked_at is None else 1.0)
        if worker.is_alive():
            worker.terminate()
        worker.join(5)
        updates.close()
        shutil.rmtree(Path(out_dir) / ".trainer", ignore_errors=True)
