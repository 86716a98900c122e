"""How long a tiny upload waits while two clients upload slow-to-parse files: one git revision beside another.

    python scripts/ingest_wait.py [--before main] [--after WORKTREE] [--timeout 8] [--files 3]

Each side runs in its own process on the tiny test workbench (tests/conftest.py: a random 2-layer model and a fake
embedder, so only parsing costs time): two gradio_client sessions each ingest `--files` one-line .rtf files that
striprtf reads in quadratic time (each longer than the per-file limit, `--timeout` s), and a third session
ingests a 15-byte .txt 1.5 s later. Printed: the small upload's wait, the slow uploads' time, and the parse
seconds they used. `--before` is a git revision (exported with git archive); `--after` is a folder (default: this
checkout). Both sides get the same per-file limit; the rest of the settings are each revision's defaults.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from before_after import ROOT, export, run_scenario  # noqa: E402

SCENARIO = r"""
import json, sys, tempfile, threading, time
from pathlib import Path
sys.path.insert(0, "tests")
from conftest import FakeEmbedder, make_tiny_model, make_tokenizer
from gradio_client import Client, handle_file
from workbench.config import Settings
from workbench.engine import Workbench
from workbench.retrieval.store import VectorStore
from workbench.ui import build_app

timeout, n_files = float(sys.argv[1]), int(sys.argv[2])
tmp = Path(tempfile.mkdtemp())
settings = Settings(data_dir=str(tmp / "data"), lora_adapter="", raft_adapter="", max_new_tokens=8, chunk_size=40,
                    chunk_overlap=5, parse_timeout_s=timeout)
tokenizer = make_tokenizer()
wb = Workbench(settings, make_tiny_model(tokenizer), tokenizer, VectorStore.open(settings, FakeEmbedder()),
               model_id="tiny-llama")
slow = {}  # distinct files per client: Gradio caches identical uploads under one path
for k in range(2):
    for i in range(n_files):
        path = tmp / f"{k}" / f"slow{i}.rtf"
        path.parent.mkdir(exist_ok=True)
        path.write_text("{\\rtf1 {\\fonttbl" + "\\f1" * (40_000 + 10 * k + i) + " x}")
        slow.setdefault(k, []).append(path)
small = tmp / "small.txt"
small.write_text("Extension 4455.")
demo = build_app(settings, wb)
_, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
clients = [Client(url, verbose=False) for _ in range(3)]
started = time.perf_counter()
jobs = [c.submit([handle_file(str(p)) for p in slow[k]], f"slow{k}", 40, 5, api_name="/ingest")
        for k, c in enumerate(clients[:2])]
time.sleep(1.5)
t0 = time.perf_counter()
report = clients[2].predict([handle_file(str(small))], "small", 40, 5, api_name="/ingest")[0]
small_wait = time.perf_counter() - t0
results = [job.result()[0] for job in jobs]
print(json.dumps({"small_wait_s": round(small_wait, 1), "small_ok": report["files_ok"] == ["small.txt"],
                  "slow_uploads_s": round(time.perf_counter() - started, 1),
                  "slow_parse_s": [r.get("parse_s") for r in results]}))
demo.close()
"""


def measure(root: Path, timeout: float, files: int) -> dict:
    return run_scenario(root, SCENARIO, [str(timeout), str(files)], timeout=1200)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--before", default="main", help="git revision")
    parser.add_argument("--after", default=str(ROOT), help="folder")
    parser.add_argument("--timeout", type=float, default=8.0, help="seconds per file, both sides")
    parser.add_argument("--files", type=int, default=3, help="slow files per upload")
    args = parser.parse_args()
    before = measure(export(args.before), args.timeout, args.files)
    after = measure(Path(args.after), args.timeout, args.files)
    print(f"{'':34}{'before (' + args.before + ')':>22}{'after':>22}")
    for key, label in [("small_wait_s", "15-byte upload waited (s)"), ("small_ok", "15-byte upload ingested"),
                       ("slow_uploads_s", "slow uploads took (s)"), ("slow_parse_s", "slow uploads' parse time (s)")]:
        print(f"{label:34}{str(before.get(key)):>22}{str(after.get(key)):>22}")


if __name__ == "__main__":
    main()
