"""The Evaluate tab: the arms over a whole question set, with a summary, plots, answers side by side and export.

Thin: it loads the set, runs `evaluation.runner.iter_eval` as a job (workbench/jobs.py: streaming progress,
cancellable) and shows what `evaluation.report` computes. The job's batches let a waiting comparison in between
two decode steps, so a comparison waits for one step (workbench/slot.py); at most `max_eval_rows` questions run per
request.
The handlers are plain functions of the Workbench, the app's corpus sessions, the jobs and the event's values;
`build_evaluate_tab` lays the tab out and binds them to its events.
"""

from __future__ import annotations

import tempfile
import time
from typing import TYPE_CHECKING

import gradio as gr
import pandas as pd

from ..arms import ARMS
from ..evaluation.datasets import EvalDataError, load_eval_set, shipped_eval_sets
from ..evaluation.report import ALL, EvalReport, build_report, filter_choices, run_metadata, side_by_side, write_report
from ..evaluation.runner import ResultCache, evaluation_work
from ..jobs import JobCancelled, Jobs
from ..retrieval.sessions import check_access
from ..validation import TEMPERATURE_MAX, check_number
from ..config import REPO_ROOT
from .compare import NO_ADAPTER, adapter_choices, check_adapter, known_adapters
from .errors import ok, user_error, verdict
from .jobview import job_buttons
from .uploads import UsedUploads
from .wiring import bind

if TYPE_CHECKING:
    from ..engine import Workbench

SET_CORPUS = "(the set's own corpus)"
PLOTTED = {"em": "Exact match", "f1": "Token F1", "contains": "Contains answer", "rouge_l": "ROUGE-L",
           "accuracy": "Accuracy (label sets)", "macro_f1": "Macro-F1 (label sets)", "hit_at_k": "Retrieval hit@k",
           "mrr": "Retrieval MRR", "grounded": "Groundedness"}
HELP = """Runs every chosen arm over the set, the arms of each question batched in one generate call. Answers are
cached per model, adapter, corpus, settings and question, so a re-run or a larger run only generates what is new
(cached rows keep the latency measured when they were generated). **correct** (✓) means the answer contains a
reference answer (short sets), gives the right label (label sets) or says "The documents do not say." (unanswerable
questions). Every metric is defined in
*Metric definitions* below (the repository's `docs/evaluation.md`)."""
ARM_COLORS = {"base": "#6b7280", "rag": "#2563eb", "lora": "#d97706", "raft": "#059669"}
"""One colour per arm in every chart (colour-blind-safe enough to tell apart: grey, blue, orange, green)."""
SUMMARY_LABELS = {"n": "questions", "em": "exact match", "f1": "token F1", "contains": "contains answer",
                  "rouge_l": "ROUGE-L", "accuracy": "accuracy", "macro_f1": "macro-F1", "hit_at_k": "hit@k",
                  "mrr": "MRR", "grounded": "groundedness", "abstain": "abstains (unanswerable)",
                  "false_abstain": "abstains (answerable)", "loops": "looping answers", "ttft_p50_ms": "TTFT p50 (ms)",
                  "ttft_p95_ms": "TTFT p95 (ms)", "total_p50_ms": "total p50 (ms)", "total_p95_ms": "total p95 (ms)",
                  "tokens_per_s": "tokens/s", "peak_memory_mib": "peak memory (MiB)", "cached": "cached"}
QUESTION_COLUMNS = ["id", "question", "reference"]
OUTPUTS = 7 + len(PLOTTED)
"""Outputs of an evaluation, in order: status, summary, a bar chart per PLOTTED metric, latency, question filter,
answers side by side, export files, and the rows (a gr.State the filter reads)."""


def docs_markdown() -> str:
    """docs/evaluation.md, shown in the tab so its definitions are one click away."""
    path = REPO_ROOT / "docs" / "evaluation.md"
    return path.read_text() if path.is_file() else "docs/evaluation.md is not in this copy of the app."


def _cell(metric: str, value) -> str:
    if value is None or value != value:  # None or NaN: the metric does not apply to this arm
        return "–"
    if metric in ("n", "cached"):
        return str(int(value))
    if metric.endswith("_ms") or metric in ("tokens_per_s", "peak_memory_mib"):
        return f"{value:,.1f}"
    return f"{value:.3f}"


def question_widths(arms: list[str]) -> list[str]:
    """id narrow, question and reference moderate, the arms' answers share the rest."""
    share = (100 - 6 - 18 - 12) / max(1, len(arms))
    return ["6%", "18%", "12%", *[f"{share:.0f}%"] * len(arms)]


def summary_table(report: EvalReport) -> pd.DataFrame:
    """The summary for display, one column per arm (narrow enough for a phone): a metric that applies to no
    arm is dropped, a dash where one does not apply to this arm."""
    frame = report.summary_frame().dropna(axis=1, how="all").set_index("arm")
    arms = [a for a in ARMS if a in frame.index] + [a for a in frame.index if a not in ARMS]
    rows = [[SUMMARY_LABELS.get(metric, metric), *[_cell(metric, frame.at[arm, metric]) for arm in arms]]
            for metric in frame.columns]
    return pd.DataFrame(rows, columns=["metric", *arms])


def metric_frame(report: EvalReport, metric: str) -> pd.DataFrame:
    values = [(arm, getattr(s, metric)) for arm, s in report.summary.items() if getattr(s, metric) is not None]
    return pd.DataFrame(values, columns=["arm", metric]).astype({"arm": "str", metric: "float"})


def latency_frame(report: EvalReport) -> pd.DataFrame:
    """One point per question, arm and measure (time to first token, total): the latency distribution."""
    points = [(r.arm, measure, getattr(r, f"{measure}_ms")) for r in report.rows for measure in ("ttft", "total")]
    return pd.DataFrame(points, columns=["arm", "measure", "ms"]).astype({"arm": "str", "measure": "str", "ms": "float"})


def eval_request(wb: Workbench, corpora, sets: dict, set_name_, upload_, arms_, limit_, corpus_, top_k_, max_new_,
                 temp_, lora_, raft_, request: gr.Request | None) -> tuple:
    """The form checked: (eval set, the questions to run, the run's setting overrides); gr.Error says what is off."""
    s = wb.settings
    uploads = getattr(corpora, "uploads", None) or UsedUploads(s.upload_cache_ttl)
    upload_ = uploads.take(upload_)  # a private copy: the cached file may be another session's upload too
    path = upload_ or sets.get(set_name_)  # an upload wins over the dropdown
    if not path:
        raise user_error("choose a shipped eval set or upload one")
    try:
        eval_set = load_eval_set(path)
    except EvalDataError as exc:
        raise user_error(f"{exc}. Nothing was run.") from None
    finally:
        uploads.release(upload_)  # read once; Gradio's cache no longer serves it
    if not arms_:
        raise user_error("choose at least one arm")
    try:
        sid = corpora.session_of(request) if corpora is not None else None
        known = known_adapters(wb, sid)  # the shared adapters and this session's own
        corpus_name = (eval_set.corpus or s.corpus) if corpus_ in (None, SET_CORPUS) else corpus_
        # the set's own corpus comes from an uploaded file: it is checked like a chosen one
        check_access(sid, corpus_name)
        overrides = dict(corpus=corpus_name,
                         top_k=check_number(top_k_, "top_k", 1, s.max_top_k, integer=True),
                         max_new_tokens=check_number(max_new_, "max_new_tokens", 1, s.max_new_tokens_cap,
                                                     integer=True),
                         temperature=check_number(temp_, "temperature", 0.0, TEMPERATURE_MAX),
                         lora_adapter="" if lora_ == NO_ADAPTER else check_adapter(lora_, known, sid),
                         raft_adapter="" if raft_ == NO_ADAPTER else check_adapter(raft_, known, sid))
        limit_ = check_number(limit_ or 0, "the number of questions", 0, 10**6, integer=True)
    except ValueError as exc:
        raise user_error(str(exc)) from None
    items = eval_set.items[:limit_] if limit_ > 0 else eval_set.items
    if len(items) > s.max_eval_rows:  # one request may not hold the app for hours
        raise user_error(f"{len(items)} questions are more than one evaluation here may run "
                         f"({s.max_eval_rows}): set Questions to {s.max_eval_rows} or fewer, or split the file "
                         "(`python -m workbench eval` on your own machine has no bound)")
    return eval_set, items, overrides


def evaluate(wb: Workbench, corpora, jobs: Jobs, sets: dict, run_id_, set_name_, upload_, arms_, limit_, corpus_,
             top_k_, max_new_, temp_, lora_, raft_, use_cache_, request: gr.Request, progress=gr.Progress()):
    """Run the chosen arms over the eval set: status, summary and answers after each batch; charts, files at the end."""
    eval_set, items, overrides = eval_request(wb, corpora, sets, set_name_, upload_, arms_, limit_, corpus_, top_k_,
                                              max_new_, temp_, lora_, raft_, request)
    cache = ResultCache.in_data_dir(wb.settings) if use_cache_ else None
    started, records, done = time.perf_counter(), [], 0
    batch = min(wb.options(**overrides).eval_batch, len(items))  # the questions' answers arrive batch by batch
    progress((0, len(items)), desc=f"starting: {batch} questions per batch")
    job = jobs.start(evaluation_work(wb, items, arms_, cache, overrides), name=f"evaluate {eval_set.name}",
                     stages=("evaluate",), job_id=run_id_ or None)
    cancelled_note = "cancelled: the answers of finished batches are kept (in the cache too)"
    try:
        for p in job.events():
            if job.cancelled.is_set():
                yield status_only(eval_set, done, len(items), overrides, cancelled_note)
                return
            if p is None:  # a batch is generating: say so
                yield status_only(eval_set, done, len(items), overrides,
                                  f"generating the next {min(batch, len(items) - done)} "
                                  f"({time.perf_counter() - started:.0f} s) …")
                continue
            done = int(p.done)
            records += p.detail
            report = build_report(records, eval_set.labels)
            progress((done, len(items)), desc=p.message, unit="questions")
            yield outputs(wb, report, done, len(items), eval_set, arms_, started, overrides)
        try:
            job.result()
        except JobCancelled:
            yield status_only(eval_set, done, len(items), overrides, cancelled_note)
        except ValueError as exc:  # unknown corpus, bad arm: said plainly
            raise user_error(str(exc)) from None
    finally:  # closed before the end (Cancel, a page or API client gone): stops at its next decode step
        job.cancel()
        jobs.forget(job)


def status_only(eval_set, done: int, total: int, overrides: dict, news: str) -> list:
    """The status line: the questions answered so far and `news`; every other output as it is."""
    line = f"**{eval_set.name}**: {done}/{total} questions on corpus `{overrides['corpus']}`, {news}"
    return [line, *[gr.skip()] * (OUTPUTS - 1)]


def outputs(wb: Workbench, report: EvalReport, done: int, total: int, eval_set, arms_, started: float,
            overrides: dict) -> list:
    """Every output after `done` of `total` questions: the tables grow each time; plots and files at the end."""
    line = f"**{eval_set.name}**: {done}/{total} questions on corpus `{overrides['corpus']}`"
    notes = "".join(f"\n- ⚠️ {n}" for n in report.notes)
    table = gr.update(value=side_by_side(report.rows), visible=True)
    summary_ = gr.update(value=summary_table(report), visible=True)
    if done < total:  # plots and files once, at the end; the tables grow question by question
        return [line + " …" + notes, summary_, *[gr.skip()] * len(PLOTTED), gr.skip(), gr.skip(), table,
                gr.skip(), report.rows]
    meta = run_metadata(wb, eval_set, list(arms_), total, time.perf_counter() - started, **overrides)
    files = write_report(report, tempfile.mkdtemp(prefix="workbench-eval-"), meta)
    bars = [gr.BarPlot(metric_frame(report, m), visible=any(getattr(x, m) is not None for x in report.summary.values()))
            for m in PLOTTED]
    choices = filter_choices(list(report.summary))
    return [line + f" in {meta['seconds']:.0f} s" + notes, summary_, *bars,
            gr.update(value=latency_frame(report), visible=True), gr.Dropdown(choices, value=ALL, visible=True),
            table, gr.update(value=[str(p) for p in files], visible=True), report.rows]


def validate(set_name_, upload_, arms_, *rest):
    """Checked before the run is queued; each refusal shows under its own input."""
    def chosen(value, what):
        if not value:
            raise ValueError(what)
    return [verdict(chosen, set_name_ or upload_, "choose a shipped eval set or upload one"), ok(),
            verdict(chosen, arms_, "choose at least one arm"), *[ok() for _ in rest]]


def filter_rows(rows_, choice):
    """The answers side by side, only the questions that match the chosen filter."""
    return side_by_side(rows_, choice or ALL)


def build_evaluate_tab(wb: Workbench, corpora=None, jobs: Jobs | None = None) -> None:
    """The tab's layout and events. `corpora` (the app's CorpusSessions) is what a chosen corpus is checked against
    (None: no session corpora)."""
    s = wb.settings
    sets = shipped_eval_sets()
    gr.Markdown(HELP)
    with gr.Row():
        set_name = gr.Dropdown(list(sets), value=next(iter(sets), None), label="Eval set (shipped test splits)",
                               elem_id="eval-set")
        upload = gr.File(label="…or upload a set (JSONL or CSV: question, answer[, source, type])", type="filepath",
                         file_types=[".jsonl", ".csv"], elem_id="eval-upload")
    with gr.Row():
        arms = gr.CheckboxGroup(list(ARMS), value=list(ARMS), label="Arms", elem_id="eval-arms")
        limit = gr.Number(20, precision=0, minimum=0, label="Questions (first N; 0 = all)", elem_id="eval-limit")
        corpus = gr.Dropdown([SET_CORPUS, *wb.store.corpora()], value=SET_CORPUS, label="Corpus (rag, raft)",
                             elem_id="eval-corpus")
        if corpora is not None:
            corpora.follow(corpus, extra=[SET_CORPUS])  # the shipped corpora while they index, and the session's
    with gr.Accordion("Settings", open=False):
        with gr.Row():
            top_k = gr.Slider(1, 10, value=s.top_k, step=1, label="Top-k passages (rag, raft; hit@k)")
            max_new_tokens = gr.Slider(8, 512, value=s.max_new_tokens, step=8, label="Max new tokens")
            temperature = gr.Slider(0.0, 1.5, value=s.temperature, step=0.05, label="Temperature (0 = greedy)")
        with gr.Row():
            adapters = adapter_choices(wb)
            values = [value for _, value in adapters]
            lora = gr.Dropdown(adapters, value=s.lora_adapter if s.lora_adapter in values else NO_ADAPTER,
                               label="Adapter of the lora arm", allow_custom_value=True)
            raft = gr.Dropdown(adapters, value=s.raft_adapter if s.raft_adapter in values else NO_ADAPTER,
                               label="Adapter of the raft arm", allow_custom_value=True)
            use_cache = gr.Checkbox(True, label="Reuse cached answers")
    with gr.Row():
        run = gr.Button("Evaluate", variant="primary", elem_id="eval-run")
        cancel = gr.Button("Cancel", variant="stop", elem_id="eval-cancel", interactive=False)
    status = gr.Markdown("No results yet: choose a set and the arms, then press **Evaluate**. The summary, charts "
                         "and answers side by side appear here.", elem_id="eval-status")
    # The tables, the latency chart and the files are hidden until a run fills them: empty headers say nothing
    # (and on a phone they wrapped letter by letter).
    summary = gr.DataFrame(pd.DataFrame(columns=["metric", *ARMS]), label="Summary per arm (fractions 0..1)",
                           elem_id="eval-summary", interactive=False, visible=False)
    with gr.Row():
        plots = [gr.BarPlot(x="arm", y=metric, color="arm", color_map=ARM_COLORS, sort=list(ARMS), title=title,
                            y_lim=[0, 1], min_width=220, height=220, visible=False, elem_id=f"eval-plot-{metric}")
                 for metric, title in PLOTTED.items()]
    latency = gr.ScatterPlot(x="arm", y="ms", color="measure", sort=list(ARMS),
                             title="Latency per question: time to first token and total", y_title="ms",
                             elem_id="eval-latency", visible=False)
    with gr.Row():
        show = gr.Dropdown(filter_choices(list(ARMS)), value=ALL, label="Show questions", elem_id="eval-filter",
                           visible=False)
    questions = gr.DataFrame(pd.DataFrame(columns=[*QUESTION_COLUMNS, *ARMS]), label="Answers side by side "
                             "(✓ correct, ✗ not)", wrap=True, max_height=500, elem_id="eval-questions",
                             column_widths=question_widths(list(ARMS)), interactive=False, visible=False)
    export = gr.File(label="Export: summary and per-question results as CSV and JSON", file_count="multiple",
                     elem_id="eval-export", visible=False, interactive=False)
    rows = gr.State([])
    all_outputs = [status, summary, *plots, latency, show, questions, export, rows]  # OUTPUTS of them
    jobs = jobs if jobs is not None else Jobs()  # Cancel is cooperative: the job stops at its next decode step
    with gr.Accordion("Metric definitions (docs/evaluation.md)", open=False, elem_id="eval-docs"):
        gr.Markdown(docs_markdown())

    inputs = [set_name, upload, arms, limit, corpus, top_k, max_new_tokens, temperature, lora, raft, use_cache]
    # A quick validated step swaps Evaluate for Cancel, so Cancel is clickable only while a run is active.
    job_buttons(jobs, [run], cancel).wire(run, bind(evaluate, wb, corpora, jobs, sets), inputs, all_outputs,
                                          validator=validate, api_name="evaluate", concurrency_id="evaluate",
                                          concurrency_limit=wb.concurrency, show_progress_on=[status])
    show.change(filter_rows, [rows, show], questions, api_name="eval_filter", queue=False)
