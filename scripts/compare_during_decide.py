"""How long a Compare waits while another client's Decide runs: `main` against this tree, in one run.

Each side runs in a fresh Python process on its own copy of the code (`git archive <ref>` for the baseline): it
launches the real app (build_app) on the tests' tiny random Llama (tests/conftest.py) with a corpus of the 30 facts
of tests/test_decide.py (and the default corpus) and Decide's plan kept as small as the tests keep it, times a
/compare on the idle app, then starts a /decide through gradio_client and, from a second client, asks /compare
over and over until the run ends. It prints Compare's latency alone and during the run (median, slowest, how many were answered while the run
went on), the run's own time, and the app process's memory before and after the run.

    HF_HUB_OFFLINE=1 python scripts/compare_during_decide.py

`--real` measures on the embedded model (SmolLM2-135M and its embedder, Settings' defaults): three chapters of the
held-out tidewater-ferries corpus are ingested into a fresh data directory, Decide runs on them at the default
budget, and the second client asks a four-arm /compare of `--tokens` new tokens. `--runs N` runs Decide N times in
a row (comparisons during the first) and prints the app's memory after each. `--evaluate N` has a third client
ask an /evaluate of 10^5 questions (the app refuses it) and then one of N questions, which runs beside the first
Decide. `--compares N` stops after N comparisons during the first run and leaves it (the app cancels it);
`--alone` measures this tree only.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from before_after import print_side_by_side, run_python  # noqa: E402
from training_memory import checkout  # noqa: E402


def child(tree: Path, tokens: int, budget: float, real: bool = False, runs: int = 1, evaluate: int = 0,
          compares: int = 0) -> None:
    sys.path.insert(0, str(tree / "tests"))
    import psutil
    from gradio_client import Client

    tmp = Path(tempfile.mkdtemp(prefix="compare-during-decide-"))
    arms, corpus = ("base,rag,lora,raft", "company") if real else ("base", "")
    demo = real_app(tmp, tokens) if real else tiny_app(tmp, tokens)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    me = psutil.Process()
    try:
        decider, comparer = Client(url, verbose=False), Client(url, verbose=False)

        def compare() -> float:
            started = time.perf_counter()
            comparer.predict("What is the per diem for Lisbon?", arms, corpus, 0, tokens, 0.0, api_name="/compare")
            return time.perf_counter() - started

        idle = statistics.median(compare() for _ in range(5))
        figures = {"idle_s": idle, "rss_before_mib": me.memory_info().rss / 2**20}
        evaluation = start_evaluation(url, tmp, tokens, evaluate, figures) if evaluate else None
        for number in range(1, runs + 1):  # comparisons during the first run; the rest show what memory does
            started = time.perf_counter()
            run = decider.submit("company", budget, 100, api_name="/decide")
            during, waited = [], []
            while not run.done():
                if number > 1 or not re.search(r"Stage \d+ of", str(run.outputs()[-1][0]) if run.outputs() else ""):
                    time.sleep(0.05)
                    continue
                latency = compare()
                (during if not run.done() else waited).append(latency)
                if compares and len(during) >= compares:  # enough: leave the run (the app cancels it)
                    figures["stopped_after_compares"] = stage_of(run)
                    run.cancel()
                    break
            else:
                status = str(run.result()[0])
                if "finished" not in status:
                    raise SystemExit(f"the Decide run did not finish: {status}")
            figures[f"rss_after_run_{number}_mib"] = me.memory_info().rss / 2**20
            if evaluation is not None:
                figures["evaluation_running"] = not evaluation.done()
                evaluation.cancel()
                evaluation = None
            if number == 1:
                latencies = sorted(during or waited)
                figures.update(during_median_s=statistics.median(latencies),
                               during_p90_s=latencies[int(0.9 * (len(latencies) - 1))],
                               during_max_s=latencies[-1], answered_during=len(during),
                               decide_s=time.perf_counter() - started)
        print(json.dumps(figures), flush=True)
    finally:
        demo.close()


def stage_of(run) -> str:
    """The Decide run's status line now ("Stage 3 of 8: lora …")."""
    outputs = run.outputs()
    return str(outputs[-1][0]).strip()[:80] if outputs else ""


def start_evaluation(url: str, tmp: Path, tokens: int, rows: int, figures: dict):
    """A third client's /evaluate: first one of 10^5 questions (refused: its message goes into `figures`), then one
    of `rows` questions, left running; returns its job."""
    from gradio_client import Client, handle_file

    evaluator = Client(url, verbose=False)

    def submit(n: int):
        data = tmp / f"set-{n}.jsonl"
        data.write_text("".join(json.dumps({"question": f"What is the fare for crossing {i}?", "answer": "£1"}) + "\n"
                                for i in range(n)))
        return evaluator.submit("handbook/test", handle_file(str(data)), ["base", "rag"], 0, "company", 3, tokens,
                                0.0, "(none)", "(none)", False, api_name="/evaluate")

    try:
        submit(100_000).result()
        figures["huge_evaluation"] = "accepted"
    except Exception as exc:  # the app's refusal, as gradio_client raises it
        figures["huge_evaluation"] = f"refused: {str(exc)[:120]}"
    job = submit(rows)
    while not any("questions" in str(out[0]) for out in job.outputs()):
        time.sleep(0.05)
    return job


def tiny_app(tmp: Path, tokens: int):
    """The tree's app on the tests' tiny random Llama and fake embedder, with the 30 facts of tests/test_decide.py
    as the corpus 'company' and Decide's plan kept as small as the tests keep it."""
    import conftest  # the tree's own tiny model and fake embedder
    from test_decide import FACTS

    import workbench.decide.plan as plan
    from workbench.config import Settings
    from workbench.engine import Workbench
    from workbench.retrieval.ingest import ingest
    from workbench.retrieval.store import VectorStore
    from workbench.ui import build_app

    plan.MAX_QA_REPEATS, plan.MAX_RAFT_EPOCHS, plan.MAX_TEST_QUESTIONS = 2, 1.0, 8
    settings = Settings(data_dir=str(tmp / "data"), lora_adapter="", raft_adapter="", max_new_tokens=tokens,
                        chunk_size=40, chunk_overlap=5)
    (tmp / "company").mkdir()
    (tmp / "company" / "facts.txt").write_text("\n\n".join(FACTS) + "\n")
    (tmp / "handbook").mkdir()  # the default corpus, which main's speed probe asked whatever the run's corpus
    (tmp / "handbook" / "travel.md").write_text("# Travel\nThe per diem for Lisbon is 62 euro per day.\n")
    store = VectorStore.open(settings, conftest.FakeEmbedder())
    for name in ("company", "handbook"):
        ingest(store, name, [tmp / name], settings.chunk_size, settings.chunk_overlap)
    tokenizer = conftest.make_tokenizer()
    wb = Workbench(settings, conftest.make_tiny_model(tokenizer), tokenizer, store, model_id="tiny-llama")
    return build_app(settings, wb).queue()


def real_app(tmp: Path, tokens: int):
    """This tree's app on the embedded model, with three tidewater chapters as the corpus 'company'."""
    from workbench.config import Settings
    from workbench.engine import Workbench
    from workbench.retrieval.ingest import ingest
    from workbench.ui import build_app

    wb = Workbench.load(Settings(data_dir=str(tmp / "data"), max_new_tokens=tokens))
    docs = REPO / "benchmarks" / "heldout" / "tidewater-ferries" / "docs"
    (tmp / "company").mkdir()
    for name in ("fleet-and-crewing.md", "timetable-and-fares.md", "safety-and-security.md"):
        (tmp / "company" / name).write_text((docs / name).read_text())
    ingest(wb.store, "company", [tmp / "company"], wb.settings.chunk_size, wb.settings.chunk_overlap)
    return build_app(wb.settings, wb).queue()


def measure(tree: Path, args) -> dict:
    return run_python(tree, [str(Path(__file__).resolve()), "--child", str(tree), "--tokens", str(args.tokens),
                             "--budget", str(args.budget), "--runs", str(args.runs), "--evaluate", str(args.evaluate),
                             "--compares", str(args.compares)]
                      + (["--real"] if args.real else []))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=8, help="max new tokens per answer (Compare's and Decide's)")
    parser.add_argument("--budget", type=float, default=30, help="Decide's budget in minutes")
    parser.add_argument("--before", default="main", help="baseline git ref (default: main)")
    parser.add_argument("--real", action="store_true", help="on the embedded model")
    parser.add_argument("--runs", type=int, default=1,
                        help="Decide runs in a row (comparisons during the first; the app's memory after each)")
    parser.add_argument("--evaluate", type=int, default=0,
                        help="a third client's /evaluate of this many questions runs beside the first Decide (after "
                             "one of 10^5 questions, which the app refuses)")
    parser.add_argument("--compares", type=int, default=0,
                        help="stop after this many comparisons during the first run and leave it (0: until it ends)")
    parser.add_argument("--alone", action="store_true", help="this tree only, no baseline")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child), args.tokens, args.budget, args.real, args.runs, args.evaluate, args.compares)
        return
    if args.alone:
        print(json.dumps(measure(REPO, args), indent=2))
        return
    with tempfile.TemporaryDirectory() as tmp:
        before = measure(checkout(args.before, Path(tmp) / "before"), args)
        after = measure(REPO, args)
    model = "three tidewater chapters, the embedded model" if args.real else "30 facts, tiny random Llama"
    print(f"/compare latency (s) while another client's /decide runs ({model}, {args.tokens} new tokens); "
          f"machine: {os.cpu_count()} CPUs")
    print_side_by_side(before, after, [("idle_s", "compare, idle app (median of 5)", ".2f"),
                                       ("during_median_s", "compare during Decide, median", ".2f"),
                                       ("during_p90_s", "compare during Decide, 90th percentile", ".2f"),
                                       ("during_max_s", "compare during Decide, slowest", ".2f"),
                                       ("answered_during", "compares answered during Decide", "d"),
                                       ("decide_s", "the Decide run itself", ".1f"),
                                       ("rss_before_mib", "app RSS before Decide (MiB)", ".0f")]
                       + [(f"rss_after_run_{n}_mib", f"app RSS after Decide run {n} (MiB)", ".0f")
                          for n in range(1, args.runs + 1)], args.before)


if __name__ == "__main__":
    main()
