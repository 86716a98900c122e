"""Fit an adapter's yes/no threshold on the corpora it was trained on, and write it into the adapter folder.

    python scripts/fit_yes_no.py --adapter models/adapters/reader [--generated 20] [--dry-run]

The thresholds (workbench/polar.py) are cuts on log P(yes) - log P(no) of the raft arm's first token: the arm says
yes when its odds exceed the cut that applies, one for plain evidence and one for negated evidence (the passages'
sentence nearest the question is negated). Each is fitted on yes/no questions of the reader's own training corpora, never on an
evaluation set: the hand-written yes/no questions of corpora/reader-mix/*/yesno.jsonl, and `--generated` yes/no
questions per corpus written by workbench/qa/yesno.py over the reader-mix corpora, this repository's docs and the
handbook. Each question is asked as the raft arm asks it (its top-k passages, the rag prompt, greedy). Writes
<adapter>/yes_no.json: the two thresholds, how many questions they answer right there, and how many one threshold
for both and the plain argmax (a cut at 0) do.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))

from train_reader import MIX, index, read_jsonl, yes_no  # noqa: E402 (scripts/ is on the path above)


def questions(wb, generated: int) -> list[tuple[str, str, bool]]:
    """(question, corpus, answer is yes) for the reader-mix hand-written yes/no questions and generated ones."""
    out = []
    corpora = []
    for domain in sorted(p for p in MIX.glob("*") if (p / "docs").is_dir()):
        corpus = index(wb, f"reader-{domain.name}", [domain / "docs"])
        corpora.append(corpus)
        out += [(r["question"], corpus, r["answer"] == "yes") for r in read_jsonl(domain / "yesno.jsonl")]
    corpora.append(index(wb, "reader-docs", [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]))
    for corpus in corpora + ["handbook"]:
        out += [(item.question, corpus, item.answer == "yes") for item in yes_no(wb, corpus, generated, 0)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--adapter", default=str(ROOT / "models" / "adapters" / "reader"))
    parser.add_argument("--generated", type=int, default=20, help="generated yes/no questions per corpus")
    parser.add_argument("--dry-run", action="store_true", help="print the fit, write nothing")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    import torch

    from workbench import polar
    from workbench.arms import build_prompt
    from workbench.config import Settings
    from workbench.engine import Workbench

    wb = Workbench.load(Settings.from_env())
    folder = Path(args.adapter).resolve()
    name = wb.attach_to_model(folder)  # first: it turns wb.model into a peft model
    wb.model.set_adapter(name)
    tok = wb.tokenizer
    yes, no = polar.answer_ids(tok)
    scored = []
    for question, corpus, answer in questions(wb, args.generated):
        passages, _ = wb.retrieve(question, corpus, wb.settings.top_k)
        ids = tok(build_prompt(tok, question, passages, wb.settings.system_prompt), return_tensors="pt",
                  add_special_tokens=False)
        with torch.inference_mode():
            odds = polar.lean(wb.model(**ids).logits[0, -1], yes, no)
        scored.append((odds, polar.negated_evidence(question, passages), answer))
    cuts = polar.fit_cuts(scored)
    one = polar.fit_threshold([(s, y) for s, _, y in scored])
    record = {"threshold": round(cuts.plain, 4), "threshold_negated": round(cuts.negated, 4),
              "questions": len(scored), "negated_evidence": sum(n for _, n, _ in scored),
              "right_at_thresholds": sum((s > cuts.of(n)) == y for s, n, y in scored),
              "right_at_one_threshold": sum((s > one) == y for s, _, y in scored),
              "right_at_zero": sum((s > 0) == y for s, _, y in scored), "yes": sum(y for _, _, y in scored),
              "fitted_on": f"corpora/reader-mix/*/yesno.jsonl and {args.generated} generated yes/no questions per "
                           "reader-mix corpus, reader-docs and handbook (workbench/qa/yesno.py)",
              "command": f"python scripts/fit_yes_no.py --adapter {args.adapter} --generated {args.generated}"}
    print(json.dumps(record))
    if not args.dry_run:
        (folder / polar.THRESHOLD_FILE).write_text(json.dumps(record, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
