"""Try fine-tuning recipes for closed-book fact recall and score each on a held-out question set.

Each run trains a LoRA adapter on the loaded base with one recipe, then asks the lora arm (closed book) every
test question and prints one JSON line: recipe, training time and tokens, loss, contains and F1. The table in
docs/fine-tuning-recipes.md was made with this script.

    python scripts/knowledge_experiments.py --name qa-10ep --qa corpora/handbook/qa/train.jsonl --epochs 10 --per-conversation 1
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.config import Settings  # noqa: E402
from workbench.engine import Workbench  # noqa: E402
from workbench.evaluation.datasets import load_eval_set  # noqa: E402
from workbench.evaluation.report import build_report  # noqa: E402
from workbench.evaluation.runner import run_eval  # noqa: E402
from workbench.training.data import QAPair, load_qa  # noqa: E402
from workbench.training.knowledge import KnowledgeItem, KnowledgeMix, items_from_pairs, knowledge_examples  # noqa: E402,F401
from workbench.training.trainer import TrainConfig, train  # noqa: E402


def load_items(args) -> list[KnowledgeItem]:
    """Hand-written Q/A and generated facts; phrasings of the same answer in the same source become one item."""
    pairs = []
    for path in args.qa or []:
        pairs += load_qa(Path(path))
    for path in args.facts or []:  # generated facts: {"answer", "source", "questions": [...]}
        for line in Path(path).read_text().splitlines():
            row = json.loads(line)
            pairs += [QAPair(q, row["answer"], row.get("source", "")) for q in row["questions"]]
    return items_from_pairs(pairs)


def score(wb, adapter_dir: Path, eval_path: Path, limit: int | None, max_new_tokens: int) -> dict:
    """The lora arm alone over an eval set, through the evaluation runner (no cache: every answer is new)."""
    records = run_eval(wb, load_eval_set(eval_path), ["lora"], limit, lora_adapter=str(adapter_dir),
                       max_new_tokens=max_new_tokens)
    summary = build_report(records).summary["lora"]
    answers = [{"q": r.item.question, "gold": r.item.answers[0], "pred": r.result.answer} for r in records]
    return {"n": summary.n, "contains": round(summary.contains, 3), "f1": round(summary.f1, 3), "answers": answers}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--name", required=True)
    p.add_argument("--qa", nargs="*", help="Q/A JSONL files (questions with the same answer+source are phrasings)")
    p.add_argument("--facts", nargs="*", help="generated facts JSONL with several questions each")
    p.add_argument("--docs", default="", help="corpus whose chunks are trained as documents ('' for none)")
    p.add_argument("--doc-repeats", type=int, default=1)
    p.add_argument("--qa-repeats", type=int, default=1, help="times each phrasing is seen (the run is one pass)")
    p.add_argument("--phrasings", type=int, default=4)
    p.add_argument("--per-conversation", type=int, default=8, help="Q/A turns packed into one chat (1: no packing)")
    p.add_argument("--epochs", type=float, default=1, help="passes over the mixed data (repeats are in the data)")
    p.add_argument("--lr", type=float, default=1e-3)
    p.add_argument("--r", type=int, default=16)
    p.add_argument("--batch-size", type=int, default=4)
    p.add_argument("--eval", nargs="*", default=["corpora/handbook/qa/test.jsonl"])
    p.add_argument("--limit", type=int)
    p.add_argument("--max-new-tokens", type=int, default=24)
    p.add_argument("--out", default="/tmp/knowledge-runs")
    p.add_argument("--log", default="/tmp/knowledge-runs/results.jsonl")
    args = p.parse_args()

    wb = Workbench.load(Settings.from_env())
    items = load_items(args)
    chunks = wb.store.chunks(args.docs) if args.docs else []
    examples = knowledge_examples(wb.tokenizer, items, chunks, wb.settings.system_prompt,
                                  KnowledgeMix(qa_repeats=args.qa_repeats, doc_repeats=args.doc_repeats,
                                               phrasings=args.phrasings, per_conversation=args.per_conversation))
    config = TrainConfig(epochs=args.epochs, learning_rate=args.lr, r=args.r, alpha=2 * args.r,
                         batch_size=args.batch_size)
    out_dir = Path(args.out) / args.name
    started = time.perf_counter()
    result = train(wb.model, wb.tokenizer, examples, config, out_dir, wb.model_id,
                   progress=lambda s: print(f"step {s['step']}/{s['total']} loss {s['loss']:.3f} eta {s['eta_s']:.0f}s",
                                            file=sys.stderr, flush=True) if s["step"] % 20 == 0 else None)
    row = {"name": args.name, "facts": len(items), "docs": len(chunks), "examples": len(examples),
           "epochs": args.epochs, "qa_repeats": args.qa_repeats, "doc_repeats": args.doc_repeats,
           "per_conversation": args.per_conversation, "lr": args.lr, "r": args.r, "phrasings": args.phrasings,
           "train_s": round(time.perf_counter() - started), "tokens_per_s": result.tokens_per_s,
           "loss": [result.first_loss, result.train_loss]}
    for path in args.eval:
        got = score(wb, out_dir, Path(path), args.limit, args.max_new_tokens)
        row[Path(path).stem] = {k: got[k] for k in ("n", "contains", "f1")}
        (out_dir / f"answers-{Path(path).stem}.json").write_text(json.dumps(got["answers"], indent=1))
    print(json.dumps(row), flush=True)
    Path(args.log).parent.mkdir(parents=True, exist_ok=True)
    with open(args.log, "a") as f:
        f.write(json.dumps(row) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
