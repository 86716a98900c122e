"""Check the held-out corpora under benchmarks/heldout/ (stdlib only).

    python3 benchmarks/heldout/check.py

For every corpus folder (one with a docs/ folder):
  * every line of facts.jsonl, yesno.jsonl and unanswerable.jsonl parses as JSON;
  * ids are unique within the corpus;
  * each fact's source file exists and its answer appears verbatim in it (case-insensitive; a line break in
    the document counts as a space);
  * each yes/no answer is "yes" or "no", its source exists, and its evidence (if given) is in the source;
  * each unanswerable row has an empty answer and type "unanswerable";
  * updates.json (if present): each `old` occurs exactly once in its file, `new_answer` is in `new`,
    and `question_id` names a fact question.
Prints one line per problem and exits 1 if there are any.
"""
from __future__ import annotations

import json
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def norm(text: str) -> str:
    """Lower case, runs of whitespace (hard-wrapped lines included) as one space."""
    return " ".join(text.lower().split())


def load_jsonl(path: Path, errors: list[str]) -> list[dict]:
    rows = []
    if not path.is_file():
        errors.append(f"{path.relative_to(HERE)}: missing")
        return rows
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            rows.append(json.loads(line))
        except json.JSONDecodeError as e:
            errors.append(f"{path.relative_to(HERE)}:{n}: bad JSON ({e})")
    return rows


def check_corpus(d: Path) -> tuple[list[str], dict[str, int]]:
    errors: list[str] = []
    docs = {p.name: p.read_text(encoding="utf-8") for p in sorted((d / "docs").glob("*.md"))}
    lower = {k: norm(v) for k, v in docs.items()}
    facts = load_jsonl(d / "facts.jsonl", errors)
    yesno = load_jsonl(d / "yesno.jsonl", errors)
    unans = load_jsonl(d / "unanswerable.jsonl", errors)

    seen: set[str] = set()
    for name, rows in (("facts", facts), ("yesno", yesno), ("unanswerable", unans)):
        for r in rows:
            rid = r.get("id")
            if not rid:
                errors.append(f"{d.name}/{name}: row without id: {r}")
            elif rid in seen:
                errors.append(f"{d.name}/{name}: duplicate id {rid}")
            seen.add(rid)
            if not str(r.get("question", "")).strip():
                errors.append(f"{d.name}/{name}: {rid}: empty question")

    for r in facts:
        src, ans = r.get("source", ""), str(r.get("answer", ""))
        if src not in docs:
            errors.append(f"{d.name}/facts: {r.get('id')}: source {src!r} not in docs/")
        elif not ans.strip() or norm(ans) not in lower[src]:
            errors.append(f"{d.name}/facts: {r.get('id')}: answer {ans!r} not found in {src}")

    for r in yesno:
        src = r.get("source", "")
        if r.get("answer") not in ("yes", "no"):
            errors.append(f"{d.name}/yesno: {r.get('id')}: answer must be yes or no")
        if src not in docs:
            errors.append(f"{d.name}/yesno: {r.get('id')}: source {src!r} not in docs/")
        elif r.get("evidence") and norm(r["evidence"]) not in lower[src]:
            errors.append(f"{d.name}/yesno: {r.get('id')}: evidence not found in {src}")

    for r in unans:
        if r.get("answer") != "" or r.get("type") != "unanswerable":
            errors.append(f"{d.name}/unanswerable: {r.get('id')}: needs answer '' and type 'unanswerable'")

    changes = []
    upd = d / "updates.json"
    if upd.is_file():
        try:
            changes = json.loads(upd.read_text(encoding="utf-8")).get("changes", [])
        except json.JSONDecodeError as e:
            errors.append(f"{d.name}/updates.json: bad JSON ({e})")
        fact_ids = {r.get("id") for r in facts}
        for i, c in enumerate(changes, 1):
            f, old, new, ans = c.get("file", ""), c.get("old", ""), c.get("new", ""), c.get("new_answer", "")
            where = f"{d.name}/updates.json change {i}"
            if f not in docs:
                errors.append(f"{where}: file {f!r} not in docs/")
            elif not old or docs[f].count(old) != 1:
                errors.append(f"{where}: 'old' occurs {docs[f].count(old) if old else 0} times in {f}, not once")
            if not ans or ans.lower() not in new.lower():
                errors.append(f"{where}: new_answer {ans!r} not in 'new'")
            if c.get("question_id") not in fact_ids:
                errors.append(f"{where}: question_id {c.get('question_id')!r} is not a fact id")
    counts = {"docs": len(docs), "facts": len(facts), "yesno": len(yesno), "unanswerable": len(unans),
              "updates": len(changes)}
    return errors, counts


def main() -> int:
    corpora = sorted(p for p in HERE.iterdir() if (p / "docs").is_dir())
    all_errors: list[str] = []
    for d in corpora:
        errors, counts = check_corpus(d)
        all_errors += errors
        print(f"{d.name}: " + ", ".join(f"{k} {v}" for k, v in counts.items()) + (" OK" if not errors else f" {len(errors)} problem(s)"))
    for e in all_errors:
        print("  " + e)
    return 1 if all_errors or not corpora else 0


if __name__ == "__main__":
    sys.exit(main())
