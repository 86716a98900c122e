"""The Decide tab's past runs: those a session may see, how a run's report.json is shown (the table per need,
the table per arm, the peak memory line, the break-even chart and its caption) and how a run that stopped is
said. Plain functions from run folders and the report's dict to what Gradio displays."""

from __future__ import annotations

import json
import logging
import shutil
from pathlib import Path
from typing import Iterator

import pandas as pd

from ..adapters import split_owned
from ..decide.needs import best_label, format_figure
from ..decide.report import cost_queries
from ..decide.verdict import cost_curve
from ..retrieval.sessions import check_access, display_name
from ..retrieval.store import StoreError


def runs_root(settings) -> Path:
    return settings.data_path / "decide"


def _records(root: Path) -> Iterator[tuple[Path, dict]]:
    """Each run folder under `root` with its run.json (folders without a readable one are left out)."""
    for record in root.glob("*/run.json"):
        try:
            data = json.loads(record.read_text())
        except (OSError, json.JSONDecodeError):
            continue
        if isinstance(data, dict) and isinstance(data.get("corpus", ""), str):
            yield record.parent, data


def _owner(data: dict) -> str | None:
    """The session whose corpus a run was on (a session collection is named like a session's adapter), or None."""
    owned = split_owned(data.get("corpus", ""))
    return owned[0] if owned else None


def session_runs(root: Path, sid: str) -> list[Path]:
    """The run folders under `root` whose corpus is one of session `sid`'s (they go when its corpora do)."""
    return [folder for folder, data in _records(root) if _owner(data) == sid]


def remove_session_runs(wb, root: Path, sid: str) -> int:
    """Delete session `sid`'s run folders (when its corpora expire), their adapters detached from the model first;
    returns how many went."""
    runs = session_runs(root, sid)
    for folder in runs:
        wb.detach_adapters(folder)
        shutil.rmtree(folder, ignore_errors=True)
    return len(runs)


def run_sessions(root: Path) -> set[str]:
    """The sessions that have run folders under `root` (at start-up: those of a previous run)."""
    return {sid for _, data in _records(root) if (sid := _owner(data))}


def _modified(folder: Path) -> float:
    try:
        return (folder / "run.json").stat().st_mtime
    except OSError:  # deleted since it was listed (its session expired)
        return 0.0


def _visible(session, corpus: str) -> bool:
    try:
        check_access(session, corpus)
        return True
    except StoreError:
        return False


def list_runs(settings, session=None) -> list[tuple[str, str]]:
    """(label, folder name) of the past runs this session may see (shared corpora and its own), newest first."""
    runs = []
    for folder, data in sorted(_records(runs_root(settings)), key=lambda r: _modified(r[0]), reverse=True):
        if not _visible(session, data.get("corpus", "")):
            continue
        done = "report" in data.get("done", {})
        runs.append((f"{folder.name} — {display_name(data['corpus'])}, {'finished' if done else 'unfinished'}",
                     folder.name))
    return runs


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


def done_stages(folder: Path) -> list[str]:
    try:
        return list(json.loads((folder / "run.json").read_text()).get("done", {}))
    except (OSError, json.JSONDecodeError):
        return []


def failure_line(exc: BaseException, folder: Path, corpus: str) -> str:
    """Why a run stopped, for the status line: in the person's terms (their corpus's name, not the session
    collection's), and "Open / resume" only where resuming can help (a refusal of the corpus or budget cannot)."""
    text = str(exc).replace(corpus, display_name(corpus))
    text = text.strip().rstrip(".") + "."
    done = done_stages(folder)
    if isinstance(exc, ValueError):  # DecideError, BudgetError, bad input: the message says what to do
        return f"**Decide stopped:** {text}"
    logging.getLogger(__name__).error("Decide run %s failed", folder.name, exc_info=exc)
    line = f"**Decide failed** ({type(exc).__name__}: {text})"
    if done:
        line += (f" The finished stages ({', '.join(done)}) are kept: choose the run under Past runs and press "
                 "**Open / resume** to continue.")
    return line
