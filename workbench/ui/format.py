"""Formatting of result objects for the UI: plain functions, no Gradio state."""

from __future__ import annotations

import dataclasses
import re

from ..results import ArmResult, Passage

MEMORY_KINDS = {"cuda_peak_allocated": "GPU peak allocated (CUDA)", "cpu_peak_rss": "process peak RSS (CPU)",
                "server_rss": "server API process RSS now (vLLM /metrics)", "not_reported": "server"}
METRIC_LABELS = {
    "retrieval_ms": "retrieval",
    "prefill_ms": "own prefill",
    "ttft_ms": "time to first token",
    "total_ms": "total",
    "compute_ms": "own compute",
    "tokens_per_s": "decode tokens/s (after the first)",
    "decode_tokens_per_s": "decode tokens/s",
}
"""Labels of the Metrics fields we know; any other field is shown under its own name (see `metric_rows`)."""
METRIC_HELP = {
    "retrieval": "embedding the question and searching the corpus (rag and raft only)",
    "time to first token": "retrieval plus the time from the start of generation to this arm's first token; the "
                           "four arms share one batch, so shorter prompts' prefills run before this arm's own",
    "own prefill": "this arm's own forward pass over its prompt",
    "total": "retrieval plus generation until this arm's last token (wall clock, shared batch)",
    "own compute": "what this arm costs alone: retrieval, its own prefill and its share of the batched decode steps",
    "prompt / output tokens": "tokens of the prompt the model read / of the answer it wrote",
    "decode tokens/s (after the first)": "output tokens after the first ÷ the time after the first (not shown for "
                                         "answers under 3 tokens, too short to time)",
    "peak memory": "of the whole process (or GPU), shared by the four arms: the same figure in every column",
}
"""One line per figure of the Compare columns (the definitions of docs/evaluation.md, shortened)."""
MIN_RATE_TOKENS = 3
"""Answers with fewer output tokens get no decode rate: one interval between two tokens is not a rate."""
PREVIEW_CHARS = 280
PROCESS_WIDE = {"cuda_peak_allocated": "GPU allocated", "cpu_peak_rss": "process RSS"}
"""Memory kinds measured for the whole process (or GPU): one figure for every column, shown once."""


def metric_rows(result: ArmResult, memory: bool = True) -> list[tuple[str, str]]:
    """(label, value) for every field of the result's Metrics, so new fields appear without UI changes; without
    `memory`, a process-wide peak memory (shown in another column) is left out."""
    m = result.metrics
    values = dataclasses.asdict(m)
    rows = []
    for name, value in values.items():
        if name in ("memory_kind", "output_tokens"):
            continue  # shown with peak memory and prompt tokens
        label = METRIC_LABELS.get(name, name.replace("_", " "))
        if name == "prompt_tokens":
            rows.append(("prompt / output tokens", f"{value} / {m.output_tokens}"))
        elif name == "peak_memory_bytes":
            if not memory and m.memory_kind in PROCESS_WIDE:
                continue
            shown = "not reported" if m.memory_kind == "not_reported" else "…"
            if m.memory_kind in PROCESS_WIDE:  # short: the column's table stays narrow
                rows.append(("peak memory, all columns",
                             f"{value / 2**20:,.0f} MiB ({PROCESS_WIDE[m.memory_kind]})" if value else shown))
            else:
                kind = MEMORY_KINDS.get(m.memory_kind, "…")
                rows.append((f"peak memory, {kind}", f"{value / 2**20:,.0f} MiB" if value else shown))
        elif name.endswith("_ms"):
            rows.append((label.removesuffix(" ms"), f"{value:,.0f} ms"))
        elif name.endswith("_per_s"):
            rows.append((label, f"{value:.1f}" if m.output_tokens >= MIN_RATE_TOKENS else "— (too few tokens)"))
        elif isinstance(value, (int, float)) and not isinstance(value, bool):
            rows.append((label, f"{value:,}"))
    return rows


def metrics_help_markdown() -> str:
    """What each figure in the columns means, one line each."""
    return "\n".join(f"- **{label}**: {text}" for label, text in METRIC_HELP.items())


def metrics_markdown(result: ArmResult, memory: bool = True) -> str:
    """The metrics table of one column (the same rows in every column, so they line up). The column's adapter is
    said above its answer (ui/compare.py's adapter line)."""
    if result.error:
        return ""  # the answer box says why the arm did not run
    m = result.metrics
    if not result.done and not m.output_tokens:
        return "_generating…_"
    return "| metric | value |\n|---|---|\n" + "\n".join(f"| {k} | {v} |" for k, v in metric_rows(result, memory))


def answer_markdown(result: ArmResult, max_new_tokens: int) -> str:
    """The answer as Markdown; an answer cut by the token limit says so instead of ending mid-word."""
    if result.error:
        return f"⚠️ {result.error}"
    text = result.answer.strip()
    if result.done and max_new_tokens and result.metrics.output_tokens >= max_new_tokens:
        text += f" … *(stopped at {max_new_tokens} tokens)*"
    return text


def _flatten_headings(text: str) -> str:
    # A chunk's own "# Heading" lines would render as page-sized titles inside a small card.
    return re.sub(r"(?m)^#{1,6}\s+(.+)$", r"**\1**", text)


def _preview(text: str, limit: int = PREVIEW_CHARS) -> str:
    flat = " ".join(_flatten_headings(text).split())
    if len(flat) <= limit:
        return flat
    return flat[:limit].rsplit(" ", 1)[0] + " …"


def passage_markdown(index: int, passage: Passage, total: int = 0) -> str:
    """One passage as a card: rank (of how many: a box that cuts a card still says more follow), score, source
    and chunk id on one line, then the text (long text folded)."""
    rank = f"#{index} of {total}" if total else f"#{index}"
    head = f"**{rank} · score {passage.score:.3f}** · `{passage.source}` · chunk `{passage.chunk_id[:8]}`"
    text = passage.text.strip()
    body = "> " + _preview(text)
    if len(" ".join(text.split())) > PREVIEW_CHARS:
        body += (f"\n\n<details><summary>show the whole passage ({len(text):,} characters)</summary>\n\n"
                 f"{_flatten_headings(text)}\n\n</details>")
    return f"{head}\n\n{body}"


def passages_markdown(result: ArmResult) -> str:
    """The retrieved passages, best first, as Markdown cards (empty for arms without retrieval)."""
    if not result.passages:
        return ""
    n = len(result.passages)
    return "\n\n---\n\n".join(passage_markdown(i, p, n) for i, p in enumerate(result.passages, 1))
