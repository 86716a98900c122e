"""Run one measurement scenario on two revisions of the repo, side by side: the before/after scripts share this.

    before = run_scenario(export("main"), SCENARIO, ["8.0", "3"])   # a git revision, exported to a folder
    after = run_scenario(ROOT, SCENARIO, ["8.0", "3"])              # the working tree
"""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def export(revision: str) -> Path:
    """A revision's files in a temporary folder (git archive)."""
    folder = Path(tempfile.mkdtemp(prefix=f"before-after-{revision.replace('/', '-')}-"))
    data = subprocess.run(["git", "-C", str(ROOT), "archive", revision], check=True, capture_output=True).stdout
    tarfile.open(fileobj=io.BytesIO(data)).extractall(folder, filter="data")
    return folder


def run_scenario(root: Path, scenario: str, args: list[str], timeout: float = 1800) -> dict:
    """Run `scenario` (Python source that prints one JSON line) with `root` on the path; its last JSON line."""
    return run_python(root, ["-c", scenario, *args], timeout)


def run_python(root: Path, argv: list[str], timeout: float | None = None) -> dict:
    """Run `python ARGV` in `root` with `root` on the path (e.g. a script's own --child mode); its last JSON line."""
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False", "TOKENIZERS_PARALLELISM": "false",
           "PYTHONPATH": str(root)}
    done = subprocess.run([sys.executable, *argv], cwd=root, env=env, capture_output=True, text=True,
                          timeout=timeout)
    lines = [line for line in done.stdout.splitlines() if line.startswith("{")]
    if not lines:
        raise SystemExit(f"{root}: no result\n{done.stderr[-2000:]}")
    return json.loads(lines[-1])


def print_side_by_side(before: dict, after: dict, rows: list[tuple[str, str, str]], before_label: str) -> None:
    """One line per (key, label, format): the baseline's figure, then this tree's."""
    width = max(len(label) for _, label, _ in rows)
    print(f"{'':>{width}}  {before_label:>10}  {'this tree':>10}")
    for key, label, fmt in rows:
        print(f"{label:>{width}}  {before[key]:>10{fmt}}  {after[key]:>10{fmt}}")
