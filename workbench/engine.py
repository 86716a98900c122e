"""The Workbench: one loaded base model, its adapters, the vector store, and the four-arm comparison.

question -> retrieve (once, shared by rag and raft) -> one prompt per arm -> the backend generates them all
(in this process as one batch, or on a vLLM server; workbench/backends) -> ArmResult objects.
The UI and the CLI call `compare_stream` / `compare`; the evaluation batches several questions with `compare_many`.
"""

from __future__ import annotations

import dataclasses
import logging
import threading
import time
from contextlib import closing
from pathlib import Path
from typing import Iterator

from . import adapters as adapter_lib, polar
from .arms import Arm, build_prompt, parse_arms, passages_read
from .backends import BackendError, make_backend, needs_weights
from .config import Settings
from .generation import Request
from .results import ArmResult, Comparison, Metrics, Passage
from .slot import BATCH, INTERACTIVE, ModelSlot
from .validation import check_options, check_question

log = logging.getLogger(__name__)


def linear_shapes(model) -> dict[str, tuple[int, int]]:
    """(in_features, out_features) of every nn.Linear, by module path, taken before any adapter wraps them."""
    import torch

    return {name: (m.in_features, m.out_features) for name, m in model.named_modules() if isinstance(m, torch.nn.Linear)}


class Workbench:
    def __init__(self, settings: Settings, model, tokenizer, store, model_id: str, device: str = "cpu", source=None,
                 module_shapes: dict[str, tuple[int, int]] | None = None):
        self.settings = settings
        self.source = source
        """models.ModelSource the base was loaded from (None for models built in memory, as in tests)."""
        self._model = model
        self.tokenizer = tokenizer
        self.store = store
        self.model_id = model_id
        self.device = device
        self.module_shapes = module_shapes if module_shapes is not None else linear_shapes(model)
        self._adapters: dict[str, str] = {}
        """'<resolved adapter folder>@<weights mtime>' -> peft adapter name on the model."""
        self._attached = 0
        self._stale: list[str] = []
        """Peft names of adapters whose folder was retrained, left on the model until no batch is paused."""
        self.backend = make_backend(self)
        """Who generates (settings.backend): see workbench/backends."""
        self.slot = ModelSlot(self.concurrency)
        """Generation slots, comparisons first: an evaluation takes one per batch (workbench/slot.py)."""

    @property
    def model(self):
        """The base weights; with a server backend they are loaded only when something here needs them (training)."""
        if self._model is None and self.source is not None:
            from .models import load_llm

            s = self.settings
            self._model = load_llm(self.source.name, self.device, s.dtype, s.data_path / "models", s.threads)[0]
        return self._model

    @property
    def concurrency(self) -> int:
        """How many comparisons the app may run at once (Settings.concurrency, else the backend's own)."""
        return self.settings.concurrency or self.backend.concurrency

    @classmethod
    def load(cls, settings: Settings, progress=None, index: bool = True) -> "Workbench":
        """Load the base model (or only its tokenizer, for a server backend) and embedder, open the store and
        (unless `index` is False) index the shipped corpora."""
        from .models import load_llm, load_tokenizer
        from .retrieval.embedder import Embedder
        from .retrieval.ingest import ensure_shipped
        from .retrieval.store import VectorStore

        if needs_weights(settings.backend):
            model, tokenizer, source, device = load_llm(settings.model, settings.device, settings.dtype,
                                                        settings.data_path / "models", settings.threads)
            shapes = None
        else:
            model, (tokenizer, source, device, shapes) = None, load_tokenizer(settings.model, settings.device)
        store = VectorStore.open(settings, Embedder.load(settings.embedder, device))
        if index:
            ensure_shipped(store, settings, progress or _console_progress)
        return cls(settings, model, tokenizer, store, source.model_id, device, source, shapes)

    # --- adapters ----------------------------------------------------------------------------------
    def check_adapter(self, folder: Path, allow_foreign: bool = False) -> None:
        """Refuse (AdapterError) an adapter folder that does not fit this base model or the settings' limits."""
        adapter_lib.validate(folder, self.model_id, self.module_shapes,
                             allow_foreign or adapter_lib.allows_foreign(folder), self.settings.adapter_max_rank)

    @property
    def attached_adapters(self) -> dict[str, str]:
        """'<adapter folder>@<weights mtime>' -> peft name, for each adapter on the model now (a copy)."""
        return dict(self._adapters)

    def attached_name(self, folder: Path) -> str | None:
        """The peft name of `folder`'s current weights on the model; None until attach_to_model."""
        return self._adapters.get(_weights_key(folder))

    def attach_to_model(self, folder: Path) -> str:
        """Attach a checked adapter folder to the base weights (peft, by name) and return its name. The base
        weights are shared; a folder whose weights changed since it was attached (retrained in place) is attached
        again and the stale copy removed."""
        from peft import PeftModel

        key = _weights_key(folder)
        self._attached += 1
        name = f"a{self._attached}_" + "".join(ch if ch.isalnum() else "_" for ch in folder.name)
        if isinstance(self.model, PeftModel):
            self._model.load_adapter(str(folder), adapter_name=name)
        else:
            self._model = PeftModel.from_pretrained(self.model, str(folder), adapter_name=name)
        for stale in [k for k in self._adapters if k.rsplit("@", 1)[0] == str(folder)]:
            self._stale.append(self._adapters.pop(stale))
        if not self.slot.paused():  # a paused batch may still read a stale copy: it goes once none is paused
            for stale_name in self._stale:
                self._model.delete_adapter(stale_name)
            self._stale.clear()
        self._model.eval()
        self._adapters[key] = name
        return name

    def detach_from_model(self, folder: Path) -> list[str]:
        """Delete from the model every attached adapter whose folder is `folder` or lies inside it (peft
        delete_adapter), so its weights are freed; returns their peft names. When none is left, the model is the
        bare base again (peft unload: nothing merged). The caller holds the model slot (detach_adapters)."""
        from peft import PeftModel

        root = Path(folder).resolve()
        gone = {key: name for key, name in self._adapters.items()
                if Path(key.rsplit("@", 1)[0]).resolve().is_relative_to(root)}
        if not gone or not isinstance(self._model, PeftModel):
            return []
        if len(gone) == len(self._adapters):
            self._model = self._model.unload()  # peft cannot run a PeftModel whose last adapter was deleted
            self._stale.clear()  # unload took them too
        else:
            for name in gone.values():
                self._model.delete_adapter(name)
        for key in gone:
            del self._adapters[key]
        return list(gone.values())

    def detach_adapters(self, folder: Path) -> list[str]:
        """Stop serving the adapters in `folder` (a deleted session's): the backend drops them from the model or
        the server. Waits for the model slot, so no generation runs meanwhile; returns the names dropped."""
        with self.slot.hold(exclusive=True):  # not under a paused batch, which may read these adapters
            return self.backend.detach(folder)

    def adapter_names(self) -> list[str]:
        return self.backend.adapter_names()

    def attach_adapter(self, name_or_path: str, allow_foreign: bool = False) -> str:
        """Validate an adapter and make the backend serve it; returns the name requests use."""
        return self.backend.attach(name_or_path, allow_foreign)

    def announce_adapter(self, name_or_path: str) -> str:
        """Tell the backend about a just trained or uploaded adapter; a sentence for the user ("" if none)."""
        return self.backend.announce(name_or_path)

    # --- retrieval -----------------------------------------------------------------------------------
    def retrieve(self, question: str, corpus: str, k: int) -> tuple[list[Passage], float]:
        started = time.perf_counter()
        passages = self.store.query(corpus, question, k)
        return passages, (time.perf_counter() - started) * 1000

    # --- the comparison ------------------------------------------------------------------------------
    def options(self, **overrides) -> Settings:
        """This request's settings: the app's settings with per-request overrides (None means default), an "auto"
        adapter column resolved for the corpus (adapters.auto_adapter; it stays "auto" when none fits)."""
        opts = dataclasses.replace(self.settings, **{k: v for k, v in overrides.items() if v is not None})
        for column in ("lora", "raft"):
            if getattr(opts, f"{column}_adapter") == adapter_lib.AUTO:
                chosen = adapter_lib.auto_adapter(column, opts.corpus, self.adapter_names())
                opts = dataclasses.replace(opts, **{f"{column}_adapter": chosen or adapter_lib.AUTO})
        return opts

    def compare_stream(self, question: str, arms: str | list[str] | None = None, **overrides) -> Iterator[Comparison]:
        """Yield a growing Comparison while the arms generate; the last one is complete."""
        with closing(self.compare_many_stream([question], arms, **overrides)) as stream:  # Stop reaches the backend
            for comparisons in stream:
                yield comparisons[0]

    def compare(self, question: str, arms: str | list[str] | None = None, **overrides) -> Comparison:
        return self.compare_many([question], arms, **overrides)[0]

    def compare_many(self, questions: list[str], arms: str | list[str] | None = None,
                     cancel: threading.Event | None = None, priority: int = INTERACTIVE,
                     **overrides) -> list[Comparison]:
        """Several questions' comparisons in one generation batch (the evaluation's way: each decode step reads the
        weights once for all their rows). Their wall-clock times are the batch's; `compute_ms` is each arm's own.
        Once `cancel` is set, generation stops at its next step and InterruptedError is raised. `priority`
        (slot.BATCH for a long job's batch) orders the wait for the model slot."""
        comparisons = []
        with closing(self.compare_many_stream(questions, arms, priority, **overrides)) as stream:
            for comparisons in stream:
                if cancel is not None and cancel.is_set():
                    raise InterruptedError("cancelled")
        return comparisons

    def compare_many_stream(self, questions: list[str], arms: str | list[str] | None = None,
                            priority: int = INTERACTIVE, **overrides) -> Iterator[list[Comparison]]:
        """Yield the growing Comparisons of `questions`, generated together; the last yield is complete. The
        generation holds a model slot: interactive requests are served before a long job's next batch and, where
        the backend can pause a batch, before its next step."""
        opts = self.options(**overrides)
        questions = [check_question(self.tokenizer, q, opts.max_question_tokens) for q in questions]
        check_options(opts)  # the UI's slider bounds, for every caller
        selected = parse_arms(arms)
        with self.slot.hold(priority):  # attaching an adapter changes the model: inside the slot too
            prepared = [self._prepare(question, selected, opts) for question in questions]
            comparisons = [comparison for comparison, _ in prepared]
            runnable = [row for _, rows in prepared for row in rows]  # (ArmResult, Request) of each arm that runs
            yield comparisons
            if not runnable:
                return
            pause = priority == BATCH and self.backend.pausable()
            for comparisons in self._generate(comparisons, runnable, opts):
                yield comparisons
                if pause:  # a comparison waiting now runs before this batch's next step
                    self.slot.let_interactive_in()

    def _generate(self, comparisons, runnable, opts) -> Iterator[list[Comparison]]:
        stream = self.backend.stream([req for _, req in runnable], opts.max_new_tokens, opts.temperature)
        # closing(): when our caller closes us (Stop, a browser that went away), generation is closed too.
        with closing(stream):
            for rows, stats in stream:
                for (result, _), row in zip(runnable, rows):
                    _fill(result, row, stats)
                    if getattr(row, "error", None):  # a server backend can fail one row (e.g. an adapter it lacks)
                        result.error = f"{result.arm} arm unavailable: {row.error}"
                yield comparisons

    def _prepare(self, question: str, selected: list[Arm], opts: Settings):
        """One question's Comparison (empty results) and the (result, request) of each arm that can run: the
        passages retrieved once for the retrieval arms, each arm's prompt, its adapter attached. An arm that
        cannot run (no adapter) gets its error here."""
        results = {arm.name: ArmResult(arm.name) for arm in selected}
        comparison = Comparison(question, self.model_id, list(results.values()))
        passages, retrieval_ms = ([], 0.0)
        if any(arm.retrieval for arm in selected):
            passages, retrieval_ms = self.retrieve(question, opts.corpus, opts.top_k)

        calibrated = polar.calibrated_arms(question, opts.yes_no_calibration)
        runnable: list[tuple[ArmResult, Request]] = []
        for arm in selected:
            result = results[arm.name]
            adapter = None
            if arm.adapter_setting:
                result.adapter = getattr(opts, arm.adapter_setting) or None
                try:
                    if result.adapter == adapter_lib.AUTO:  # options() found none for this corpus
                        raise adapter_lib.AdapterError(f"no {arm.name} adapter trained on {opts.corpus!r} yet")
                    if not result.adapter:
                        raise adapter_lib.AdapterError("no adapter selected")
                    adapter = self.attach_adapter(result.adapter)
                except (adapter_lib.AdapterError, BackendError) as exc:
                    hint = ". Train or upload an adapter." if isinstance(exc, adapter_lib.AdapterError) else ""
                    result.error = f"{arm.name} arm unavailable: {exc}{hint}"
                    result.done = True
                    continue
            arm_passages = passages[:passages_read(arm, opts)] if arm.retrieval else None
            result.passages = list(arm_passages or [])
            result.prompt = build_prompt(self.tokenizer, question, arm_passages, opts.system_prompt)
            result.metrics.retrieval_ms = round(retrieval_ms, 2) if arm.retrieval else 0.0
            null = (polar.null_prompt(self.tokenizer, question, opts.system_prompt)
                    if arm.retrieval and arm.name in calibrated else None)
            cuts = self._yes_no_cut(result.adapter, opts) if adapter and arm.retrieval and polar.is_yes_no(question) \
                else None
            cut = cuts.at(question, result.passages) if cuts else None
            runnable.append((result, Request(result.prompt, adapter, null, cut)))
        return comparison, runnable

    def _yes_no_cut(self, adapter: str, opts: Settings) -> polar.YesNoCut | None:
        """The adapter's yes/no thresholds (polar.py), for the in-process engine; None where it has none."""
        if opts.backend != "in-process":
            return None  # a server's answers are taken as they come
        try:
            return polar.threshold(adapter_lib.find_adapter(adapter, opts.adapter_dirs))
        except adapter_lib.AdapterError:
            return None


def _weights_key(folder: Path) -> str:
    """'<folder>@<weights mtime>': a retrained adapter is a new key."""
    weights = folder / adapter_lib.WEIGHTS_FILE
    return f"{folder}@{weights.stat().st_mtime_ns if weights.is_file() else 0}"


def _console_progress(done: int, total: int, unit: str, desc: str) -> None:
    """First start: say on stderr what indexing is doing (each embedding batch; files only once read)."""
    import sys

    if unit != "files" or done == total:
        print(f"indexing: {desc} ({done}/{total} {unit})", file=sys.stderr, flush=True)


def _fill(result: ArmResult, row, stats) -> None:
    """Copy one generated row into its ArmResult; metrics are final once stats (end of run) arrive."""
    m: Metrics = result.metrics
    result.answer = row.text
    m.prompt_tokens = row.prompt_tokens
    m.output_tokens = len(row.tokens)
    if row.first_token_s is not None:
        m.ttft_ms = round(m.retrieval_ms + row.first_token_s * 1000, 2)
    if getattr(row, "prefill_s", None) is not None:
        m.prefill_ms = round(row.prefill_s * 1000, 2)
        m.compute_ms = round(m.retrieval_ms + (row.prefill_s + row.decode_share_s) * 1000, 2)
    if row.last_token_s is not None:
        m.total_ms = round(m.retrieval_ms + row.last_token_s * 1000, 2)
        # decode rate after the first token (docs/evaluation.md): the shared prefill is not in it
        span = row.last_token_s - row.first_token_s
        m.tokens_per_s = round((len(row.tokens) - 1) / span, 2) if len(row.tokens) > 1 and span > 0 else 0.0
    if stats is not None:
        m.peak_memory_bytes, m.memory_kind = stats.peak_memory_bytes, stats.memory_kind
        result.done = True
