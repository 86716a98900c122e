"""Scoring and reports: records -> one Row per question x arm -> an ArmSummary per arm -> CSV, JSON, tables.

`summary.csv`, `summary.json` (and the CLI's `--json`) hold the same numbers; `per_question.csv` holds the rows
they are computed from. Fractions are in 0..1, times in milliseconds.
"""

from __future__ import annotations

import json
import statistics
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import TYPE_CHECKING

import pandas as pd

from ..arms import ARMS
from . import metrics as M
from .datasets import label_classes
from .runner import EvalRecord

if TYPE_CHECKING:
    from ..engine import Workbench

PERCENT_DIGITS = 4
MS_DIGITS = 1


@dataclass
class Row:
    """The scores of one arm on one question (a line of per_question.csv)."""

    id: str
    question: str
    arm: str
    answer: str
    reference: str
    """The first acceptable answer; all of them are in `references`."""
    em: float | None
    """em, f1, contains and rouge_l score answerable rows; None on `unanswerable` rows (see abstained)."""
    f1: float | None
    contains: float | None
    rouge_l: float | None
    abstained: float
    """1.0 when the answer is the abstention phrase (metrics.abstains)."""
    looped: float
    """1.0 when the answer repeats itself (metrics.loops)."""
    hit: float | None
    """1.0 when a passage from the reference `source` was among the top-k retrieved (retrieval arms only)."""
    rr: float | None
    """Reciprocal rank of the first passage from `source` (0 when none; retrieval arms only)."""
    grounded: float | None
    ttft_ms: float
    """The arm's own time to first token: retrieval plus its own prefill (see `latency`)."""
    total_ms: float
    """The arm's own cost: ttft_ms plus its share of the batched decode steps (see `latency`)."""
    prompt_tokens: int
    output_tokens: int
    type: str
    predicted_label: str | None
    """For `label` rows: the label the answer gives (see metrics.predicted_label)."""
    correct: float
    """The verdict the disagreement filters use: the label matches (label rows), the answer contains a reference
    (short rows), the arm abstains (unanswerable rows)."""
    retrieval_ms: float
    tokens_per_s: float
    peak_memory_mib: float
    memory_kind: str
    adapter: str | None
    cached: bool
    references: str
    """All acceptable answers, as a JSON list."""
    retrieved: str
    """Sources of the passages the arm was given, in rank order, separated by ' | '."""


COLUMNS = [f.name for f in fields(Row)]


def latency(m) -> tuple[float, float, float]:
    """(ttft_ms, total_ms, tokens_per_s) of one arm's answer as the evaluation reports them: the arm's own cost.

    An evaluation generates many questions' arms in one batch, so the wall-clock times from the start of the batch
    hold the other rows' prefills and steps. Here time to first token is retrieval plus the arm's own prefill, and
    total adds its share of the decode steps it was in (each step's time split evenly among its rows): what the arm
    costs per query, comparable between arms and between runs. A server backend cannot tell its rows' costs apart:
    its rows keep the wall-clock times (compute_ms is 0).
    """
    if not m.compute_ms:
        return m.ttft_ms, m.total_ms, m.tokens_per_s
    ttft = round(m.retrieval_ms + m.prefill_ms, 2)
    decode_s = (m.compute_ms - ttft) / 1000
    rate = round((m.output_tokens - 1) / decode_s, 2) if m.output_tokens > 1 and decode_s > 0 else 0.0
    return ttft, m.compute_ms, rate


def score(record: EvalRecord, labels: list[str]) -> Row:
    item, result, m = record.item, record.result, record.result.metrics
    ttft_ms, total_ms, tokens_per_s = latency(m)
    refs, answer = item.answers, M.final_answer(result.answer)
    sources = [p.source for p in result.passages]
    rr = M.reciprocal_rank(sources, item.source) if ARMS[result.arm].retrieval and item.source else None
    label = M.predicted_label(answer, labels) if item.type == "label" else None
    answerable = item.type != "unanswerable"
    contains = M.contains_answer(answer, refs) if answerable else None
    abstained = M.abstains(result.answer)
    correct = float(label == refs[0].lower()) if item.type == "label" else contains if answerable else abstained
    return Row(
        id=item.id, question=item.question, arm=result.arm, answer=result.answer, reference=refs[0],
        em=M.exact_match(answer, refs) if answerable else None,
        f1=round(M.token_f1(answer, refs), PERCENT_DIGITS) if answerable else None, contains=contains,
        rouge_l=round(M.rouge_l(answer, refs), PERCENT_DIGITS) if answerable else None,
        abstained=abstained, looped=M.loops(result.answer),
        hit=None if rr is None else float(rr > 0), rr=None if rr is None else round(rr, PERCENT_DIGITS),
        grounded=_round(M.groundedness(answer, [p.text for p in record.evidence]), PERCENT_DIGITS),
        ttft_ms=ttft_ms, total_ms=total_ms, prompt_tokens=m.prompt_tokens, output_tokens=m.output_tokens,
        type=item.type,
        predicted_label=label, correct=correct,
        retrieval_ms=m.retrieval_ms, tokens_per_s=tokens_per_s,
        peak_memory_mib=round(m.peak_memory_bytes / 2**20, 1), memory_kind=m.memory_kind, adapter=result.adapter,
        cached=record.cached, references=json.dumps(refs), retrieved=" | ".join(sources),
    )


@dataclass
class ArmSummary:
    """One arm over the eval set. Optional metrics are None where they do not apply."""

    arm: str
    n: int
    em: float | None
    """em, f1, contains, rouge_l: means over the answerable rows (None when all are unanswerable)."""
    f1: float | None
    contains: float | None
    rouge_l: float | None
    abstain: float | None
    """Unanswerable rows: share where the arm says the abstention phrase (docs/evaluation.md)."""
    false_abstain: float | None
    """Answerable rows: share where the arm says the abstention phrase although the documents answer."""
    loops: int
    """Answers that repeat themselves (a run of 3 words 3 times or more; metrics.loops)."""
    accuracy: float | None
    """Label rows only: share whose predicted label is right."""
    macro_f1: float | None
    hit_at_k: float | None
    """Rows with a `source`, retrieval arms only: share whose top-k passages include that document."""
    mrr: float | None
    grounded: float | None
    """Mean groundedness over the rows where it is defined (answers with content words)."""
    ttft_p50_ms: float
    ttft_p95_ms: float
    total_p50_ms: float
    total_p95_ms: float
    tokens_per_s: float
    """Decode rate: output tokens after each row's first / seconds after each row's first token, over all rows."""
    peak_memory_mib: float
    cached: int
    """Rows answered from the cache (their latency was measured when they were first generated)."""

    def to_json(self) -> dict:
        """The CLI's JSON per arm: the spec's keys, optional metrics left out when they do not apply."""
        data = {k: v for k, v in asdict(self).items() if k != "arm"}
        return {k: v for k, v in data.items() if v is not None or k == "grounded"}


def _round(value: float | None, digits: int) -> float | None:
    return None if value is None else round(value, digits)


def _mean(values) -> float | None:
    values = [v for v in values if v is not None]
    return round(statistics.fmean(values), PERCENT_DIGITS) if values else None


def summarize_arm(arm: str, rows: list[Row]) -> ArmSummary:
    labelled = [r for r in rows if r.type == "label"]
    ttft, total = [r.ttft_ms for r in rows], [r.total_ms for r in rows]
    # decode rate over the arm: tokens after each row's first / time after each row's first token
    decode_s = sum(max(r.total_ms - r.ttft_ms, 0.0) for r in rows) / 1000
    decode_tokens = sum(max(r.output_tokens - 1, 0) for r in rows)
    gold, predicted = [r.reference.lower() for r in labelled], [r.predicted_label for r in labelled]
    return ArmSummary(
        arm=arm, n=len(rows), em=_mean(r.em for r in rows), f1=_mean(r.f1 for r in rows),
        contains=_mean(r.contains for r in rows), rouge_l=_mean(r.rouge_l for r in rows),
        abstain=_mean(r.abstained for r in rows if r.type == "unanswerable"),
        false_abstain=_mean(r.abstained for r in rows if r.type != "unanswerable"), loops=int(sum(r.looped for r in rows)),
        accuracy=_round(M.accuracy(gold, predicted), PERCENT_DIGITS) if labelled else None,
        macro_f1=_round(M.macro_f1(gold, predicted), PERCENT_DIGITS) if labelled else None,
        hit_at_k=_mean(r.hit for r in rows), mrr=_mean(r.rr for r in rows), grounded=_mean(r.grounded for r in rows),
        ttft_p50_ms=round(M.percentile(ttft, 50), MS_DIGITS), ttft_p95_ms=round(M.percentile(ttft, 95), MS_DIGITS),
        total_p50_ms=round(M.percentile(total, 50), MS_DIGITS), total_p95_ms=round(M.percentile(total, 95), MS_DIGITS),
        tokens_per_s=round(decode_tokens / decode_s, 2) if decode_s > 0 else 0.0,
        peak_memory_mib=max(r.peak_memory_mib for r in rows), cached=sum(r.cached for r in rows),
    )


@dataclass
class EvalReport:
    rows: list[Row]
    summary: dict[str, ArmSummary]
    notes: list[str]
    """Arms skipped or questions an arm could not answer, in words."""

    def summary_json(self) -> dict:
        return {arm: s.to_json() for arm, s in self.summary.items()}

    def summary_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(s) for s in self.summary.values()], columns=[f.name for f in fields(ArmSummary)])

    def rows_frame(self) -> pd.DataFrame:
        return pd.DataFrame([asdict(r) for r in self.rows], columns=COLUMNS)


def build_report(records: list[EvalRecord], labels: list[str] | None = None) -> EvalReport:
    """Score the records; arms whose answers all failed are left out of the summary, with a note saying why."""
    labels = labels if labels is not None else label_classes([r.item for r in records])
    rows = [score(r, labels) for r in records if not r.result.error]  # question by question, arms in order
    notes, summary = [], {}
    for arm in dict.fromkeys(r.result.arm for r in records):
        arm_rows = [r for r in rows if r.arm == arm]
        failed = [r.result.error for r in records if r.result.arm == arm and r.result.error]
        if failed:
            notes.append(f"{arm}: skipped, {failed[0]}" if not arm_rows else
                         f"{arm}: {len(failed)} of {len(failed) + len(arm_rows)} questions failed and are left out "
                         f"({failed[0]})")
        if arm_rows:
            summary[arm] = summarize_arm(arm, arm_rows)
    return EvalReport(rows, summary, notes)


def write_report(report: EvalReport, out_dir: str | Path, meta: dict | None = None) -> list[Path]:
    """summary.csv, per_question.csv, summary.json, per_question.json (and run.json with `meta` and the notes)."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    paths = [out / "summary.csv", out / "per_question.csv", out / "summary.json", out / "per_question.json"]
    report.summary_frame().to_csv(paths[0], index=False)
    report.rows_frame().to_csv(paths[1], index=False)
    paths[2].write_text(json.dumps(report.summary_json(), indent=2) + "\n")
    paths[3].write_text(json.dumps([asdict(r) for r in report.rows], indent=1) + "\n")
    if meta is not None:
        paths.append(out / "run.json")
        paths[-1].write_text(json.dumps({**meta, "notes": report.notes}, indent=2) + "\n")
    return paths


# --- the per-question view: answers side by side, and filters on who was right ---------------------------
ALL, DISAGREE, ALL_WRONG, ALL_RIGHT = "all questions", "arms disagree", "all arms wrong", "all arms right"


def filter_choices(arms: list[str]) -> list[str]:
    """'all questions', 'arms disagree', ..., then 'X right and Y wrong' for every ordered pair of arms."""
    pairs = [f"{a} right and {b} wrong" for a in arms for b in arms if a != b]
    return [ALL, DISAGREE, ALL_WRONG, ALL_RIGHT, *pairs]


def _keep(verdicts: dict[str, bool], choice: str) -> bool:
    if choice == DISAGREE:
        return len(set(verdicts.values())) > 1
    if choice == ALL_WRONG:
        return not any(verdicts.values())
    if choice == ALL_RIGHT:
        return all(verdicts.values())
    if " right and " in choice:
        right, wrong = choice.removesuffix(" wrong").split(" right and ")
        return verdicts.get(right) is True and verdicts.get(wrong) is False
    return True


def side_by_side(rows: list[Row], choice: str = ALL) -> pd.DataFrame:
    """One line per question: the question, its reference, each arm's answer marked ✓ or ✗ (see Row.correct)."""
    arms = list(dict.fromkeys(r.arm for r in rows))
    by_question: dict[str, dict[str, Row]] = {}
    for r in rows:
        by_question.setdefault(r.id, {})[r.arm] = r
    lines = []
    for answers in by_question.values():
        if not _keep({arm: bool(r.correct) for arm, r in answers.items()}, choice):
            continue
        first = next(iter(answers.values()))
        marks = {arm: f"{'✓' if answers[arm].correct else '✗'} {answers[arm].answer}" if arm in answers else ""
                 for arm in arms}
        lines.append({"id": first.id, "question": first.question, "reference": first.reference, **marks})
    return pd.DataFrame(lines, columns=["id", "question", "reference", *arms])


def format_summary(report: EvalReport) -> str:
    """A plain-text table for the terminal."""
    frame = report.summary_frame().drop(columns=["cached"]).set_index("arm").dropna(axis=1, how="all")
    text = frame.to_string(float_format=lambda v: f"{v:.3f}" if v <= 1 else f"{v:.1f}", na_rep="-",
                           index_names=False) if len(frame) else "(no arm ran)"
    return "\n".join([text, *(f"note: {n}" for n in report.notes)])


def machine() -> str:
    """The hardware the latencies were measured on, in words, for reports."""
    import os
    import platform

    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda}), torch {torch.__version__}"
    cpu = platform.processor() or platform.machine()
    try:
        names = [line.split(":", 1)[1].strip() for line in open("/proc/cpuinfo") if line.startswith("model name")]
        cpu = names[0] if names else cpu
    except OSError:
        pass
    return f"{cpu}, {os.cpu_count()} CPUs, torch {torch.__version__} on CPU ({torch.get_num_threads()} threads)"


def run_metadata(wb: Workbench, eval_set, arms: list[str], questions: int, seconds: float, **overrides) -> dict:
    """What a report was computed from: model, set, settings and machine (written as run.json)."""
    import time

    opts = wb.options(**overrides)
    settings = {k: getattr(opts, k) for k in ("corpus", "top_k", "rag_passages", "max_new_tokens", "temperature",
                                               "lora_adapter", "raft_adapter", "system_prompt", "eval_batch")}
    return {"model": wb.model_id, "eval_set": eval_set.name, "questions": questions, "arms": arms, **settings,
            "device": wb.device, "machine": machine(), "seconds": round(seconds, 1),
            "created": time.strftime("%Y-%m-%dT%H:%M:%S%z")}
