"""build_app(settings, workbench) -> gr.Blocks: the factory the Space, the CLI and the tests share."""

from __future__ import annotations

from typing import TYPE_CHECKING

import gradio as gr

from ..jobs import Jobs
from .compare import PHONE_MAX_PX, build_compare_tab
from .errors import install_one_line_errors
from .corpora import build_corpora_tab
from .decide import build_decide_tab
from .evaluate import build_evaluate_tab
from .sessions import corpus_session
from .startup import Startup
from .train import build_train_tab

if TYPE_CHECKING:
    from ..engine import Workbench

INTRO = """# RAG vs fine-tuning workbench
One question, four arms of **{model}**: **base** (the model alone), **rag** (with retrieved passages),
**lora** (a LoRA fine-tune), **raft** (a LoRA trained with retrieval, plus retrieval). Each column shows its answer,
the passages it was given, the exact prompt, latency and memory."""

CSS = f"""/* Gradio 6 takes CSS at launch: app.py passes launch(css=CSS). */
#startup-banner {{ background: var(--color-accent-soft); border-radius: 8px; padding: 4px 12px; }}
.arm-column .prose blockquote {{ margin: 4px 0; }}
.arm-column .prose hr {{ margin: 8px 0; }}
.arm-column .prose th, .arm-column .prose td {{ padding: 3px 8px; }}
.arm-column .prose table {{ width: 100%; }}  /* the four columns' metric rows line up */
.arm-column .prose p {{ overflow-wrap: anywhere; }}
.arm-adapter .prose {{ font-size: var(--text-sm); }}
@media (min-width: {PHONE_MAX_PX + 1}px) {{
  .arm-adapter .prose {{ min-height: 2.8em; }}  /* one line or two: the four answers still start level */
}}
/* A phone: the five tab names fit on one line, none hidden behind an unlabelled "⋯" menu; Compare's four columns
   stack, each with its answer, adapter and figures in view (passages and prompt folded, figures as one paragraph). */
@media (max-width: {PHONE_MAX_PX}px) {{
  .tabs .tab-container button {{ padding-left: 6px; padding-right: 6px; font-size: 14px; }}
  .ask-buttons {{ flex-direction: row !important; flex-wrap: nowrap; }}
  .ask-buttons button {{ min-width: 0; }}
  #ask {{ flex: 2 1 0; }}
  #stop {{ flex: 1 1 0; }}
  #compare-examples .gallery {{ gap: 4px; }}
  #compare-examples .gallery-item {{ padding: 2px 8px; }}
  #compare-examples .gallery-item div {{ white-space: nowrap !important; overflow: hidden; text-overflow: ellipsis; }}
  .arm-column {{ gap: 6px !important; }}
  .arm-head h3, .arm-head p {{ display: inline; margin: 0 6px 0 0; }}
  .arm-head p {{ font-size: var(--text-sm); color: var(--body-text-color-subdued); }}
  .arm-column .arm-answer {{ min-height: 48px !important; }}
  .arm-no-adapter {{ display: none !important; }}  /* stacked columns need no level start */
  .arm-metrics table, .arm-metrics tbody {{ display: block; border: none; padding: 0; margin: 0; }}
  .arm-metrics thead {{ display: none; }}
  .arm-metrics tr {{ display: inline-block; margin: 0 12px 0 0 !important; padding: 0 !important; border: none;
                     background: none !important; }}
  .arm-metrics td {{ display: inline; border: none !important; margin: 0 !important; padding: 0 2px !important;
                     font-size: 13px; }}
  .arm-metrics td:first-child {{ color: var(--body-text-color-subdued); }}
}}
"""


def starting(startup: Startup) -> str:
    return f"**Starting**: {startup.message}. Questions can be asked once this is done."


def startup_banner(startup: Startup) -> tuple[gr.Markdown, gr.Timer]:
    """A banner that says what start-up is doing, and the timer that polls it (wired by `watch_startup`)."""
    banner = gr.Markdown(starting(startup), elem_id="startup-banner", visible=not startup.ready.is_set())
    return banner, gr.Timer(1.0, active=not startup.ready.is_set())


def watch_startup(startup: Startup, banner, timer, corpora) -> None:
    """The banner follows start-up and disappears (the timer stops) once it is done; then every tab's corpus list
    is refreshed, so the shipped corpora listed from their folders while indexing are now the indexed ones."""
    followers = list(corpora.followers)

    def poll(value):
        if startup.ready.is_set():
            note = f"⚠️ {startup.error}" if startup.error else ""
            return (gr.update(value=note, visible=bool(note)), gr.Timer(active=False),
                    *[corpora.refresh(dropdown, value) for dropdown in followers])
        return gr.update(value=starting(startup)), gr.skip(), *[gr.skip()] * len(followers)

    timer.tick(poll, [corpora.state], [banner, timer, *followers], queue=False, show_progress="hidden",
               api_visibility="private")


def build_app(settings, wb: Workbench, startup: Startup | None = None) -> gr.Blocks:
    """The whole app; `settings` carries app-level options, `wb` does the work (a tiny one in tests).

    `startup`, when given, is the background indexing the page waits for (see ui/startup.py).
    """
    install_one_line_errors()  # malformed requests get a one-line message, never a traceback
    ttl = max(1, int(settings.upload_cache_ttl))  # uploads never used (or never cleaned) leave Gradio's cache
    with gr.Blocks(title="RAG vs fine-tuning workbench", delete_cache=(ttl, ttl)) as demo:
        gr.Markdown(INTRO.format(model=wb.model_id))
        if startup is not None:
            banner, timer = startup_banner(startup)
        corpora = corpus_session(demo, wb, startup)  # per-session uploaded corpora, shared by the tabs
        jobs = Jobs()  # the long runs (ingest, questions, Decide, evaluation, training), cancelled by id (jobs.py)
        with gr.Tab("Compare"):
            adapter_dropdowns = build_compare_tab(wb, corpora, startup)
        with gr.Tab("Corpora"):
            build_corpora_tab(wb, corpora, jobs)
        with gr.Tab("Decide") as decide_tab:
            build_decide_tab(wb, corpora, jobs, decide_tab)
        with gr.Tab("Evaluate"):
            build_evaluate_tab(wb, corpora, jobs)
        with gr.Tab("Train"):
            build_train_tab(wb, adapter_dropdowns, corpora, jobs)
        if startup is not None:
            watch_startup(startup, banner, timer, corpora)
    # A bounded queue: beyond it a user is told the app is busy and to try again (Gradio's queue_full), and
    # everyone queued sees their position. Calling .queue() again (tests) replaces these settings.
    return demo.queue(max_size=max(1, int(settings.queue_max_size)))
