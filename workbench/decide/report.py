"""The Decide report: per-arm accuracy with 95 % intervals, costs, break-even and the verdict.

Reads the eval stage's per_question.json and the run state; writes report.json, report.md and break_even.csv
(the chart's data) into the run folder.
"""

from __future__ import annotations

import json
import statistics

from ..arms import ARMS
from .criteria import unanswerable_summary, updates_summary
from .needs import AMORTISE_DAYS, best_label, format_figure, needs_table
from .verdict import (ARM_MEANING, bootstrap_ci, break_even_queries, chart_queries, cost_curve, decide, mean,
                      resolvable_points)


def _per_arm(rows: list[dict], key: str) -> dict[str, list[float]]:
    """Scores by arm, in question order (every arm answered the same questions)."""
    out: dict[str, list[float]] = {}
    for r in rows:
        out.setdefault(r["arm"], []).append(float(r[key] or 0.0))
    return {arm: out[arm] for arm in ARMS if arm in out}


DEFAULT_QUERIES_PER_DAY = 100
"""The cost need's query rate when the user gives none (`decide --queries-per-day`, the Decide tab)."""


def _p50(values: list[float]) -> float:
    return round(statistics.median(values), 1) if values else 0.0


def build(run) -> dict:
    rows = json.loads((run.path / "eval" / "per_question.json").read_text())
    contains, f1, exact = _per_arm(rows, "contains"), _per_arm(rows, "f1"), _per_arm(rows, "em")
    if not contains:
        raise ValueError("the evaluation produced no answers; see eval/run.json for the arms' errors")
    ci_contains, ci_f1 = bootstrap_ci(contains), bootstrap_ci(f1)
    total = {arm: _p50([r["total_ms"] for r in rows if r["arm"] == arm]) for arm in contains}
    prompt_tokens = {arm: round(mean([r.get("prompt_tokens", 0) for r in rows if r["arm"] == arm]), 1) for arm in contains}
    memory = {arm: max((r["peak_memory_mib"] for r in rows if r["arm"] == arm), default=0.0) for arm in contains}
    train_min = run.state.get("training_minutes", {})
    break_even = {arm: break_even_queries(train_min[arm] * 60, total[arm], total["rag"])
                  for arm in ("lora", "raft") if arm in contains and arm in train_min and "rag" in total}
    verdict = decide(contains, train_min, total, break_even)
    summary = {arm: {"contains": round(mean(contains[arm]), 4), "f1": round(mean(f1[arm]), 4),
                     "ci95": list(ci_contains[arm]), "f1_ci95": list(ci_f1[arm]), "total_p50_ms": total[arm],
                     "prompt_tokens": prompt_tokens[arm], "peak_memory_mib": memory[arm],
                     "training_minutes": train_min.get(arm, 0.0), "em": round(mean(exact[arm]), 4),
                     "words": round(mean([len(r["answer"].split()) for r in rows if r["arm"] == arm]), 1)}
               for arm in contains}
    unanswerable, updates = unanswerable_summary(run.path), updates_summary(run.path)
    queries_per_day = run.state.get("queries_per_day", DEFAULT_QUERIES_PER_DAY)
    seconds = {arm: [r["total_ms"] / 1000 for r in rows if r["arm"] == arm] for arm in contains}
    needs = needs_table(contains, exact, {a: v["abstains"] for a, v in unanswerable.items()},
                        {a: v["follows"] for a, v in updates.items()}, seconds, train_min, queries_per_day)
    queries = cost_queries(summary, break_even)
    curves = {arm: cost_curve(train_min.get(arm, 0.0) * 60, total[arm], queries)
              for arm in ("rag", "lora", "raft") if arm in total}
    return {"corpus": run.corpus, "questions": len(contains[next(iter(contains))]), "summary": summary,
            "break_even_queries": break_even, "cost_curve": {"queries": queries, **curves},
            "verdict": verdict.text, "winner": verdict.winner, "tied_with": verdict.tied_with,
            "reasons": verdict.reasons, "plan_notes": (run.state.get("plan") or {}).get("notes", []),
            "qa": run.state.get("qa", {}), "memory_kind": rows[0].get("memory_kind", ""),
            "raft_choice": run.state.get("raft_choice"), "raft_training": run.state.get("raft_training", {}),
            "refit": run.state.get("refit"),
            "needs": needs, "queries_per_day": queries_per_day,
            "unanswerable": {a: {"abstains": round(mean(v["abstains"]), 4), "n": v["n"], "withheld": v["withheld"],
                                 "unseen": v["unseen"]} for a, v in unanswerable.items()},
            "updates": {a: {"follows": round(mean(v["follows"]), 4), "stale": round(mean(v["stale"]), 4), "n": v["n"]}
                        for a, v in updates.items()}}


def cost_queries(summary: dict, break_even: dict) -> list[int]:
    """The query counts of the cost chart and table, from a report's summary (see verdict.chart_queries)."""
    arms = [arm for arm in ("rag", "lora", "raft") if arm in summary]
    return chart_queries({arm: summary[arm]["training_minutes"] * 60 for arm in arms},
                         {arm: summary[arm]["total_p50_ms"] for arm in arms}, break_even)


def _accuracy_caveat(summary: dict, arm: str) -> str:
    """A break-even counts compute only: say so where the arm answered fewer questions than rag."""
    ours, rag = summary.get(arm, {}).get("contains"), summary.get("rag", {}).get("contains")
    if ours is None or rag is None or ours >= rag:
        return ""
    return f" (compute only: it answered {ours * 100:.0f} % of the questions, rag {rag * 100:.0f} %)"


def _raft_choice_lines(report: dict) -> list[str]:
    """The reader alone vs the reader tuned on this corpus, on validation facts, and which one the raft arm used."""
    choice = report.get("raft_choice")
    if not choice:
        origin = (report.get("raft_training") or {}).get("from")
        return ["", f"The raft arm was trained from {origin or 'a fresh LoRA'} (no reader fits this base model)."]
    c = choice["contains"]
    used = ("the reader alone (corpus training did not read better)" if choice["kept"] == "reader"
            else "the reader tuned on this corpus")
    return ["", "## raft: the reader alone vs tuned on this corpus", "",
            f"On {choice['validation_facts']} validation facts (training facts held out of raft training, never the "
            "test facts), contains the answer:", "", "| raft adapter | contains |", "|---|---|",
            f"| the reader alone (shipped) | {c['reader'] * 100:.0f} % |",
            f"| the reader tuned on this corpus | {c['tuned'] * 100:.0f} % |", "",
            f"The raft column above used {used}."]


def _needs_lines(report: dict) -> list[str]:
    """The decision table: per need, the best arm, its figure with its interval, and whether the lead is clear."""
    if not report.get("needs"):
        return []
    lines = ["## Per need", "", "| need | best arm | figure (95 % CI) | lead |", "|---|---|---|---|"]
    for row in report["needs"]:
        lines.append(f"| {row['need']} | {best_label(row)} | {format_figure(row)} | "
                     f"{'clear' if row['clear'] else 'within the intervals of another arm'} |")
    return lines + ["", f"Cost: compute seconds a day, training counted as repeated every {AMORTISE_DAYS} days as "
                    "the documents change, plus each query's measured time.", ""]


def _criteria_lines(report: dict) -> list[str]:
    """What happens when the documents do not answer, and when a fact changes after training."""
    lines = []
    if report.get("unanswerable"):
        n = next(iter(report["unanswerable"].values()))["n"]
        lines += ["", "## Questions the documents do not answer", "",
                  f"{n} questions: held-out facts asked with every chunk holding their answer withheld from a copy of "
                  "the corpus (withheld), and questions about a name or number the corpus never mentions (unseen). "
                  "abstains = the answer says the abstention phrase (docs/evaluation.md); the rest is made up.",
                  "", "| arm | abstains | makes an answer up | withheld: abstains | unseen: abstains |",
                  "|---|---|---|---|---|"]
        pct = lambda x: "–" if x is None else f"{x * 100:.0f} %"  # noqa: E731
        lines += [f"| {a} | {pct(v['abstains'])} | {pct(1 - v['abstains'])} | {pct(v.get('withheld'))} | "
                  f"{pct(v.get('unseen'))} |" for a, v in report["unanswerable"].items()]
    if report.get("updates"):
        n = next(iter(report["updates"].values()))["n"]
        retrain = ", ".join(f"{a} {v['training_minutes']:.1f} min" for a, v in report["summary"].items()
                            if v.get("training_minutes"))
        lines += ["", "## Facts that change after training", "",
                  f"{n} training facts (ones the fine-tuned arms learned) were given another value of the same kind in "
                  "a copy of the corpus, then asked. follows = the answer gives the new value; stale = the old one.",
                  "", "| arm | follows | stale |", "|---|---|---|"]
        lines += [f"| {a} | {v['follows'] * 100:.0f} % | {v['stale'] * 100:.0f} % |" for a, v in report["updates"].items()]
        if retrain:
            lines += ["", f"Keeping the fine-tuned arms current means training them again after each change: {retrain} "
                      "on this machine."]
    return lines


def _refit_repeats(refit: dict) -> str:
    return f"each question {refit['repeats']}×, " if refit.get("repeats") else ""  # a run.json without the figure


def _refit_lines(report: dict) -> list[str]:
    refit = report.get("refit") or {}
    if not refit.get("facts"):
        return []
    return ["", "## The lora adapter to take", "",
            f"`adapters/lora` is the measured lora continued on the {refit['facts']} held-out facts once every "
            f"measurement was done ({_refit_repeats(refit)}{refit['minutes']:.1f} min, counted in its training "
            "minutes): it has been trained on every fact the questions were generated for. The figures above are "
            "the measured adapter's (`adapters/lora-measured`); asked about the held-out facts, the refitted one "
            "would be asked what it was trained on."]


def markdown(report: dict) -> str:
    s = report["summary"]
    lines = [f"# Decide: corpus `{report['corpus']}`", "", f"**Verdict.** {report['verdict']}", "",
             *_needs_lines(report),
             f"{report['questions']} held-out questions (facts no training question was written for), answered by "
             "each arm. contains = the answer holds the reference; 95 % bootstrap intervals over questions. "
             f"On {report['questions']} questions, differences under ~{resolvable_points(report['questions'])} points "
             "between two arms can be chance.", "",
             "| arm | what it is | contains (95 % CI) | F1 | exact | words | total p50 ms | prompt tokens | "
             "training min | peak MiB* |",
             "|---|---|---|---|---|---|---|---|---|---|"]
    for arm, v in s.items():
        lo, hi = v["ci95"]
        lines.append(f"| {arm} | {ARM_MEANING[arm]} | {v['contains'] * 100:.0f} % ({lo * 100:.0f}–{hi * 100:.0f}) | "
                     f"{v['f1']:.2f} | {v.get('em', 0) * 100:.0f} % | {v.get('words', 0):.0f} | "
                     f"{v['total_p50_ms']:.0f} | {v['prompt_tokens']:.0f} | "
                     f"{v['training_minutes']:.1f} | {v['peak_memory_mib']:.0f} |")
    lines += ["", f"\\* peak memory while answering ({report['memory_kind'] or 'not reported'}). On CPU this is the process's "
              "peak resident memory, which in a Decide run includes the training stages that ran before.",
              "", "## Cost: upfront training vs per-query time", "",
              "Cumulative compute seconds after N queries (training time + N × the arm's median time per query). "
              "Fine-tuning costs upfront; retrieval costs on every query (a longer prompt).", "",
              "| queries | " + " | ".join(a for a in report["cost_curve"] if a != "queries") + " |",
              "|---" * len(report["cost_curve"]) + "|"]
    curve = report["cost_curve"]
    for i, n in enumerate(curve["queries"]):
        lines.append(f"| {n:,} | " + " | ".join(f"{curve[a][i]:,.0f}" for a in curve if a != "queries") + " |")
    for arm, n in report["break_even_queries"].items():
        lines.append("")
        lines.append(f"- {arm}: " + (f"training is repaid after ~{n:,} queries compared with rag" if n else
                                     "never repaid: it is not faster per query than rag") + _accuracy_caveat(s, arm))
    lines += _criteria_lines(report)
    lines += _raft_choice_lines(report)
    lines += _refit_lines(report)
    lines += ["", "## How the budget was spent", "", *[f"- {n}" for n in report["plan_notes"]]]
    q = report["qa"].get("quality") or {}
    if q:
        lines += ["", "## Generated questions", "",
                  f"- {report['qa'].get('facts')} facts ({report['qa'].get('train')} train / {report['qa'].get('test')} "
                  f"test), answer verbatim in its source: {q.get('answer_in_source', 0) * 100:.0f} %, question not "
                  f"copying 6+ words of the source: {q.get('no_copy_6', 0) * 100:.0f} %"]
        if report["qa"].get("aliased"):
            lines.append(f"- {report['qa']['aliased']} facts name a thing the documents also call by what it is "
                         "(\"the flagship\" for a ship's name): the lora was also asked them that way")
    lines += ["", "Files: qa/ (questions), adapters/ (lora, raft), eval/ (per-question answers), report.json."]
    return "\n".join(lines) + "\n"


def write_decide_report(run) -> dict:
    report = build(run)
    (run.path / "report.json").write_text(json.dumps(report, indent=2) + "\n")
    (run.path / "report.md").write_text(markdown(report))
    return report
