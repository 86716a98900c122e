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


def cmd_ask(args) -> int:
    from .adapters import find_adapter
    from .arms import parse_arms
    from .engine import Workbench

    settings = _settings(args)
    # Refuse bad arguments before spending seconds on loading the model.
    parse_arms(args.arms)
    corpus = args.corpus or settings.corpus
    check_corpus_exists(settings, corpus)
    if args.adapter:
        find_adapter(args.adapter, settings.adapter_dirs)
    wb = Workbench.load(settings)
    overrides = dict(corpus=corpus, top_k=args.top_k, max_new_tokens=args.max_new_tokens, temperature=args.temperature)
    if args.adapter:
        wb.attach_adapter(args.adapter)  # an invalid adapter is an error here, not a quiet column
        overrides.update(lora_adapter=args.adapter, raft_adapter=args.adapter)
    result = wb.compare(args.question, args.arms, **overrides)
    print(json.dumps(result.to_dict(), indent=2) if args.json else format_comparison(result))
    return 0


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
    return parser


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
    args = build_parser().parse_args(argv)
    try:
        return args.func(args)
    except (ValueError, OSError) as exc:  # our errors (ModelError, StoreError, AdapterError...) are ValueErrors
        print(f"error: {exc}", file=sys.stderr)
        return 2
