"""The app process's memory after N trainings: `main` (trains in the app's process) against this tree (trains in a
worker process that exits), side by side in one run.

Each side runs in a fresh Python process on its own copy of the code (`git archive <ref>` for the baseline): it
loads the workbench as the app does (the embedded SmolLM2-135M, no corpus indexing), trains N small lora adapters
one after another through `training.jobs.train_adapter` (what the Train tab and Decide's stages call) and prints
its RSS after each.

    HF_HUB_OFFLINE=1 python scripts/training_memory.py --trainings 4
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


def checkout(ref: str, into: Path) -> Path:
    """The tree of `ref` (a branch or commit) as plain files; the working tree itself for "HEAD+"."""
    if ref == "HEAD+":
        return REPO
    into.mkdir(parents=True, exist_ok=True)
    archive = subprocess.run(["git", "-C", str(REPO), "archive", ref], check=True, capture_output=True).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    return into


def child(trainings: int, rows: int) -> None:
    """In the tree on sys.path: load, train `trainings` times, print one JSON line per measurement."""
    import gc

    import psutil

    from workbench.config import Settings
    from workbench.engine import Workbench
    from workbench.training.jobs import train_adapter
    from workbench.training.trainer import TrainConfig

    me = psutil.Process()
    data_dir = Path(tempfile.mkdtemp(prefix="training-memory-"))
    settings = Settings.from_env(data_dir=str(data_dir), lora_adapter="", raft_adapter="")
    wb = Workbench.load(settings, index=False)
    lines = (REPO / "corpora" / "handbook" / "qa" / "train.jsonl").read_text().splitlines()[:rows]
    data = data_dir / "qa.jsonl"
    data.write_text("\n".join(lines) + "\n")
    print(json.dumps({"after": 0, "rss": me.memory_info().rss}), flush=True)
    for i in range(1, trainings + 1):
        train_adapter(wb, data, TrainConfig(method="lora", epochs=1, batch_size=4, max_length=128),
                      data_dir / "adapters" / f"run-{i}")
        gc.collect()
        print(json.dumps({"after": i, "rss": me.memory_info().rss}), flush=True)


def measure(tree: Path, trainings: int, rows: int, label: str) -> list[int]:
    """The child's RSS after 0..trainings trainings; each line is echoed to stderr as it comes."""
    env = {**os.environ, "PYTHONPATH": str(tree), "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false"}
    child_ = subprocess.Popen([sys.executable, str(Path(__file__).resolve()), "--child", "--trainings",
                               str(trainings), "--rows", str(rows)], cwd=tree, env=env, stdout=subprocess.PIPE,
                              text=True)
    rss = []
    for line in child_.stdout:
        if line.startswith("{"):
            rss.append(json.loads(line)["rss"])
            print(f"{label}: after {len(rss) - 1} trainings {rss[-1] / 2**20:.0f} MiB", file=sys.stderr, flush=True)
    if child_.wait():
        raise SystemExit(f"{label}: the measuring process failed")
    return rss


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trainings", type=int, default=3)
    parser.add_argument("--rows", type=int, default=8, help="Q/A rows per training (2 steps at batch 4)")
    parser.add_argument("--before", default="main", help="baseline git ref (default: main)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.trainings, args.rows)
        return
    with tempfile.TemporaryDirectory() as tmp:
        before = measure(checkout(args.before, Path(tmp) / "before"), args.trainings, args.rows, args.before)
        after = measure(REPO, args.trainings, args.rows, "this tree")
    mib = 2**20
    print(f"app process RSS (MiB) after N trainings of {args.rows} Q/A rows; machine: {os.cpu_count()} CPUs")
    print(f"{'trainings':>9}  {args.before + ' (in-process)':>22}  {'this tree (worker)':>20}")
    for n, (b, a) in enumerate(zip(before, after)):
        print(f"{n:>9}  {b / mib:>22.0f}  {a / mib:>20.0f}")
    print(f"{'growth':>9}  {(before[-1] - before[0]) / mib:>+22.0f}  {(after[-1] - after[0]) / mib:>+20.0f}")


if __name__ == "__main__":
    main()
