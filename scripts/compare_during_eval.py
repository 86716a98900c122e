"""How long a Compare waits while another client's evaluation runs: `main` against this tree, in one run.

Each side runs in a fresh Python process on its own copy of the code (`git archive <ref>` for the baseline): it
launches the real app (build_app) on the tests' tiny random Llama (tests/conftest.py, so the evaluation is long in
batches but cheap), starts an /evaluate of `--questions` uploaded questions through gradio_client, and once the
first answers are on screen times a /compare from a second client. It also times a /compare on the idle app.

    HF_HUB_OFFLINE=1 python scripts/compare_during_eval.py --questions 400
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))
from before_after import print_side_by_side, run_python  # noqa: E402
from training_memory import checkout  # noqa: E402


def child(tree: Path, questions: int, tokens: int) -> None:
    sys.path.insert(0, str(tree / "tests"))
    import conftest  # the tree's own tiny model and fake embedder
    from gradio_client import Client, handle_file

    from workbench.config import Settings
    from workbench.engine import Workbench
    from workbench.retrieval.ingest import ingest
    from workbench.retrieval.store import VectorStore
    from workbench.ui import build_app

    tmp = Path(tempfile.mkdtemp(prefix="compare-during-eval-"))
    settings = Settings(data_dir=str(tmp / "data"), lora_adapter="", raft_adapter="", max_new_tokens=tokens,
                        chunk_size=40, chunk_overlap=5)
    (tmp / "docs").mkdir()
    (tmp / "docs" / "travel.md").write_text("# Travel\nThe per diem for Lisbon is 62 euro per day.\n")
    store = VectorStore.open(settings, conftest.FakeEmbedder())
    ingest(store, "handbook", [tmp / "docs"], settings.chunk_size, settings.chunk_overlap)
    tokenizer = conftest.make_tokenizer()
    wb = Workbench(settings, conftest.make_tiny_model(tokenizer), tokenizer, store, model_id="tiny-llama")
    data = tmp / "set.jsonl"
    data.write_text("".join(json.dumps({"question": f"What is the per diem for city {i}?", "answer": "62 euro"}) + "\n"
                            for i in range(questions)))
    demo = build_app(settings, wb).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        evaluator, comparer = Client(url, verbose=False), Client(url, verbose=False)

        def compare() -> float:
            started = time.perf_counter()
            comparer.predict("What is the per diem for Lisbon?", "base", "", 0, tokens, 0.0, "", "", "",
                             api_name="/compare")
            return time.perf_counter() - started

        idle = compare()
        eval_started = time.perf_counter()
        job = evaluator.submit("handbook/test", handle_file(str(data)), ["base"], 0, "(the set's own corpus)", 3,
                               tokens, 0.0, "(none)", "(none)", False, api_name="/evaluate")
        while not any("questions" in str(out[0]) for out in job.outputs()):
            time.sleep(0.05)
        during = compare()
        running = not job.done()
        job.result()
        print(json.dumps({"idle_s": idle, "during_s": during, "eval_still_running": running,
                          "eval_s": time.perf_counter() - eval_started}), flush=True)
    finally:
        demo.close()


def measure(tree: Path, questions: int, tokens: int) -> dict:
    return run_python(tree, [str(Path(__file__).resolve()), "--child", str(tree), "--questions", str(questions),
                             "--tokens", str(tokens)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--questions", type=int, default=400)
    parser.add_argument("--tokens", type=int, default=32, help="max new tokens per answer")
    parser.add_argument("--before", default="main", help="baseline git ref (default: main)")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(Path(args.child), args.questions, args.tokens)
        return
    with tempfile.TemporaryDirectory() as tmp:
        before = measure(checkout(args.before, Path(tmp) / "before"), args.questions, args.tokens)
        after = measure(REPO, args.questions, args.tokens)
    print(f"/compare latency (s) while an /evaluate of {args.questions} questions (batches of 8, {args.tokens} new "
          f"tokens, tiny random Llama) runs; machine: {os.cpu_count()} CPUs")
    print_side_by_side(before, after, [("idle_s", "compare, idle app", ".2f"),
                                       ("during_s", "compare, evaluation running", ".2f"),
                                       ("eval_s", "the evaluation itself", ".2f")], args.before)


if __name__ == "__main__":
    main()
