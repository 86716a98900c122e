"""build_app(settings, workbench) -> gr.Blocks: the factory the Space, the CLI and the tests share."""

from __future__ import annotations

import gradio as gr

from .compare import build_compare_tab
from .corpora import build_corpora_tab, corpus_session
from .decide import build_decide_tab
from .evaluate import build_evaluate_tab
from .train import build_train_tab

INTRO = """# RAG vs fine-tuning workbench
One question, four arms of **{model}**: **base** (the model alone), **rag** (with retrieved passages),
**lora** (a LoRA fine-tune), **raft** (a LoRA trained with retrieval, plus retrieval). Each column shows its answer,
the passages it was given, the exact prompt, latency and memory."""


def build_app(settings, wb) -> gr.Blocks:
    """The whole app; `settings` carries app-level options, `wb` does the work (a tiny one in tests)."""
    ttl = max(1, int(settings.upload_cache_ttl))  # uploads never used (or never cleaned) leave Gradio's cache
    with gr.Blocks(title="RAG vs fine-tuning workbench", delete_cache=(ttl, ttl)) as demo:
        gr.Markdown(INTRO.format(model=wb.model_id))
        corpora = corpus_session(demo, wb)  # per-session uploaded corpora, shared by the tabs
        with gr.Tab("Compare"):
            adapter_dropdowns = build_compare_tab(wb, corpora)
        with gr.Tab("Corpora"):
            build_corpora_tab(wb, corpora)
        with gr.Tab("Decide"):
            build_decide_tab(wb, corpora)
        with gr.Tab("Evaluate"):
            build_evaluate_tab(wb, corpora)
        with gr.Tab("Train"):
            build_train_tab(wb, adapter_dropdowns, corpora)
    # A bounded queue: beyond it a user is told the app is busy and to try again (Gradio's queue_full), and
    # everyone queued sees their position. Calling .queue() again (tests) replaces these settings.
    return demo.queue(max_size=max(1, int(settings.queue_max_size)))
