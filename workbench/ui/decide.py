"""The Decide tab: one click from a corpus to "RAG or fine-tuning?", measured.

Thin: it starts `decide.run_decide` in a run folder under the data directory, streams its progress, and shows
the report the pipeline wrote (verdict, per-arm table with intervals, break-even chart). Past runs are listed and
reopened; an unfinished one resumes from its last finished stage.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
import pandas as pd

from ..decide import DEFAULT_BUDGET_MINUTES, Progress, run_decide
from ..decide.estimate import estimate_budget
from ..decide.needs import best_label, format_figure
from ..decide.recheck import recheck
from ..decide.report import DEFAULT_QUERIES_PER_DAY, cost_queries
from ..decide.verdict import cost_curve
from ..retrieval.ingest import shipped_corpora
from ..retrieval.sessions import check_access, display_name
from ..retrieval.store import StoreError
from ..validation import check_number
from .stopping import Stops, cancel_for_api_clients

if TYPE_CHECKING:
    from ..engine import Workbench

HELP = """**Decide** answers *should I use RAG or fine-tuning for these documents?* on the corpus you choose: it
writes questions from the documents (offline), holds out a quarter of the facts as a test set, trains a **lora**
adapter with the knowledge recipe (the documents plus several phrasings of each training question) and a **raft**
adapter, and evaluates the four arms on the held-out questions, on questions whose passages it withholds (does an
arm admit the documents do not say?) and on training facts it changes in a copy of the documents (does an arm
follow the update?). The report opens with a table per need (accuracy, updates, admitting, short exact answers,
cost at your queries a day), each with its best arm and 95 % interval, then latency, prompt size, training time
and when fine-tuning pays back its training. The budget sizes the run (questions and epochs); a run that stops
(cancel, restart) resumes from its last finished stage.

Any corpus with at least **6 answerable facts** (sentences with a number, name, date or code) runs: a few short
documents give fewer test questions and wider intervals, and the report says which differences they can tell
apart."""


def runs_root(settings) -> Path:
    return settings.data_path / "decide"


def _visible(session, corpus: str) -> bool:
    try:
        check_access(session, corpus)
        return True
    except StoreError:
        return False


def list_runs(settings, session=None) -> list[tuple[str, str]]:
    """(label, folder name) of the past runs this session may see (shared corpora and its own), newest first."""
    root = runs_root(settings)
    runs = []
    for folder in sorted(root.glob("*/run.json"), key=lambda p: p.stat().st_mtime, reverse=True):
        try:
            data = json.loads(folder.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if not _visible(session, data.get("corpus", "")):
            continue
        done = "report" in data.get("done", {})
        runs.append((f"{folder.parent.name} — {data['corpus']}, {'finished' if done else 'unfinished'}",
                     folder.parent.name))
    return runs


EMPTY = ("No report yet: choose a corpus and a budget and press **Decide**, or open a past run. The verdict, a "
         "table per arm and the cost chart appear here.")


def _shared_memory(report: dict) -> float | None:
    """The peak memory when every arm reports the same figure (one process served them all), else None."""
    values = {v.get("peak_memory_mib") for v in report["summary"].values()}
    return values.pop() if len(values) == 1 else None


def summary_frame(report: dict) -> pd.DataFrame:
    """One column per arm and one row per figure (five narrow columns fit a phone), each figure rounded to what
    it means; a peak memory the arms share is left to `memory_line`."""
    def figures(v: dict) -> dict[str, str]:
        lo, hi = v["ci95"]
        out = {"contains the answer (95 % CI)": f"{v['contains'] * 100:.0f} % ({lo * 100:.0f}–{hi * 100:.0f})",
               "F1": f"{v['f1']:.2f}", "median time per answer": f"{v['total_p50_ms'] / 1000:.1f} s",
               "prompt tokens": f"{v['prompt_tokens']:,.0f}",
               "training": f"{v['training_minutes']:.1f} min" if v["training_minutes"] else "none"}
        if _shared_memory(report) is None:
            out["peak memory"] = f"{v['peak_memory_mib']:,.0f} MiB"
        return out

    columns = {arm: figures(v) for arm, v in report["summary"].items()}
    names = list(next(iter(columns.values()), {}))
    return pd.DataFrame({"figure": names, **{arm: [col[n] for n in names] for arm, col in columns.items()}})


def needs_frame(report: dict) -> pd.DataFrame:
    """The decision table: per need, the best arm, its figure with a 95 % interval, and whether the lead is clear."""
    return pd.DataFrame([{"need": r["need"], "best arm": best_label(r), "figure (95 % CI)": format_figure(r),
                          "lead": "clear" if r["clear"] else "not clear"} for r in report.get("needs", [])])


def memory_line(report: dict) -> str:
    """The process's peak memory, said once when the arms share it."""
    mib = _shared_memory(report)
    if not mib:
        return ""
    kind = report.get("memory_kind") or "not reported"
    return (f"Peak memory: **{mib:,.0f} MiB** for the whole process ({kind}), shared by the four arms; on CPU it "
            "includes the training stages that ran before.")


def curve_frame(report: dict) -> pd.DataFrame:
    """Cumulative seconds (training + queries) per arm over a range that shows the training cost and where the
    lines cross; recomputed from the summary, so runs reported before keep a readable chart too."""
    s = report["summary"]
    queries = cost_queries(s, report.get("break_even_queries", {}))
    return pd.DataFrame([{"queries": n, "arm": arm, "seconds": seconds}
                         for arm in ("rag", "lora", "raft") if arm in s
                         for n, seconds in zip(queries, cost_curve(s[arm]["training_minutes"] * 60,
                                                                   s[arm]["total_p50_ms"], queries))])


def chart_caption(report: dict) -> str:
    s, parts = report["summary"], []
    for arm, n in report.get("break_even_queries", {}).items():
        minutes = s[arm]["training_minutes"]
        parts.append(f"{arm} pays back its {minutes:.1f} min of training after ~{n:,} queries" if n else
                     f"{arm} never pays back its {minutes:.1f} min of training (not faster per query than rag)")
    return "Training is the cost at 0 queries; " + "; ".join(parts) + "." if parts else ""


def progress_line(p: Progress) -> str:
    eta = f" — about {p.eta_s / 60:.1f} min left" if p.eta_s is not None else ""
    return f"**Stage {p.done_stages + 1} of {p.total_stages}: {p.message}** ({p.fraction * 100:.0f} % of the run){eta}"


def _done_stages(folder: Path) -> list[str]:
    try:
        return list(json.loads((folder / "run.json").read_text()).get("done", {}))
    except (OSError, json.JSONDecodeError):
        return []


def failure_line(exc: BaseException, folder: Path, corpus: str) -> str:
    """Why a run stopped, for the status line: in the person's terms (their corpus's name, not the session
    collection's), and "Open / resume" only where resuming can help (a refusal of the corpus or budget cannot)."""
    text = str(exc).replace(corpus, display_name(corpus))
    text = text.strip().rstrip(".") + "."
    done = _done_stages(folder)
    if isinstance(exc, ValueError):  # DecideError, BudgetError, bad input: the message says what to do
        return f"**Decide stopped:** {text}"
    logging.getLogger(__name__).error("Decide run %s failed", folder.name, exc_info=exc)
    line = f"**Decide failed** ({type(exc).__name__}: {text})"
    if done:
        line += (f" The finished stages ({', '.join(done)}) are kept: choose the run under Past runs and press "
                 "**Open / resume** to continue.")
    return line


SLIDER_MIN, SLIDER_MAX = 5, 120


def estimate_line(wb: Workbench, corpus: str | None, budget: float | None) -> tuple[str, dict]:
    """What the chosen corpus needs, before pressing Decide, and the budget slider bounded by it."""
    if not corpus or not wb.store.exists(corpus):
        return "", gr.update(minimum=SLIDER_MIN)
    words = sum(len(c.text.split()) for c in wb.store.chunks(corpus))
    guess = estimate_budget(runs_root(wb.settings), corpus, words)
    if guess is None:
        return (f"**Budget**: no Decide run on this machine yet, so no estimate for `{display_name(corpus)}` "
                f"({words:,} words). The run measures this machine first; a budget too small stops after writing "
                "the questions and says how many minutes it needs.", gr.update(minimum=SLIDER_MIN))
    low = max(SLIDER_MIN, guess.minutes)
    value = max(float(budget or 0), low)
    return (f"**Budget**: `{display_name(corpus)}` ({words:,} words) needs at least **{guess.minutes} min** on this "
            f"machine ({guess.basis}; the machine's load moves it). More minutes buy more test questions and "
            "training; the report shows the plan.",
            gr.update(minimum=low, maximum=max(SLIDER_MAX, 2 * low), value=value))


def build_decide_tab(wb: Workbench, corpora=None) -> None:
    s = wb.settings
    gr.Markdown(HELP)
    with gr.Row():
        corpus = gr.Dropdown(corpora.offered() if corpora is not None else wb.store.corpora(), value=s.corpus,
                             label="Corpus", elem_id="decide-corpus")
        if corpora is not None:
            corpora.follow(corpus)  # this session's uploaded corpora too
        budget = gr.Slider(SLIDER_MIN, SLIDER_MAX, value=DEFAULT_BUDGET_MINUTES, step=1, label="Budget (minutes)",
                           elem_id="decide-budget")
        queries = gr.Number(DEFAULT_QUERIES_PER_DAY, precision=0, minimum=1, label="Queries you expect a day",
                            info="for the cost need of the decision table", elem_id="decide-queries")
    estimate = gr.Markdown(estimate_line(wb, corpus.value, budget.value)[0], elem_id="decide-estimate")
    with gr.Row():
        start = gr.Button("Decide", variant="primary", elem_id="decide-run")
        cancel = gr.Button("Cancel", variant="stop", interactive=False, elem_id="decide-cancel")
    with gr.Row():
        past = gr.Dropdown(list_runs(s), label="Past runs", elem_id="decide-runs", scale=3)
        reopen = gr.Button("Open / resume", elem_id="decide-open", scale=1)
        recheck_button = gr.Button("Re-check after document changes", elem_id="decide-recheck", scale=1)
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
    outputs = [status, verdict, needs, table, chart, files, past]
    stops = Stops()  # Cancel is cooperative: the run stops at its next step and the tab says so (stopping.py)

    def session_of(request):
        return corpora.session_of(request) if corpora is not None else None

    def show(folder: Path, session=None):
        report = json.loads((folder / "report.json").read_text())
        notes = [*report["reasons"], *report["plan_notes"], memory_line(report)]
        return (f"Run `{folder.name}` finished.", f"### {report['verdict']}\n\n" + "\n".join(
                    f"- {r}" for r in notes if r),
                gr.update(value=needs_frame(report), visible=bool(report.get("needs"))),
                gr.update(value=summary_frame(report), visible=True),
                gr.update(value=curve_frame(report), visible=True, caption=chart_caption(report)),
                gr.update(value=[str(folder / "report.md"), str(folder / "report.json")], visible=True),
                gr.update(choices=list_runs(s, session), value=folder.name))

    def drive(folder: Path, corpus_: str, budget_: float | None, session, run_id_: str, progress: gr.Progress,
              queries_: int | None = None):
        """Run or resume in a thread; yield status lines until it ends, then the report.

        Cancel asks the run to stop: it stops at its next training step or question (the finished stages stay
        recorded for a resume) and the tab says so. A browser that goes away closes this generator; the `finally`
        stops the run the same way."""
        if stops.asked(run_id_):  # cancelled while it waited in the queue
            yield "**Cancelled** before it started.", *[gr.skip()] * (len(outputs) - 1)
            return
        cancel_event = threading.Event()
        latest: dict = {}
        outcome: dict = {}

        def on_progress(p: Progress):
            latest["p"] = p
            progress(p.fraction, desc=p.message)

        def work():
            try:
                outcome["summary"] = run_decide(wb, corpus_, folder, budget_, on_progress=on_progress,
                                                cancel=cancel_event, queries_per_day=queries_)
            except BaseException as exc:  # shown below; the run folder keeps what finished
                outcome["error"] = exc

        worker = threading.Thread(target=work, name=f"decide {folder.name}", daemon=True)
        worker.start()
        try:
            while worker.is_alive():
                worker.join(1.0)
                if stops.asked(run_id_):
                    cancel_event.set()
                    yield ("**Cancelling:** the current training step or question finishes first …",
                           *[gr.skip()] * (len(outputs) - 1))
                elif "p" in latest:
                    yield progress_line(latest["p"]), *[gr.skip()] * (len(outputs) - 1)
        finally:
            if worker.is_alive():
                cancel_event.set()
        if cancel_event.is_set() and "summary" not in outcome:  # (a run that finished anyway shows its report)
            where = f" during stage {latest['p'].done_stages + 1} of {latest['p'].total_stages}" if "p" in latest else ""
            runs = list_runs(s, session)
            yield (f"**Cancelled**{where}. The finished stages are kept: press **Open / resume** to continue this run.",
                   *[gr.skip()] * (len(outputs) - 2),
                   gr.update(choices=runs, value=folder.name if folder.name in dict(runs).values() else None))
            return
        if "error" in outcome:
            exc = outcome["error"]
            line = failure_line(exc, folder, corpus_)
            if isinstance(exc, ValueError) and not _done_stages(folder):
                shutil.rmtree(folder, ignore_errors=True)  # refused before any stage: nothing to resume
            yield refusal(line, list_runs(s, session))
            return
        yield show(folder, session)

    def refusal(line: str, runs=None):
        """The status line says why nothing (more) runs; the report shown before stays as it was."""
        past_ = gr.update(choices=runs) if runs is not None else gr.skip()
        return line, *[gr.skip()] * (len(outputs) - 2), past_

    def decide(run_id_: str, corpus_: str, budget_: float, queries_: float | None = DEFAULT_QUERIES_PER_DAY,
               request: gr.Request = None, progress=gr.Progress()):
        if not corpus_:
            yield refusal("**Not run:** choose a corpus (upload your documents in the Corpora tab first).")
            return
        session = session_of(request)
        try:
            corpus_ = check_access(session, corpus_)  # another session's private corpus is refused
            budget_ = check_number(budget_, "budget", 1, 24 * 60)
            queries_ = check_number(queries_ or DEFAULT_QUERIES_PER_DAY, "queries a day", 1, 10**9, integer=True)
        except (StoreError, ValueError) as exc:
            yield refusal(f"**Not run:** {str(exc).rstrip('.')}.")
            return
        if corpus_ in shipped_corpora() and not wb.store.exists(corpus_):  # the first start, still indexing
            yield refusal(f"**Not run:** corpus {corpus_!r} is still being indexed (see the banner at the top); "
                          "press Decide once it is done.")
            return
        name = f"{time.strftime('%Y%m%d-%H%M%S')}-{''.join(c if c.isalnum() else '-' for c in corpus_)[:40]}"
        with stops.watching(run_id_):
            yield from drive(runs_root(s) / name, corpus_, float(budget_), session, run_id_, progress, int(queries_))

    def open_run(run_id_: str, name: str, queries_: float | None = None, request: gr.Request = None,
                 progress=gr.Progress()):
        session = session_of(request)
        folder = runs_root(s) / str(name or "")
        if not name or not any(name == value for _, value in list_runs(s, session)):
            # names only, and only runs this session may see
            yield refusal("**Not opened:** choose one of the past runs listed.", list_runs(s, session))
            return
        data = json.loads((folder / "run.json").read_text())
        try:
            queries_ = check_number(queries_, "queries a day", 1, 10**9, integer=True) if queries_ else None
        except ValueError as exc:
            yield refusal(f"**Not opened:** {str(exc).rstrip('.')}.")
            return
        same_rate = queries_ in (None, data.get("state", {}).get("queries_per_day", DEFAULT_QUERIES_PER_DAY))
        if (folder / "report.json").is_file() and same_rate:
            yield show(folder, session)
            return
        with stops.watching(run_id_):  # resumes; a finished run with a new query rate only writes its report again
            yield from drive(folder, data["corpus"], None, session, run_id_, progress, queries_ and int(queries_))

    def recheck_run(name: str, request: gr.Request = None):
        """Ask a finished run's arms about the facts that changed since it ran (decide/recheck.py)."""
        if not name or not any(name == value for _, value in list_runs(s, session_of(request))):
            return "**Not re-checked:** choose one of the past runs listed.", gr.skip()
        result = recheck(wb, runs_root(s) / name)
        frame = pd.DataFrame([{"arm": arm, "follows the documents": f"{v['follows'] * 100:.0f} %",
                               "stale (the old value)": f"{v['stale'] * 100:.0f} %", "questions": v["n"]}
                              for arm, v in result["updates"].items()])
        return result["line"], gr.update(value=frame, visible=bool(result["updates"]))

    def running():
        """Decide and Open / resume locked, Cancel unlocked, and a new id for the run (what Cancel names)."""
        return gr.update(interactive=False), gr.update(interactive=False), gr.update(interactive=True), stops.new_id()

    def idle():
        return gr.update(interactive=True), gr.update(interactive=True), gr.update(interactive=False)

    def cancelled(run_id_):
        stops.ask(run_id_)
        return gr.update(interactive=False)  # the buttons come back when the run has stopped

    buttons = [start, reopen, cancel]
    run_id = gr.State("")  # not part of the API
    events = []
    for button, fn, inputs, api_name in ((start, decide, [corpus, budget, queries], "decide"),
                                         (reopen, open_run, [past, queries], "decide_open")):
        lock = button.click(running, None, [*buttons, run_id], show_progress="hidden", api_visibility="private")
        # Progress and any error show on the status line only: no error badge on the other outputs.
        event = lock.success(fn, [run_id, *inputs], outputs, api_name=api_name, concurrency_id="model",
                             concurrency_limit=wb.concurrency, show_progress_on=[status])
        # The page runs a .then() only after an event that did not fail; .failure() covers one that did (an
        # unexpected error, a lost connection), so the buttons always come back.
        for after in (event.then, event.failure):
            after(idle, None, buttons, queue=False, show_progress="hidden", api_visibility="private")
        events.append(event)
    cancel.click(cancelled, run_id, cancel, queue=False, api_visibility="private")
    recheck_button.click(recheck_run, past, [status, rechecked], api_name="decide_recheck", concurrency_id="model",
                         concurrency_limit=wb.concurrency, show_progress_on=[status])
    corpus.change(lambda c, b: estimate_line(wb, c, b), [corpus, budget], [estimate, budget], queue=False,
                  show_progress="hidden", api_visibility="private")
    for event in events:  # a run (finished or refused for its budget) may have measured what the corpus needs
        event.then(lambda c, b: estimate_line(wb, c, b), [corpus, budget], [estimate, budget], queue=False,
                   show_progress="hidden", api_visibility="private")
    for event in events:
        cancel_for_api_clients(event)
