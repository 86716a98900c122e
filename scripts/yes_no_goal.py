"""Yes/no questions answered with the right yes or no: the retrieval arms with and without calibration, in one run.

    python scripts/yes_no_goal.py [--sets heldout,pubmedqa] [--raft-adapter reader] [--variants ',raft,rag,raft']

For each question set (reader_eval's: the held-out corpora's hand-written yes/no questions; PubMedQA's yes/no
labels, its "maybe" rows left out) and each value of Settings.yes_no_calibration (the arms whose first yes or no is
weighed against a content-free prompt, workbench/polar.py; "" is none), it prints the share of right yes/no
answers of rag and raft, the share that starts with a yes or a no at all, and the answers calibration changed.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from reader_eval import question_sets, run_set  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="heldout,pubmedqa")
    parser.add_argument("--raft-adapter", default="reader")
    parser.add_argument("--variants", default=",raft,rag;raft",
                        help="values of yes_no_calibration to compare, separated by ',' ('' is off; ';' joins arms)")
    parser.add_argument("--max-new-tokens", type=int, default=16)
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from workbench.config import Settings
    from workbench.engine import Workbench
    from workbench.evaluation import metrics as M

    wb = Workbench.load(Settings.from_env())
    variants = [v.replace(";", ",") for v in args.variants.split(",")]
    total: dict[tuple[str, str], list[float]] = {}
    print(f"{'set':28} {'calibrated':11} {'arm':5} {'n':>3} {'right':>6} {'yes/no':>7} changed")
    for name, (corpus, rows) in question_sets(wb, args.sets.split(",")).items():
        rows = [r for r in rows if r["kind"] in ("yesno", "label") and r["answer"].lower() in ("yes", "no")]
        if not rows:
            continue
        baseline: dict[str, list[str]] = {}
        for variant in variants:
            answers = run_set(wb, corpus, rows, ["rag", "raft"], [], dict(
                raft_adapter=args.raft_adapter, max_new_tokens=args.max_new_tokens, yes_no_calibration=variant))
            for arm, texts in answers.items():
                said = [M.predicted_label(M.final_answer(t), ["yes", "no", "maybe"]) for t in texts]
                right = [float(s == r["answer"].lower()) for s, r in zip(said, rows)]
                total.setdefault((variant, arm), []).extend(right)
                changed = sum(a != b for a, b in zip(texts, baseline.setdefault(arm, texts)))
                print(f"{name:28} {variant or '(off)':11} {arm:5} {len(rows):3} {sum(right) / len(rows):6.3f} "
                      f"{sum(s in ('yes', 'no') for s in said) / len(rows):7.3f} {changed}")
    print("\nall sets")
    for (variant, arm), right in total.items():
        print(f"{'':28} {variant or '(off)':11} {arm:5} {len(right):3} {sum(right) / len(right):6.3f}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
