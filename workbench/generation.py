"""Batched streaming generation: several arms in one `generate` call, each row streamed as it grows.

One row per arm. Rows that use an adapter name it (peft's ``adapter_names``); base rows run as
``"__base__"``. A small streamer records, per row, the tokens, the time of the first token and of the
last one, so every arm gets its own time to first token, total time and tokens/s.
"""

from __future__ import annotations

import queue
import resource
import sys
import threading
import time
from dataclasses import dataclass, field
from typing import Iterator

import torch
from transformers.generation.streamers import BaseStreamer

from .arms import PLAIN_STOP, cut_at_stop

BASE_ADAPTER = "__base__"


@dataclass
class Request:
    prompt: str
    adapter: str | None = None
    """peft adapter name, or None for the bare base model."""


@dataclass
class RowState:
    text: str = ""
    tokens: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    first_token_s: float | None = None
    """Seconds from the start of generation to this row's first new token."""
    last_token_s: float | None = None
    done: bool = False


@dataclass
class GenerationStats:
    peak_memory_bytes: int
    memory_kind: str


class RowStreamer(BaseStreamer):
    """Receives one token per row at each step (shape (batch,)) and hands a tick to the consumer."""

    def __init__(self, rows: list[RowState], stop_ids: set[int], started: float):
        self.rows, self.stop_ids, self.started = rows, stop_ids, started
        self.ticks: queue.Queue = queue.Queue()
        self._prompt_seen = False

    def put(self, value: torch.Tensor) -> None:
        if not self._prompt_seen:  # generate() first passes the prompt ids
            self._prompt_seen = True
            return
        now = time.perf_counter() - self.started
        for row, token in zip(self.rows, value.reshape(len(self.rows), -1)[:, -1].tolist()):
            if row.done:
                continue
            if token in self.stop_ids:
                row.done = True
                continue
            row.tokens.append(token)
            row.first_token_s = now if row.first_token_s is None else row.first_token_s
            row.last_token_s = now
        self.ticks.put("step")

    def end(self) -> None:
        self.ticks.put("end")


def stop_token_ids(model, tokenizer) -> set[int]:
    ids = model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    # Finished rows are filled with the pad token: it ends a row like EOS does.
    ids |= {t for t in (tokenizer.eos_token_id, tokenizer.pad_token_id) if t is not None}
    return ids


def _reset_memory(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()
        torch.cuda.reset_peak_memory_stats()


def _peak_memory(device: str) -> GenerationStats:
    if device == "cuda":
        torch.cuda.synchronize()
        return GenerationStats(torch.cuda.max_memory_allocated(), "cuda_peak_allocated")
    # ru_maxrss is the process's peak resident set: KiB on Linux, bytes on macOS.
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return GenerationStats(rss if sys.platform == "darwin" else rss * 1024, "cpu_peak_rss")


def generate_stream(model, tokenizer, requests: list[Request], max_new_tokens: int = 64, temperature: float = 0.0,
                    device: str = "cpu") -> Iterator[tuple[list[RowState], GenerationStats | None]]:
    """Yield (rows, None) after every step and (rows, stats) once at the end."""
    enc = tokenizer([r.prompt for r in requests], return_tensors="pt", padding=True, add_special_tokens=False).to(device)
    started = time.perf_counter()
    rows = [RowState(prompt_tokens=int(n)) for n in enc["attention_mask"].sum(dim=1).tolist()]
    streamer = RowStreamer(rows, stop_token_ids(model, tokenizer), started)
    kwargs = dict(**enc, max_new_tokens=max_new_tokens, streamer=streamer, pad_token_id=tokenizer.pad_token_id)
    kwargs.update(do_sample=True, temperature=temperature, top_k=0, top_p=1.0) if temperature > 0 else kwargs.update(
        do_sample=False, temperature=None, top_p=None, top_k=None)
    if not getattr(tokenizer, "chat_template", None):
        kwargs.update(stop_strings=[PLAIN_STOP], tokenizer=tokenizer)
    if any(r.adapter for r in requests) or hasattr(model, "peft_config"):
        kwargs["adapter_names"] = [r.adapter or BASE_ADAPTER for r in requests]
    errors: list[BaseException] = []

    def run():
        try:
            with torch.inference_mode():
                model.generate(**kwargs)
        except BaseException as exc:  # surfaced in the consumer thread below
            errors.append(exc)
            streamer.end()

    _reset_memory(device)
    worker = threading.Thread(target=run, daemon=True)
    worker.start()
    while streamer.ticks.get() != "end":
        for row in rows:
            row.text = cut_at_stop(tokenizer, tokenizer.decode(row.tokens, skip_special_tokens=True))
        yield rows, None
    worker.join()
    if errors:
        raise errors[0]
    for row in rows:
        row.text = cut_at_stop(tokenizer, tokenizer.decode(row.tokens, skip_special_tokens=True)).strip()
        row.done = True
    yield rows, _peak_memory(device)
