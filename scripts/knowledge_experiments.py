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
    decide     Decide's lora: the documents twice, the passes after the first with LORA_QUESTION_NOISE, trained
               LORA_BATCH_SIZE examples a step with LoRA in the last LORA_TOP_LAYERS of the layers
    every      decide with LoRA in every layer (Decide's lora before the last half)
    whole      decide without the words left out
    unaliased  decide without the facts' aliased questions ("the flagship" for "MV Marram Queen", qa/aliases.py)
    batch4     decide at TrainConfig's four examples a step (half the steps for the same tokens)
    rank64     batch4 with LoRA rank 64 (alpha 128, the same scale) instead of 16
    mlp        every with LoRA on the MLP layers only (gate, up, down), where a transformer is said to keep facts
    attn       every with LoRA on the attention layers only (q, k, v, o)
    unprefixed decide with each question's "Under <heading>, " opening left out (a person never says it)
    single     decide with each question in a chat of its own, as the lora arm asks it, not eight to a chat

    WORKBENCH_DATA_DIR=/work/devdata python scripts/knowledge_experiments.py --corpus reader-city-library \\
        --eval corpora/reader-mix/city-library/qa.jsonl --variants docs1,shuffle,restate,qafirst,all

`--from-run DIR` takes the facts of a finished Decide run instead (its training and held-out facts, each in its
first phrasing: every fact its refitted adapter learned), at the run's planned repeats and Decide's learning rate,
and scores the hand-written questions only: a fresh adapter per variant and seed, everything else the same.

    WORKBENCH_DATA_DIR=/work/devdata python scripts/knowledge_experiments.py --corpus heldout-harbour-ferries \\
        --from-run runs/harbour --eval benchmarks/heldout/harbour-ferries/facts.jsonl \\
        --variants batch4,decide,rank64 --seed 0,1
"""

from __future__ import annotations

import argparse
import json
import re
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.config import Settings  # noqa: E402
from workbench.decide.examples import LORA_QUESTION_NOISE, knowledge_items, test_fraction  # noqa: E402
from workbench.decide.stages import LORA_BATCH_SIZE, LORA_LEARNING_RATE, LORA_TOP_LAYERS  # noqa: E402
from workbench.engine import Workbench  # noqa: E402
from workbench.evaluation.datasets import EvalItem, EvalSet, load_eval_set  # noqa: E402
from workbench.evaluation.report import build_report  # noqa: E402
from workbench.evaluation.runner import run_eval  # noqa: E402
from workbench.qa import generate_facts, split_by_fact  # noqa: E402
from workbench.qa.split import heldout_phrasing, read_jsonl  # noqa: E402
from workbench.qa.nlp import pipeline  # noqa: E402
from workbench.qa.text import normalise  # noqa: E402
from workbench.training.knowledge import KnowledgeItem, KnowledgeMix, knowledge_examples  # noqa: E402
from workbench.training.restate import fact_statements  # noqa: E402
from workbench.training.trainer import TrainConfig, train  # noqa: E402

DECIDE_MIX = dict(doc_repeats=2, question_noise=LORA_QUESTION_NOISE)
VARIANTS = {
    "docs1": dict(doc_repeats=1),
    "docs3": dict(doc_repeats=3),
    "shuffle": dict(doc_repeats=3, shuffle_sentences=True),
    "restate": dict(doc_repeats=1, statement_repeats=3),
    "qafirst": dict(doc_repeats=1, qa_first=True),
    "all": dict(doc_repeats=3, shuffle_sentences=True, statement_repeats=3, qa_first=True),
    "noise": dict(doc_repeats=1, question_noise=0.25),
    "decide": DECIDE_MIX,
    "every": DECIDE_MIX,
    "whole": dict(DECIDE_MIX, question_noise=0.0),
    "unaliased": DECIDE_MIX,
    "batch4": DECIDE_MIX,
    "rank64": DECIDE_MIX,
    "mlp": DECIDE_MIX,
    "attn": DECIDE_MIX,
    "unprefixed": DECIDE_MIX,
    "single": dict(DECIDE_MIX, per_conversation=1),
}
"""Each variant's KnowledgeMix; TRAINING holds the TrainConfig fields a variant changes."""
DECIDE_TRAINING = dict(batch_size=LORA_BATCH_SIZE, top_layers=LORA_TOP_LAYERS)
EVERY_LAYER = dict(DECIDE_TRAINING, top_layers=1.0)
TRAINING = {"decide": DECIDE_TRAINING, "every": EVERY_LAYER, "whole": DECIDE_TRAINING, "unaliased": DECIDE_TRAINING,
            "unprefixed": DECIDE_TRAINING, "single": DECIDE_TRAINING, "rank64": dict(r=64, alpha=128),
            "mlp": dict(EVERY_LAYER, target_modules=["gate_proj", "up_proj", "down_proj"]),
            "attn": dict(EVERY_LAYER, target_modules=["q_proj", "k_proj", "v_proj", "o_proj"])}


def _unprefixed(question: str) -> str:
    """The question without its "Under <heading>, " opening (a heading with a comma loses only its first part)."""
    rest = re.sub(r"^Under [^,]+, ", "", question)
    return rest[:1].upper() + rest[1:]


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
    p.add_argument("--from-run", help="a finished Decide run's folder: train on every fact it learned")
    p.add_argument("--qa-repeats", type=int, help="times each phrasing is seen (default: the run's plan with "
                                                  "--from-run, else 8; Decide plans 1-24)")
    p.add_argument("--lr", help="peak learning rate; a comma list trains every variant at each (default: "
                                f"Decide's {LORA_LEARNING_RATE:g} with --from-run, else {TrainConfig.learning_rate:g})")
    p.add_argument("--split", choices=("fact", "phrasing"), default="fact",
                   help="fact: held-out facts have no training question (Decide); phrasing: every fact is trained "
                        "and the test asks each in a phrasing it was not trained on")
    p.add_argument("--max-new-tokens", type=int, default=24)
    p.add_argument("--seed", default="0", help="training seed; a comma list trains every variant with each")
    p.add_argument("--log", default="/tmp/knowledge-runs/results.jsonl")
    args = p.parse_args()
    seeds = [int(seed) for seed in args.seed.split(",")]
    lrs = [float(lr) for lr in (args.lr or f"{LORA_LEARNING_RATE if args.from_run else TrainConfig.learning_rate:g}")
           .split(",")]

    wb = Workbench.load(Settings.from_env())
    chunks = [c for corpus in args.corpus for c in wb.store.chunks(corpus)]
    if args.from_run:  # every fact the run's refitted adapter learned, at the run's repeats
        run = Path(args.from_run)
        items = knowledge_items(read_jsonl(run / "qa" / "train.jsonl") + read_jsonl(run / "qa" / "recall.jsonl"))
        qa_repeats = args.qa_repeats or json.loads((run / "run.json").read_text())["state"]["plan"]["lora_qa_repeats"]
        n_facts, heldout, statements = len(items), [], []
    else:
        facts = generate_facts(chunks, seed=seeds[0])
        qa_repeats, n_facts = args.qa_repeats or 8, len(facts)
        if args.split == "fact":  # Decide's split: whole facts held out, learnt from the documents alone
            train_facts, test_facts = split_by_fact(facts, test_fraction(len(facts)), seed=seeds[0])
            items = [KnowledgeItem(f.answer, list(f.questions), f.source, list(f.aliased)) for f in train_facts]
        else:  # every fact trained; a fact with several phrasings keeps its least similar one for the test
            test_facts = [f for f in facts if len(f.questions) > 1]
            items = [KnowledgeItem(f.answer, [q for q in f.questions if len(f.questions) == 1
                                              or q != heldout_phrasing(f)], f.source) for f in facts]
        heldout = [EvalItem(f.fact_id, heldout_phrasing(f), [f.answer], f.source) for f in test_facts]
        statements = fact_statements(facts, pipeline())  # every fact of the documents, held-out ones included
    handwritten = [item for path in args.eval for item in load_eval_set(Path(path)).items]
    # Hand-written questions whose answer is a training fact's: what the recipe can recall, apart from what the
    # generator found. The rest can only come from the documents.
    trained = {normalise(item.answer) for item in items}
    covered = [item for item in handwritten if normalise(item.answers[0]) in trained]
    words = sum(len(c.text.split()) for c in chunks)
    print(f"{len(chunks)} chunks, {words:,} words, {n_facts} facts ({len(items)} trained, {len(heldout)} held out), "
          f"{len(statements)} restatements, {len(handwritten)} hand-written questions ({len(covered)} about a "
          f"trained fact), Q/A seen {qa_repeats}x", file=sys.stderr)

    Path(args.log).parent.mkdir(parents=True, exist_ok=True)  # the answers are written beside the log
    rows = []
    for variant, lr, seed in [(v, lr, seed) for lr in lrs for v in args.variants.split(",") for seed in seeds]:
        name = variant if len(lrs) == 1 else f"{variant}@{lr:g}"
        mix = KnowledgeMix(qa_repeats=qa_repeats, seed=seed, **VARIANTS[variant])
        if mix.statement_repeats and args.from_run:
            raise SystemExit(f"{variant}: restatements need generated facts; leave out --from-run")
        trained_items = [replace(i, aliased=[]) for i in items] if variant == "unaliased" else items
        if variant == "unprefixed":
            trained_items = [replace(i, questions=[_unprefixed(q) for q in i.questions],
                                     aliased=[_unprefixed(q) for q in i.aliased]) for i in items]
        examples = knowledge_examples(wb.tokenizer, trained_items, chunks, wb.settings.system_prompt, mix,
                                      statements if mix.statement_repeats else [])
        config = TrainConfig(method="knowledge", epochs=1, learning_rate=lr, keep_order=mix.qa_first, seed=seed,
                             **TRAINING.get(variant, {}))
        with tempfile.TemporaryDirectory() as tmp:
            started = time.perf_counter()
            result = train(wb.model, wb.tokenizer, examples, config, Path(tmp) / name, wb.model_id)
            row = {"variant": name, "seed": seed, "lr": lr, "examples": len(examples), "steps": result.steps,
                   "train_s": round(time.perf_counter() - started),
                   "tokens_per_s": result.tokens_per_s, "loss": [result.first_loss, result.train_loss],
                   "handwritten": score(wb, Path(tmp) / name, handwritten, args.max_new_tokens,
                                        Path(f"{args.log}.{name}.{seed}.answers.jsonl")) if handwritten else {},
                   "covered": score(wb, Path(tmp) / name, covered, args.max_new_tokens) if covered else {},
                   "heldout": score(wb, Path(tmp) / name, heldout, args.max_new_tokens) if heldout else {}}
        rows.append(row)
        print(json.dumps(row), flush=True)
        with open(args.log, "a") as f:
            f.write(json.dumps({"corpus": args.corpus, **row}) + "\n")

    print(f"\n| variant | seed | examples | steps | train s | hand-written (n={len(handwritten)}) | of them about a "
          f"trained fact (n={len(covered)}) | held-out generated facts (n={len(heldout)}) |\n"
          f"|---|---|---|---|---|---|---|---|")
    for r in rows:
        print(f"| {r['variant']} | {r['seed']} | {r['examples']} | {r['steps']} | {r['train_s']} | "
              f"{r['handwritten'].get('contains', '–')} | {r['covered'].get('contains', '–')} | "
              f"{r['heldout'].get('contains', '–')} |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
