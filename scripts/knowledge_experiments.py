"""Ablation of the closed-book knowledge recipe: each ingredient alone and together, side by side in one run.

Decide's setting on one or more indexed corpora: questions are generated from the documents and split by fact
(as Decide splits them), a LoRA adapter is trained per variant on the training facts' phrasings plus the
documents, and the lora arm alone (closed book, greedy) answers

- **handwritten**: the `--eval` files, questions written by a person (most are about facts the generator may or may
  not have found), and
- **heldout**: the generated test facts, which no training question asks about (what Decide's report measures).

One JSON line per variant goes to stdout and `--log`, then a table. Variants (a comma list, first = baseline):

    docs1      the documents once and the Q/A phrasings `--qa-repeats` times (the recipe before augmentation)
    docs3      the documents three times, same order
    shuffle    the documents three times, the 2nd and 3rd with each chunk's sentences shuffled
    restate    docs1 + every fact-bearing sentence restated (on its own, and turned around its answer) 3 times
    qafirst    docs1 with one Q/A pass before the documents (Jiang et al. 2024)
    all        shuffle + restate + qafirst
    noise      docs1 with a quarter of each question's words left out, anew in each Q/A pass after the first

    WORKBENCH_DATA_DIR=/work/devdata python scripts/knowledge_experiments.py --corpus reader-city-library \\
        --eval corpora/reader-mix/city-library/qa.jsonl --variants docs1,shuffle,restate,qafirst,all
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.config import Settings  # noqa: E402
from workbench.decide.examples import test_fraction  # noqa: E402
from workbench.engine import Workbench  # noqa: E402
from workbench.evaluation.datasets import EvalItem, EvalSet, load_eval_set  # noqa: E402
from workbench.evaluation.report import build_report  # noqa: E402
from workbench.evaluation.runner import run_eval  # noqa: E402
from workbench.qa import generate_facts, split_by_fact  # noqa: E402
from workbench.qa.split import heldout_phrasing  # noqa: E402
from workbench.qa.nlp import pipeline  # noqa: E402
from workbench.qa.text import normalise  # noqa: E402
from workbench.training.knowledge import KnowledgeItem, KnowledgeMix, knowledge_examples  # noqa: E402
from workbench.training.restate import fact_statements  # noqa: E402
from workbench.training.trainer import TrainConfig, train  # noqa: E402

VARIANTS = {
    "docs1": dict(doc_repeats=1),
    "docs3": dict(doc_repeats=3),
    "shuffle": dict(doc_repeats=3, shuffle_sentences=True),
    "restate": dict(doc_repeats=1, statement_repeats=3),
    "qafirst": dict(doc_repeats=1, qa_first=True),
    "all": dict(doc_repeats=3, shuffle_sentences=True, statement_repeats=3, qa_first=True),
    "noise": dict(doc_repeats=1, question_noise=0.25),
}


def score(wb, adapter: Path, items: list[EvalItem], max_new_tokens: int, answers: Path | None = None) -> dict:
    """The lora arm alone over eval items (no cache: every answer is new); each answer appended to `answers`."""
    records = run_eval(wb, EvalSet("knowledge", items), ["lora"], None, lora_adapter=str(adapter), max_new_tokens=max_new_tokens)
    if answers is not None:
        with open(answers, "a") as f:
            for r in records:
                f.write(json.dumps({"question": r.item.question, "reference": r.item.answers[0],
                                    "answer": r.result.answer}) + "\n")
    s = build_report(records).summary["lora"]
    return {"n": s.n, "contains": round(s.contains, 3), "f1": round(s.f1, 3)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--corpus", action="append", required=True, help="indexed corpus (repeatable)")
    p.add_argument("--eval", action="append", default=[], help="hand-written Q/A file (repeatable)")
    p.add_argument("--variants", default="docs1,shuffle,restate,qafirst,all")
    p.add_argument("--qa-repeats", type=int, default=8, help="times each phrasing is seen (Decide plans 1-24)")
    p.add_argument("--lr", default=f"{TrainConfig.learning_rate:g}",
                   help="peak learning rate; a comma list trains every variant at each (default: Decide's, "
                        "TrainConfig's default)")
    p.add_argument("--split", choices=("fact", "phrasing"), default="fact",
                   help="fact: held-out facts have no training question (Decide); phrasing: every fact is trained "
                        "and the test asks each in a phrasing it was not trained on")
    p.add_argument("--max-new-tokens", type=int, default=24)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--log", default="/tmp/knowledge-runs/results.jsonl")
    args = p.parse_args()

    wb = Workbench.load(Settings.from_env())
    chunks = [c for corpus in args.corpus for c in wb.store.chunks(corpus)]
    facts = generate_facts(chunks, seed=args.seed)
    if args.split == "fact":  # Decide's split: whole facts held out, learnt from the documents alone
        train_facts, test_facts = split_by_fact(facts, test_fraction(len(facts)), seed=args.seed)
        items = [KnowledgeItem(f.answer, list(f.questions), f.source) for f in train_facts]
        heldout = [EvalItem(f.fact_id, heldout_phrasing(f), [f.answer], f.source) for f in test_facts]
    else:  # every fact trained; a fact with several phrasings keeps its least similar one for the test
        train_facts = facts
        test_facts = [f for f in facts if len(f.questions) > 1]
        items = [KnowledgeItem(f.answer, [q for q in f.questions if len(f.questions) == 1 or q != heldout_phrasing(f)],
                               f.source) for f in facts]
        heldout = [EvalItem(f.fact_id, heldout_phrasing(f), [f.answer], f.source) for f in test_facts]
    statements = fact_statements(facts, pipeline())  # every fact of the documents, held-out ones included
    handwritten = [item for path in args.eval for item in load_eval_set(Path(path)).items]
    # Hand-written questions whose answer is a training fact's: what the recipe can recall, apart from what the
    # generator found. The rest can only come from the documents.
    trained = {normalise(f.answer) for f in train_facts}
    covered = [item for item in handwritten if normalise(item.answers[0]) in trained]
    words = sum(len(c.text.split()) for c in chunks)
    print(f"{len(chunks)} chunks, {words:,} words, {len(facts)} facts ({len(train_facts)} train, {len(test_facts)} "
          f"held out), {len(statements)} restatements, {len(handwritten)} hand-written questions ({len(covered)} about "
          f"a training fact)", file=sys.stderr)

    rows = []
    runs = [(name, float(lr)) for lr in args.lr.split(",") for name in args.variants.split(",")]
    for variant, lr in runs:
        name = variant if "," not in args.lr else f"{variant}@{lr:g}"
        mix = KnowledgeMix(qa_repeats=args.qa_repeats, seed=args.seed, **VARIANTS[variant])
        examples = knowledge_examples(wb.tokenizer, items, chunks, wb.settings.system_prompt, mix,
                                      statements if mix.statement_repeats else [])
        config = TrainConfig(method="knowledge", epochs=1, learning_rate=lr, keep_order=mix.qa_first,
                             seed=args.seed)
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = train(wb.model, wb.tokenizer, examples, config, Path(tmp) / name, wb.model_id)
            row = {"variant": name, "lr": lr, "examples": len(examples),
                   "train_s": round(time.perf_counter() - started),
                   "tokens_per_s": result.tokens_per_s, "loss": [result.first_loss, result.train_loss],
                   "handwritten": score(wb, Path(tmp) / name, handwritten, args.max_new_tokens,
                                        Path(f"{args.log}.{name}.answers.jsonl")) if handwritten else {},
                   "covered": score(wb, Path(tmp) / name, covered, args.max_new_tokens) if covered else {},
                   "heldout": score(wb, Path(tmp) / name, heldout, args.max_new_tokens)}
        rows.append(row)
        print(json.dumps(row), flush=True)
        Path(args.log).parent.mkdir(parents=True, exist_ok=True)
        with open(args.log, "a") as f:
            f.write(json.dumps({"corpus": args.corpus, **row}) + "\n")

    print(f"\n| variant | examples | train s | hand-written (n={len(handwritten)}) | of them about a training fact "
          f"(n={len(covered)}) | held-out generated facts (n={len(heldout)}) |\n|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['examples']} | {r['train_s']} | {r['handwritten'].get('contains', '–')} | "
              f"{r['covered'].get('contains', '–')} | {r['heldout']['contains']} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
