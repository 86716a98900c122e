"""Run the Decide stages in order over one run folder; a restart resumes after the last finished stage.

run.json holds the request (corpus, budget, seed), the state each finished stage added, and when each finished.
Writing it is atomic (a temp file renamed over it), so a kill at any moment leaves the last good record.

A run is a job of the app's job layer (workbench/jobs.py): `decide_work` hands its progress to the job as
`jobs.Progress` (done and total are seconds of the whole run, as the plan expects them) and stops at the next
training step or question once the job is cancelled.
"""

from __future__ import annotations

import json
import os
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Callable

from ..jobs import Progress
from .plan import BudgetError
from .stages import STAGES, DecideError

if TYPE_CHECKING:
    from ..engine import Workbench

DEFAULT_BUDGET_MINUTES = 20.0


STAGE_SECONDS = {"qa": 30.0, "plan": 40.0, "report": 5.0}
"""Expected seconds of the stages the plan does not size (question generation, the speed probe, the report)."""


def stage_seconds(plan: dict) -> dict[str, float]:
    """Expected seconds per stage: the plan's (as run.json records it; zero before it exists) for the stages it
    sizes, STAGE_SECONDS for the others."""
    criteria = plan.get("criteria_seconds", 0.0)
    return {**STAGE_SECONDS, "lora": plan.get("lora_seconds", 0.0), "raft": plan.get("raft_seconds", 0.0),
            "eval": plan.get("eval_seconds", 0.0), "unanswerable": criteria / 2, "updates": criteria / 2,
            "refit": plan.get("refit_seconds", 0.0)}


def stage_position(stage: str) -> tuple[int, int]:
    """(k, n): `stage` is the k-th of the run's n stages (k is 0 for a step outside them, e.g. a re-check)."""
    names = [name for name, _ in STAGES]
    return (names.index(stage) + 1 if stage in names else 0), len(names)


@dataclass
class DecideRun:
    path: Path
    corpus: str
    budget_minutes: float = DEFAULT_BUDGET_MINUTES
    seed: int = 0
    state: dict = field(default_factory=dict)
    done: dict = field(default_factory=dict)
    """stage -> seconds it took (finished stages only)."""
    cancel: threading.Event | None = None
    on_progress: Callable[[Progress], None] | None = None
    _stage_started: float = 0.0
    _stage: str = ""

    # --- the record ------------------------------------------------------------------------------------
    @classmethod
    def open(cls, path: str | Path, corpus: str, budget_minutes: float | None = None, **kw) -> "DecideRun":
        """A new run in `path`, or the one recorded there (same corpus) to resume."""
        path = Path(path)
        record = path / "run.json"
        if record.is_file():
            data = json.loads(record.read_text())
            if data["corpus"] != corpus:
                raise DecideError(f"{path} holds a Decide run for corpus {data['corpus']!r}, not {corpus!r}; "
                                  "choose another --out folder")
            # A budget given again (e.g. after "budget too small") applies to the stages still to run.
            return cls(path, corpus, budget_minutes or data["budget_minutes"], data.get("seed", 0),
                       data.get("state", {}), data.get("done", {}), **kw)
        return cls(path, corpus, budget_minutes or DEFAULT_BUDGET_MINUTES, **kw)

    def save(self) -> None:
        self.path.mkdir(parents=True, exist_ok=True)
        tmp = self.path / "run.json.tmp"
        tmp.write_text(json.dumps({"corpus": self.corpus, "budget_minutes": self.budget_minutes, "seed": self.seed,
                                   "done": self.done, "state": self.state,
                                   "updated": time.strftime("%Y-%m-%dT%H:%M:%S%z")}, indent=2))
        os.replace(tmp, self.path / "run.json")

    def adapter_dir(self, method: str) -> Path:
        return self.path / "adapters" / method

    def elapsed(self) -> float:
        """Seconds spent on finished stages plus the current one."""
        current = time.perf_counter() - self._stage_started if self._stage else 0.0
        return sum(self.done.values()) + current

    @property
    def finished(self) -> bool:
        return all(name in self.done for name, _ in STAGES)

    # --- progress ---------------------------------------------------------------------------------------
    def _estimates(self) -> dict[str, float]:
        return stage_seconds(self.state.get("plan") or {})

    def report_progress(self, stage: str, stage_fraction: float, stage_eta_s: float | None) -> None:
        """Hand on a Progress: seconds of the whole run done and expected, and "Stage k of n: stage p %". A step
        outside the run's stages (a re-check) reports its own fraction."""
        if self.on_progress is None:
            return
        k, n = stage_position(stage)
        if not k:
            self.on_progress(Progress(stage, stage_fraction, 1.0, eta_s=stage_eta_s,
                                      message=f"{stage}: {stage_fraction * 100:.0f} %"))
            return
        est = self._estimates()
        if not self.state.get("plan"):  # before the plan, the budget is the best guess of the whole
            total = self.budget_minutes * 60
        else:
            total = sum(self.done.get(name, est[name]) for name, _ in STAGES)
        spent = sum(self.done.values()) + est.get(stage, 0.0) * stage_fraction
        eta = max(0.0, total - spent) if stage_eta_s is None else stage_eta_s + sum(
            est[name] for name, _ in STAGES if name not in self.done and name != stage)
        self.on_progress(Progress(stage, round(min(spent, total), 1), round(max(total, 1.0), 1), "s", eta,
                                  f"Stage {k} of {n}: {stage} {stage_fraction * 100:.0f} %"))


def run_decide(wb: Workbench, corpus: str, out_dir: str | Path, budget_minutes: float | None = None,
               on_progress: Callable[[Progress], None] | None = None, cancel: threading.Event | None = None,
               queries_per_day: int | None = None) -> dict:
    """Run (or resume) Decide for `corpus` in `out_dir`; return the summary (see `summary`). A new
    `queries_per_day` on a finished run writes its report again (the cost need depends on it)."""
    if budget_minutes is not None and not (0 < budget_minutes <= 24 * 60):
        raise DecideError(f"budget must be between 1 and 1440 minutes, got {budget_minutes:g}")
    if queries_per_day is not None and not (1 <= queries_per_day <= 10**9):
        raise DecideError(f"queries per day must be between 1 and 1,000,000,000, got {queries_per_day:g}")
    run = DecideRun.open(out_dir, corpus, budget_minutes, cancel=cancel, on_progress=on_progress)
    if queries_per_day is not None and run.state.get("queries_per_day") != int(queries_per_day):
        run.state["queries_per_day"] = int(queries_per_day)
        run.done.pop("report", None)
    run.save()
    for name, stage in STAGES:
        if name in run.done:
            continue
        if cancel is not None and cancel.is_set():
            raise InterruptedError("Decide was cancelled; run it again to resume from the last finished stage")
        run._stage, run._stage_started = name, time.perf_counter()
        run.report_progress(name, 0.0, None)
        try:
            run.state.update(stage(run, wb))
        except BudgetError as exc:  # remembered: the tab's plan uses the speeds and shows the minimum
            run.state["min_budget_minutes"] = exc.min_minutes
            if exc.speed is not None:
                run.state["speed"] = asdict(exc.speed)
            run.save()
            raise
        run.done[name] = round(time.perf_counter() - run._stage_started, 1)
        run._stage = ""
        run.save()
        run.report_progress(name, 1.0, None)
    return summary(run)


def decide_work(wb: Workbench, corpus: str, out_dir: str | Path, budget_minutes: float | None = None,
                queries_per_day: int | None = None):
    """`run_decide` as the work of a job (workbench/jobs.py): it reports each Progress to the job and stops at its
    next training step or question once the job is cancelled, and gives back the memory of the adapters it attached.
    The tab and the CLI run Decide this way."""
    def work(job) -> dict:
        try:
            return run_decide(wb, corpus, out_dir, budget_minutes, on_progress=job.report, cancel=job.cancelled,
                              queries_per_day=queries_per_day)
        finally:  # the run's adapters leave the model; Compare attaches a kept one again when it is chosen
            wb.detach_adapters(Path(out_dir))

    return work


def summary(run: DecideRun) -> dict:
    """The `decide --json` object."""
    s = run.state
    report = s.get("report_summary") or {}
    qa = s.get("qa", {})
    return {
        "corpus": run.corpus, "run_dir": str(run.path), "budget_minutes": run.budget_minutes,
        "qa": {"train": qa.get("train"), "test": qa.get("test"), "recall": qa.get("recall", 0),
               "answer_in_source": (qa.get("quality") or {}).get("answer_in_source")},
        "adapters": s.get("adapters", {}), "summary": report.get("summary", {}),
        "training_minutes": s.get("training_minutes", {}), "break_even_queries": report.get("break_even_queries", {}),
        "verdict": s.get("verdict"), "stage_seconds": run.done,
        "unanswerable": report.get("unanswerable", {}), "updates": report.get("updates", {}),
        "needs": report.get("needs", []),
    }
