"""The Compare tab: one question, four columns (built in a loop), streamed; plus the `compare` API.

`build_compare_tab` lays the tab out (`CompareView`) and wires it; what the events do are module-level handlers
of a Workbench and plain values. The lora and raft columns each say which adapter they use for the chosen corpus.
"""

from __future__ import annotations

import json
import logging
from contextlib import closing
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterator

import gradio as gr

from .. import adapters as adapter_lib
from ..adapters import AUTO, READER
from ..arms import ALL_ARMS, ARMS
from ..config import REPO_ROOT
from ..retrieval.ingest import shipped_corpora
from ..retrieval.sessions import check_access, display_name, session_id
from ..validation import (SYSTEM_PROMPT_MAX_CHARS, TEMPERATURE_MAX, check_adapter_choice, check_number, check_question,
                          check_text, optional_number)
from ..votes import VoteGate
from .errors import ok, user_error, verdict
from .format import answer_markdown, metrics_help_markdown, metrics_markdown, passages_markdown
from .stopping import Stops
from .votes import build_votes, votable

if TYPE_CHECKING:
    from ..engine import Workbench
    from ..results import Comparison

log = logging.getLogger(__name__)

NO_ADAPTER = "(none)"
ADAPTER_COLUMNS = ("lora", "raft")
"""The columns whose adapter is chosen (Settings' lora_adapter and raft_adapter)."""
PHONE_MAX_PX = 480
"""A page at most this wide is a phone: the passages and the vote tally start folded, the columns compact (app.py's
CSS)."""
WIDTH_JS = "() => [window.innerWidth]"
"""Runs in the browser on load: the page's width, which `fold_for_screen` receives."""


def adapter_choices(wb: Workbench, sid: str | None = None) -> list[tuple[str, str]]:
    """The adapter dropdowns' choices: none, auto (the corpus's own adapter, else the reader), the shipped and shared
    adapters and those of session `sid` (adapters.visible_to), Decide's among them."""
    return [(NO_ADAPTER, NO_ADAPTER), ("auto: the corpus's own, else the reader", AUTO)] + [
        (f"{adapter_lib.display_adapter(n)} (this session)" if adapter_lib.split_owned(n) else n, n)
        for n in adapter_lib.visible_to(wb.adapter_names(), sid)]


def known_adapters(wb: Workbench, sid: str | None = None) -> list[str]:
    """What a request of session `sid` may name as an adapter: auto or an adapter it sees (never a server folder)."""
    return [AUTO, *adapter_lib.visible_to(wb.adapter_names(), sid)]


def check_adapter(value, known: list[str], sid: str | None) -> str:
    """check_adapter_choice, where a session may name its own adapter plainly ("mine")."""
    return check_adapter_choice(adapter_lib.for_session(value, known, sid), known)


# --- what the columns say about the corpus ---------------------------------------------------------------
def _questions(path: Path, n: int) -> list[str]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows[:: max(1, len(rows) // n)]][:n]


def example_questions(corpus: str = "handbook", n: int = 8, runs_root: Path | None = None) -> tuple[list[str], str]:
    """A few questions about `corpus` for the clickable examples, and where they come from: a shipped corpus's
    test split, else the test questions of the latest Decide run on it (under `runs_root`), else none."""
    path = REPO_ROOT / "corpora" / str(corpus or "") / "qa" / "test.jsonl"
    if corpus and path.is_file():
        return _questions(path, n), f"Example questions ({corpus} test split)"
    runs = []
    for record in (runs_root.glob("*/run.json") if runs_root and corpus else []):
        try:
            if json.loads(record.read_text()).get("corpus") == corpus and (record.parent / "qa/test.jsonl").is_file():
                runs.append((record.stat().st_mtime, record.parent / "qa" / "test.jsonl"))
        except (OSError, ValueError):
            continue
    if runs:
        return _questions(max(runs)[1], n), f"Example questions (written by Decide for {display_name(corpus)})"
    return [], ""


def follow_examples(corpus: str, runs_root: Path | None) -> gr.Dataset:
    """The examples are about the chosen corpus (hidden when it has none)."""
    questions, label = example_questions(corpus, runs_root=runs_root)
    return gr.Dataset(samples=[[q] for q in questions] or [[""]], label=label or "Example questions",
                      visible=bool(questions))


def adapter_line(column: str, choice: str, corpus: str, adapters: dict[str, Path], corpora: list[str]) -> str:
    """One line above a column's answer: the adapter it uses on `corpus` (`adapters`: those the session sees, name ->
    folder) and whose fine-tune that is. An adapter trained on another corpus, or no adapter, starts with ⚠️."""
    where = display_name(corpus or "") or "this corpus"
    names = list(adapters)
    if not choice or choice == NO_ADAPTER:
        return "⚠️ No adapter selected: choose one under Settings."
    if choice == AUTO:
        chosen = adapter_lib.auto_adapter(column, corpus or "", names)
        if not chosen:
            return (f"⚠️ No {column} adapter trained on {where} yet (auto): train one in the Train tab, or run "
                    "Decide on it.")
        if chosen == READER and not adapter_lib.own_adapter(column, corpus or "", names):
            return f"Adapter **{READER}** (auto): no {column} adapter trained on {where} yet, so the general reader."
        return f"Adapter **{adapter_lib.display_adapter(chosen)}** (auto): {where}'s own."
    shown = adapter_lib.display_adapter(choice)
    if choice not in adapters:
        return f"⚠️ Adapter **{shown}** is not installed: choose another under Settings."
    other = adapter_lib.trained_on(choice, adapters[choice], corpora)
    if not other or choice == READER:
        return f"Adapter **{shown}**."
    if other == corpus:
        return f"Adapter **{shown}**, trained on {where}."
    own = adapter_lib.own_adapter(column, corpus or "", names)
    instead = (f"choose auto for {adapter_lib.display_adapter(own)}" if own
               else f"none is trained on {where} yet")
    return f"⚠️ Adapter **{shown}** was trained on {display_name(other)}, not on {where} ({instead})."


def adapter_lines(wb: Workbench, corpus: str, lora: str, raft: str, sid: str | None = None) -> list[str]:
    """The lora and raft columns' adapter lines for session `sid`."""
    listed = adapter_lib.list_adapters(wb.settings.adapter_dirs)
    names = adapter_lib.visible_to(wb.adapter_names(), sid)  # a server backend's own adapters too
    adapters = {name: listed.get(name) for name in names}
    corpora = [*wb.store.corpora(), *shipped_corpora()]
    if corpus and corpus not in corpora:
        corpora.append(corpus)  # a session's corpus: the store lists no session's
    return [adapter_line(column, choice, corpus, adapters, corpora) for column, choice in zip(ADAPTER_COLUMNS,
                                                                                            (lora, raft))]


def follow_adapters(wb: Workbench, corpus: str, lora: str, raft: str, sid: str | None = None) -> list:
    """The columns' adapter lines, and each picker's note when its adapter is not the corpus's own fine-tune."""
    lines = adapter_lines(wb, corpus, lora, raft, sid)
    return [*lines, *[gr.update(info=line if line.startswith("⚠️") else None) for line in lines]]


def fold_for_screen(width, folds: int) -> list:
    """Updates of `folds` accordions for a page `width` pixels wide: folded on a phone, left open on a wider page."""
    phone = isinstance(width, (int, float)) and 0 < width <= PHONE_MAX_PX
    return [gr.update(open=False) if phone else gr.skip() for _ in range(folds)]


# --- the run -----------------------------------------------------------------------------------------------
def request_options(wb: Workbench, corpus, top_k, max_new_tokens, temperature, system_prompt, lora, raft,
                    sid: str | None = None) -> dict:
    """The settings inputs as compare_stream's overrides, each checked; adapters by name only (never a folder)."""
    s = wb.settings
    known = known_adapters(wb, sid)
    return dict(corpus=corpus or None, top_k=check_number(top_k, "top_k", 1, s.max_top_k, integer=True),
                max_new_tokens=check_number(max_new_tokens, "max_new_tokens", 1, s.max_new_tokens_cap, integer=True),
                temperature=check_number(temperature, "temperature", 0.0, TEMPERATURE_MAX),
                system_prompt=check_text(system_prompt, "the system prompt", SYSTEM_PROMPT_MAX_CHARS),
                lora_adapter="" if lora == NO_ADAPTER else check_adapter(lora, known, sid),
                raft_adapter="" if raft == NO_ADAPTER else check_adapter(raft, known, sid))


def column_values(comparison: Comparison, max_new_tokens: int) -> list[str]:
    """Answer, metrics, passages and prompt of each column; a process-wide memory is shown in the first only."""
    values: list[str] = []
    for i, result in enumerate(comparison.arms):
        values += [answer_markdown(result, max_new_tokens), metrics_markdown(result, memory=i == 0),
                   passages_markdown(result), result.prompt]
    return values


def stream_columns(wb: Workbench, question: str, opts: dict, stopped: Callable[[], bool]) -> Iterator[list[str]]:
    """The columns' values as they grow, until the run ends or `stopped()`; closing this stops generation."""
    with closing(wb.compare_stream(question, **opts)) as comparisons:
        for comparison in comparisons:
            if stopped():
                return
            yield column_values(comparison, opts["max_new_tokens"])


def check_ready(wb: Workbench, question: str, startup=None) -> None:
    """A question the model may take, once start-up (if any) has indexed the shipped corpora; else ValueError."""
    check_question(wb.tokenizer, question, wb.settings.max_question_tokens)
    if startup is not None:
        startup.check_ready()


def compare_once(wb: Workbench, sid: str | None, question: str, arms: str, corpus: str, top_k, max_new_tokens,
                 temperature, system_prompt: str, lora_adapter: str, raft_adapter: str, sessions: bool) -> dict:
    """The `compare` API: one question to the chosen arms as a dict; empty or non-positive settings are the app's
    defaults. With `sessions`, the corpus must be one session `sid` may use."""
    try:
        known = known_adapters(wb, sid)
        check_text(arms, "arms", 200)
        if sessions:
            check_access(sid, corpus)
        result = wb.compare(
            question, arms, corpus=check_text(corpus, "corpus", 600) or None,
            top_k=optional_number(top_k, "top_k"), max_new_tokens=optional_number(max_new_tokens, "max_new_tokens"),
            temperature=optional_number(temperature, "temperature", default_below=-1e-9),
            system_prompt=check_text(system_prompt, "the system prompt", SYSTEM_PROMPT_MAX_CHARS) or None,
            lora_adapter=check_adapter(lora_adapter, known, sid) or None,
            raft_adapter=check_adapter(raft_adapter, known, sid) or None,
        )
    except ValueError as exc:
        raise user_error(str(exc)) from None
    return result.to_dict()


# --- layout ------------------------------------------------------------------------------------------------
@dataclass
class CompareView:
    """The tab's components, as the wiring needs them."""

    question: gr.Textbox
    ask: gr.Button
    stop: gr.Button
    status: gr.Markdown
    examples: gr.Examples
    corpus: gr.Dropdown
    settings: list
    """top_k, max_new_tokens, temperature, system_prompt (in compare_stream's order, after the corpus)."""
    lora: gr.Dropdown
    raft: gr.Dropdown
    outputs: list = field(default_factory=list)
    """answer, metrics, passages, prompt of each column."""
    adapter_lines: list = field(default_factory=list)
    """The lora and raft columns' adapter lines."""
    folds: list = field(default_factory=list)
    """Accordions open on a wide page, folded on a phone."""
    vote_buttons: list = field(default_factory=list)

    @property
    def inputs(self) -> list:
        """compare_stream's inputs after the run id (the session state is appended when there is one)."""
        top_k, max_new_tokens, temperature, system_prompt = self.settings
        return [self.question, self.corpus, top_k, max_new_tokens, temperature, system_prompt, self.lora, self.raft]


def layout_question(wb: Workbench, runs_root: Path) -> tuple[gr.Textbox, gr.Button, gr.Button, gr.Markdown,
                                                              gr.Examples]:
    """The question, Ask and Stop, the status line, and the examples of the default corpus."""
    s = wb.settings
    with gr.Row(equal_height=False):  # a long question scrolls in its box; the buttons keep their size
        question = gr.Textbox(label="Question", placeholder="Ask something about the corpus…", scale=5,
                              elem_id="question", lines=1, max_lines=6,
                              info=f"Up to {s.max_question_tokens} tokens" if s.max_question_tokens else None)
        with gr.Column(scale=1, min_width=160, elem_classes=["ask-buttons"]):
            ask = gr.Button("Ask all four arms", variant="primary", elem_id="ask")
            stop = gr.Button("Stop", variant="stop", elem_id="stop", interactive=False)
    # Queue position, progress and any refusal found during a run show here, once, instead of on every column.
    status = gr.Markdown(elem_id="compare-status")
    shown, label = example_questions(s.corpus, runs_root=runs_root)
    # Always built (with a placeholder when the default corpus has none), so it can follow the chosen corpus.
    examples = gr.Examples([[q] for q in shown] or [[""]], inputs=question, label=label or "Example questions",
                           elem_id="compare-examples")
    examples.dataset.visible = bool(shown)
    return question, ask, stop, status, examples


def layout_settings(wb: Workbench, corpora) -> tuple[gr.Dropdown, list, gr.Dropdown, gr.Dropdown]:
    """The Settings accordion: generation settings, the corpus and the two adapter pickers."""
    s = wb.settings
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            max_new_tokens = gr.Slider(8, 512, value=s.max_new_tokens, step=8, label="Max new tokens")
            temperature = gr.Slider(0.0, 1.5, value=s.temperature, step=0.05, label="Temperature (0 = greedy)")
            reads = f"raft reads them all, rag the best {s.rag_passages}" if s.rag_passages else "rag, raft"
            top_k = gr.Slider(1, 10, value=s.top_k, step=1, label=f"Top-k passages ({reads})")
        system_prompt = gr.Textbox(s.system_prompt, label="System prompt", lines=2)
        with gr.Row():
            corpus = gr.Dropdown(corpora.offered() if corpora is not None else wb.store.corpora(), value=s.corpus,
                                 label="Corpus (rag, raft)", elem_id="corpus")
            if corpora is not None:
                corpora.follow(corpus)  # also offer this session's uploaded corpora (see ui/sessions.py)
            adapters = adapter_choices(wb)
            values = [value for _, value in adapters]
            lora = gr.Dropdown(adapters, value=s.lora_adapter if s.lora_adapter in values else NO_ADAPTER,
                               label="Adapter of the lora column", allow_custom_value=True, elem_id="lora-adapter")
            raft = gr.Dropdown(adapters, value=s.raft_adapter if s.raft_adapter in values else NO_ADAPTER,
                               label="Adapter of the raft column", allow_custom_value=True, elem_id="raft-adapter")
    return corpus, [top_k, max_new_tokens, temperature, system_prompt], lora, raft


def layout_columns(view: CompareView, lines: list[str]) -> None:
    """The four columns, side by side on a wide page and stacked on a phone; fills the view's outputs, adapter
    lines, vote buttons and folds. `lines`: the lora and raft columns' adapter lines to start with."""
    starting = dict(zip(ADAPTER_COLUMNS, lines))
    with gr.Row(equal_height=False):
        for arm in ARMS.values():
            with gr.Column(min_width=260, elem_classes=["arm-column"]):
                gr.Markdown(f"### {arm.name}\n{arm.label}", elem_classes=["arm-head"])
                # every column has the line, so the four answers start at the same height
                line = gr.Markdown(starting.get(arm.name, "No adapter: the base model's own weights."),
                                   elem_id=f"adapter-{arm.name}",
                                   elem_classes=["arm-adapter"] + ([] if arm.adapter_setting else ["arm-no-adapter"]))
                if arm.name in starting:
                    view.adapter_lines.append(line)
                answer = gr.Markdown(label="Answer", show_label=True, container=True, min_height=120,
                                     elem_id=f"answer-{arm.name}", elem_classes=["arm-answer"])
                metrics = gr.Markdown(elem_id=f"metrics-{arm.name}", elem_classes=["arm-metrics"])
                with gr.Accordion("Retrieved passages", open=True, visible=arm.retrieval) as fold:
                    passages = gr.Markdown(elem_id=f"passages-{arm.name}", max_height=520)
                if arm.retrieval:
                    view.folds.append(fold)
                with gr.Accordion("Exact prompt", open=False):
                    prompt = gr.Textbox(show_label=False, lines=8, max_lines=30, elem_id=f"prompt-{arm.name}")
                view.outputs += [answer, metrics, passages, prompt]
                view.vote_buttons.append((arm.name, gr.Button(f"Best: {arm.name}", size="sm",
                                                              elem_id=f"vote-{arm.name}")))


# --- wiring ------------------------------------------------------------------------------------------------
def wire_follow(wb: Workbench, view: CompareView, corpora, runs_root: Path) -> None:
    """The examples and the adapter lines follow the corpus and the pickers; on a phone the passages and the vote
    tally start folded."""
    view.corpus.change(lambda corpus: follow_examples(corpus, runs_root), view.corpus, view.examples.dataset,
                       queue=False, show_progress="hidden", api_visibility="private")
    state = [corpora.state] if corpora is not None else []

    def follow(request: gr.Request, corpus, lora, raft, state_=None):
        sid = session_id(state_) or (corpora.session_of(request) if corpora is not None else None)
        return follow_adapters(wb, corpus or "", lora, raft, sid)

    for trigger in (view.corpus, view.lora, view.raft):
        trigger.change(follow, [view.corpus, view.lora, view.raft, *state],
                       [*view.adapter_lines, view.lora, view.raft], queue=False, show_progress="hidden",
                       api_visibility="private")
    width = gr.Number(visible=False)  # on load, the browser sends its width instead (WIDTH_JS)
    gr.on(None, lambda width_: fold_for_screen(width_, len(view.folds)), width, view.folds, js=WIDTH_JS,
          queue=False, show_progress="hidden", api_visibility="private")


def wire_run(wb: Workbench, view: CompareView, corpora, startup, gate: VoteGate) -> None:
    """Ask (or Enter) -> a quick validated step -> the streamed run -> Ask back; Stop ends the run cooperatively."""
    stops = Stops()  # Stop is cooperative: the run ends before its next step, as a run that finished (stopping.py)

    def stream(request: gr.Request, run_id_, question_, *settings):
        *settings, state_ = settings if corpora is not None else (*settings, None)
        values: list = []
        with stops.watching(run_id_), votable(gate, request, question_, lambda: values[0::4]):
            try:
                sid = session_id(state_) or (corpora.session_of(request) if corpora is not None else None)
                opts = request_options(wb, *settings, sid=sid)
                if corpora is not None:
                    check_access(state_, settings[0])
                # closing(): when the run is stopped or the browser leaves, generation stops too.
                with closing(stream_columns(wb, question_, opts, lambda: stops.asked(run_id_))) as columns:
                    for values in columns:
                        yield values
            except ValueError as exc:
                raise user_error(str(exc)) from None

    def validate(question_, *settings):
        """Checked before the run is queued; a refusal shows under the question and nothing else changes."""
        return [verdict(check_ready, wb, question_ or "", startup), *[ok() for _ in settings]]

    def running(request: gr.Request, question_, corpus_, *settings):
        """Ask locked, Stop unlocked, the status cleared, a new id for the run (what Stop names), and the adapter
        lines as this run will use them (an adapter trained meanwhile may now be the corpus's own)."""
        *settings, state_ = settings if corpora is not None else (*settings, None)
        sid = session_id(state_) or (corpora.session_of(request) if corpora is not None else None)
        try:
            lines = adapter_lines(wb, corpus_ or "", settings[-2], settings[-1], sid)
        except Exception:  # the lines only inform: a store or server that fails to list never blocks the run
            log.warning("adapter lines not refreshed", exc_info=True)
            lines = [gr.skip(), gr.skip()]
        return gr.update(interactive=False), gr.update(interactive=True), "", stops.new_id(), *lines

    def idle():
        return gr.update(interactive=True), gr.update(interactive=False)

    inputs = view.inputs
    if corpora is not None:
        inputs.append(corpora.state)  # not part of the API: the session the corpus is checked against
    # A quick validated step locks Ask (a second click cannot start a second run) and unlocks Stop; the run
    # follows only when it succeeded, and Ask comes back when the run ends or is stopped.
    run_id = gr.State("")  # not part of the API: API clients stop a run by cancelling their job
    start = gr.on([view.ask.click, view.question.submit], running, inputs,
                  [view.ask, view.stop, view.status, run_id, *view.adapter_lines], validator=validate,
                  show_progress="hidden", api_visibility="private")  # queued: Gradio validates queued events only
    run = start.success(stream, [run_id, *inputs], view.outputs, api_name="compare_stream",
                        show_progress_on=[view.status], concurrency_id="model", concurrency_limit=wb.concurrency)
    run.then(idle, None, [view.ask, view.stop], queue=False, show_progress="hidden", api_visibility="private")

    def stopped(run_id_):
        stops.ask(run_id_)
        return (*idle(), "**Stopped.** The answers so far stay; the metrics of unfinished arms are not final.")

    view.stop.click(stopped, run_id, [view.ask, view.stop, view.status], queue=False, api_visibility="private")


def wire_api(wb: Workbench, corpora) -> None:
    """The `compare` endpoint (no component: gradio_client and scripts call it)."""
    def compare(request: gr.Request, question: str, arms: str = ALL_ARMS, corpus: str = "", top_k: int = 0,
                max_new_tokens: int = 0, temperature: float = -1.0, system_prompt: str = "",
                lora_adapter: str = "", raft_adapter: str = "") -> dict:
        """One question to the chosen arms; returns {question, model, arms: [{arm, answer, passages, prompt, metrics}]}.

        Empty or non-positive settings mean the app's defaults.
        """
        sid = corpora.session_of(request) if corpora is not None else None
        return compare_once(wb, sid, question, arms, corpus, top_k, max_new_tokens, temperature, system_prompt,
                            lora_adapter, raft_adapter, sessions=corpora is not None)

    gr.api(compare, api_name="compare", concurrency_id="model", concurrency_limit=wb.concurrency)


def build_compare_tab(wb: Workbench, corpora=None, startup=None) -> list:
    """Build the tab; returns the adapter dropdowns so other tabs can refresh their choices.

    With a `startup` (ui/startup.py) still indexing, questions are refused with a message saying so.
    """
    s = wb.settings
    runs_root = s.data_path / adapter_lib.DECIDE_RUNS
    question, ask, stop, status, examples = layout_question(wb, runs_root)
    corpus, settings, lora, raft = layout_settings(wb, corpora)
    view = CompareView(question, ask, stop, status, examples, corpus, settings, lora, raft)
    layout_columns(view, adapter_lines(wb, corpus.value or "", lora.value, raft.value))
    with gr.Accordion("What the figures mean", open=False, elem_id="metrics-help"):
        gr.Markdown(metrics_help_markdown() + "\n\nFull definitions: the repository's `docs/evaluation.md`.")
    gate = VoteGate(per_client_minute=s.client_votes_per_minute)
    view.folds.append(build_votes(wb, question, view.outputs[0::4], view.vote_buttons, gate))
    wire_follow(wb, view, corpora, runs_root)
    wire_run(wb, view, corpora, startup, gate)
    wire_api(wb, corpora)
    return [lora, raft]
