"""Training data: OpenAI chat JSONL or Q/A (JSONL/CSV), turned into token segments with a loss mask.

An Example is a list of (text, trained) segments. Only assistant turns are trained; prompts are not.
"""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass
from pathlib import Path


class DataError(ValueError):
    """A training file that cannot be used; the message names the line and what is wrong."""


@dataclass
class QAPair:
    question: str
    answer: str
    source: str = ""


@dataclass
class Example:
    segments: list[tuple[str, bool]]
    """(text, trained): the loss covers only the trained segments (assistant turns)."""


def _rows(path: Path) -> list[tuple[int, dict]]:
    """(line number, object) per record of a JSONL or CSV file."""
    if not path.is_file():
        raise DataError(f"{path}: no such file")
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise DataError(f"{path.name}: not UTF-8 text") from None
    if not text.strip():
        raise DataError(f"{path.name}: the file is empty")
    if path.suffix.lower() == ".csv":
        reader = csv.DictReader(text.splitlines())
        return [(i, row) for i, row in enumerate(reader, start=2)]
    rows = []
    for i, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            raise DataError(f"{path.name} line {i}: not valid JSON ({exc.msg})") from None
        if not isinstance(obj, dict):
            raise DataError(f"{path.name} line {i}: expected a JSON object")
        rows.append((i, obj))
    return rows


def detect_format(path: Path) -> str:
    """'chat' when the records carry `messages`, else 'qa'."""
    rows = _rows(Path(path))
    return "chat" if rows and "messages" in rows[0][1] else "qa"


def load_qa(path: Path) -> list[QAPair]:
    """Q/A pairs from JSONL or CSV with `question`, `answer` and optional `source`."""
    path = Path(path)
    pairs = []
    for line, row in _rows(path):
        q, a = str(row.get("question") or "").strip(), row.get("answer")
        if isinstance(a, list):
            a = a[0] if a else ""
        a = str(a or "").strip()
        if not q or not a:
            missing = "question" if not q else "answer"
            raise DataError(f"{path.name} line {line}: missing {missing!r} (Q/A files need question and answer)")
        pairs.append(QAPair(q, a, str(row.get("source") or "").strip()))
    return pairs


def load_chat(path: Path) -> list[list[dict]]:
    """Conversations from OpenAI chat JSONL: {"messages": [{"role", "content"}, ...]}."""
    path = Path(path)
    conversations = []
    for line, row in _rows(path):
        messages = row.get("messages")
        if not isinstance(messages, list) or not messages:
            raise DataError(f"{path.name} line {line}: 'messages' must be a non-empty list")
        for m in messages:
            if not isinstance(m, dict) or m.get("role") not in ("system", "user", "assistant") or not isinstance(m.get("content"), str):
                raise DataError(f"{path.name} line {line}: each message needs role system|user|assistant and a string content")
        if not any(m["role"] == "assistant" for m in messages):
            raise DataError(f"{path.name} line {line}: no assistant message to learn from")
        conversations.append(messages)
    return conversations


def _render_plain(messages: list[dict]) -> str:
    """Fallback for base models without a chat template."""
    names = {"system": "", "user": "Question: ", "assistant": "Answer: "}
    return "".join(f"{names[m['role']]}{m['content']}\n" for m in messages)


def chat_example(tokenizer, messages: list[dict]) -> Example:
    """Segments of a conversation rendered with the model's chat template; assistant turns trained."""
    segments, rendered = [], ""
    for i, m in enumerate(messages):
        if getattr(tokenizer, "chat_template", None):
            upto = tokenizer.apply_chat_template(messages[: i + 1], tokenize=False)
            if m["role"] == "assistant":  # the generation prompt belongs to the untrained part
                prefix = tokenizer.apply_chat_template(messages[:i], tokenize=False, add_generation_prompt=True)
                segments.append((prefix[len(rendered):], False))
                rendered = prefix
        else:
            upto = _render_plain(messages[: i + 1])
        segments.append((upto[len(rendered):], m["role"] == "assistant"))
        rendered = upto
    return Example([(text, trained) for text, trained in segments if text])


def has_target(tokenized: dict) -> bool:
    """Whether a tokenized example kept a trained token (truncation can cut them all); training drops those that
    did not."""
    return any(label != -100 for label in tokenized["labels"])


def tokenize(tokenizer, example: Example, max_length: int) -> dict:
    """input_ids and labels (-100 outside trained segments), truncated from the left of the prompt."""
    ids, labels = [], []
    for text, trained in example.segments:
        part = tokenizer(text, add_special_tokens=False)["input_ids"]
        ids += part
        labels += part if trained else [-100] * len(part)
    if len(ids) > max_length:  # keep the end: the answer matters more than the oldest context
        ids, labels = ids[-max_length:], labels[-max_length:]
    return {"input_ids": ids, "labels": labels}
