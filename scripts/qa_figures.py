"""Question-generator figures per corpus, this checkout's generator beside a baseline's, scored by one definition.

    WORKBENCH_DATA_DIR=/work/devdata python scripts/qa_figures.py handbook reader-bike-co-op ... \
        [--baseline ../main-checkout] [--json]

Reads each corpus's chunks from the data directory's store (nothing is ingested), generates facts with this
checkout's `workbench.qa` (and, with --baseline, with another checkout's, in a child process), and scores both
with this checkout's `quality()`: words, facts, facts per 1,000 words, questions, answers verbatim in source,
phrasings copying no 6-word run, and recall of the corpus's hand-written Q/A (corpora/handbook/qa/*.jsonl,
corpora/reader-mix/<name>/qa.jsonl, benchmarks/heldout/<name>/facts.jsonl; none for PubMedQA: yes/no answers).
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
FIELDS = ("answer", "source", "chunk_id", "sentence", "questions", "kind")


def references(corpus: str) -> list[Path]:
    """The hand-written Q/A files shipped for a corpus."""
    if corpus == "handbook":
        return [ROOT / "corpora/handbook/qa" / f"{n}.jsonl" for n in ("train", "test", "independent")]
    if corpus.startswith("reader-"):
        return [ROOT / "corpora/reader-mix" / corpus.removeprefix("reader-") / "qa.jsonl"]
    if corpus.startswith("heldout-"):
        return [ROOT / "benchmarks/heldout" / corpus.removeprefix("heldout-") / "facts.jsonl"]
    return []


def dump(corpus: str) -> None:
    """Child mode: the facts of the generator on the import path, as JSON on stdout."""
    from workbench.config import Settings
    from workbench.qa import generate_facts
    from workbench.retrieval.store import VectorStore

    start = time.perf_counter()
    facts = generate_facts(VectorStore.open(Settings.from_env(), embedder=None).chunks(corpus))
    print(json.dumps({"seconds": round(time.perf_counter() - start, 1),
                      "facts": [{k: getattr(f, k, "") for k in FIELDS} for f in facts]}))


def generated(corpus: str, checkout: Path) -> dict:
    env = {**os.environ, "PYTHONPATH": str(checkout)}
    out = subprocess.run([sys.executable, __file__, "--dump", corpus], env=env, cwd=checkout, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def score(corpus: str, run: dict) -> dict:
    sys.path.insert(0, str(ROOT))
    from workbench.config import Settings
    from workbench.qa import Fact, quality
    from workbench.qa.run import read_reference
    from workbench.retrieval.store import VectorStore

    chunks = VectorStore.open(Settings.from_env(), embedder=None).chunks(corpus)
    facts = [Fact("", **f) for f in run["facts"]]
    ref = [p for p in references(corpus) if p.exists()]
    q = quality(facts, chunks, read_reference(ref) if ref else None)
    return {"corpus": corpus, **{k: q.get(k) for k in ("words", "facts", "facts_per_1000_words", "questions",
                                                       "answer_in_source", "no_copy_6", "recall", "reference")},
            "seconds": run["seconds"]}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("corpora", nargs="*")
    parser.add_argument("--baseline", type=Path, help="another checkout whose generator is measured alongside")
    parser.add_argument("--dump", help=argparse.SUPPRESS)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.dump:
        dump(args.dump)
        return 0
    rows = []
    for corpus in args.corpora:
        for name, checkout in [("baseline", args.baseline), ("this", ROOT)] if args.baseline else [("this", ROOT)]:
            rows.append({"generator": name, **score(corpus, generated(corpus, checkout.resolve()))})
    if args.json:
        print(json.dumps(rows, indent=1))
    else:
        print(" | ".join(rows[0]))
        for r in rows:
            print(" | ".join(str(v) for v in r.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
