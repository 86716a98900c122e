"""One training job from a file to a saved adapter: load data, build examples, train, write the model card."""

from __future__ import annotations

import dataclasses
import json
import logging
import os
import shlex
import shutil
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from .card import EVIDENCE_TARGET, write_card
from .data import DataError, chat_example, detect_format, load_chat, load_qa
from .knowledge import KnowledgeMix, items_from_pairs, knowledge_examples
from .raft import build_raft, lora_examples, raft_examples
from .trainer import TrainConfig, TrainResult, train
from .worker import base_spec, check_memory, train_in_worker

if TYPE_CHECKING:
    from ..engine import Workbench

METHODS = ("lora", "raft", "docs", "knowledge")
"""lora: closed-book Q/A; raft: Q/A with retrieved passages; docs: the corpus text alone (no Q/A needed);
knowledge: the corpus text plus every phrasing of the Q/A (the recipe that learns facts)."""
log = logging.getLogger(__name__)


def build_examples(wb: Workbench, data: Path | None, config: TrainConfig, corpus: str):
    """Examples for the method; RAFT needs Q/A data and a corpus to retrieve distractors from."""
    s = wb.settings
    if config.method in ("docs", "knowledge"):
        chunks = wb.store.chunks(corpus) if wb.store.count(corpus) else []
        if not chunks:
            raise DataError(f"corpus {corpus!r} has no documents to train on; ingest some first")
        pairs = load_qa(data) if data is not None and config.method == "knowledge" else []
        # The whole run is one pass over repeated data: Q/A phrasings `epochs` times, documents doc_repeats times
        # (facts need repetition; re-reading every document as often would cost most of the time).
        repeats = max(1, round(config.epochs))
        mix = KnowledgeMix(qa_repeats=repeats, doc_repeats=config.doc_repeats if pairs else repeats, seed=config.seed)
        return knowledge_examples(wb.tokenizer, items_from_pairs(pairs), chunks, s.system_prompt, mix)
    if data is None:
        raise DataError(f"method {config.method} needs a training file (--data)")
    fmt = detect_format(data)
    if config.method == "raft":
        if fmt == "chat":
            raise DataError("raft needs Q/A data (question, answer, source); chat JSONL can only train the lora method")
        wb.store.count(corpus)  # unknown corpus -> clear error before any work
        raft = build_raft(load_qa(data), wb.store, corpus, wb.tokenizer, s.system_prompt, config.raft_k, config.raft_p,
                          config.seed)
        return raft_examples(raft, wb.tokenizer)
    if fmt == "chat":
        return [chat_example(wb.tokenizer, messages) for messages in load_chat(data)]
    return lora_examples(load_qa(data), wb.tokenizer, s.system_prompt)


def command_line(data: Path, config: TrainConfig, corpus: str, out_dir: Path) -> str:
    """The CLI command that re-creates this adapter (for the model card)."""
    defaults = TrainConfig()
    parts = ["python -m workbench train"] + ([f"--data {shlex.quote(str(data))}"] if data else [])
    parts.append(f"--method {config.method}")
    if config.method != "lora":
        parts.append(f"--corpus {corpus}")
    for f in dataclasses.fields(TrainConfig):
        value = getattr(config, f.name)
        # (the speed settings change only the batch order; only the benchmark turns them off)
        if f.name not in ("method", "target_modules", "qlora", "group_by_length", "bf16_autocast") \
                and value != getattr(defaults, f.name):
            parts.append(f"--{f.name.replace('_', '-')} {value}")
    parts.append(f"--out {shlex.quote(str(out_dir))}")
    return " ".join(parts)


PARTIAL_PREFIX = ".train-"
"""Hidden folder a training writes into; renamed to the adapter's name only when everything is saved."""


def train_adapter(wb: Workbench, data: Path, config: TrainConfig, out_dir: Path, corpus: str | None = None,
                  progress=None, cancel=None) -> TrainResult:
    """Train and save an adapter for the workbench's base model; it is selectable by its folder name at once.

    The adapter is written into a hidden folder beside `out_dir` and moved into place only once complete,
    so a killed or failed run never leaves a half-written adapter under the name (nor blocks it).
    """
    if config.method not in METHODS:
        raise ValueError(f"unknown method {config.method!r}; choose one of {', '.join(METHODS)}")
    data, out_dir = (Path(data) if data else None), Path(out_dir)
    corpus = corpus or wb.settings.corpus
    examples = build_examples(wb, data, config, corpus)
    run_config = dataclasses.replace(config, epochs=1.0) if config.method in ("docs", "knowledge") else config
    shown = _display(data) if data else None
    return train_and_install(wb, examples, run_config, out_dir, progress, cancel, card_config=config,
                             data=shown or f"corpus {corpus}", corpus=corpus if config.method != "lora" else None,
                             command=command_line(shown, config, corpus, _display(out_dir)))


def train_examples(wb: Workbench, examples, config: TrainConfig, out_dir: Path, progress=None,
                   cancel=None) -> TrainResult:
    """Train `examples` into `out_dir` on the workbench's base: in a worker process whose memory goes back to the
    OS when it exits (refused first if it would not fit), or in this process when `train_in_worker` is off."""
    if wb.settings.train_in_worker:
        check_memory(wb.module_shapes, config)
        return train_in_worker(base_spec(wb), examples, config, out_dir, wb.model_id, progress, cancel)
    return train(wb.model, wb.tokenizer, examples, config, out_dir, wb.model_id, progress, cancel,
                 getattr(wb, "source", None), wb.device)


def train_and_install(wb: Workbench, examples, config: TrainConfig, out_dir: Path, progress=None, cancel=None, *,
                      card_config: TrainConfig | None = None, data: str, corpus: str | None, command: str,
                      target: str = EVIDENCE_TARGET) -> TrainResult:
    """Train `examples` into a hidden folder beside `out_dir`, write the model card, and move it into place only
    once complete, so a killed or failed run never leaves a half-written adapter under the name (nor blocks it).
    `card_config` is the configuration the card shows (the user's, when the run's differs)."""
    out_dir = Path(out_dir)
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f"{PARTIAL_PREFIX}{out_dir.name[:40]}-", dir=out_dir.parent))
    try:
        result = train_examples(wb, examples, config, partial, progress, cancel)
        result.adapter_dir = str(out_dir)
        record = partial / "training.json"
        if record.is_file():  # written by train() with the temporary folder's path
            saved = json.loads(record.read_text())
            saved["result"]["adapter_dir"] = str(out_dir)
            record.write_text(json.dumps(saved, indent=2))
        card_config = card_config or config
        write_card(partial, name=out_dir.name, base_model_id=wb.model_id, data=data, method=card_config.method,
                   corpus=corpus, n_examples=len(examples), config=card_config, result=result, command=command,
                   target=target)
        _move_into_place(partial, out_dir)
    finally:
        shutil.rmtree(partial, ignore_errors=True)
    note = wb.announce_adapter(str(out_dir))  # a generation server learns about the adapter now
    if note:
        log.info("%s", note)
    return result


def _move_into_place(partial: Path, out_dir: Path) -> None:
    """Rename the finished folder to `out_dir`; an existing one (the CLI retraining in place) is replaced."""
    if not out_dir.exists():
        partial.rename(out_dir)
        return
    old = out_dir.with_name(f"{PARTIAL_PREFIX}old-{out_dir.name[:40]}-{os.getpid()}")
    out_dir.rename(old)
    partial.rename(out_dir)
    shutil.rmtree(old, ignore_errors=True)


def clear_partial(root: Path) -> list[str]:
    """At start-up: delete what killed trainings and uploads left in an adapter directory; returns the names.

    Hidden work folders (``.train-*``, ``.upload-*``) and folders that hold only a trainer's scratch space
    (``.trainer/``, from runs before trainings wrote into a hidden folder) are removed.
    """
    from ..adapters import WEIGHTS_FILE

    removed = []
    for folder in sorted(Path(root).iterdir()) if Path(root).is_dir() else []:
        partial = folder.name.startswith((PARTIAL_PREFIX, ".upload-"))
        scratch_only = (folder / ".trainer").is_dir() and not (folder / WEIGHTS_FILE).is_file()
        if folder.is_dir() and not folder.is_symlink() and (partial or scratch_only):
            shutil.rmtree(folder, ignore_errors=True)
            removed.append(folder.name)
    return removed


def _display(path: Path) -> Path:
    """Paths inside the repo are shown relative to it, so model cards are portable."""
    from ..config import REPO_ROOT

    try:
        return Path(path).resolve().relative_to(REPO_ROOT)
    except ValueError:
        return Path(path)


STAGES = ("examples", "train", "save")
"""A training job's stages: build the examples, train in the worker process, write the card and move into place."""


def training_work(wb, data: Path | None, config: TrainConfig, out_dir: Path, corpus: str | None = None):
    """`train_adapter` as the work of a job (workbench/jobs.py): each step reports a Progress whose `detail` is
    the step's loss; the job's cancel stops the worker at its next step."""
    from ..jobs import Progress

    def work(job) -> TrainResult:
        job.report(Progress("examples", 0, 1, "steps", message=f"preparing {config.method} training"))

        def step(p: dict) -> None:
            job.report(Progress("train", p["step"], p["total"], "steps", p["eta_s"],
                                f"Step {p['step']}/{p['total']} · loss {p['loss']:.3f} · ETA {p['eta_s']:.0f} s",
                                detail=p["loss"]))

        return train_adapter(wb, data, config, out_dir, corpus, step, job.cancelled)

    return work
