"""What this machine measured, for the plan shown before a run (preview.py): the latest Decide run's speeds.

A run's plan stage measures training tokens/s and seconds per question for four arms, also when it then refuses a
budget that is too small, and run.json records them with the seconds its qa and plan stages took. Before any run
on this machine there is no measurement: the plan shows what the corpus gives, and the first run measures.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from .plan import Speed


@dataclass
class Measured:
    speed: Speed
    qa_s_per_word: float | None
    """Question generation's seconds per word of the corpus (None when the run did not record its qa stage)."""
    probe_s: float | None
    """Seconds the plan stage took (the speed probe); None when it stopped at the budget."""
    run: str
    """The run folder's name."""


def latest_measurement(root: Path) -> Measured | None:
    """The speeds of the newest run under `root` that measured them; None before any."""
    runs = []
    for record in Path(root).glob("*/run.json"):
        try:
            data = json.loads(record.read_text())
            state = data.get("state", {})
            speed = (state.get("plan") or {}).get("speed") or state.get("speed")
            if speed:
                runs.append((record.stat().st_mtime, record.parent.name, Speed(**speed), data.get("done", {}),
                             (state.get("qa") or {}).get("words") or 0))
        except (OSError, ValueError, KeyError, TypeError):
            continue
    if not runs:
        return None
    _, name, speed, done, words = max(runs, key=lambda r: r[0])
    qa_s = done.get("qa")
    return Measured(speed, qa_s / words if qa_s is not None and words else None, done.get("plan"), name)
