"""Compare's latency while another session generates questions from a large corpus: one revision beside another.

    python scripts/qa_isolation.py [--before main] [--after WORKTREE] [--chars 600000]

Each side runs in its own process on the tiny test workbench (tests/conftest.py: a random 2-layer model and a fake
embedder, so a comparison takes a fraction of a second): a corpus of `--chars` characters of varied fact
sentences is stored, one gradio_client session presses Generate questions on it, and another asks /compare
(base arm, 4 new tokens) again and again meanwhile. Printed: Generate questions' time, and Compare's median and
worst latency while it ran. `--before` is a git revision (exported with git archive); `--after` a folder.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from before_after import ROOT, export, run_scenario  # noqa: E402

SCENARIO = r"""
import json, statistics, sys, tempfile, time
from pathlib import Path
sys.path.insert(0, "tests")
from conftest import FakeEmbedder, make_tiny_model, make_tokenizer
from gradio_client import Client
from workbench.config import Settings
from workbench.engine import Workbench
from workbench.retrieval.ingest import ingest
from workbench.retrieval.store import VectorStore
from workbench.ui import build_app

chars = int(sys.argv[1])
tmp = Path(tempfile.mkdtemp())
settings = Settings(data_dir=str(tmp / "data"), lora_adapter="", raft_adapter="", max_new_tokens=8, chunk_size=200,
                    chunk_overlap=20)
docs = tmp / "docs"
docs.mkdir()
cities = ["Lisbon", "Porto", "Madrid", "Paris", "Berlin", "Vienna", "Prague", "Warsaw", "Oslo", "Rome"]
lines, i = [], 0
while sum(map(len, lines)) < chars:
    city = cities[i % len(cities)]
    lines.append(f"The per diem for {city} office {i} is {40 + i % 60} euro per day. "
                 f"Team {i} meets on floor {i % 12} every Tuesday at {8 + i % 9} o'clock.\n")
    i += 1
(docs / "big.txt").write_text("".join(lines))
tokenizer = make_tokenizer()
store = VectorStore.open(settings, FakeEmbedder())
ingest(store, "big", [docs], settings.chunk_size, settings.chunk_overlap)
wb = Workbench(settings, make_tiny_model(tokenizer), tokenizer, store, model_id="tiny-llama")
demo = build_app(settings, wb)
_, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
qa, asker = Client(url, verbose=False), Client(url, verbose=False)
asker.predict("warm up?", "base", "", 0, 4, 0.0, api_name="/compare")
started = time.perf_counter()
job = qa.submit("big", 0, 0.2, api_name="/generate_qa")
latencies = []
while not job.done():
    t0 = time.perf_counter()
    asker.predict("per diem?", "base", "", 0, 4, 0.0, api_name="/compare")
    latencies.append(time.perf_counter() - t0)
try:
    job.result()
    ok = True
except Exception as exc:
    ok = str(exc)[:80]
print(json.dumps({"qa_s": round(time.perf_counter() - started, 1), "qa_ok": ok, "compares": len(latencies),
                  "median_s": round(statistics.median(latencies), 2) if latencies else None,
                  "worst_s": round(max(latencies), 2) if latencies else None}))
demo.close()
"""


def measure(root: Path, chars: int) -> dict:
    return run_scenario(root, SCENARIO, [str(chars)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git revision")
    parser.add_argument("--after", default=str(ROOT), help="folder")
    parser.add_argument("--chars", type=int, default=600_000, help="characters in the corpus")
    args = parser.parse_args()
    before, after = measure(export(args.before), args.chars), measure(Path(args.after), args.chars)
    print(f"{'':36}{'before (' + args.before + ')':>16}{'after':>10}")
    for key, label in [("qa_s", "Generate questions took (s)"), ("qa_ok", "Generate questions finished"),
                       ("compares", "comparisons meanwhile"), ("median_s", "Compare latency, median (s)"),
                       ("worst_s", "Compare latency, worst (s)")]:
        print(f"{label:36}{str(before.get(key)):>16}{str(after.get(key)):>10}")


if __name__ == "__main__":
    main()
