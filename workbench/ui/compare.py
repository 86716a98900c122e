"""The Compare tab: one question, four columns (built in a loop), streamed; plus the `compare` API."""

from __future__ import annotations

import json
from contextlib import closing, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
import pandas as pd

from .. import adapters as adapter_lib
from ..adapters import AUTO
from ..arms import ALL_ARMS, ARMS
from ..config import REPO_ROOT
from ..retrieval.ingest import shipped_corpora
from ..retrieval.sessions import check_access, display_name, session_id
from ..validation import (SYSTEM_PROMPT_MAX_CHARS, TEMPERATURE_MAX, check_adapter_choice, check_number, check_question,
                          check_text, optional_number)
from ..votes import ALL_BAD, VoteGate, VoteStore
from .clients import client_address
from .errors import ok, user_error, verdict
from .format import answer_markdown, metrics_help_markdown, metrics_markdown, passages_markdown
from .stopping import Stops

if TYPE_CHECKING:
    from ..engine import Workbench

NO_ADAPTER = "(none)"


def adapter_choices(wb: Workbench, sid: str | None = None) -> list[tuple[str, str]]:
    """The adapter dropdowns' choices: none, auto (the corpus's own adapter, else the reader), the shipped and shared
    adapters and those of session `sid` (adapters.visible_to)."""
    return [(NO_ADAPTER, NO_ADAPTER), ("auto: the corpus's own, else the reader", AUTO)] + [
        (f"{adapter_lib.display_adapter(n)} (this session)" if adapter_lib.split_owned(n) else n, n)
        for n in adapter_lib.visible_to(wb.adapter_names(), sid)]


def known_adapters(wb: Workbench, sid: str | None = None) -> list[str]:
    """What a request of session `sid` may name as an adapter: auto or an adapter it sees (never a server folder)."""
    return [AUTO, *adapter_lib.visible_to(wb.adapter_names(), sid)]


def check_adapter(value, known: list[str], sid: str | None) -> str:
    """check_adapter_choice, where a session may name its own adapter plainly ("mine")."""
    return check_adapter_choice(adapter_lib.for_session(value, known, sid), known)


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


def adapter_note(column: str, adapter: str, corpus: str, corpora: list[str]) -> str:
    """Said under an adapter picker whose adapter was made for another corpus (named `<corpus>-<column>`, as Decide
    and Train name them), so the column's answers are not mistaken for this corpus's fine-tune."""
    other = adapter.removesuffix(f"-{column}") if adapter and adapter.endswith(f"-{column}") else ""
    if not other or other == corpus or other not in corpora:
        return ""
    return (f"⚠️ {adapter} was trained on {other}, not on {display_name(corpus)}: this column shows another "
            f"domain's fine-tune. Choose auto for {display_name(corpus)}'s own adapter once one is trained.")


@contextmanager
def _votable(gate: VoteGate, request, question: str, answers):
    """When a run ends (finished or stopped), the answers it showed may be voted on once in its session."""
    try:
        yield
    finally:
        shown = answers()
        if shown and isinstance(question, str):
            gate.produced(getattr(request, "session_hash", None) or "", question, shown)


def build_votes(wb: Workbench, question, answers: list, vote_buttons: list, gate: VoteGate) -> None:
    """An "all bad" button, a feedback line and the tally beside the per-arm "best" buttons.

    Each vote is stored with the answers. A vote with nothing to judge, on answers the app did not just give in
    this session (`gate`), or beyond the session's or its client address's rate is refused in the feedback line
    only.
    """
    votes = VoteStore.in_data_dir(wb.settings)

    def tally(session: str | None) -> pd.DataFrame:
        return pd.DataFrame([(r.choice, r.session, r.all_time) for r in votes.tally(session)],
                            columns=["vote", "this session", "all time"])

    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=200):
            all_bad = gr.Button("All bad", size="sm", elem_id="vote-all-bad")
            feedback = gr.Markdown("Vote for the best answer (or *All bad*) once the answers are in.",
                                   elem_id="vote-feedback")
        table = gr.Dataframe(lambda: tally(None), label="Votes", elem_id="vote-tally", scale=3, interactive=False)

    def voter(choice: str):
        def vote(request: gr.Request, question_: str, *answers_: str):  # gradio fills a leading Request argument
            session = getattr(request, "session_hash", None) or ""
            try:
                if not isinstance(question_, str) or not all(isinstance(a, str) for a in answers_):
                    raise ValueError("a vote carries the question and the answers as text")
                votes.check(choice, question_, dict(zip(ARMS, answers_)))
                gate.claim(session, question_, answers_,  # one vote per answer the app gave this session
                           client_address(request, wb.settings.trusted_proxies))
                votes.add(choice, question_, dict(zip(ARMS, answers_)), wb.model_id, session)
            except ValueError as exc:
                return gr.skip(), f"⚠️ {exc}"
            mine = sum(r.session for r in votes.tally(session))
            what = "all answers are bad" if choice == ALL_BAD else f"**{choice}** gave the best answer"
            return tally(session), f"✓ Recorded: {what}. Your votes this session: {mine}."
        return vote

    for choice, button in [*vote_buttons, (ALL_BAD, all_bad)]:
        button.click(voter(choice), [question, *answers], [table, feedback], show_progress_on=[feedback],
                     api_name=f"vote_{choice.replace(' ', '_')}")


def build_compare_tab(wb: Workbench, corpora=None, startup=None) -> list:
    """Build the tab; returns the adapter dropdowns so other tabs can refresh their choices.

    With a `startup` (ui/startup.py) still indexing, questions are refused with a message saying so.
    """
    s = wb.settings
    with gr.Row(equal_height=False):  # a long question scrolls in its box; the buttons keep their size
        question = gr.Textbox(label="Question", placeholder="Ask something about the corpus…", scale=5,
                              elem_id="question", lines=1, max_lines=6,
                              info=f"Up to {s.max_question_tokens} tokens" if s.max_question_tokens else None)
        with gr.Column(scale=1, min_width=160):
            ask = gr.Button("Ask all four arms", variant="primary", elem_id="ask")
            stop = gr.Button("Stop", variant="stop", elem_id="stop", interactive=False)
    # Queue position, progress and any refusal found during a run show here, once, instead of on every column.
    status = gr.Markdown(elem_id="compare-status")
    runs_root = s.data_path / "decide"
    shown, label = example_questions(s.corpus, runs_root=runs_root)
    # Always built (with a placeholder when the default corpus has none), so it can follow the chosen corpus.
    example_set = gr.Examples([[q] for q in shown] or [[""]], inputs=question, label=label or "Example questions")
    example_set.dataset.visible = bool(shown)
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            max_new_tokens = gr.Slider(8, 512, value=s.max_new_tokens, step=8, label="Max new tokens")
            temperature = gr.Slider(0.0, 1.5, value=s.temperature, step=0.05, label="Temperature (0 = greedy)")
            top_k = gr.Slider(1, 10, value=s.top_k, step=1, label="Top-k passages (rag, raft)")
        system_prompt = gr.Textbox(s.system_prompt, label="System prompt", lines=2)
        with gr.Row():
            corpus = gr.Dropdown(corpora.offered() if corpora is not None else wb.store.corpora(), value=s.corpus,
                                 label="Corpus (rag, raft)", elem_id="corpus")
            if corpora is not None:
                corpora.follow(corpus)  # also offer this session's uploaded corpora (see ui/corpora.py)
            adapters = adapter_choices(wb)
            values = [value for _, value in adapters]
            lora = gr.Dropdown(adapters, value=s.lora_adapter if s.lora_adapter in values else NO_ADAPTER,
                               label="Adapter of the lora column", allow_custom_value=True, elem_id="lora-adapter")
            raft = gr.Dropdown(adapters, value=s.raft_adapter if s.raft_adapter in values else NO_ADAPTER,
                               label="Adapter of the raft column", allow_custom_value=True, elem_id="raft-adapter")

    outputs, vote_buttons = [], []
    with gr.Row(equal_height=False):
        for arm in ARMS.values():
            with gr.Column(min_width=260, elem_classes=["arm-column"]):
                gr.Markdown(f"### {arm.name}\n{arm.label}")
                answer = gr.Markdown(label="Answer", show_label=True, container=True, min_height=120,
                                     elem_id=f"answer-{arm.name}")
                metrics = gr.Markdown(elem_id=f"metrics-{arm.name}")
                with gr.Accordion("Retrieved passages", open=True, visible=arm.retrieval):
                    passages = gr.Markdown(elem_id=f"passages-{arm.name}", max_height=520)
                with gr.Accordion("Exact prompt", open=False):
                    prompt = gr.Textbox(show_label=False, lines=8, max_lines=30, elem_id=f"prompt-{arm.name}")
                outputs += [answer, metrics, passages, prompt]
                vote_buttons.append((arm.name, gr.Button(f"Best: {arm.name}", size="sm", elem_id=f"vote-{arm.name}")))
    def follow_examples(corpus_):
        """The examples are about the chosen corpus (hidden when it has none)."""
        questions, label_ = example_questions(corpus_, runs_root=runs_root)
        return gr.Dataset(samples=[[q] for q in questions] or [[""]], label=label_ or "Example questions",
                          visible=bool(questions))

    corpus.change(follow_examples, corpus, example_set.dataset, queue=False, show_progress="hidden",
                  api_visibility="private")

    def adapter_notes(corpus_, lora_, raft_):
        names = [*wb.store.corpora(), *shipped_corpora()]
        return [gr.update(info=adapter_note(column, value, corpus_ or "", names) or None)
                for column, value in (("lora", lora_), ("raft", raft_))]

    for trigger in (corpus, lora, raft):
        trigger.change(adapter_notes, [corpus, lora, raft], [lora, raft], queue=False, show_progress="hidden",
                       api_visibility="private")
    with gr.Accordion("What the figures mean", open=False, elem_id="metrics-help"):
        gr.Markdown(metrics_help_markdown() + "\n\nFull definitions: the repository's `docs/evaluation.md`.")
    gate = VoteGate(per_client_minute=s.client_votes_per_minute)
    build_votes(wb, question, outputs[0::4], vote_buttons, gate)

    def overrides(corpus_, top_k_, max_new_, temp_, system_, lora_, raft_, sid=None):
        known = known_adapters(wb, sid)  # adapters by name only: a request never names a server folder
        return dict(corpus=corpus_ or None, top_k=check_number(top_k_, "top_k", 1, s.max_top_k, integer=True),
                    max_new_tokens=check_number(max_new_, "max_new_tokens", 1, s.max_new_tokens_cap, integer=True),
                    temperature=check_number(temp_, "temperature", 0.0, TEMPERATURE_MAX),
                    system_prompt=check_text(system_, "the system prompt", SYSTEM_PROMPT_MAX_CHARS),
                    lora_adapter="" if lora_ == NO_ADAPTER else check_adapter(lora_, known, sid),
                    raft_adapter="" if raft_ == NO_ADAPTER else check_adapter(raft_, known, sid))

    stops = Stops()  # Stop is cooperative: the run ends before its next step, as a run that finished (stopping.py)

    def stream(request: gr.Request, run_id_, question_, *settings):
        *settings, state_ = settings if corpora is not None else (*settings, None)
        values: list = []
        with stops.watching(run_id_), _votable(gate, request, question_, lambda: values[0::4]):
            try:
                sid = session_id(state_) or (corpora.session_of(request) if corpora is not None else None)
                opts = overrides(*settings, sid=sid)
                if corpora is not None:
                    check_access(state_, settings[0])
                # closing(): when the run is stopped or the browser leaves, generation stops too.
                with closing(wb.compare_stream(question_, **opts)) as comparisons:
                    for comparison in comparisons:
                        if stops.asked(run_id_):
                            return
                        values = []
                        for i, result in enumerate(comparison.arms):  # a process-wide memory: first column only
                            values += [answer_markdown(result, opts["max_new_tokens"]),
                                       metrics_markdown(result, memory=i == 0), passages_markdown(result),
                                       result.prompt]
                        yield values
            except ValueError as exc:
                raise user_error(str(exc)) from None

    def validate(question_, *settings):
        """Checked before the run is queued; a refusal shows under the question and nothing else changes."""
        def ready_and_valid(text):
            check_question(wb.tokenizer, text, s.max_question_tokens)
            if startup is not None:
                startup.check_ready()
        return [verdict(ready_and_valid, question_ or ""), *[ok() for _ in settings]]

    def running(*_inputs):
        """Ask locked, Stop unlocked, the status cleared, and a new id for the run (what Stop names)."""
        return gr.update(interactive=False), gr.update(interactive=True), "", stops.new_id()

    def idle():
        return gr.update(interactive=True), gr.update(interactive=False)

    inputs = [question, corpus, top_k, max_new_tokens, temperature, system_prompt, lora, raft]
    if corpora is not None:
        inputs.append(corpora.state)  # not part of the API: the session the corpus is checked against
    # A quick validated step locks Ask (a second click cannot start a second run) and unlocks Stop; the run
    # follows only when it succeeded, and Ask comes back when the run ends or is stopped.
    run_id = gr.State("")  # not part of the API: API clients stop a run by cancelling their job
    start = gr.on([ask.click, question.submit], running, inputs, [ask, stop, status, run_id], validator=validate,
                  show_progress="hidden", api_visibility="private")  # queued: Gradio validates queued events only
    run = start.success(stream, [run_id, *inputs], outputs, api_name="compare_stream", show_progress_on=[status],
                        concurrency_id="model", concurrency_limit=wb.concurrency)
    run.then(idle, None, [ask, stop], queue=False, show_progress="hidden", api_visibility="private")

    def stopped(run_id_):
        stops.ask(run_id_)
        return (*idle(), "**Stopped.** The answers so far stay; the metrics of unfinished arms are not final.")

    stop.click(stopped, run_id, [ask, stop, status], queue=False, api_visibility="private")

    def compare(request: gr.Request, question: str, arms: str = ALL_ARMS, corpus: str = "", top_k: int = 0,
                max_new_tokens: int = 0, temperature: float = -1.0, system_prompt: str = "",
                lora_adapter: str = "", raft_adapter: str = "") -> dict:
        """One question to the chosen arms; returns {question, model, arms: [{arm, answer, passages, prompt, metrics}]}.

        Empty or non-positive settings mean the app's defaults.
        """
        try:
            sid = corpora.session_of(request) if corpora is not None else None
            known = known_adapters(wb, sid)
            check_text(arms, "arms", 200)
            if corpora is not None:
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

    gr.api(compare, api_name="compare", concurrency_id="model", concurrency_limit=wb.concurrency)
    return [lora, raft]
