"""Rebuild this sample from the PubMedQA dev file: one Markdown file per abstract, one `label` eval set.

    python corpora/pubmedqa-sample/build.py [--source ../shared/data/pubmedqa/pubmedqa-dev.jsonl] [--n 100]

Takes the first N rows of the source file, in file order. Each abstract's passages (its `contexts`, under
their section labels) become `docs/<PubMed id>.md`; the conclusion (`long_answer`) is left out, as in
PubMedQA's reasoning-required setting, because it states the answer.
"""

from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "data" / "pubmedqa" / "pubmedqa-dev.jsonl"


def abstract_markdown(row: dict) -> str:
    sections = [f"## {label.title()}\n{text.strip()}" for label, text in zip(row["labels"], row["contexts"])]
    return f"# PubMed {row['id']} ({row['year']})\n\n" + "\n\n".join(sections) + "\n"


def build(source: Path, n: int) -> None:
    rows = [json.loads(line) for line in source.read_text().splitlines() if line.strip()][:n]
    docs = HERE / "docs"
    shutil.rmtree(docs, ignore_errors=True)
    docs.mkdir()
    (HERE / "qa").mkdir(exist_ok=True)
    with open(HERE / "qa" / "test.jsonl", "w") as out:
        for row in rows:
            (docs / f"{row['id']}.md").write_text(abstract_markdown(row))
            item = {"id": row["id"], "question": row["question"], "answer": row["final_decision"],
                    "source": f"{row['id']}.md", "type": "label"}
            out.write(json.dumps(item) + "\n")
    licence = source.parent / "LICENSE"
    if licence.is_file():
        shutil.copy(licence, HERE / "LICENSE")
    print(f"{len(rows)} abstracts -> {docs}, questions -> {HERE / 'qa' / 'test.jsonl'}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--n", type=int, default=100)
    args = parser.parse_args()
    build(args.source, args.n)
