"""Command line: `python -m workbench ask | ingest | qa | train | eval | decide | bench`, a subcommand -> function table."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from dataclasses import asdict
from pathlib import Path

from .arms import ALL_ARMS
from .config import Settings
from .jobs import Job, reporter


def _settings(args) -> Settings:
    return Settings.from_env(model=getattr(args, "model", None), data_dir=getattr(args, "data_dir", None),
                             eval_batch=getattr(args, "batch", None))


def check_corpus_exists(settings: Settings, corpus: str) -> None:
    """Refuse an unknown corpus before loading any model (shipped corpora are indexed at load)."""
    from .retrieval.ingest import shipped_corpora
    from .retrieval.store import StoreError, VectorStore

    known = set(shipped_corpora()) | set(VectorStore.open(settings, embedder=None).corpora())
    if corpus not in known:
        raise StoreError(f"unknown corpus {corpus!r} (known: {', '.join(sorted(known)) or 'none'})")


def load_for_arms(args, settings: Settings, corpus: str):
    """Check --adapter, load the model, attach the adapter: (workbench, per-request overrides) for ask and eval."""
    from .adapters import find_adapter
    from .engine import Workbench

    # --adapter sets both adapter columns; --lora-adapter / --raft-adapter set one each (and win over --adapter)
    per_arm = {"lora_adapter": getattr(args, "lora_adapter", None) or args.adapter,
               "raft_adapter": getattr(args, "raft_adapter", None) or args.adapter}
    per_arm = {k: v for k, v in per_arm.items() if v}
    for name in per_arm.values():
        find_adapter(name, settings.adapter_dirs)  # before the slow load
    wb = Workbench.load(settings)
    overrides = dict(corpus=corpus, top_k=args.top_k, max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    for name in per_arm.values():
        wb.attach_adapter(name)  # an invalid adapter is an error here, not a quiet column
    overrides.update(per_arm)
    return wb, overrides


def cmd_ask(args) -> int:
    from .arms import parse_arms

    settings = _settings(args)
    # Refuse bad arguments before spending seconds on loading the model.
    parse_arms(args.arms)
    corpus = args.corpus or settings.corpus
    check_corpus_exists(settings, corpus)
    wb, overrides = load_for_arms(args, settings, corpus)
    result = wb.compare(args.question, args.arms, **overrides)
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_comparison(result))
    return 0


def cmd_ingest(args) -> int:
    from pathlib import Path

    from .retrieval.archive import ArchiveLimits
    from .retrieval.embedder import Embedder
    from .retrieval.ingest import check_chunking, ingest, shipped_corpora
    from .retrieval.sessions import check_shared_name
    from .retrieval.store import StoreError, VectorStore

    settings = _settings(args)
    # Refuse bad arguments before spending seconds on loading the embedder.
    check_shared_name(args.corpus)
    if args.corpus in shipped_corpora():
        raise StoreError(f"corpus {args.corpus!r} ships with the app (corpora/{args.corpus}/docs); choose another name")
    chunk_size = args.chunk_size if args.chunk_size is not None else settings.chunk_size
    chunk_overlap = args.chunk_overlap if args.chunk_overlap is not None else settings.chunk_overlap
    check_chunking(chunk_size, chunk_overlap)
    store = VectorStore.open(settings, Embedder.load(settings.embedder, settings.device))
    bars = ProgressBars()

    def work(job: Job):
        return ingest(store, args.corpus, [Path(p) for p in args.paths], chunk_size, chunk_overlap,
                      reporter(job, "ingest"), ArchiveLimits.from_settings(settings), cancel=job.cancelled)
    try:  # Ctrl-C stops it before anything is written
        report = Job(work, "ingest", ("ingest",)).run(lambda p: bars(p.done, p.total, p.unit, p.message))
    finally:
        bars.close()
    if args.json:
        print(json.dumps(asdict(report), indent=2))
    else:
        print(f"{report.corpus}: {len(report.files_ok)} files ingested, {len(report.files_failed)} failed, "
              f"{report.chunks_added} chunks added, {report.chunks_total} in the corpus")
        for failure in report.files_failed:
            print(f"  failed  {failure['file']}: {failure['error']}")
    return 0 if report.files_ok else 1


class ProgressBars:
    """One tqdm bar on stderr per ingestion stage (files, then embedding batches); silent when not a terminal."""

    def __init__(self):
        self.bars = {}

    def __call__(self, done: int, total: int, unit: str, desc: str) -> None:
        from tqdm.auto import tqdm

        if unit not in self.bars:
            self.bars[unit] = tqdm(total=total, unit=f" {unit}", file=sys.stderr, disable=None, leave=True)
        bar = self.bars[unit]
        bar.total, bar.n = total, done
        bar.set_description(desc[:48], refresh=True)

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def cmd_eval(args) -> int:
    import time

    from .arms import parse_arms
    from .evaluation.datasets import load_eval_set
    from .evaluation.report import build_report, format_summary, run_metadata, write_report
    from .evaluation.runner import ResultCache, evaluation_work
    from .validation import EVAL_BATCH_MAX

    settings = _settings(args)
    # Refuse a bad file or bad arguments before spending seconds on loading the model.
    eval_set = load_eval_set(args.data)
    arms = [arm.name for arm in parse_arms(args.arms)]
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be at least 1, got {args.limit}")
    if args.batch is not None and not 1 <= args.batch <= EVAL_BATCH_MAX:
        raise ValueError(f"--batch must be between 1 and {EVAL_BATCH_MAX} questions, got {args.batch}")
    corpus = args.corpus or eval_set.corpus or settings.corpus  # a shipped set brings its own corpus
    check_corpus_exists(settings, corpus)
    wb, overrides = load_for_arms(args, settings, corpus)
    cache = None if args.no_cache else ResultCache.in_data_dir(settings)
    total = min(args.limit or len(eval_set.items), len(eval_set.items))

    items, records = eval_set.items[:total], []

    def progress(p):  # about ten lines per run
        records.extend(p.detail)
        if p.done == p.total or p.done % max(1, p.total // 10) == 0:
            eta = f", about {p.eta_s:.0f} s left" if p.eta_s else ""
            print(f"eval: {p.done}/{p.total} questions{eta}", file=sys.stderr)

    started = time.perf_counter()
    Job(evaluation_work(wb, items, arms, cache, overrides), "eval", ("evaluate",)).run(progress)
    report = build_report(records, eval_set.labels)
    meta = run_metadata(wb, eval_set, arms, total, time.perf_counter() - started, **overrides)
    write_report(report, args.out, meta)
    if args.json:
        for note in report.notes:
            print(f"note: {note}", file=sys.stderr)
    print(json.dumps(report.summary_json(), indent=2) if args.json else format_summary(report))
    return 0


def cmd_train(args) -> int:
    import dataclasses

    from .engine import Workbench
    from .training.jobs import STAGES, training_work
    from .training.trainer import TrainConfig

    settings = _settings(args)
    if args.method != "lora":
        check_corpus_exists(settings, args.corpus or settings.corpus)
    if args.data is None and args.method != "docs":
        raise ValueError(f"--method {args.method} needs --data (a Q/A or chat file); only --method docs trains "
                         "on the corpus text alone")
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                            if getattr(args, f.name, None) is not None})
    wb = Workbench.load(settings)

    def report(p):
        if not args.json and p.stage == "train":
            print(f"step {p.done}/{p.total}  loss {p.detail:.4f}  eta {p.eta_s:.0f} s", file=sys.stderr)

    result = Job(training_work(wb, args.data, config, args.out, args.corpus), "train", STAGES).run(report)
    summary = {k: getattr(result, k) for k in ("adapter_dir", "steps", "train_loss", "seconds", "tokens_per_s")}
    print(json.dumps(summary, indent=2) if args.json else
          f"saved {result.adapter_dir}: {result.steps} steps, loss {result.first_loss} -> {result.train_loss}, "
          f"{result.seconds} s, {result.tokens_per_s} tokens/s")
    return 0


def _recheck(args, settings) -> int:
    """`decide --recheck RUN`: ask the finished run's arms about the facts that changed since (decide/recheck.py),
    as a job; Ctrl-C cancels it at its next question."""
    from .decide.recheck import recheck_work
    from .engine import Workbench

    if not (Path(args.recheck) / "run.json").is_file():
        raise ValueError(f"{args.recheck} holds no Decide run (no run.json); give the run folder of a finished run")
    wb = Workbench.load(settings)

    def progress(p):
        print(f"recheck: {p.message}", file=sys.stderr)

    result = Job(recheck_work(wb, args.recheck), "recheck", ("recheck",)).run(progress)
    print(json.dumps(result, indent=2) if args.json else result["line"])
    return 0


def cmd_decide(args) -> int:
    from .decide import decide_work
    from .decide.stages import STAGES
    from .engine import Workbench

    settings = _settings(args)
    if args.recheck:
        return _recheck(args, settings)
    if not args.corpus or not args.out:
        raise ValueError("decide needs --corpus and --out (or --recheck RUN_FOLDER)")
    corpus = args.corpus
    check_corpus_exists(settings, corpus)  # before loading the model
    if args.budget is not None and not 0 < args.budget <= 1440:
        raise ValueError(f"--budget must be between 1 and 1440 minutes, got {args.budget:g}")
    if args.queries_per_day is not None and args.queries_per_day < 1:
        raise ValueError(f"--queries-per-day must be at least 1, got {args.queries_per_day}")
    wb = Workbench.load(settings)
    last = {"stage": None}

    def progress(p):
        if p.stage == last["stage"] and p.fraction < 1.0 and int(p.fraction * 100) % 5:  # stderr, also with --json
            return
        last["stage"] = p.stage
        eta = f", about {p.eta_s / 60:.1f} min left" if p.eta_s is not None else ""
        print(f"decide: {p.message} — {p.fraction * 100:.0f} % of the run done{eta}", file=sys.stderr)

    # The same job the Decide tab runs; Ctrl-C cancels it at its next training step or question.
    work = decide_work(wb, corpus, args.out, args.budget, args.queries_per_day)
    result = Job(work, "decide", tuple(name for name, _ in STAGES)).run(progress)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print((Path(args.out) / "report.md").read_text())
    return 0


def cmd_bench(args) -> int:
    from .arms import parse_arms
    from .bench import run_bench

    parse_arms(args.arms)  # a bad --arms exits 2 before any worker starts
    figures = run_bench(args)
    print(json.dumps(figures, indent=2) if args.json else "\n".join(f"{k:36} {v}" for k, v in figures.items()))
    return 0


def cmd_qa(args) -> int:
    from .qa.run import corpus_chunks, make_qa_files, read_reference
    from .retrieval.store import VectorStore

    settings = _settings(args)
    check_corpus_exists(settings, args.corpus)
    reference = read_reference(args.reference) if args.reference else None  # a bad file fails before the work
    chunks = corpus_chunks(VectorStore.open(settings, embedder=None), args.corpus, settings)
    figures = Job(lambda job: make_qa_files(chunks, args.out, args.max_facts, args.test_fraction, args.seed,
                                            reference), "qa", ("questions",)).run()
    print(json.dumps(figures, indent=2) if args.json else
          f"{figures['facts']} facts ({figures['facts_per_1000_words']} per 1,000 words), {figures['questions']} "
          f"questions: {figures['train']} train rows in {figures['out']}, {figures['test']} test rows in "
          f"{figures['test_out']}; answer in source {figures['answer_in_source']:.0%}, no 6-word copy "
          f"{figures['no_copy_6']:.0%}"
          + (f", recall of {figures['reference']} reference facts {figures['recall']:.0%}" if "recall" in figures
             else ""))
    return 0


def cmd_export_model(args) -> int:
    from .backends.export import export_model

    info = export_model(_settings(args).model, args.dir)
    print(json.dumps(info, indent=2) if args.json else f"{'reused' if info['reused'] else 'wrote'} {info['path']}")
    return 0


def cmd_loadtest(args) -> int:
    from .loadtest import run_loadtest

    report = run_loadtest(_settings(args), users=args.users, question_file=args.data, timeout_s=args.timeout,
                          max_new_tokens=args.max_new_tokens, url=args.url)
    print(json.dumps(asdict(report), indent=2) if args.json else report.summary())
    return 0 if report.errors == 0 else 1


def format_comparison(result) -> str:
    """Readable text: one block per arm, answer first, then passages and metrics."""
    lines = [f"Q: {result.question}   (model: {result.model})", ""]
    for arm in result.arms:
        m = arm.metrics
        lines.append(f"== {arm.arm}" + (f" [adapter: {arm.adapter}]" if arm.adapter else ""))
        lines.append(textwrap.indent(textwrap.fill(arm.error or arm.answer or "(empty)", 100), "   "))
        for p in arm.passages:
            lines.append(f"   - {p.source} #{p.chunk_id[:8]} score {p.score:.3f}")
        if not arm.error:
            lines.append(
                f"   retrieval {m.retrieval_ms:.0f} ms | ttft {m.ttft_ms:.0f} ms | total {m.total_ms:.0f} ms | "
                f"{m.prompt_tokens} prompt + {m.output_tokens} output tokens | {m.tokens_per_s:.1f} tok/s | "
                f"peak {m.peak_memory_bytes / 2**20:.0f} MiB ({m.memory_kind})"
            )
        lines.append("")
    return "\n".join(lines)


def _common(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", help="base model: catalog name, folder or hub id (default: WORKBENCH_MODEL or smollm2-135m-instruct)")
    p.add_argument("--data-dir", help="data directory (default: WORKBENCH_DATA_DIR or ./data)")
    p.add_argument("--json", action="store_true", help="print JSON")


def _add_ask(sub) -> None:
    """`python -m workbench ask` and its options."""
    ask = sub.add_parser("ask", help="one question to the four arms")
    ask.add_argument("question")
    ask.add_argument("--arms", default=ALL_ARMS, help=f"comma-separated subset of {ALL_ARMS}")
    ask.add_argument("--corpus", help="corpus for the retrieval arms (default: handbook)")
    ask.add_argument("--adapter", help="adapter name or folder for the lora and raft arms")
    ask.add_argument("--top-k", type=int)
    ask.add_argument("--max-new-tokens", type=int)
    ask.add_argument("--temperature", type=float)
    _common(ask)
    ask.set_defaults(func=cmd_ask)


def _add_ingest(sub) -> None:
    """`python -m workbench ingest` and its options."""
    ing = sub.add_parser("ingest", help="add files, folders and .zip archives to a shared corpus")
    ing.add_argument("paths", nargs="+", metavar="PATH", help="files, folders (walked recursively) or .zip archives")
    ing.add_argument("--corpus", required=True, help="corpus to add to (created when new)")
    ing.add_argument("--chunk-size", type=int, help="chunk size in embedder tokens (default: WORKBENCH_CHUNK_SIZE or 200)")
    ing.add_argument("--chunk-overlap", type=int, help="overlap between chunks in tokens (default: 30)")
    _common(ing)
    ing.set_defaults(func=cmd_ingest)


def _add_eval(sub) -> None:
    """`python -m workbench eval` and its options."""
    ev = sub.add_parser("eval", help="the arms over a question set: metrics, latency, summary.csv + per_question.csv")
    ev.add_argument("--data", required=True, help="eval set, JSONL or CSV: question, answer (string or list)[, source, type]")
    ev.add_argument("--corpus", help="corpus for the retrieval arms (default: the set's own for corpora/<name>/qa/ "
                                     "files, else handbook)")
    ev.add_argument("--arms", default=ALL_ARMS, help=f"comma-separated subset of {ALL_ARMS}")
    ev.add_argument("--adapter", help="adapter name or folder for the lora and raft arms "
                                      "(default: handbook-lora and handbook-raft)")
    ev.add_argument("--lora-adapter", help="adapter of the lora column only (wins over --adapter)")
    ev.add_argument("--raft-adapter", help="adapter of the raft column only (wins over --adapter)")
    ev.add_argument("--limit", type=int, help="only the first N questions")
    ev.add_argument("--batch", type=int, help="questions generated together (default: the eval_batch setting, 8; "
                    "1: one at a time). Same answers; more questions per batch use more memory")
    ev.add_argument("--out", required=True, help="folder for summary.csv, per_question.csv, their .json twins and run.json")
    ev.add_argument("--top-k", type=int)
    ev.add_argument("--max-new-tokens", type=int)
    ev.add_argument("--temperature", type=float)
    ev.add_argument("--no-cache", action="store_true", help="generate every answer again instead of reusing cached ones")
    _common(ev)
    ev.set_defaults(func=cmd_eval)


def _add_train(sub) -> None:
    """`python -m workbench train` and its options."""
    from .training.jobs import METHODS
    from .training.trainer import TrainConfig

    defaults = TrainConfig()
    train = sub.add_parser("train", help="train a LoRA adapter and save it with a model card")
    train.add_argument("--data", help="chat JSONL (messages) or Q/A JSONL/CSV (question, answer, source); "
                                      "optional for --method docs")
    train.add_argument("--method", choices=list(METHODS), default="lora",
                       help="lora: closed-book Q/A; raft: Q/A with retrieved passages; docs: the corpus text alone; "
                            "knowledge: the corpus text plus every phrasing of the Q/A (learns facts best)")
    train.add_argument("--corpus", help="corpus for raft distractors and for the docs/knowledge text (default: handbook)")
    train.add_argument("--out", required=True, help="adapter folder to write")
    for name, kind in [("epochs", float), ("learning_rate", float), ("batch_size", int), ("max_length", int),
                       ("r", int), ("alpha", int), ("dropout", float), ("raft_k", int), ("raft_p", float), ("seed", int),
                       ("doc_repeats", int), ("max_seconds", float), ("top_layers", float)]:
        train.add_argument(f"--{name.replace('_', '-')}", type=kind, help=f"default {getattr(defaults, name)}")
    train.add_argument("--target-modules", type=lambda v: v.split(","), help="comma-separated module names")
    _common(train)
    train.set_defaults(func=cmd_train)


def _add_decide(sub) -> None:
    """`python -m workbench decide` and its options."""
    dec = sub.add_parser("decide", help="RAG or fine-tuning for a corpus: questions, two adapters, evaluation, verdict")
    dec.add_argument("--corpus", help="an ingested (or shipped) corpus (required unless --recheck)")
    dec.add_argument("--budget", type=float, help="minutes for the whole run (default 20); sizes questions and epochs")
    dec.add_argument("--out", help="run folder (report.md, report.json, qa/, adapters/, eval/); "
                                                   "running again with the same folder resumes")
    dec.add_argument("--recheck", metavar="RUN", help="a finished run's folder: after re-ingesting changed documents, "
                                                      "ask its arms about the changed facts (no retraining)")
    dec.add_argument("--queries-per-day", type=int, help="the queries you expect a day, for the cost need "
                                                         "(default 100); on a finished run, rewrites its report")
    _common(dec)
    dec.set_defaults(func=cmd_decide)


def _add_bench(sub) -> None:
    """`python -m workbench bench` and its options."""
    from .bench import add_options as bench_options

    bench = sub.add_parser("bench", help="the engine against the naive way: decode tok/s, TTFT, four vs one arm, "
                                         "peak RSS, warm start, memory bandwidth, each against its goal")
    bench_options(bench)
    _common(bench)
    bench.set_defaults(func=cmd_bench)


def _add_qa(sub) -> None:
    """`python -m workbench qa` and its options."""
    qa = sub.add_parser("qa", help="generate Q/A from a corpus offline: train JSONL at --out, test beside it (.test)")
    qa.add_argument("--corpus", required=True, help="corpus to generate questions from")
    qa.add_argument("--out", required=True, help="train JSONL (every phrasing); the test file is OUT with .test "
                                                 "before the suffix (one reworded question per held-out fact)")
    qa.add_argument("--max-facts", type=int, help="at most N facts, spread over all documents (default: all)")
    qa.add_argument("--test-fraction", type=float, default=0.2, help="share of facts held out for test (default 0.2)")
    qa.add_argument("--seed", type=int, default=0)
    qa.add_argument("--reference", action="append", help="hand-written Q/A JSONL to report recall against "
                                                         "(repeatable)")
    _common(qa)
    qa.set_defaults(func=cmd_qa)


def _add_export_model(sub) -> None:
    """`python -m workbench export-model` and its options."""
    export = sub.add_parser("export-model", help="save the base model as a safetensors folder for a vLLM server")
    export.add_argument("dir", help="folder to write (reused when it already holds this model)")
    _common(export)
    export.set_defaults(func=cmd_export_model)


def _add_loadtest(sub) -> None:
    """`python -m workbench loadtest` and its options."""
    load = sub.add_parser("loadtest", help="N concurrent users each run one four-arm comparison through the app")
    load.add_argument("--users", type=int, default=20, help="concurrent gradio_client users (1..64)")
    load.add_argument("--data", default="corpora/handbook/qa/test.jsonl", help="QA set the questions come from")
    load.add_argument("--max-new-tokens", type=int, help="per arm (default: WORKBENCH_MAX_NEW_TOKENS or 64)")
    load.add_argument("--timeout", type=float, default=1200.0, help="seconds for the whole run, app start included")
    load.add_argument("--url", help="an app already running on 127.0.0.1 (default: start one with WORKBENCH_* settings)")
    _common(load)
    load.set_defaults(func=cmd_loadtest)


def build_parser() -> argparse.ArgumentParser:
    """The command line: one subcommand per job, each with the common options (--model, --data-dir, --json)."""
    parser = argparse.ArgumentParser(prog="python -m workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    for add in (_add_ask, _add_ingest, _add_eval, _add_train, _add_decide, _add_bench, _add_qa, _add_export_model,
                _add_loadtest):
        add(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError, MemoryError) as exc:  # our errors (ModelError, StoreError, AdapterError...) are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
