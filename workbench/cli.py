"""Command line: `python -m workbench ask | ingest | train | eval | bench`, a subcommand -> function table."""

from __future__ import annotations

import argparse
import json
import os
import sys
import textwrap
from dataclasses import asdict

from .config import Settings


def _settings(args) -> Settings:
    return Settings.from_env(model=getattr(args, "model", None), data_dir=getattr(args, "data_dir", None))


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

    if args.adapter:
        find_adapter(args.adapter, settings.adapter_dirs)  # before the slow load
    wb = Workbench.load(settings)
    overrides = dict(corpus=corpus, top_k=args.top_k, max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    if args.adapter:
        wb.attach_adapter(args.adapter)  # an invalid adapter is an error here, not a quiet column
        overrides.update(lora_adapter=args.adapter, raft_adapter=args.adapter)
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
    try:
        report = ingest(store, args.corpus, [Path(p) for p in args.paths], chunk_size, chunk_overlap, bars,
                        ArchiveLimits.from_settings(settings))
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
    from .evaluation.runner import ResultCache, run_eval

    settings = _settings(args)
    # Refuse a bad file or bad arguments before spending seconds on loading the model.
    eval_set = load_eval_set(args.data)
    arms = [arm.name for arm in parse_arms(args.arms)]
    if args.limit is not None and args.limit < 1:
        raise ValueError(f"--limit must be at least 1, got {args.limit}")
    corpus = args.corpus or eval_set.corpus or settings.corpus  # a shipped set brings its own corpus
    check_corpus_exists(settings, corpus)
    wb, overrides = load_for_arms(args, settings, corpus)
    cache = None if args.no_cache else ResultCache.in_data_dir(settings)
    total = min(args.limit or len(eval_set.items), len(eval_set.items))

    def progress(done, of):  # about ten lines per run
        if done == of or done % max(1, of // 10) == 0:
            print(f"eval: {done}/{of} questions", file=sys.stderr)

    started = time.perf_counter()
    records = run_eval(wb, eval_set, arms, args.limit, cache, progress, **overrides)
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
    from .training.jobs import train_adapter
    from .training.trainer import TrainConfig

    settings = _settings(args)
    if args.method == "raft":
        check_corpus_exists(settings, args.corpus or settings.corpus)
    config = TrainConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(TrainConfig)
                            if getattr(args, f.name, None) is not None})
    wb = Workbench.load(settings)

    def report(p):
        if not args.json:
            print(f"step {p['step']}/{p['total']}  loss {p['loss']:.4f}  eta {p['eta_s']:.0f} s", file=sys.stderr)

    result = train_adapter(wb, args.data, config, args.out, args.corpus, progress=report)
    summary = {k: getattr(result, k) for k in ("adapter_dir", "steps", "train_loss", "seconds", "tokens_per_s")}
    print(json.dumps(summary, indent=2) if args.json else
          f"saved {result.adapter_dir}: {result.steps} steps, loss {result.first_loss} -> {result.train_loss}, "
          f"{result.seconds} s, {result.tokens_per_s} tokens/s")
    return 0


def cmd_bench(args) -> int:
    from .bench import run_bench
    from .engine import Workbench

    wb = Workbench.load(_settings(args))
    figures = run_bench(wb, args.data, args.n, args.arms, args.max_new_tokens, args.corpus)
    print(json.dumps(figures, indent=2) if args.json else "\n".join(f"{k:34} {v}" for k, v in figures.items()))
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


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m workbench", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    ask = sub.add_parser("ask", help="one question to the four arms")
    ask.add_argument("question")
    ask.add_argument("--arms", default="base,rag,lora,raft", help="comma-separated subset of base,rag,lora,raft")
    ask.add_argument("--corpus", help="corpus for the retrieval arms (default: handbook)")
    ask.add_argument("--adapter", help="adapter name or folder for the lora and raft arms")
    ask.add_argument("--top-k", type=int)
    ask.add_argument("--max-new-tokens", type=int)
    ask.add_argument("--temperature", type=float)
    _common(ask)
    ask.set_defaults(func=cmd_ask)

    ing = sub.add_parser("ingest", help="add files, folders and .zip archives to a shared corpus")
    ing.add_argument("paths", nargs="+", metavar="PATH", help="files, folders (walked recursively) or .zip archives")
    ing.add_argument("--corpus", required=True, help="corpus to add to (created when new)")
    ing.add_argument("--chunk-size", type=int, help="chunk size in embedder tokens (default: WORKBENCH_CHUNK_SIZE or 200)")
    ing.add_argument("--chunk-overlap", type=int, help="overlap between chunks in tokens (default: 30)")
    _common(ing)
    ing.set_defaults(func=cmd_ingest)

    ev = sub.add_parser("eval", help="the arms over a question set: metrics, latency, summary.csv + per_question.csv")
    ev.add_argument("--data", required=True, help="eval set, JSONL or CSV: question, answer (string or list)[, source, type]")
    ev.add_argument("--corpus", help="corpus for the retrieval arms (default: the set's own for corpora/<name>/qa/ "
                                     "files, else handbook)")
    ev.add_argument("--arms", default="base,rag,lora,raft", help="comma-separated subset of base,rag,lora,raft")
    ev.add_argument("--adapter", help="adapter name or folder for the lora and raft arms "
                                      "(default: handbook-lora and handbook-raft)")
    ev.add_argument("--limit", type=int, help="only the first N questions")
    ev.add_argument("--out", required=True, help="folder for summary.csv, per_question.csv, their .json twins and run.json")
    ev.add_argument("--top-k", type=int)
    ev.add_argument("--max-new-tokens", type=int)
    ev.add_argument("--temperature", type=float)
    ev.add_argument("--no-cache", action="store_true", help="generate every answer again instead of reusing cached ones")
    _common(ev)
    ev.set_defaults(func=cmd_eval)

    from .training.trainer import TrainConfig

    defaults = TrainConfig()
    train = sub.add_parser("train", help="train a LoRA adapter (lora or raft) and save it with a model card")
    train.add_argument("--data", required=True, help="chat JSONL (messages) or Q/A JSONL/CSV (question, answer, source)")
    train.add_argument("--method", choices=["lora", "raft"], default="lora")
    train.add_argument("--corpus", help="corpus for RAFT distractors (default: handbook)")
    train.add_argument("--out", required=True, help="adapter folder to write")
    for name, kind in [("epochs", float), ("learning_rate", float), ("batch_size", int), ("max_length", int),
                       ("r", int), ("alpha", int), ("dropout", float), ("raft_k", int), ("raft_p", float), ("seed", int)]:
        train.add_argument(f"--{name.replace('_', '-')}", type=kind, help=f"default {getattr(defaults, name)}")
    train.add_argument("--target-modules", type=lambda v: v.split(","), help="comma-separated module names")
    _common(train)
    train.set_defaults(func=cmd_train)

    bench = sub.add_parser("bench", help="time the arms batched vs one at a time, and retrieval hit rate")
    bench.add_argument("--data", default="corpora/handbook/qa/test.jsonl", help="QA set (question, source)")
    bench.add_argument("--corpus", help="corpus of the QA set (default: handbook)")
    bench.add_argument("--n", type=int, default=5, help="questions to time")
    bench.add_argument("--arms", default="base,rag,lora,raft")
    bench.add_argument("--max-new-tokens", type=int, default=48)
    _common(bench)
    bench.set_defaults(func=cmd_bench)

    export = sub.add_parser("export-model", help="save the base model as a safetensors folder for a vLLM server")
    export.add_argument("dir", help="folder to write (reused when it already holds this model)")
    _common(export)
    export.set_defaults(func=cmd_export_model)

    load = sub.add_parser("loadtest", help="N concurrent users each run one four-arm comparison through the app")
    load.add_argument("--users", type=int, default=20, help="concurrent gradio_client users (1..64)")
    load.add_argument("--data", default="corpora/handbook/qa/test.jsonl", help="QA set the questions come from")
    load.add_argument("--max-new-tokens", type=int, help="per arm (default: WORKBENCH_MAX_NEW_TOKENS or 64)")
    load.add_argument("--timeout", type=float, default=1200.0, help="seconds for the whole run, app start included")
    load.add_argument("--url", help="an app already running on 127.0.0.1 (default: start one with WORKBENCH_* settings)")
    _common(load)
    load.set_defaults(func=cmd_loadtest)
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:  # our errors (ModelError, StoreError, AdapterError...) are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
