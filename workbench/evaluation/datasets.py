"""Eval sets: load and validate question/answer files (JSONL or CSV), and find the shipped ones.

Each row has `question`, `answer` (a string, or a list of acceptable strings), an optional `source` (the document
that holds the answer, for retrieval metrics), an optional `type` (`short`, the default; `label` for
classification such as yes/no/maybe; `unanswerable` for a question the documents do not answer, whose answer is
empty and whose right reply is the abstention phrase, arms.ABSTENTION) and an optional `id`. In CSV, a list of answers is written as a JSON list
in the cell (`["27 days", "twenty-seven days"]`). A malformed file is refused as a whole, with the line number
and what is wrong.
"""

from __future__ import annotations

import csv
import io
import json
from dataclasses import dataclass, field
from pathlib import Path

from ..arms import ABSTENTION
from ..config import REPO_ROOT

TYPES = ("short", "label", "unanswerable")
SUFFIXES = (".jsonl", ".csv")
MAX_BYTES = 20 * 2**20


class EvalDataError(ValueError):
    """A malformed eval file; the message names the file, the line and the fix."""


@dataclass
class EvalItem:
    id: str
    question: str
    answers: list[str]
    """Acceptable answers; the first is the reference shown in tables."""
    source: str | None = None
    type: str = "short"


@dataclass
class EvalSet:
    name: str
    items: list[EvalItem] = field(default_factory=list)
    corpus: str | None = None
    """The corpus a shipped set belongs to (corpora/<corpus>/qa/...), None for other files."""

    @property
    def labels(self) -> list[str]:
        return label_classes(self.items)


def label_classes(items: list[EvalItem]) -> list[str]:
    """The classes of `label` items: their distinct reference answers, lower case, in first-seen order."""
    return list(dict.fromkeys(i.answers[0].lower() for i in items if i.type == "label"))


def _item(row, where: str, line: int) -> EvalItem:
    if not isinstance(row, dict):
        raise EvalDataError(f"{where} line {line}: expected an object with 'question' and 'answer', got {type(row).__name__}")
    kind = str(row.get("type") or "short").strip().lower()
    if kind == "unanswerable":
        row = {**row, "answer": row.get("answer") or ABSTENTION}
    missing = [k for k in ("question", "answer") if row.get(k) in (None, "")]
    if missing:
        raise EvalDataError(f"{where} line {line}: missing {' and '.join(repr(k) for k in missing)} "
                            f"(every row needs a question and its answer)")
    question, answer = row["question"], row["answer"]
    answers = answer if isinstance(answer, list) else [answer]
    # A JSON number such as 2024 is a fine answer; it is compared as text.
    answers = [str(a) if isinstance(a, (int, float)) and not isinstance(a, bool) else a for a in answers]
    if not isinstance(question, str) or not question.strip():
        raise EvalDataError(f"{where} line {line}: 'question' must be a non-empty string")
    if not answers or not all(isinstance(a, str) and a.strip() for a in answers):
        raise EvalDataError(f"{where} line {line}: 'answer' must be a non-empty string or a list of them")
    if kind not in TYPES:
        raise EvalDataError(f"{where} line {line}: type {row.get('type')!r} is not one of {', '.join(TYPES)}")
    if kind == "label" and len(answers) != 1:
        raise EvalDataError(f"{where} line {line}: a 'label' row has exactly one answer (its class)")
    source = row.get("source")
    return EvalItem(id=str(row.get("id") or line), question=question.strip(), answers=[a.strip() for a in answers],
                    source=str(source).strip() if source not in (None, "") else None, type=kind)


def _jsonl_rows(text: str, where: str):
    for line, raw in enumerate(text.splitlines(), 1):
        if raw.strip():
            try:
                yield line, json.loads(raw)
            except json.JSONDecodeError as exc:
                raise EvalDataError(f"{where} line {line}: not valid JSON ({exc.msg} at column {exc.colno})") from None


def _csv_rows(text: str, where: str):
    reader = csv.DictReader(io.StringIO(text))
    columns = [c.strip() for c in reader.fieldnames or []]
    missing = [c for c in ("question", "answer") if c not in columns]
    if missing:
        raise EvalDataError(f"{where} line 1: the header has no {' or '.join(repr(c) for c in missing)} column "
                            f"(found: {', '.join(columns) or 'nothing'})")
    reader.fieldnames = columns
    for row in reader:
        if None in row:  # csv puts surplus cells under the key None
            raise EvalDataError(f"{where} line {reader.line_num}: more cells than the {len(columns)} header columns")
        answer = (row.get("answer") or "").strip()
        if answer.startswith("["):
            try:
                row["answer"] = json.loads(answer)
            except json.JSONDecodeError as exc:
                raise EvalDataError(f"{where} line {reader.line_num}: the answer looks like a JSON list but is not "
                                    f"valid JSON ({exc.msg})") from None
        yield reader.line_num, row


def parse_eval_set(text: str, name: str, suffix: str = ".jsonl") -> EvalSet:
    """Parse eval-set text; raise EvalDataError with the line number on the first problem."""
    if suffix not in SUFFIXES:
        raise EvalDataError(f"{name}: unsupported file type {suffix!r}; use {' or '.join(SUFFIXES)}")
    if not text.strip():
        raise EvalDataError(f"{name}: the file is empty; it needs one question and answer per line")
    rows = _csv_rows(text, name) if suffix == ".csv" else _jsonl_rows(text, name)
    items = [_item(row, name, line) for line, row in rows]
    if not items:
        raise EvalDataError(f"{name}: no rows found; it needs one question and answer per line")
    return EvalSet(name=name, items=items)


def load_eval_set(path: str | Path) -> EvalSet:
    """Read and validate an eval file (.jsonl or .csv). Shipped sets also learn their corpus."""
    path = Path(path)
    if not path.is_file():
        raise EvalDataError(f"no eval file {str(path)!r}")
    if path.stat().st_size > MAX_BYTES:
        raise EvalDataError(f"{path.name}: larger than {MAX_BYTES // 2**20} MiB; split it or use --limit on a smaller file")
    try:
        text = path.read_text(encoding="utf-8-sig")  # -sig: spreadsheets often write a byte-order mark
    except UnicodeDecodeError as exc:
        raise EvalDataError(f"{path.name}: not UTF-8 text (byte {exc.start}); save it as UTF-8") from None
    corpus = corpus_of(path)
    eval_set = parse_eval_set(text, f"{corpus}/{path.stem}" if corpus else path.name, path.suffix.lower())
    eval_set.corpus = corpus
    return eval_set


def corpus_of(path: Path) -> str | None:
    """'handbook' for corpora/handbook/qa/test.jsonl; None for files elsewhere."""
    path = path.resolve()
    corpora = (REPO_ROOT / "corpora").resolve()
    if path.parent.name == "qa" and path.parent.parent.parent == corpora:
        return path.parent.parent.name
    return None


def shipped_eval_sets() -> dict[str, Path]:
    """Test splits shipped in the repo, by display name: {'handbook/test': corpora/handbook/qa/test.jsonl}."""
    return {f"{p.parent.parent.name}/{p.stem}": p for p in sorted((REPO_ROOT / "corpora").glob("*/qa/test.*"))
            if p.suffix in SUFFIXES}
