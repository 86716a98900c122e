#!/usr/bin/env python3
"""Validate the reader-mix training domains (stdlib only).

Checks, for every domain directory next to this file:
  * docs/ holds markdown files;
  * every line of qa.jsonl, yesno.jsonl and unanswerable.jsonl parses as JSON
    with the expected keys;
  * every qa answer occurs verbatim (case-insensitive) in its source file;
  * every yes/no answer is "yes" or "no" and its evidence occurs verbatim
    (case-insensitive) in its source file;
  * every unanswerable line has an empty answer and type "unanswerable".
Exit status 0 when everything passes, 1 otherwise.
"""
import json
import re
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent


def norm(text):
    return re.sub(r"\s+", " ", text).strip().lower()


def load_jsonl(path, errors):
    rows = []
    if not path.exists():
        errors.append(f"{path}: missing")
        return rows
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as exc:
            errors.append(f"{path}:{n}: bad JSON ({exc})")
            continue
        if not isinstance(obj, dict):
            errors.append(f"{path}:{n}: not an object")
            continue
        rows.append((n, obj))
    return rows


def check_domain(d, errors):
    docs_dir = d / "docs"
    docs = {p.name: norm(p.read_text(encoding="utf-8")) for p in sorted(docs_dir.glob("*.md"))}
    if not docs:
        errors.append(f"{d.name}: no docs/*.md")
    counts = {}

    qa = load_jsonl(d / "qa.jsonl", errors)
    for n, obj in qa:
        where = f"{d.name}/qa.jsonl:{n}"
        q, a, src = obj.get("question"), obj.get("answer"), obj.get("source")
        if not q or not a or not src:
            errors.append(f"{where}: needs question, answer, source")
            continue
        if src not in docs:
            errors.append(f"{where}: unknown source {src!r}")
        elif norm(a) not in docs[src]:
            errors.append(f"{where}: answer {a!r} not verbatim in {src}")
    counts["qa"] = len(qa)

    yn = load_jsonl(d / "yesno.jsonl", errors)
    for n, obj in yn:
        where = f"{d.name}/yesno.jsonl:{n}"
        q, a, src, ev = (obj.get(k) for k in ("question", "answer", "source", "evidence"))
        if not q or a not in ("yes", "no") or not src or not ev:
            errors.append(f"{where}: needs question, answer yes/no, source, evidence")
            continue
        if src not in docs:
            errors.append(f"{where}: unknown source {src!r}")
        elif norm(ev) not in docs[src]:
            errors.append(f"{where}: evidence not verbatim in {src}: {ev[:60]!r}")
    counts["yesno"] = len(yn)
    counts["yes"] = sum(1 for _, o in yn if o.get("answer") == "yes")

    un = load_jsonl(d / "unanswerable.jsonl", errors)
    for n, obj in un:
        where = f"{d.name}/unanswerable.jsonl:{n}"
        if not obj.get("question") or obj.get("answer") != "" or obj.get("type") != "unanswerable":
            errors.append(f"{where}: needs question, answer \"\", type \"unanswerable\"")
    counts["unanswerable"] = len(un)

    words = {name: len((docs_dir / name).read_text(encoding="utf-8").split()) for name in docs}
    return counts, words


def main():
    errors = []
    domains = sorted(p for p in ROOT.iterdir() if p.is_dir() and (p / "docs").is_dir())
    if not domains:
        print("no domains found")
        return 1
    for d in domains:
        counts, words = check_domain(d, errors)
        wtxt = ", ".join(f"{k}={v}w" for k, v in words.items())
        print(f"{d.name}: qa={counts['qa']} yesno={counts['yesno']} (yes={counts['yes']}) "
              f"unanswerable={counts['unanswerable']} docs: {wtxt}")
    for e in errors:
        print("ERROR", e)
    print("OK" if not errors else f"FAILED: {len(errors)} error(s)")
    return 0 if not errors else 1


if __name__ == "__main__":
    sys.exit(main())
