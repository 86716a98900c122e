"""One training job from a file to a saved adapter: load data, build examples, train, write the model card."""

from __future__ import annotations

import dataclasses
import logging
import shlex
from pathlib import Path

from .card import write_card
from .data import DataError, chat_example, detect_format, load_chat, load_qa
from .raft import build_raft, lora_examples, raft_examples
from .trainer import TrainConfig, TrainResult, train

METHODS = ("lora", "raft")
log = logging.getLogger(__name__)


def build_examples(wb, data: Path, config: TrainConfig, corpus: str):
    """Examples for the method; RAFT needs Q/A data and a corpus to retrieve distractors from."""
    fmt = detect_format(data)
    s = wb.settings
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
    parts = ["python -m workbench train", f"--data {shlex.quote(str(data))}", f"--method {config.method}"]
    if config.method == "raft":
        parts.append(f"--corpus {corpus}")
    for f in dataclasses.fields(TrainConfig):
        value = getattr(config, f.name)
        if f.name not in ("method", "target_modules", "qlora") and value != getattr(defaults, f.name):
            parts.append(f"--{f.name.replace('_', '-')} {value}")
    parts.append(f"--out {shlex.quote(str(out_dir))}")
    return " ".join(parts)


def train_adapter(wb, data: Path, config: TrainConfig, out_dir: Path, corpus: str | None = None,
                  progress=None, cancel=None) -> TrainResult:
    """Train and save an adapter for the workbench's base model; it is selectable by its folder name at once."""
    if config.method not in METHODS:
        raise ValueError(f"unknown method {config.method!r}; choose lora or raft")
    data, out_dir = Path(data), Path(out_dir)
    corpus = corpus or wb.settings.corpus
    examples = build_examples(wb, data, config, corpus)
    result = train(wb.model, wb.tokenizer, examples, config, out_dir, wb.model_id, progress, cancel,
                   getattr(wb, "source", None), wb.device)
    write_card(out_dir, name=out_dir.name, base_model_id=wb.model_id, data=_display(data), method=config.method,
               corpus=corpus if config.method == "raft" else None, n_examples=len(examples), config=config,
               result=result, command=command_line(_display(data), config, corpus, _display(out_dir)))
    note = wb.announce_adapter(str(out_dir))  # a generation server learns about the adapter now
    if note:
        log.info("%s", note)
    return result


def _display(path: Path) -> Path:
    """Paths inside the repo are shown relative to it, so model cards are portable."""
    from ..config import REPO_ROOT

    try:
        return Path(path).resolve().relative_to(REPO_ROOT)
    except ValueError:
        return Path(path)
