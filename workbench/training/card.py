"""The adapter's model card (README.md): data, method, hyperparameters, loss, wall time, evaluation."""

from __future__ import annotations

import platform
from dataclasses import asdict
from pathlib import Path

import torch


EVIDENCE_TARGET = "the target quotes the evidence, then gives the answer"
READER_TARGET = ("the target is the answer alone (Yes./No. for a yes/no question; the abstention phrase when no "
                 "passage answers)")


def _machine() -> str:
    if torch.cuda.is_available():
        return torch.cuda.get_device_name(0)
    return f"{platform.machine()} CPU, {torch.get_num_threads()} threads"


def write_card(out_dir: Path, *, name: str, base_model_id: str, data: str, method: str, corpus: str | None,
               n_examples: int, config, result, command: str, evaluation: dict | None = None,
               target: str = EVIDENCE_TARGET) -> Path:
    """Write README.md beside the adapter. `evaluation` maps arm -> {metric: value} when known; `target` says what
    a raft example's target is (training/raft.py's or training/reader.py's)."""
    hyper = {k: v for k, v in asdict(config).items() if k not in ("method",)}
    if not torch.cuda.is_available():
        hyper.pop("qlora")  # QLoRA applies on CUDA only
    if method != "raft":
        hyper = {k: v for k, v in hyper.items() if not k.startswith("raft_")}
    lines = [
        "---",
        f"base_model: {base_model_id}",
        "library_name: peft",
        "tags: [lora, " + ("raft, rag" if method == "raft" else "closed-book") + "]",
        "---",
        f"# {name}",
        "",
        f"A LoRA adapter for **{base_model_id}**, trained by the RAG vs fine-tuning workbench.",
        "",
        "## Data and method",
        f"- Training data: `{data}` ({n_examples} examples)",
        f"- Method: **{method}** — " + _method_text(method, config, corpus, target),
        "",
        "## Hyperparameters",
        "| parameter | value |", "|---|---|",
        *[f"| {k} | {v} |" for k, v in hyper.items()],
        "",
        "## Training",
        f"- Steps: {result.steps}; loss {result.first_loss} at the first step, {result.train_loss} over the last epoch",
        f"- Wall time: {result.seconds} s on {_machine()}; {result.tokens_per_s} tokens/s",
        "",
        "Re-create it with:",
        "```bash",
        command,
        "```",
    ]
    if evaluation:
        metrics = ["contains", "f1", "em", "rouge_l", "hit_at_k", "grounded", "total_p50_ms"]
        metrics = [m for m in metrics if any(m in row for row in evaluation.values())]
        lines += ["", "## Evaluation", "", "| arm | " + " | ".join(metrics) + " |", "|---" * (len(metrics) + 1) + "|"]
        for arm, row in evaluation.items():
            lines.append(f"| {arm} | " + " | ".join(_fmt(row.get(m)) for m in metrics) + " |")
    path = Path(out_dir) / "README.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def _method_text(method: str, config, corpus: str | None, target: str = EVIDENCE_TARGET) -> str:
    if method == "raft":
        return (f"Retrieval-Augmented Fine-Tuning: each prompt is the rag arm's prompt with {config.raft_k} passages "
                f"from corpus `{corpus}`; the oracle passage is among them with probability {config.raft_p}; {target}.")
    if method == "docs":
        return f"continued pre-training on the text of corpus `{corpus}` (every token trained), no Q/A."
    if method == "knowledge":
        return (f"knowledge injection: the text of corpus `{corpus}` (every token trained) mixed with several "
                "phrasings of each question, closed book (the base arm's prompt, the short answer as target).")
    return "closed-book: the prompt is the base arm's prompt (no passages), the target is the answer."


def _fmt(value) -> str:
    if value is None:
        return "–"
    return f"{value:.3f}" if isinstance(value, float) and value <= 1 else f"{value:.0f}" if isinstance(value, float) else str(value)

