"""Re-check a finished Decide run after the user re-ingested changed documents, without retraining.

The qa stage records the corpus as the run saw it (qa/documents.json: each document's hash and chunk texts). A
re-check compares that record with the store now, generates questions (workbench/qa) over the sentences that
changed, keeps those whose question was also asked of the old sentence with another answer, and asks the four
arms (the run's adapters, the corpus as it is now): `follows` = the answer gives the new value, `stale` = the old
one. It writes recheck/ and a `recheck` entry in run.json; nothing else of the run changes.

A re-check is a job of the app's job layer (`recheck_work`): its questions take the model slot as a long job's
batches, and a cancel stops it at the next question, before anything is written.
"""

from __future__ import annotations

import json
import re
import time
from pathlib import Path

from ..evaluation.datasets import EvalItem
from ..evaluation.metrics import contains_answer, final_answer
from ..results import Passage
from .criteria import _ask
from .verdict import mean

RECORD = Path("qa") / "documents.json"
MAX_QUESTIONS = 24
"""Changed facts asked at most (each costs one four-arm answer)."""


def record_documents(run, wb) -> None:
    """Write the corpus as this run sees it: {source: {"sha", "chunks": [text, ...]}}."""
    shas = wb.store.document_shas(run.corpus)
    docs: dict[str, dict] = {}
    for c in wb.store.chunks(run.corpus):
        docs.setdefault(c.source, {"sha": shas.get(c.source), "chunks": []})["chunks"].append(c.text)
    (run.path / RECORD).parent.mkdir(parents=True, exist_ok=True)
    (run.path / RECORD).write_text(json.dumps(docs, indent=1))


def _sentences(texts: list[str]) -> set[str]:
    return {" ".join(s.split()) for t in texts for s in re.split(r"(?<=[.!?])\s+", t) if s.strip()}


def changed_facts(old: dict, now_chunks: list[Passage], now_shas: dict) -> tuple[list[str], list[dict]]:
    """(changed document names, facts whose sentence changed: {"question", "answer", "old_answer", "source"})."""
    from ..qa import QAError, generate_facts

    by_source: dict[str, list[Passage]] = {}
    for c in now_chunks:
        by_source.setdefault(c.source, []).append(c)
    changed = sorted(s for s in set(old) | set(by_source)
                     if s not in old or s not in by_source or old[s]["sha"] != now_shas.get(s))
    facts = []
    for source in changed:
        before = old.get(source, {}).get("chunks", [])
        after = by_source.get(source, [])
        gone = _sentences(before) - _sentences([c.text for c in after])
        if not gone or not after:
            continue
        try:
            new = [f for f in generate_facts(after) if " ".join(f.sentence.split()) not in _sentences(before)]
            previous = generate_facts([Passage(t, source, 0.0, f"old-{i}") for i, t in enumerate(before)])
        except QAError:
            continue
        old_answers = {q.lower(): f.answer for f in previous for q in f.questions}
        for f in new:
            for q in f.questions:
                was = old_answers.get(q.lower())
                if was and was.lower() != f.answer.lower():
                    facts.append({"question": q, "answer": f.answer, "old_answer": was, "source": source})
                    break
    return changed, facts[:MAX_QUESTIONS]


def recheck(wb, run_dir: str | Path, on_progress=None, cancel=None) -> dict:
    """Re-check the finished run in `run_dir`: {"line": what happened in one line, "updates": {arm: {"follows",
    "stale", "n"}}, "changed_documents": [...]}; a run whose corpus is gone or unchanged says so in `line`.
    `on_progress` receives a jobs.Progress per question; once `cancel` is set it stops (InterruptedError)."""
    from ..jobs import Progress
    from .pipeline import DecideRun

    path = Path(run_dir)
    if not (path / "run.json").is_file():
        return {"line": f"{path} holds no Decide run.", "updates": {}}
    data = json.loads((path / "run.json").read_text())
    run = DecideRun.open(path, data["corpus"], cancel=cancel, on_progress=on_progress)
    if not run.finished:
        return {"line": f"Run {path.name} has not finished; finish it (Open / resume) before re-checking it.",
                "updates": {}}
    if not (path / RECORD).is_file():
        return {"line": f"Run {path.name} did not record its documents (it predates re-checks); run Decide again.",
                "updates": {}}
    if not wb.store.exists(run.corpus):
        return {"line": f"Corpus {run.corpus!r} of run {path.name} is gone; nothing to re-check (the run is kept).",
                "updates": {}}
    if on_progress is not None:
        on_progress(Progress("recheck", 0, 1, message="comparing the documents with the run's record"))
    old = json.loads((path / RECORD).read_text())
    changed, facts = changed_facts(old, wb.store.chunks(run.corpus), wb.store.document_shas(run.corpus))
    if not changed:
        return {"line": f"Corpus {run.corpus!r} is unchanged since run {path.name}; nothing to re-check.",
                "updates": {}}
    if not facts:
        return {"line": f"{len(changed)} document(s) changed ({', '.join(changed)}), but no changed sentence gave a "
                        "question asked of both editions; nothing to re-check.", "updates": {},
                "changed_documents": changed}
    if cancel is not None and cancel.is_set():
        raise InterruptedError("the re-check was cancelled; nothing was written")
    started = time.perf_counter()
    items = [EvalItem(f"r-{i}", f["question"], [f["answer"]], f["source"]) for i, f in enumerate(facts)]
    rows = _ask(run, wb, items, run.corpus, "recheck")
    old_answer = {f"r-{i}": f["old_answer"] for i, f in enumerate(facts)}
    scored: dict[str, dict] = {}
    for r in rows:
        arm = scored.setdefault(r["arm"], {"follows": [], "stale": []})
        arm["follows"].append(float(r["contains"] or 0.0))
        arm["stale"].append(0.0 if r["contains"] else
                            float(contains_answer(final_answer(r["answer"]), [old_answer[r["id"]]])))
    updates = {arm: {"follows": round(mean(v["follows"]), 4), "stale": round(mean(v["stale"]), 4),
                     "n": len(v["follows"])} for arm, v in scored.items()}
    line = (f"Re-checked run {path.name}: {len(facts)} changed facts in {len(changed)} document(s); follows the "
            "documents: " + ", ".join(f"{a} {v['follows'] * 100:.0f} %" for a, v in updates.items()) + ".")
    result = {"line": line, "updates": updates, "changed_documents": changed, "facts": facts,
              "seconds": round(time.perf_counter() - started, 1), "at": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
    (path / "recheck" / "recheck.json").write_text(json.dumps(result, indent=1))
    (path / "recheck" / "report.md").write_text(markdown(result))
    run.state["recheck"] = {k: result[k] for k in ("line", "updates", "changed_documents", "at")}
    run.save()
    return result


def recheck_work(wb, run_dir: str | Path):
    """`recheck` as the work of a job (workbench/jobs.py); the tab and the CLI re-check this way."""
    def work(job) -> dict:
        try:
            return recheck(wb, run_dir, on_progress=job.report, cancel=job.cancelled)
        finally:  # the run's adapters leave the model again (Compare attaches one when it is chosen)
            wb.detach_adapters(Path(run_dir))

    return work


def markdown(result: dict) -> str:
    lines = ["# Re-check after the documents changed", "", result["line"], "",
             "follows = the answer gives the new value; stale = the old one. No adapter was retrained.", "",
             "| arm | follows | stale |", "|---|---|---|"]
    lines += [f"| {a} | {v['follows'] * 100:.0f} % | {v['stale'] * 100:.0f} % |" for a, v in result["updates"].items()]
    lines += ["", "| question | new answer | old answer | document |", "|---|---|---|---|"]
    lines += [f"| {f['question']} | {f['answer']} | {f['old_answer']} | {f['source']} |" for f in result["facts"]]
    return "\n".join(lines) + "\n"
