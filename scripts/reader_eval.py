"""How well the retrieval arms read: rag and raft (with any adapter) on whole corpora, fact, yes/no and
unanswerable questions, in one run.

    python scripts/reader_eval.py --sets handbook-test,handbook-independent,heldout,pubmedqa --arms rag,raft \
        --raft-adapter handbook-raft,reader [--prompt VARIANT] [--loop-guard both,all] [--label NAME] [--limit N] \
        [--json OUT]

Sets:
- `handbook-test`, `handbook-independent`: the shipped handbook's hand-written questions (corpora/handbook/qa),
  with `handbook-unanswerable` (qa/unanswerable.jsonl) after the test split;
- `heldout`: every corpus under benchmarks/heldout/ (never trained on), written out in mixed formats (.md, .html,
  .docx, .txt, .pdf) and ingested once into the data directory as `heldout-<name>`; its facts.jsonl, yesno.jsonl
  and unanswerable.jsonl;
- `pubmedqa`: the shipped PubMedQA sample's yes/no/maybe questions.

For each set and column (an arm; the raft arm once per `--raft-adapter`) it prints contains, F1, exact match,
answer length, yes/no accuracy, abstentions on unanswerable questions and false abstentions on answerable ones,
answers that loop (metrics.loops), the share of facts whose answer is in the top-k passages, and contains and
abstention on those facts alone. Greedy, with the app's defaults unless overridden; `--prompt` swaps the retrieval
arms' user turn for a variant (the rag prompt study in docs/fine-tuning-recipes.md).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "scripts"))
HELDOUT = ROOT / "benchmarks" / "heldout"
FORMATS = ["md", "html", "docx", "txt", "pdf"]

from train_reader import read_jsonl  # noqa: E402 (scripts/ is on the path above)


def write_chapters(folder: Path, out_dir: Path, changes: list[dict] = ()) -> list[Path]:
    """A held-out corpus's chapters (docs/*.md) written into `out_dir` in mixed formats, the same file name and
    format for a chapter every time, with `changes` ({"file", "old", "new"}, as in updates.json) applied."""
    from mixed_format_corpus import to_docx, to_html, to_pdf

    writers = {"docx": to_docx, "html": to_html, "pdf": to_pdf}
    for i, doc in enumerate(sorted((folder / "docs").glob("*.md"))):
        text = doc.read_text()
        for change in (c for c in changes if c["file"] == doc.name):
            if text.count(change["old"]) != 1:
                raise SystemExit(f"{doc.name}: {change['old']!r} is not there exactly once")
            text = text.replace(change["old"], change["new"])
        fmt = FORMATS[i % len(FORMATS)]
        out = out_dir / f"{doc.stem}.{fmt}"
        if fmt in writers:
            writers[fmt](text, out)
        else:
            out.write_text(text)
    return sorted(out_dir.iterdir())


def ingest_heldout(wb, name: str, folder: Path) -> str:
    """The held-out corpus's chapters in mixed formats, ingested once as heldout-<name>."""
    from workbench.retrieval.ingest import ingest

    corpus = f"heldout-{name}"
    if wb.store.exists(corpus) and wb.store.count(corpus):
        return corpus
    with tempfile.TemporaryDirectory() as tmp:
        report = ingest(wb.store, corpus, write_chapters(folder, Path(tmp)), wb.settings.chunk_size,
                        wb.settings.chunk_overlap)
    print(f"ingested {corpus}: {len(report.files_ok)} files, {report.chunks_total} chunks", file=sys.stderr)
    return corpus


def question_sets(wb, names: list[str]) -> dict[str, tuple[str, list[dict]]]:
    """{set name: (corpus, rows)}; rows carry question, answers, kind (fact | yesno | unanswerable | label)."""
    sets: dict[str, tuple[str, list[dict]]] = {}
    handbook = ROOT / "corpora" / "handbook" / "qa"
    for name in names:
        if name in ("handbook-test", "handbook-independent"):
            rows = read_jsonl(handbook / f"{name.split('-', 1)[1]}.jsonl")
            sets[name] = ("handbook", [dict(r, kind="fact") for r in rows])
            unanswerable = read_jsonl(handbook / "unanswerable.jsonl")
            if name == "handbook-test" and unanswerable:
                sets["handbook-unanswerable"] = ("handbook", [dict(r, kind="unanswerable") for r in unanswerable])
        elif name == "pubmedqa":
            rows = read_jsonl(ROOT / "corpora" / "pubmedqa-sample" / "qa" / "test.jsonl")
            sets[name] = ("pubmedqa-sample", [dict(r, kind="label") for r in rows])
        elif name == "heldout":
            for folder in sorted(p for p in HELDOUT.iterdir() if (p / "docs").is_dir()):
                corpus = ingest_heldout(wb, folder.name, folder)
                qa = folder / "qa" if (folder / "qa").is_dir() else folder
                rows = ([dict(r, kind="fact") for r in read_jsonl(qa / "facts.jsonl")]
                        + [dict(r, kind="yesno") for r in read_jsonl(qa / "yesno.jsonl")]
                        + [dict(r, kind="unanswerable") for r in read_jsonl(qa / "unanswerable.jsonl")])
                sets[f"heldout-{folder.name}"] = (corpus, rows)
        else:
            raise SystemExit(f"unknown set {name!r}")
    return sets


def score(rows: list[dict], answers: dict[str, list[str]]) -> dict[str, dict]:
    """Per arm: the figures this script prints."""
    from workbench.evaluation import metrics as M

    out = {}
    for arm, texts in answers.items():
        facts = [(r, t) for r, t in zip(rows, texts) if r["kind"] == "fact"]
        yesno = [(r, t) for r, t in zip(rows, texts) if r["kind"] in ("yesno", "label")]
        unanswerable = [t for r, t in zip(rows, texts) if r["kind"] == "unanswerable"]
        answerable = [t for r, t in zip(rows, texts) if r["kind"] != "unanswerable"]

        def refs(r):
            return r["answer"] if isinstance(r["answer"], list) else [r["answer"]]

        def share(values):
            return round(sum(values) / len(values), 3) if values else None

        out[arm] = {
            "n": len(rows),
            "contains": share([M.contains_answer(M.final_answer(t), refs(r)) for r, t in facts]),
            "f1": share([M.token_f1(M.final_answer(t), refs(r)) for r, t in facts]),
            "em": share([M.exact_match(M.final_answer(t), refs(r)) for r, t in facts]),
            "words": share([len(M.final_answer(t).split()) for t in answerable]),
            "yesno": share([float(M.predicted_label(M.final_answer(t), ["yes", "no", "maybe"]) == r["answer"].lower())
                            for r, t in yesno]),
            "abstains": share([M.abstains(t) for t in unanswerable]),
            "false_abstains": share([M.abstains(t) for t in answerable]),
            "retrieved": share([float(r["retrieved"]) for r, _ in facts]),
            "contains_if_retrieved": share([M.contains_answer(M.final_answer(t), refs(r)) for r, t in facts
                                            if r["retrieved"]]),
            "abstains_if_retrieved": share([M.abstains(t) for r, t in facts if r["retrieved"]]),
            "loops": int(sum(M.loops(t) for t in texts)),
        }
    return out


def mark_retrieved(wb, corpus: str, rows: list[dict], top_k: int) -> None:
    """row["retrieved"]: a reference answer occurs in the question's top-k passages (facts only): whether reading
    could find it, so an abstention on such a row is a false one for sure."""
    from workbench.evaluation.metrics import normalize_answer

    for r in rows:
        if r["kind"] == "fact":
            text = normalize_answer(" ".join(p.text for p in wb.store.query(corpus, r["question"], top_k)))
            refs = r["answer"] if isinstance(r["answer"], list) else [r["answer"]]
            r["retrieved"] = any(f" {normalize_answer(a)} " in f" {text} " for a in refs)


def run_set(wb, corpus: str, rows: list[dict], arms: list[str], adapters: list[str],
            overrides: dict) -> dict[str, list[str]]:
    """Answers per column: each arm once, and the raft arm once per adapter (columns `raft:<adapter>`)."""
    columns = [(arm, None) for arm in arms if arm != "raft" or not adapters]
    columns += [("raft", a) for a in adapters if "raft" in arms]
    answers: dict[str, list[str]] = {}
    batch = wb.settings.eval_batch
    for arm, adapter in columns:
        key = f"raft:{Path(adapter).name}" if adapter else arm
        answers[key] = []
        extra = dict(overrides, raft_adapter=adapter) if adapter else overrides
        for start in range(0, len(rows), batch):
            questions = [r["question"] for r in rows[start:start + batch]]
            for comparison in wb.compare_many(questions, [arm], corpus=corpus, **extra):
                result = comparison.arms[0]
                answers[key].append(result.answer if not result.error else f"[error] {result.error}")
    return answers


def _variant_user_message(variant: str):
    """Prompt variants for the retrieval arms' user turn, measured against the default (arms.user_message)."""
    from workbench import arms

    default = arms.user_message
    ask = ("Answer in a few words, using only the context. If the context does not answer the question, reply: "
           f"{arms.ABSTENTION}")

    def context(passages, reverse=False, sources=True):
        ps = list(reversed(passages)) if reverse else passages
        if sources:
            return arms.format_context(ps)
        return "\n\n".join(f"[{i}] {p.text.strip()}" for i, p in enumerate(ps, 1))

    short = "Answer in a few words."
    soft = f'If the context does not contain the answer, say "{arms.ABSTENTION}"'
    variants = {
        "default": default,
        "short": lambda q, ps: default(q, ps) if ps is None else f"{default(q, ps)}\n{short}",
        "soft-abstain": lambda q, ps: default(q, ps) if ps is None else f"{default(q, ps)}\n{soft}",
        "instruction-abstain": lambda q, ps: default(q, ps) if ps is None else default(q, ps).replace(
            "using the context below.", f"using the context below. {soft}"),
        "ask-after": lambda q, ps: default(q, ps) if ps is None else (
            f"Context:\n{context(ps)}\n\nQuestion: {q.strip()}\n{ask}"),
        "q-first": lambda q, ps: default(q, ps) if ps is None else (
            f"Question: {q.strip()}\n\nContext:\n{context(ps)}\n\n{ask}\nQuestion: {q.strip()}"),
        "reversed": lambda q, ps: default(q, ps) if ps is None else (
            f"Context:\n{context(ps, reverse=True)}\n\nQuestion: {q.strip()}\n{ask}"),
        "no-sources": lambda q, ps: default(q, ps) if ps is None else (
            f"Context:\n{context(ps, sources=False)}\n\nQuestion: {q.strip()}\n{ask}"),
    }
    return variants[variant]


def use_loop_guard(guard: str) -> None:
    """Generation ends a looping answer with every guard of workbench/loops.py ('all', the app's), with
    `repeated_tail` and the three-times `repeated_phrase` ('both', before a long phrase said twice ended an answer),
    or with `repeated_tail` alone ('tail')."""
    from workbench import generation, loops

    generation.dropped_tail = {"all": loops.dropped_tail, "tail": loops.repeated_tail,
                               "both": lambda t: loops.repeated_tail(t) or loops.repeated_phrase(t)}[guard]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sets", default="handbook-test,handbook-independent,heldout")
    parser.add_argument("--arms", default="rag,raft")
    parser.add_argument("--raft-adapter", default="", help="comma-separated adapters: one raft column each")
    parser.add_argument("--lora-adapter", default=None)
    parser.add_argument("--top-k", type=int, default=None)
    parser.add_argument("--max-new-tokens", type=int, default=48)
    parser.add_argument("--limit", type=int, default=0, help="first N questions of each set (0: all)")
    parser.add_argument("--label", default="", help="a name for this run in the output")
    parser.add_argument("--show", type=int, default=0, help="print N answers per set and arm")
    parser.add_argument("--prompt", default="", help="a prompt variant of the retrieval arms (see _variant_user_message)")
    parser.add_argument("--system-prompt", default=None)
    parser.add_argument("--json", default=None, help="append the figures as one JSON line to this file")
    parser.add_argument("--loop-guard", default="all", help="which of loops.py's guards end an answer: 'all' "
                        "(the app's), 'both' (no long phrase said twice), 'tail' (a unit repeated in a row only); "
                        "'both,all' runs each, side by side")
    args = parser.parse_args(argv)
    os.environ.setdefault("HF_HUB_OFFLINE", "1")

    from workbench.config import Settings
    from workbench.engine import Workbench

    if args.prompt:
        from workbench import arms

        arms.user_message = _variant_user_message(args.prompt)
    wb = Workbench.load(Settings.from_env())
    arms = args.arms.split(",")
    overrides = {k: v for k, v in dict(lora_adapter=args.lora_adapter,
                                       top_k=args.top_k, max_new_tokens=args.max_new_tokens,
                                       system_prompt=args.system_prompt).items() if v is not None}
    results = {}
    sets = question_sets(wb, args.sets.split(","))
    for guard, (name, (corpus, rows)) in [(g, s) for g in args.loop_guard.split(",") for s in sets.items()]:
        use_loop_guard(guard)
        name = name if args.loop_guard == "all" else f"{name} [{guard}]"
        rows = rows[: args.limit] if args.limit else rows
        started = time.perf_counter()
        adapters = [a for a in args.raft_adapter.split(",") if a]
        mark_retrieved(wb, corpus, rows, args.top_k or wb.settings.top_k)
        answers = run_set(wb, corpus, rows, arms, adapters, overrides)
        results[name] = score(rows, answers)
        print(f"\n{name} ({len(rows)} questions, {time.perf_counter() - started:.0f} s) {args.label}")
        print(f"{'arm':14} {'contains':>8} {'f1':>6} {'em':>6} {'words':>6} {'yes/no':>7} {'abstain':>8} "
              f"{'false-ab':>8} {'loops':>5} {'retr':>5} {'c|retr':>6} {'ab|retr':>7}")
        for arm, f in results[name].items():
            cells = [f[k] for k in ("contains", "f1", "em", "words", "yesno", "abstains", "false_abstains")]
            print(f"{arm:14} " + " ".join(f"{'-' if c is None else c:>{w}}" for c, w in zip(cells, (8, 6, 6, 6, 7, 8, 8)))
                  + f" {f['loops']:>5} " + " ".join(f"{'-' if f[k] is None else f[k]:>{w}}" for k, w in (
                      ("retrieved", 5), ("contains_if_retrieved", 6), ("abstains_if_retrieved", 7))))
        for arm in answers if args.show else []:
            for r, t in list(zip(rows, answers[arm]))[: args.show]:
                print(f"  [{arm}] Q: {r['question']}\n         ref: {r['answer']} | got: {t!r}")
    if args.json:
        with open(args.json, "a") as f:
            f.write(json.dumps({"label": args.label, "arms": arms, "raft_adapter": args.raft_adapter, "prompt": args.prompt,
                                "top_k": args.top_k,
                                "results": results}) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
