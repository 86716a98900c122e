"""Formatting of result objects for the UI: plain functions, no Gradio state."""

from __future__ import annotations

import pandas as pd

from ..results import ArmResult

MEMORY_KINDS = {"cuda_peak_allocated": "GPU peak allocated (CUDA)", "cpu_peak_rss": "process peak RSS (CPU)",
                "server_rss": "server API process RSS now (vLLM /metrics)", "not_reported": "server"}
PASSAGE_COLUMNS = ["score", "source", "chunk_id", "text"]


def metrics_markdown(result: ArmResult) -> str:
    if result.error:
        return f"⚠️ {result.error}"
    m = result.metrics
    if not result.done and not m.output_tokens:
        return "_generating…_"
    memory = MEMORY_KINDS.get(m.memory_kind, "…")
    peak = f"{m.peak_memory_bytes / 2**20:,.0f} MiB" if m.peak_memory_bytes else (
        "not reported" if m.memory_kind == "not_reported" else "…")
    rows = [
        ("retrieval", f"{m.retrieval_ms:,.0f} ms"),
        ("time to first token", f"{m.ttft_ms:,.0f} ms"),
        ("total", f"{m.total_ms:,.0f} ms"),
        ("prompt / output tokens", f"{m.prompt_tokens} / {m.output_tokens}"),
        ("tokens/s", f"{m.tokens_per_s:.1f}"),
        (f"peak memory, {memory}", peak),
    ]
    adapter = f"adapter **{result.adapter}**\n\n" if result.adapter else ""
    return adapter + "| metric | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in rows)


def passages_frame(result: ArmResult) -> pd.DataFrame:
    return pd.DataFrame(
        [[round(p.score, 3), p.source, p.chunk_id[:12], p.text] for p in result.passages], columns=PASSAGE_COLUMNS
    )
