"""Decide's speed probe against the speeds a finished run's stages trained at, with the probe it replaced timed on
the same examples in the same run.

    WORKBENCH_DATA_DIR=... python scripts/probe_check.py RUN_DIR CORPUS [RUN_DIR CORPUS ...]

For each finished Decide run (its folder and corpus) it rebuilds the run's training examples and prints: the
replaced probe (a seeded draw of 32 chunks and Q/A together, batched as the trainer's length-grouped sampler
batches them; tokens/s over its steps after the first), the current `stages.measure_speed` (questions, chunks and
raft's examples apart), the lora mix it implies at the run's planned repeats, and the tokens/s the run's lora and
raft stages recorded. docs/decide.md ("The speed probe") has the figures.
"""

from __future__ import annotations

import json
import random
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))


def replaced_probe(wb, sample) -> float:
    """The probe before each kind was timed apart (the baseline)."""
    from workbench.decide.examples import tokens
    from workbench.training.jobs import train_examples
    from workbench.training.trainer import TrainConfig

    probe = random.Random(0).sample(sample, min(32, len(sample)))
    ends: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        train_examples(wb, probe, TrainConfig(epochs=1, batch_size=4), Path(tmp) / "probe",
                       progress=lambda p: ends.append(time.perf_counter()))
    return tokens(wb, probe) * (len(ends) - 1) / len(ends) / (ends[-1] - ends[0])


def main(args: list[str]) -> None:
    from workbench.config import Settings
    from workbench.decide.examples import plan_inputs
    from workbench.decide.pipeline import DecideRun
    from workbench.decide.stages import _train_facts, measure_speed
    from workbench.engine import Workbench

    if not args or len(args) % 2:
        sys.exit(__doc__)
    wb = Workbench.load(Settings.from_env())
    for folder, corpus in zip(args[::2], args[1::2]):
        run = DecideRun.open(folder, corpus)
        state = json.loads((Path(folder) / "run.json").read_text())["state"]
        plan = state["plan"]
        inputs = plan_inputs(wb, run.corpus, _train_facts(run), state["qa"]["test"], run.seed)
        old = replaced_probe(wb, inputs.qa_examples + inputs.doc_examples)
        new = measure_speed(wb, inputs.qa_examples, inputs.doc_examples, inputs.raft_examples, (), run.corpus)
        q, d = inputs.qa_tokens * plan["lora_qa_repeats"], inputs.doc_tokens * plan["lora_doc_repeats"]
        mix = (q + d) / (q / new.train_tokens_per_s + d / new.docs)
        print(f"{corpus}: replaced probe {old:.0f} tokens/s | probe: questions {new.train_tokens_per_s:.0f}, "
              f"chunks {new.docs:.0f}, raft's examples {new.raft:.0f}; the run's lora mix {mix:.0f} | the run's "
              f"stages: lora {state['lora_training']['tokens_per_s']:.0f}, "
              f"raft {state['raft_training']['tokens_per_s']:.0f}", flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
