"""The app process's memory after Decide's speed probe: `main` against this tree, side by side in one run.

The plan stage of every Decide run measures this machine with a short training run (stages.measure_speed).
Each side runs in a fresh Python process on its own copy of the code (`git archive <ref>` for the baseline): it
loads the workbench as the app does (the embedded SmolLM2-135M), ingests a few handbook paragraphs as the corpus
"handbook", runs the probe `--probes` times on twelve of those paragraphs, as N Decide runs would, and prints the
process's RSS after each and the training speed each probe measured.

    HF_HUB_OFFLINE=1 python scripts/probe_memory.py --probes 2
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from training_memory import checkout  # noqa: E402


def child(probes: int) -> None:
    """In the tree on sys.path: load, probe `probes` times, print one JSON line per measurement."""
    import gc

    import psutil

    from workbench.config import Settings
    from workbench.decide.stages import measure_speed
    from workbench.engine import Workbench
    from workbench.retrieval.ingest import ingest
    from workbench.training.knowledge import document_example

    me = psutil.Process()
    data_dir = Path(tempfile.mkdtemp(prefix="probe-memory-"))
    settings = Settings.from_env(data_dir=str(data_dir), lora_adapter="", raft_adapter="")
    wb = Workbench.load(settings, index=False)
    paragraphs = [p for p in (REPO / "corpora" / "handbook" / "docs" / "travel.md").read_text().split("\n\n")
                  if len(p.split()) >= 20][:12]
    (data_dir / "docs").mkdir()
    (data_dir / "docs" / "travel.md").write_text("\n\n".join(paragraphs) + "\n")
    ingest(wb.store, "handbook", [data_dir / "docs"], settings.chunk_size, settings.chunk_overlap)
    sample = [document_example(wb.tokenizer, c) for c in wb.store.chunks("handbook")]
    gc.collect()
    print(json.dumps({"after": 0, "rss": me.memory_info().rss}), flush=True)
    for i in range(1, probes + 1):
        speed = measure_speed(wb, sample)
        gc.collect()
        print(json.dumps({"after": i, "rss": me.memory_info().rss, "tokens_per_s": speed.train_tokens_per_s}),
              flush=True)


def measure(tree: Path, probes: int) -> list[dict]:
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    out = subprocess.run([sys.executable, str(Path(__file__).resolve()), "--child", "--probes", str(probes)],
                         cwd=tree, env=env, check=True, capture_output=True, text=True)
    return [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--probes", type=int, default=2)
    parser.add_argument("--before", default="main", help="baseline git ref (default: main)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.probes)
        return
    with tempfile.TemporaryDirectory() as tmp:
        before = measure(checkout(args.before, Path(tmp) / "before"), args.probes)
        after = measure(REPO, args.probes)
    print(f"app process RSS (MiB) after N speed probes of Decide's plan stage; machine: {os.cpu_count()} CPUs")
    print("| probes | " + " | ".join(str(r["after"]) for r in before) + " |")
    print("|---|" + "---|" * len(before))
    for label, rows in ((f"{args.before} (trains in the app's process)", before),
                        ("this tree (trains in a worker process)", after)):
        print(f"| {label} | " + " | ".join(f"{r['rss'] / 2**20:.0f}" for r in rows) + " |")
    for label, rows in ((args.before, before), ("this tree", after)):
        print(f"training tokens/s the probes measured, {label}: "
              + ", ".join(f"{r['tokens_per_s']:.1f}" for r in rows[1:]))


if __name__ == "__main__":
    main()
