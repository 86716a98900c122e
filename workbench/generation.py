"""Batched streaming generation: several arms at once from one copy of the weights, each row streamed as it grows.

One row per arm. Rows that use an adapter name it (peft's ``adapter_names``); base rows run as ``multilora.BASE_ADAPTER``.

How a run goes (and why):
1. **Prefill each prompt alone, longest first.** A closed-book prompt (~40 tokens) padded to a retrieval prompt's
   length (~400) would cost ten times its own prefill; alone, it costs its own. Each row's first token is streamed
   as soon as its own prefill ends. Longest first: the rag column's first token waits only for its own prefill,
   the short prompts add little before the batch decodes, and no row's decode time holds a long prefill.
2. **Decode all rows in one batch.** Their KV caches are joined, left-padded to the longest, into one static
   cache with room for the answers (each step writes in place), and every step reads the weights once for all
   rows (on a CPU, decoding is bound by reading the weights from memory; packed.py makes that read fast).
   Finished rows leave the batch, so the last long answer does not drag the others' cost along (rows from the
   tail move into their slots and the cache is cut, rather than copied whole each time a row ends). Rows with
   different adapters share each step through stacked LoRA weights (multilora.py) rather than peft's per-adapter
   loop.
3. **Greedy rows propose the next tokens from their own text** (prompt lookup decoding, with transformers'
   ``PromptLookupCandidateGenerator``): where the last few tokens occurred before in the prompt or the answer, the
   tokens that followed them there are fed as a draft, and one forward pass checks them all. Each row keeps its
   drafted tokens up to the first one greedy decoding would not have chosen, plus the model's own token there, so
   the answer is the greedy one. The weights are read once for the whole draft, so a step costs far less than a
   step per token (on a 2-core Xeon, 5 tokens cost 1.5x one), and an answer that quotes its passages comes out
   several tokens a step. The columns of refused drafts stay in the static cache, masked out for good. On a CPU
   these steps attend over the cache's own key/value heads rather than a copy per query head (attention.py).
4. **An answer that starts repeating itself ends** (loops.py): one unit said over and over keeps one copy; a
   phrase said a third time keeps what came before its second. A greedy answer that never repeats itself so is
   left exactly as it was.
5. **The loop runs in the caller's thread**, one step per ``next()``: closing the iterator (a Gradio client that
   disconnects or presses Stop) stops the generation at once and frees the model for the next user.

Per row it records the tokens, the time of the first and of the last token, so every arm gets its own prefill time
(time to first token) and decode rate, and its own compute: its prefill plus its share of the batched steps.
Greedy outputs match one-row-at-a-time generation with transformers, however many rows share the batch (an
evaluation runs 8 questions' four arms, 32 rows, together).
"""

from __future__ import annotations

import contextlib
import resource
import sys
import time
from dataclasses import dataclass, field
from typing import Iterator

import torch

from . import multilora, polar
from .arms import PLAIN_STOP, cut_at_stop
from .loops import dropped_tail
from .multilora import BASE_ADAPTER

STEP_TOKENS_WITH_DRAFTS = 16
"""Most tokens one decode step feeds, drafts included (rows x (1 + drafts per row)). Each token fed adds arithmetic
to the step, so a large batch (an evaluation's) decodes one token a step until enough of its rows have finished
(measured: docs/benchmarks.md, prompt lookup drafts)."""


@dataclass
class Request:
    prompt: str
    adapter: str | None = None
    """peft adapter name, or None for the bare base model."""
    null_prompt: str | None = None
    """A yes/no question's content-free prompt: the row's first yes or no is weighed against it (polar.py)."""
    yes_no_threshold: float | None = None
    """A yes/no question's cut on log P(yes) - log P(no), its adapter's (polar.py): the row's first yes or no
    follows it."""


@dataclass
class RowState:
    text: str = ""
    tokens: list[int] = field(default_factory=list)
    prompt_tokens: int = 0
    first_token_s: float | None = None
    """Seconds from the start of generation to this row's first new token (its prefill, and the prefills before)."""
    last_token_s: float | None = None
    """Seconds from the start of generation to this row's last new token."""
    prefill_s: float | None = None
    """Seconds this row's own prefill took (the forward pass over its prompt)."""
    decode_share_s: float = 0.0
    """This row's share of the batched decode: each step's time divided evenly among the rows in that step."""
    done: bool = False
    looped: bool = False
    """The answer began to repeat itself and was ended there (see loops.py)."""

    @property
    def decode_tokens_per_s(self) -> float:
        """(output tokens - 1) / (last token time - first token time): the decode rate after the first token."""
        if self.first_token_s is None or self.last_token_s is None or len(self.tokens) < 2:
            return 0.0
        span = self.last_token_s - self.first_token_s
        return (len(self.tokens) - 1) / span if span > 0 else 0.0


@dataclass
class GenerationStats:
    peak_memory_bytes: int
    memory_kind: str
    decode_steps: int = 0
    """Batched decode steps run (each reads the weights once for every row still generating)."""
    drafted_tokens: int = 0
    """Tokens proposed by prompt lookup and checked in a decode step."""
    accepted_tokens: int = 0
    """Of those, the ones greedy decoding chose too (kept without a step of their own)."""


def stop_token_ids(model, tokenizer) -> set[int]:
    ids = model.generation_config.eos_token_id
    ids = set(ids if isinstance(ids, list) else [ids] if ids is not None else [])
    # Rows batched by transformers' generate are padded with the pad token after they end: it ends a row like EOS.
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


def _sync(device: str) -> None:
    if device == "cuda":
        torch.cuda.synchronize()


class _Picker:
    """Next token from the last position's logits: argmax (greedy) or a sample at `temperature`."""

    def __init__(self, temperature: float):
        self.temperature = temperature

    def __call__(self, logits: torch.Tensor) -> list[int]:  # logits: (rows, vocab)
        if self.temperature <= 0:
            return logits.argmax(dim=-1).tolist()
        probs = torch.softmax(logits.float() / self.temperature, dim=-1)
        return torch.multinomial(probs, 1).squeeze(-1).tolist()


def _join_caches(caches: list, lengths: list[int], config, room: int):
    """One batched StaticCache from per-row caches: each row left-padded (with zeros) to the longest, then `room`
    free positions. Each decode step writes its keys and values in place; a growing DynamicCache copies every
    row's whole cache at every step instead, which for 4 rows on a CPU cost more than the step's matmuls."""
    from transformers import StaticCache

    width = max(lengths)
    joined = StaticCache(config=config, max_cache_len=width + room)
    for layer, per_row in zip(joined.layers, zip(*[cache.layers for cache in caches])):
        pad = [(0, 0, width - n, 0) for n in lengths]  # k, v: (1, kv_heads, n, head_dim)
        layer.update(torch.cat([torch.nn.functional.pad(row.keys, p) for row, p in zip(per_row, pad)]),
                     torch.cat([torch.nn.functional.pad(row.values, p) for row, p in zip(per_row, pad)]))
    return joined


def _keep_rows(cache, keep: list[int]) -> list[int]:
    """Drop the other rows from a StaticCache, copying as little as possible: each kept row beyond the first
    len(keep) slots moves into the slot of a row that left, and every layer is cut to len(keep) rows (a view).
    Copying all the kept rows instead (as DynamicLayer.batch_select_indices does) costs, for an evaluation's 32
    rows, a copy of the whole cache each time a row ends. Returns the new order: the old row index in each slot."""
    n, kept = len(keep), set(keep)
    holes = [j for j in range(n) if j not in kept]
    movers = [j for j in keep if j >= n]
    order = list(range(n))
    for hole, mover in zip(holes, movers):
        order[hole] = mover
    device = cache.layers[0].keys.device
    dst, src = torch.tensor(holes, device=device), torch.tensor(movers, device=device)
    with torch.inference_mode():  # the cache's tensors were made in inference mode
        for layer in cache.layers:
            if holes:
                layer.keys[dst], layer.values[dst] = layer.keys[src], layer.values[src]
            layer.keys, layer.values = layer.keys[:n], layer.values[:n]
            layer.batch_size = n
    return order


def _plain_dynamic(cache) -> bool:
    """Per-row caches can be joined by padding only when every layer is a plain growing (non-sliding) layer."""
    from transformers.cache_utils import DynamicLayer

    return all(type(layer) is DynamicLayer for layer in getattr(cache, "layers", [None]))


class _Drafts:
    """Prompt lookup drafts for greedy rows (transformers' PromptLookupCandidateGenerator, one row at a time): up to
    `size` tokens that followed the first earlier occurrence of the row's last n tokens (n = 3, else 2, else 1) in
    its prompt and answer so far."""

    NGRAM = 3

    def __init__(self, size: int, prompts: list[list[int]], stops: set[int]):
        from transformers.generation.candidate_generator import PromptLookupCandidateGenerator

        self.size = max(size, 0)
        self.lookup = PromptLookupCandidateGenerator(
            eos_token_id=torch.tensor(sorted(stops)) if stops else None, num_output_tokens=size,
            max_matching_ngram_size=self.NGRAM, max_length=sys.maxsize) if self.size else None
        self.prompts = prompts

    def __call__(self, i: int, row: RowState, room: int) -> list[int]:
        """Row i's draft: at most `room` tokens, and none past its max_new_tokens (the caller passes that in room)."""
        if room <= 0 or self.lookup is None:
            return []
        ids = torch.tensor([self.prompts[i] + row.tokens])
        candidates, _ = self.lookup.get_candidates(ids)
        return candidates[0, ids.shape[1]:ids.shape[1] + min(room, self.size)].tolist()


def generate_stream(model, tokenizer, requests: list[Request], max_new_tokens: int = 64, temperature: float = 0.0,
                    device: str = "cpu", draft_tokens: int = 0) -> Iterator[tuple[list[RowState], GenerationStats | None]]:
    """Yield (rows, None) after each prefill and each decode step, and (rows, stats) once at the end.

    draft_tokens: with greedy decoding, how many tokens prompt lookup may propose per row and step (0: none).
    Closing the iterator early stops the generation before its next step.
    """
    run = _Generation(model, tokenizer, requests, max_new_tokens, temperature, device)
    _reset_memory(device)
    _sync(device)
    run.started = time.perf_counter()
    run.stacked_rows = multilora.stack_adapters(model, run.names) if run.peft else None
    draft = _Drafts(draft_tokens if temperature <= 0 else 0, run.prompts, run.stops)
    caches: dict[int, object] = {}
    last: dict[int, int] = {}
    yield from run.prefill(caches, last)

    live = [i for i in range(len(run.rows)) if not run.rows[i].done]
    if live and not all(_plain_dynamic(caches[i]) for i in live):
        yield from _decode_one_by_one(model, run.rows, live, caches, last, run.adapters, run.accept, run.pick, device,
                                      run.started)
        live = []
    if live:
        yield from run.decode(live, caches, last, draft)

    for row in run.rows:
        row.text = cut_at_stop(tokenizer, tokenizer.decode(row.tokens, skip_special_tokens=True)).strip()
        row.done = True
    stats = _peak_memory(device)
    stats.decode_steps, stats.drafted_tokens, stats.accepted_tokens = run.steps, run.drafted, run.accepted
    yield run.rows, stats


class _Generation:
    """One generate_stream call: its rows, their prompts and adapters, how a row takes a token, and its two phases
    (each prompt prefilled alone, then the rows decoded in one batch)."""

    def __init__(self, model, tokenizer, requests: list[Request], max_new_tokens: int, temperature: float,
                 device: str):
        self.model, self.tokenizer, self.device, self.max_new_tokens = model, tokenizer, device, max_new_tokens
        self.peft = hasattr(model, "peft_config")
        self.plain_text = not getattr(tokenizer, "chat_template", None)
        self.stops = stop_token_ids(model, tokenizer)
        self.pick = _Picker(temperature)
        self.prompts = [tokenizer(r.prompt, add_special_tokens=False)["input_ids"] for r in requests]
        self.rows = [RowState(prompt_tokens=len(ids)) for ids in self.prompts]
        self.names = [r.adapter or BASE_ADAPTER for r in requests]
        self.null_prompts = [r.null_prompt for r in requests]
        self.thresholds = [r.yes_no_threshold for r in requests]
        weighed = any(self.null_prompts) or any(t is not None for t in self.thresholds)
        self.yes_no = polar.answer_ids(tokenizer) if weighed else ([], [])
        self.started = 0.0
        """perf_counter at the start of generation (set by generate_stream); rows' token times count from it."""
        self.stacked_rows = None
        """multilora's stacked adapters of all rows (peft models; set by generate_stream), or None."""
        self.steps = self.drafted = self.accepted = 0

    def adapters(self, indices: list[int]) -> dict:
        return {"adapter_names": [self.names[i] for i in indices]} if self.peft else {}

    def plan(self, indices: list[int]):
        """Stacked LoRA for these rows; None without adapters, or where it does not apply (then peft's
        adapter_names, whose mixed-batch path loops over the adapters and hooks every layer)."""
        return self.stacked_rows.rows(indices) if self.stacked_rows is not None else None

    def forward(self, indices: list[int], stacked, **inputs):
        context = stacked.active() if stacked is not None else contextlib.nullcontext()
        with torch.inference_mode(), context:
            return self.model(**inputs, use_cache=True, **({} if stacked is not None else self.adapters(indices)))

    def accept(self, i: int, token: int, now: float) -> None:
        """Row i takes `token` at `now` (seconds from the start): a stop token, a loop or the length ends it."""
        row, tokenizer = self.rows[i], self.tokenizer
        if token in self.stops:
            row.done = True
            return
        row.tokens.append(token)
        row.first_token_s = now if row.first_token_s is None else row.first_token_s
        row.last_token_s = now
        drop = dropped_tail(row.tokens)
        if drop:
            del row.tokens[-drop:]
            row.looped = row.done = True
        row.text = cut_at_stop(tokenizer, tokenizer.decode(row.tokens, skip_special_tokens=True))
        if len(row.tokens) >= self.max_new_tokens or (
                self.plain_text and PLAIN_STOP in tokenizer.decode(row.tokens[-8:])):
            row.done = True

    def prefill(self, caches: dict, last: dict):
        """Each prompt alone, longest first (ties: base rows first, so rag comes before raft); fills each row's
        cache and last token into `caches` and `last`, and yields after each."""
        order = sorted(range(len(self.rows)), key=lambda i: (-len(self.prompts[i]), self.names[i] != BASE_ADAPTER, i))
        for i in order:
            ids = torch.tensor([self.prompts[i]], device=self.device)
            t0 = time.perf_counter()
            out = self.forward([i], self.plan([i]), input_ids=ids, logits_to_keep=1)
            token = self.calibrate(i, self.pick(out.logits[:, -1, :])[0], out.logits[0, -1])
            _sync(self.device)
            now = time.perf_counter()
            self.rows[i].prefill_s = now - t0
            self.accept(i, token, now - self.started)
            caches[i], last[i] = out.past_key_values, token
            yield self.rows, None

    def calibrate(self, i: int, token: int, logits: torch.Tensor) -> int:
        """Row i's first token, its yes or no weighed against its content-free prompt, or decided by its threshold
        (polar.py), when it has one."""
        yes, no = self.yes_no
        if not self.null_prompts[i] and self.thresholds[i] is not None:
            return polar.thresholded_token(token, logits, self.thresholds[i], yes, no)
        if not self.null_prompts[i] or token not in yes + no:
            return token
        ids = torch.tensor([self.tokenizer(self.null_prompts[i], add_special_tokens=False)["input_ids"]],
                           device=self.device)
        null = self.forward([i], self.plan([i]), input_ids=ids, logits_to_keep=1)
        return polar.calibrated_token(token, logits, null.logits[0, -1], yes, no)

    def decode(self, live: list[int], caches: dict, last: dict, draft: _Drafts):
        """The rows `live` decoded in one batch on their joined caches (emptied here); yields after each step."""
        device = self.device
        lengths = [len(self.prompts[i]) for i in live]
        width = max(lengths)
        # Room for the answers, and as much again for drafted tokens that are refused (their columns stay).
        room = self.max_new_tokens * (2 if draft.size else 1)
        cache = _join_caches([caches[i] for i in live], lengths, self.model.config, room)
        caches.clear()
        mask = torch.tensor([[0] * (width - n) + [1] * n for n in lengths], device=device)
        positions = torch.tensor(lengths, device=device)  # position of the token fed next, per row
        stacked = self.plan(live)
        while live:
            step_started = time.perf_counter()
            # `left`: the tokens each row may add after this step's. Drafts fit in the room that the longest answer
            # still to come leaves free (each row then needs one column a step at most), and in the step's budget.
            left = [self.max_new_tokens - 1 - len(self.rows[i].tokens) for i in live]
            spare = min(room - (mask.shape[1] - width) - 1 - max(left), STEP_TOKENS_WITH_DRAFTS // len(live) - 1)
            drafts = [draft(i, self.rows[i], min(spare, n)) for i, n in zip(live, left)]
            k = max(map(len, drafts))
            fed = [[last[i]] + d + [last[i]] * (k - len(d)) for i, d in zip(live, drafts)]  # padding: never kept
            mask = torch.cat([mask, mask.new_ones((len(live), 1 + k))], dim=1)
            out = self.forward(live, stacked, input_ids=torch.tensor(fed, device=device), attention_mask=mask,
                               position_ids=positions[:, None] + torch.arange(1 + k, device=device),
                               past_key_values=cache)
            # each row's next token after each fed position (sampled rows never draft: k is 0 for them)
            chosen = [[t] for t in self.pick(out.logits[:, -1, :])] if k == 0 else out.logits.argmax(dim=-1).tolist()
            _sync(device)
            now = time.perf_counter()
            self.steps += 1
            share = (now - step_started) / len(live)
            for r, (i, d) in enumerate(zip(live, drafts)):
                kept = self.take(i, d, chosen[r], share, now)
                last[i] = chosen[r][kept]
                if kept < k:
                    mask[r, mask.shape[1] - (k - kept):] = 0  # refused drafts and padding: never attended to again
                positions[r] += kept + 1
            keep = [j for j, i in enumerate(live) if not self.rows[i].done]
            if len(keep) < len(live):  # finished rows leave the batch
                if keep:
                    order = _keep_rows(cache, keep)
                    mask, positions = mask[order], positions[order]
                    if stacked is not None:
                        stacked.keep(order)
                live = [live[j] for j in order] if keep else []
            yield self.rows, None

    def take(self, i: int, proposed: list[int], chosen: list[int], share: float, now: float) -> int:
        """Row i after a decode step: its `proposed` draft up to the first token greedy decoding did not choose, then
        the model's own token there; returns how many drafted tokens it kept."""
        kept = 0
        while kept < len(proposed) and proposed[kept] == chosen[kept]:
            kept += 1
        self.drafted, self.accepted = self.drafted + len(proposed), self.accepted + kept
        self.rows[i].decode_share_s += share
        for token in proposed[:kept] + [chosen[kept]]:
            if not self.rows[i].done:
                self.accept(i, token, now - self.started)
        return kept


def _decode_one_by_one(model, rows, live, caches, last, adapters, accept, pick, device, started):
    """Models with sliding-window layers (e.g. Gemma 3): their caches cannot be joined by padding, so each row
    decodes on its own cache, one step for every live row in turn."""
    while live:
        for i in list(live):
            step_started = time.perf_counter()
            with torch.inference_mode():
                out = model(input_ids=torch.tensor([[last[i]]], device=device), past_key_values=caches[i],
                            use_cache=True, **adapters([i]))
            token = pick(out.logits[:, -1, :])[0]
            _sync(device)
            now = time.perf_counter()
            rows[i].decode_share_s += now - step_started
            accept(i, token, now - started)
            caches[i], last[i] = out.past_key_values, token
            if rows[i].done:
                live.remove(i)
        yield rows, None
