"""The Compare tab: one question, four columns (built in a loop), streamed; plus the `compare` API."""

from __future__ import annotations

import json

import gradio as gr
import pandas as pd

from ..arms import ARMS
from ..config import REPO_ROOT
from ..votes import ALL_BAD, VoteStore
from .format import PASSAGE_COLUMNS, metrics_markdown, passages_frame

NO_ADAPTER = "(none)"


def example_questions(corpus: str = "handbook", n: int = 8) -> list[str]:
    """A few test-split questions from the shipped corpus, for the clickable examples."""
    path = REPO_ROOT / "corpora" / corpus / "qa" / "test.jsonl"
    if not path.is_file():
        return []
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return [r["question"] for r in rows[:: max(1, len(rows) // n)]][:n]


def build_votes(wb, question, answers: list, vote_buttons: list) -> None:
    """An "all bad" button and the tally beside the per-arm "best" buttons; each vote is stored with the answers."""
    votes = VoteStore.in_data_dir(wb.settings)

    def tally(session: str | None) -> pd.DataFrame:
        return pd.DataFrame([(r.choice, r.session, r.all_time) for r in votes.tally(session)],
                            columns=["vote", "this session", "all time"])

    with gr.Row():
        all_bad = gr.Button("All bad", size="sm", elem_id="vote-all-bad", scale=0)
        table = gr.Dataframe(lambda: tally(None), label="Votes", elem_id="vote-tally", scale=3)

    def voter(choice: str):
        def vote(request: gr.Request, question_: str, *answers_: str):  # gradio fills a leading Request argument
            session = getattr(request, "session_hash", None) or ""
            try:
                votes.add(choice, question_, dict(zip(ARMS, answers_)), wb.model_id, session)
            except ValueError as exc:
                raise gr.Error(str(exc)) from None
            return tally(session)
        return vote

    for choice, button in [*vote_buttons, (ALL_BAD, all_bad)]:
        button.click(voter(choice), [question, *answers], table, api_name=f"vote_{choice.replace(' ', '_')}")


def build_compare_tab(wb, corpora=None) -> list:
    """Build the tab; returns the adapter dropdowns so other tabs can refresh their choices."""
    s = wb.settings
    with gr.Row():
        question = gr.Textbox(label="Question", placeholder="Ask something about the corpus…", scale=5,
                              elem_id="question", lines=1)
        ask = gr.Button("Ask all four arms", variant="primary", scale=1, elem_id="ask")
    examples = example_questions(s.corpus)
    if examples:
        gr.Examples(examples, inputs=question, label="Example questions (handbook test split)")
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            max_new_tokens = gr.Slider(8, 512, value=s.max_new_tokens, step=8, label="Max new tokens")
            temperature = gr.Slider(0.0, 1.5, value=s.temperature, step=0.05, label="Temperature (0 = greedy)")
            top_k = gr.Slider(1, 10, value=s.top_k, step=1, label="Top-k passages (rag, raft)")
        system_prompt = gr.Textbox(s.system_prompt, label="System prompt", lines=2)
        with gr.Row():
            corpus = gr.Dropdown(wb.store.corpora(), value=s.corpus, label="Corpus (rag, raft)", elem_id="corpus")
            if corpora is not None:
                corpora.follow(corpus)  # also offer this session's uploaded corpora (see ui/corpora.py)
            adapters = [NO_ADAPTER] + wb.adapter_names()
            lora = gr.Dropdown(adapters, value=s.lora_adapter if s.lora_adapter in adapters else NO_ADAPTER,
                               label="Adapter of the lora column", allow_custom_value=True, elem_id="lora-adapter")
            raft = gr.Dropdown(adapters, value=s.raft_adapter if s.raft_adapter in adapters else NO_ADAPTER,
                               label="Adapter of the raft column", allow_custom_value=True, elem_id="raft-adapter")

    outputs, vote_buttons = [], []
    with gr.Row(equal_height=False):
        for arm in ARMS.values():
            with gr.Column(min_width=240):
                gr.Markdown(f"### {arm.name}\n{arm.label}")
                answer = gr.Textbox(label="Answer", lines=5, max_lines=12, elem_id=f"answer-{arm.name}")
                metrics = gr.Markdown(elem_id=f"metrics-{arm.name}")
                passages = gr.Dataframe(headers=PASSAGE_COLUMNS, label="Retrieved passages", visible=arm.retrieval,
                                        wrap=True, max_height=300, elem_id=f"passages-{arm.name}",
                                        column_widths=["14%", "22%", "16%", "48%"])
                with gr.Accordion("Exact prompt", open=False):
                    prompt = gr.Textbox(show_label=False, lines=8, max_lines=30, elem_id=f"prompt-{arm.name}")
                outputs += [answer, metrics, passages, prompt]
                vote_buttons.append((arm.name, gr.Button(f"Best: {arm.name}", size="sm", elem_id=f"vote-{arm.name}")))
    build_votes(wb, question, outputs[0::4], vote_buttons)

    def overrides(corpus_, top_k_, max_new_, temp_, system_, lora_, raft_):
        return dict(corpus=corpus_ or None, top_k=int(top_k_), max_new_tokens=int(max_new_), temperature=float(temp_),
                    system_prompt=system_, lora_adapter="" if lora_ == NO_ADAPTER else lora_,
                    raft_adapter="" if raft_ == NO_ADAPTER else raft_)

    def stream(question_, *settings):
        try:
            for comparison in wb.compare_stream(question_, **overrides(*settings)):
                values = []
                for result in comparison.arms:
                    values += [result.error or result.answer, metrics_markdown(result), passages_frame(result), result.prompt]
                yield values
        except ValueError as exc:
            raise gr.Error(str(exc)) from None

    inputs = [question, corpus, top_k, max_new_tokens, temperature, system_prompt, lora, raft]
    for trigger in (ask.click, question.submit):
        trigger(stream, inputs, outputs, api_name="compare_stream" if trigger == ask.click else False,
                concurrency_id="model", concurrency_limit=wb.concurrency)

    def compare(question: str, arms: str = "base,rag,lora,raft", corpus: str = "", top_k: int = 0,
                max_new_tokens: int = 0, temperature: float = -1.0, system_prompt: str = "",
                lora_adapter: str = "", raft_adapter: str = "") -> dict:
        """One question to the chosen arms; returns {question, model, arms: [{arm, answer, passages, prompt, metrics}]}.

        Empty or non-positive settings mean the app's defaults.
        """
        try:
            result = wb.compare(
                question, arms, corpus=corpus or None, top_k=top_k if top_k > 0 else None,
                max_new_tokens=max_new_tokens if max_new_tokens > 0 else None,
                temperature=temperature if temperature >= 0 else None, system_prompt=system_prompt or None,
                lora_adapter=lora_adapter or None, raft_adapter=raft_adapter or None,
            )
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        return result.to_dict()

    gr.api(compare, api_name="compare", concurrency_id="model", concurrency_limit=wb.concurrency)
    return [lora, raft]
