"""The Decide tab: one click from a corpus to "RAG or fine-tuning?", measured.

Thin: before a run it shows the plan for the chosen corpus and budget (decide/preview.py). A run, a resume and a
re-check are jobs of the app's job layer (decide.pipeline.decide_work, decide.recheck.recheck_work;
workbench/jobs.py) whose progress the tab streams; Cancel stops one at its next training step or question. The
tab then shows the report the pipeline wrote (verdict, the tables per need and per arm with intervals, the
break-even chart; ui/decide_runs.py). The jobs have their own queue, not the comparisons': a comparison goes in
between two decode steps of their questions, and their trainings run in a worker process at a lower CPU priority,
so Compare keeps answering. Past runs are listed and reopened; an unfinished one resumes from its last finished stage.

`layout` places the components, `wire` binds the handlers below (plain functions of the tab's `DecideTab` and the
event's values; ui/wiring.py) to their events.
"""

from __future__ import annotations

import json
import logging
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterator

import gradio as gr
import pandas as pd

from ..decide import DEFAULT_BUDGET_MINUTES, DecideError, decide_work, stage_position
from ..decide.estimate import latest_measurement
from ..decide.preview import FiguresCache, describe, make_preview
from ..decide.recheck import recheck_work
from ..decide.report import DEFAULT_QUERIES_PER_DAY
from ..decide.stages import STAGES
from ..jobs import JobCancelled, Jobs, Progress
from ..retrieval.ingest import shipped_corpora
from ..retrieval.sessions import check_access, display_name
from ..retrieval.store import StoreError
from ..training.trainer import TrainingCancelled
from ..validation import check_number
from .decide_runs import (chart_caption, curve_frame, done_stages, failure_line, list_runs, memory_line,
                          needs_frame, runs_root, summary_frame)
from .jobview import job_buttons
from .wiring import bind

if TYPE_CHECKING:
    from ..engine import Workbench

HELP = """**Decide** answers *should I use RAG or fine-tuning for these documents?* on the corpus you choose: it
writes questions from the documents (offline), holds out a quarter of the facts as a test set, trains a **lora**
adapter with the knowledge recipe (the documents plus a question for each training fact, repeated) and a **raft**
adapter, and evaluates the four arms on the held-out questions, on questions whose passages it withholds (does an
arm admit the documents do not say?) and on training facts it changes in a copy of the documents (does an arm
follow the update?); once everything is measured, the lora adapter learns the held-out facts too, so the one
you take knows every fact found. The report opens with a table per need (accuracy, updates, admitting, short
exact answers, cost at your queries a day), each with its best arm and 95 % interval, then latency, prompt size,
training time and when fine-tuning pays back its training. The budget sizes the run (questions and epochs): the
plan under it shows, before you press Decide, what each stage will run and for how long. A run that stops (cancel,
restart) resumes from its last finished stage; Compare keeps answering while a run goes on.

Any corpus with at least **6 answerable facts** (sentences with a number, name, date or code) runs: a few short
documents give fewer test questions and wider intervals, and the report says which differences they can tell
apart."""


EMPTY = ("No report yet: choose a corpus and a budget and press **Decide**, or open a past run. The verdict, a "
         "table per arm and the cost chart appear here.")
NO_PLAN = "Choose a corpus: its plan (the stages, their questions and minutes) appears here."
SLIDER_MIN, SLIDER_MAX = 5, 120
CANCELLING = "**Cancelling:** the current training step or question finishes first …"


def progress_line(p: Progress) -> str:
    eta = f" — about {p.eta_s / 60:.1f} min left" if p.eta_s is not None else ""
    return f"**{p.message}** ({p.fraction * 100:.0f} % of the run){eta}"


@dataclass
class DecideTab:
    """What the handlers need: the workbench, the app's corpus sessions (None: no session corpora), the app's jobs
    (what Cancel names) and the plan's figures per corpus."""

    wb: Workbench
    corpora: Any = None
    jobs: Jobs = field(default_factory=Jobs)
    figures: FiguresCache = field(default_factory=FiguresCache)

    def session_of(self, request: gr.Request | None):
        return self.corpora.session_of(request) if self.corpora is not None else None

    def runs(self, session) -> list[tuple[str, str]]:
        return list_runs(self.wb.settings, session)


@dataclass
class View:
    """The tab's components."""

    corpus: gr.Dropdown
    budget: gr.Slider
    queries: gr.Number
    plan: gr.Markdown
    start: gr.Button
    cancel: gr.Button
    past: gr.Dropdown
    reopen: gr.Button
    recheck: gr.Button
    status: gr.Markdown
    verdict: gr.Markdown
    needs: gr.DataFrame
    table: gr.DataFrame
    chart: gr.LinePlot
    rechecked: gr.DataFrame
    files: gr.File
    run_id: gr.State

    @property
    def outputs(self) -> list:
        """What a run or a resume shows; `status_only` and `show_report` fill them in this order."""
        return [self.status, self.verdict, self.needs, self.table, self.chart, self.files, self.past]

    @property
    def buttons(self) -> list:
        return [self.start, self.reopen, self.recheck, self.cancel]


# --- handlers ---------------------------------------------------------------------------------------------
def status_only(line: str, past=None) -> tuple:
    """The status line says `line`; the report shown before stays as it was; `past` updates the run list."""
    return line, *[gr.skip()] * 5, (gr.skip() if past is None else past)


def show_report(tab: DecideTab, folder: Path, session) -> tuple:
    report = json.loads((folder / "report.json").read_text())
    notes = [*report["reasons"], *report["plan_notes"], memory_line(report)]
    return (f"Run `{folder.name}` finished.",
            f"### {report['verdict']}\n\n" + "\n".join(f"- {r}" for r in notes if r),
            gr.update(value=needs_frame(report), visible=bool(report.get("needs"))),
            gr.update(value=summary_frame(report), visible=True),
            gr.update(value=curve_frame(report), visible=True, caption=chart_caption(report)),
            gr.update(value=[str(folder / "report.md"), str(folder / "report.json")], visible=True),
            gr.update(choices=tab.runs(session), value=folder.name))


def ending(tab: DecideTab, job, latest: Progress | None, folder: Path, corpus: str, session) -> tuple:
    """What the tab shows once a run's job has ended: its report, that it was cancelled (a run that finished
    anyway shows its report), or why it stopped."""
    try:
        job.result()
    except (JobCancelled, TrainingCancelled):
        if latest is None:
            return status_only("**Cancelled** before it started.")
        k, n = stage_position(latest.stage)
        runs = tab.runs(session)
        return status_only(f"**Cancelled** during stage {k} of {n}. The finished stages are kept: press **Open / "
                           "resume** to continue this run.",
                           gr.update(choices=runs, value=folder.name if folder.name in dict(runs).values() else None))
    except Exception as exc:  # said on the status line; the run folder keeps what finished
        line = failure_line(exc, folder, corpus)
        if isinstance(exc, ValueError) and not done_stages(folder):
            shutil.rmtree(folder, ignore_errors=True)  # refused before any stage: nothing to resume
        return status_only(line, gr.update(choices=tab.runs(session)))
    return show_report(tab, folder, session)


def follow_run(tab: DecideTab, work, run_id: str, folder: Path, corpus: str, session,
               progress: gr.Progress) -> Iterator[tuple]:
    """Start a run's job under `run_id` and yield its status lines, then how it ended. Cancel stops it at its next
    training step or question (the finished stages stay recorded for a resume); a page or API client that goes
    away closes this generator, and the `finally` stops the job the same way."""
    job = tab.jobs.start(work, name=f"decide {folder.name}", stages=tuple(name for name, _ in STAGES),
                         job_id=run_id or None)
    latest = None
    try:
        for p in job.events():
            if p is not None:
                latest = p
                progress(p.fraction, desc=p.message)
            if job.cancelled.is_set():
                yield status_only(CANCELLING)
            elif latest is not None:
                yield status_only(progress_line(latest))
        yield ending(tab, job, latest, folder, corpus, session)
    finally:
        job.cancel()
        tab.jobs.forget(job)


def new_run_folder(root: Path, corpus: str) -> Path:
    """A run folder named by the time and the corpus as its owner calls it (a session corpus's collection name
    carries the session id, which the page never shows); a second run in the same second gets a suffix."""
    stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{''.join(c if c.isalnum() else '-' for c in display_name(corpus))[:40]}"
    folder, k = root / stem, 2
    while folder.exists():
        folder, k = root / f"{stem}-{k}", k + 1
    return folder


def start_decide(tab: DecideTab, run_id: str, corpus: str, budget: float,
                 queries: float | None = DEFAULT_QUERIES_PER_DAY, request: gr.Request = None,
                 progress=gr.Progress()) -> Iterator[tuple]:
    """Decide on `corpus` within `budget` minutes, in a new run folder (api "decide")."""
    if not corpus:
        yield status_only("**Not run:** choose a corpus (upload your documents in the Corpora tab first).")
        return
    session = tab.session_of(request)
    try:
        corpus = check_access(session, corpus)  # another session's private corpus is refused
        budget = check_number(budget, "budget", 1, 24 * 60)
        queries = check_number(queries or DEFAULT_QUERIES_PER_DAY, "queries a day", 1, 10**9, integer=True)
    except (StoreError, ValueError) as exc:
        yield status_only(f"**Not run:** {str(exc).rstrip('.')}.")
        return
    if corpus in shipped_corpora() and not tab.wb.store.exists(corpus):  # the first start, still indexing
        yield status_only(f"**Not run:** corpus {corpus!r} is still being indexed (see the banner at the top); "
                          "press Decide once it is done.")
        return
    folder = new_run_folder(runs_root(tab.wb.settings), corpus)
    work = decide_work(tab.wb, corpus, folder, float(budget), int(queries))
    yield from follow_run(tab, work, run_id, folder, corpus, session, progress)


def open_run(tab: DecideTab, run_id: str, name: str, queries: float | None = None, request: gr.Request = None,
             progress=gr.Progress()) -> Iterator[tuple]:
    """Show a past run's report, or resume it (api "decide_open"); a finished run with a new query rate only
    writes its report again."""
    session = tab.session_of(request)
    runs = tab.runs(session)
    if not name or name not in dict(runs).values():  # names only, and only runs this session may see
        yield status_only("**Not opened:** choose one of the past runs listed.", gr.update(choices=runs))
        return
    folder = runs_root(tab.wb.settings) / name
    data = json.loads((folder / "run.json").read_text())
    try:
        queries = check_number(queries, "queries a day", 1, 10**9, integer=True) if queries else None
    except ValueError as exc:
        yield status_only(f"**Not opened:** {str(exc).rstrip('.')}.")
        return
    if (folder / "report.json").is_file() and queries in (
            None, data.get("state", {}).get("queries_per_day", DEFAULT_QUERIES_PER_DAY)):
        yield show_report(tab, folder, session)
        return
    work = decide_work(tab.wb, data["corpus"], folder, None, queries and int(queries))
    yield from follow_run(tab, work, run_id, folder, data["corpus"], session, progress)


def recheck_frame(result: dict) -> pd.DataFrame:
    return pd.DataFrame([{"arm": arm, "follows the documents": f"{v['follows'] * 100:.0f} %",
                          "stale (the old value)": f"{v['stale'] * 100:.0f} %", "questions": v["n"]}
                         for arm, v in result["updates"].items()])


def recheck_run(tab: DecideTab, run_id: str, name: str, request: gr.Request = None,
                progress=gr.Progress()) -> Iterator[tuple]:
    """Ask a finished run's arms about the facts that changed since it ran (decide/recheck.py) as a job
    (api "decide_recheck"); Cancel stops it at its next question, before anything is written."""
    if not name or name not in dict(tab.runs(tab.session_of(request))).values():
        yield "**Not re-checked:** choose one of the past runs listed.", gr.skip()
        return
    job = tab.jobs.start(recheck_work(tab.wb, runs_root(tab.wb.settings) / name), name=f"recheck {name}",
                         stages=("recheck",), job_id=run_id or None)
    try:
        for p in job.events():
            if job.cancelled.is_set():
                yield "**Cancelling:** the current question finishes first …", gr.skip()
            elif p is not None:
                progress(p.fraction, desc=p.message)
                yield f"**Re-checking run `{name}`:** {p.message}", gr.skip()
        try:
            result = job.result()
        except JobCancelled:
            yield "**Re-check cancelled**: nothing was written; the run is as it was.", gr.skip()
            return
        except Exception as exc:  # said on the status line
            logging.getLogger(__name__).error("re-check of %s failed", name, exc_info=exc)
            yield f"**Re-check failed** ({type(exc).__name__}: {str(exc).rstrip('.')}).", gr.skip()
            return
        yield result["line"], gr.update(value=recheck_frame(result), visible=bool(result["updates"]))
    finally:
        job.cancel()
        tab.jobs.forget(job)


def show_plan(tab: DecideTab, corpus: str | None, budget: float | None, request: gr.Request = None) -> tuple:
    """The plan for `corpus` and `budget` (decide/preview.py), or why it cannot run, and the budget slider bounded
    by the minimum budget (a lower budget is raised to it)."""
    unbounded = gr.update(minimum=SLIDER_MIN)
    if not corpus:
        return NO_PLAN, unbounded
    try:
        corpus = check_access(tab.session_of(request), corpus)
    except StoreError as exc:
        return f"**Decide cannot run:** {str(exc).rstrip('.')}.", unbounded
    if corpus in shipped_corpora() and not tab.wb.store.exists(corpus):
        return (f"Corpus `{corpus}` is still being indexed (see the banner at the top); its plan appears once it "
                "is done.", unbounded)
    try:
        figures = tab.figures.get(tab.wb, corpus)
    except DecideError as exc:
        return f"**Decide cannot run on `{display_name(corpus)}`:** {str(exc).rstrip('.')}.", unbounded
    measured = latest_measurement(runs_root(tab.wb.settings))
    try:
        budget = float(budget) if budget else DEFAULT_BUDGET_MINUTES
    except (TypeError, ValueError):
        budget = DEFAULT_BUDGET_MINUTES
    preview = make_preview(figures, budget, measured)
    if preview.min_minutes and budget < preview.min_minutes:  # what the slider will show: the minimum
        budget = float(preview.min_minutes)
        preview = make_preview(figures, budget, measured)
    low = max(SLIDER_MIN, preview.min_minutes or SLIDER_MIN)
    return describe(preview, corpus), gr.update(minimum=low, maximum=max(SLIDER_MAX, 2 * low), value=max(budget, low))


# --- layout and wiring --------------------------------------------------------------------------------------
def layout(tab: DecideTab) -> View:
    s = tab.wb.settings
    corpora = tab.corpora
    gr.Markdown(HELP)
    with gr.Row():
        corpus = gr.Dropdown(corpora.offered() if corpora is not None else tab.wb.store.corpora(), value=s.corpus,
                             label="Corpus", elem_id="decide-corpus")
        if corpora is not None:
            corpora.follow(corpus)  # this session's uploaded corpora too
        budget = gr.Slider(SLIDER_MIN, SLIDER_MAX, value=DEFAULT_BUDGET_MINUTES, step=1, label="Budget (minutes)",
                           elem_id="decide-budget")
        queries = gr.Number(DEFAULT_QUERIES_PER_DAY, precision=0, minimum=1, label="Queries you expect a day",
                            info="for the cost need of the decision table", elem_id="decide-queries")
    plan = gr.Markdown(NO_PLAN, elem_id="decide-estimate")
    with gr.Row():
        start = gr.Button("Decide", variant="primary", elem_id="decide-run")
        cancel = gr.Button("Cancel", variant="stop", interactive=False, elem_id="decide-cancel")
    with gr.Row():
        past = gr.Dropdown(list_runs(s), label="Past runs", elem_id="decide-runs", scale=3)
        reopen = gr.Button("Open / resume", elem_id="decide-open", scale=1)
        recheck = gr.Button("Re-check after document changes", elem_id="decide-recheck", scale=1)
    status = gr.Markdown(EMPTY, elem_id="decide-status")
    verdict = gr.Markdown(elem_id="decide-verdict")
    needs = gr.DataFrame(label="Per need: the best arm, its figure, and whether its lead is clear", wrap=True,
                         elem_id="decide-needs", visible=False, interactive=False)
    # Hidden until a report exists: an empty table, plot and file box before any run say nothing.
    table = gr.DataFrame(label="Per arm on the held-out questions (base: the model alone; rag: retrieval; lora: "
                               "fine-tuned, closed book; raft: fine-tuned with retrieval)", wrap=True,
                         elem_id="decide-summary", column_widths=["28%", "18%", "18%", "18%", "18%"],
                         visible=False, interactive=False)
    chart = gr.LinePlot(x="queries", y="seconds", color="arm", title="Cumulative compute: training + queries",
                        x_title="queries answered", y_title="seconds", x_axis_format="~s", y_axis_format="~s",
                        elem_id="decide-chart", visible=False)
    rechecked = gr.DataFrame(label="Re-check: the changed facts, asked of the run's arms without retraining",
                             elem_id="decide-recheck-table", visible=False, interactive=False)
    files = gr.File(label="report.md, report.json", file_count="multiple", elem_id="decide-files", visible=False,
                    interactive=False, height=90)
    return View(corpus, budget, queries, plan, start, cancel, past, reopen, recheck, status, verdict, needs, table,
                chart, rechecked, files, gr.State(""))  # the job id: not part of the API


def wire(tab: DecideTab, v: View, app_tab: gr.Tab | None = None) -> None:
    """Each job button locks the buttons and gets a new job id in a quick step, then runs its handler in the jobs'
    own queue; the buttons come back however it ends. The plan follows the corpus and the budget."""
    plan = dict(fn=bind(show_plan, tab), inputs=[v.corpus, v.budget], outputs=[v.plan, v.budget],
                concurrency_id="decide_plan", concurrency_limit=1, show_progress_on=[v.plan], api_visibility="private")
    buttons = job_buttons(tab.jobs, v.buttons, v.cancel, v.run_id)
    for button, handler, inputs, outputs, api_name in (
            (v.start, start_decide, [v.corpus, v.budget, v.queries], v.outputs, "decide"),
            (v.reopen, open_run, [v.past, v.queries], v.outputs, "decide_open"),
            (v.recheck, recheck_run, [v.past], [v.status, v.rechecked], "decide_recheck")):
        # Progress and any error show on the status line only: no error badge on the other outputs.
        event = buttons.wire(button, bind(handler, tab), inputs, outputs, api_name=api_name,
                             concurrency_id="decide", concurrency_limit=1, show_progress_on=[v.status])
        if handler is not recheck_run:  # a run may have measured this machine: the plan's minutes change
            event.then(**plan)
    v.corpus.change(**plan)
    v.budget.release(**plan)
    if app_tab is not None:
        app_tab.select(**plan)


def build_decide_tab(wb: Workbench, corpora=None, jobs: Jobs | None = None, app_tab: gr.Tab | None = None) -> None:
    """`corpora` (the app's CorpusSessions) is what a chosen corpus is checked against (None: no session corpora);
    `jobs` the app's running jobs; `app_tab` the Tab this is built in (its plan is shown when it is opened)."""
    tab = DecideTab(wb, corpora, jobs if jobs is not None else Jobs())
    wire(tab, layout(tab), app_tab)
