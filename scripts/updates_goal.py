"""A real change on a held-out corpus: do rag and raft follow the documents once they are edited and re-ingested?

Writes a benchmarks/heldout corpus's chapters in mixed formats (as scripts/reader_eval.py ingests them), asks
its changed facts' questions of rag and raft, applies `updates.json` to the same files, ingests them again over
the corpus, asks again, and restores the original documents. Prints per arm: the old value before the edit, the
new value after it, and the old value after it (the goal: new after >= old before, old after <= 1 in 12).

    WORKBENCH_DATA_DIR=... python scripts/updates_goal.py greenway-lab --raft-adapter reader
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "scripts")]

from reader_eval import write_chapters  # noqa: E402

from workbench.config import Settings  # noqa: E402
from workbench.engine import Workbench  # noqa: E402
from workbench.evaluation.datasets import EvalItem, EvalSet  # noqa: E402
from workbench.evaluation.metrics import contains_answer, final_answer  # noqa: E402
from workbench.evaluation.runner import run_eval  # noqa: E402
from workbench.retrieval.ingest import ingest  # noqa: E402


def ingest_edition(wb, corpus: str, bench: Path, changes: list[dict]) -> None:
    """The chapters with `changes` applied, in the same files and formats every time, ingested over `corpus`."""
    with tempfile.TemporaryDirectory() as tmp:
        ingest(wb.store, corpus, write_chapters(bench, Path(tmp), changes), wb.settings.chunk_size,
               wb.settings.chunk_overlap)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("name", help="a folder of benchmarks/heldout with updates.json")
    p.add_argument("--raft-adapter", default="reader")
    args = p.parse_args()
    bench, corpus = ROOT / "benchmarks" / "heldout" / args.name, f"heldout-{args.name}"
    changes = json.loads((bench / "updates.json").read_text())["changes"]
    facts = {r["id"]: r for r in map(json.loads, (bench / "facts.jsonl").read_text().splitlines())}
    wb = Workbench.load(Settings.from_env())

    def ask(answers: dict[str, str]) -> dict[str, dict[str, float]]:
        items = [EvalItem(c["question_id"], facts[c["question_id"]]["question"], [answers[c["question_id"]]])
                 for c in changes]
        out: dict[str, dict[str, float]] = {}
        for r in run_eval(wb, EvalSet("updates", items), ["rag", "raft"], corpus=corpus, raft_adapter=args.raft_adapter):
            out.setdefault(r.result.arm, {})[r.item.id] = contains_answer(final_answer(r.result.answer), r.item.answers)
        return out

    old = {c["question_id"]: facts[c["question_id"]]["answer"] for c in changes}
    new = {c["question_id"]: c["new_answer"] for c in changes}
    ingest_edition(wb, corpus, bench, [])
    before = ask(old)
    try:
        ingest_edition(wb, corpus, bench, changes)
        after_new, after_old = ask(new), ask(old)
    finally:
        ingest_edition(wb, corpus, bench, [])
    print(f"{args.name}: {len(changes)} changed facts, raft adapter {args.raft_adapter}")
    print("| arm | old value before the edit | new value after | old value after |\n|---|---|---|---|")
    for arm in before:
        print(f"| {arm} | {sum(before[arm].values()):.0f} | {sum(after_new[arm].values()):.0f} | "
              f"{sum(after_old[arm].values()):.0f} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
