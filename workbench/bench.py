"""Benchmark: the naive way (a model copy per adapter, one arm after another, plain fp32 `generate`) against the
engine (one copy, four arms in one batch), measured in one run on the same questions. Prints figures; asserts nothing.

Each side runs in its own subprocess (``python -m workbench.bench WORKER ...``), so each peak RSS is its own:
  naive        base + a separate merged copy per adapter, fp32, `model.generate` one arm at a time
  engine       Workbench: the four-arm comparison, and the rag arm alone, per question
  engine-one   Workbench with only the rag arm (no adapter attached): the one-arm peak RSS
  start        process start -> Workbench loaded and the app built: the warm start (the store already indexed),
               and the first start (an empty data directory: GGUF dequantized and cached, shipped corpora indexed)
  eval         (with --eval) the evaluation of the QA set's first --eval-questions questions x the arms, one
               question at a time and then --eval-batch questions per generation batch, in the same process
  train        (with --training) one RAFT training run on a fixed sample of the handbook's train split, with the
               trainer as it is ('now') and as the issue found it ('before'): fp32, batches drawn at random, LoRA
               dropout 0.05
The parent measures the memory-read bandwidth, and turns all into figures with their ratio to the goal.
"""

from __future__ import annotations

import json
import os
import platform
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING

from . import packed
from .arms import ALL_ARMS, ARMS, build_prompt, parse_arms
from .evaluation.datasets import load_eval_set

if TYPE_CHECKING:
    from .engine import Workbench

GOALS = {
    # figure: (goal, 'min' when the figure must be at least the goal, 'max' when at most)
    "decode_tokens_per_s_one_arm": (40.0, "min"),
    "four_vs_one_arm_wall_ratio": (1.6, "max"),
    "rag_ttft_s_in_four_arms": (0.8, "max"),
    "warm_start_s": (8.0, "max"),
    "first_start_s": (40.0, "max"),
    "peak_rss_four_vs_one_arm": (1.15, "max"),
    "training_tokens_per_s_now_vs_before": (2.0, "min"),
    "eval_65_questions_s": (180.0, "max"),  # the handbook test set, 4 arms, no cache
}


def machine() -> str:
    import torch

    if torch.cuda.is_available():
        return f"{torch.cuda.get_device_name(0)} (CUDA)"
    cpu = platform.processor() or platform.machine()
    try:
        cpu = next(line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                   if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__} ({torch.get_num_threads()} threads)"


def retrieval_hit_rate(wb: Workbench, items, corpus: str, k: int) -> float:
    """Share of eval items whose `source` is among the sources of the top-k passages."""
    hits = sum(item.source in {p.source for p in wb.store.query(corpus, item.question, k)} for item in items)
    return hits / len(items)


def memory_bandwidth_gbs(mib: int = 1024, repeats: int = 5) -> float:
    """Memory-read bandwidth: bytes of a large fp32 tensor over the best time torch takes to sum it."""
    import torch

    x = torch.ones(mib * 2**20 // 4)
    best = float("inf")
    for _ in range(repeats):
        started = time.perf_counter()
        x.sum().item()
        best = min(best, time.perf_counter() - started)
    return x.numel() * 4 / best / 1e9


def _peak_rss() -> int:
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return rss if sys.platform == "darwin" else rss * 1024


def _questions(data: str, n: int) -> tuple[list[str], str | None]:
    eval_set = load_eval_set(Path(data))
    return [item.question for item in eval_set.items[:n]], eval_set.corpus


# --- workers (each in its own process) -------------------------------------------------------------------------
def worker_engine(args, arms: list[str]) -> dict:
    """The engine: per question the comparison of `arms`, then (with several arms) the rag arm alone."""
    from .config import Settings
    from .engine import Workbench

    wb = Workbench.load(Settings.from_env(dtype=args.dtype))
    questions, corpus = _questions(args.data, args.n)
    opts = dict(max_new_tokens=args.max_new_tokens, corpus=args.corpus or corpus or wb.settings.corpus, temperature=0.0)
    wb.compare(questions[0], arms, **opts)  # warm-up: attach adapters, first-call overheads
    items = load_eval_set(Path(args.data)).items
    out = {"dtype": str(next(wb.model.parameters()).dtype).removeprefix("torch."),
           "retrieval_top3_source_hit_rate": round(retrieval_hit_rate(wb, [i for i in items if i.source], opts["corpus"], 3), 3),
           # the base weights read per decode step (tied embeddings once; adapters are a few MiB more)
           "weight_bytes": packed.weight_bytes(wb.model),
           # which Linear layers WORKBENCH_PACK_WEIGHTS (default 'auto': measured at load) put in the packed layout
           "packed_layers": sum(isinstance(m, packed.PackedLinear) for m in wb.model.modules()),
           "linear_layers": len(wb.module_shapes),
           "four": [], "one": []}
    for question in questions:
        started = time.perf_counter()
        result = wb.compare(question, arms, **opts)
        out["four"].append({"wall_s": time.perf_counter() - started, "arms": {
            a.arm: {"answer": a.answer, "error": a.error, **{k: getattr(a.metrics, k) for k in (
                "retrieval_ms", "ttft_ms", "prefill_ms", "total_ms", "output_tokens", "tokens_per_s")}}
            for a in result.arms}})
        if len(arms) > 1:
            started = time.perf_counter()
            alone = wb.compare(question, ["rag"], **opts).arms[0]
            out["one"].append({"wall_s": time.perf_counter() - started, "tokens_per_s": alone.metrics.tokens_per_s,
                               "ttft_ms": alone.metrics.ttft_ms, "output_tokens": alone.metrics.output_tokens})
    out["peak_rss_bytes"] = _peak_rss()
    return out


def worker_naive(args) -> dict:
    """What a plain transformers user writes: a model per adapter (merged), fp32, one arm after another."""
    import torch
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer
    from transformers.generation.streamers import BaseStreamer

    from .adapters import AUTO, auto_adapter, find_adapter, list_adapters
    from .config import Settings
    from .models import dequantized_cache, resolve
    from .retrieval.embedder import Embedder
    from .retrieval.store import VectorStore

    settings = Settings.from_env()
    if settings.threads > 0:  # the same threads as the engine's
        torch.set_num_threads(settings.threads)
    source = resolve(settings.model)
    cached = dequantized_cache(source, settings.data_path / "models")  # the same fp32 weights, read faster
    path, kwargs = (str(cached), {}) if cached and cached.is_dir() else (source.path, {"gguf_file": source.gguf_file})
    tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)

    def load(adapter: str | None):
        model = AutoModelForCausalLM.from_pretrained(path, dtype=torch.float32, **kwargs)
        if adapter:
            model = PeftModel.from_pretrained(model, str(find_adapter(adapter, settings.adapter_dirs))).merge_and_unload()
        return model.eval()

    questions, corpus = _questions(args.data, args.n)
    corpus = args.corpus or corpus or settings.corpus

    def adapter(column: str) -> str:
        name = getattr(settings, f"{column}_adapter")
        return auto_adapter(column, corpus, list(list_adapters(settings.adapter_dirs))) if name == AUTO else name

    copies = {None: load(None), "lora_adapter": load(adapter("lora")), "raft_adapter": load(adapter("raft"))}
    store = VectorStore.open(settings, Embedder.load(settings.embedder, "cpu"))

    class Times(BaseStreamer):
        def __init__(self):
            self.times, self.started = [], time.perf_counter()

        def put(self, value):
            self.times.append(time.perf_counter() - self.started)

        def end(self):
            pass

    def run_arm(question: str, arm) -> dict:
        started = time.perf_counter()
        passages = store.query(corpus, question, settings.top_k) if arm.retrieval else None
        prompt = build_prompt(tokenizer, question, passages, settings.system_prompt)
        enc = tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        streamer = Times()
        with torch.inference_mode():
            ids = copies[arm.adapter_setting].generate(**enc, max_new_tokens=args.max_new_tokens, do_sample=False,
                                                       temperature=None, top_p=None, top_k=None, streamer=streamer,
                                                       pad_token_id=tokenizer.pad_token_id)
        new = ids[0, enc["input_ids"].shape[1]:]
        times = streamer.times[1:]  # the first put() is the prompt
        n = len(new)
        return {"answer": tokenizer.decode(new, skip_special_tokens=True).strip(), "output_tokens": n,
                "ttft_s": times[0] if times else 0.0, "wall_s": time.perf_counter() - started,
                "tokens_per_s": (n - 1) / (times[-1] - times[0]) if n > 1 and times[-1] > times[0] else 0.0}

    arms = [ARMS[name] for name in args.arms.split(",")]
    run_arm(questions[0], arms[0])  # warm-up
    out = {"questions": []}
    for question in questions:
        started = time.perf_counter()
        per_arm = {arm.name: run_arm(question, arm) for arm in arms}
        out["questions"].append({"wall_s": time.perf_counter() - started, "arms": per_arm})
    out["peak_rss_bytes"] = _peak_rss()
    return out


def worker_start(args) -> dict:
    """Load everything the app needs and build it; ready_s: from the parent's spawn of this process to the app
    built (the process's own exit is not start-up)."""
    phases = {"python_and_bench_imports": round(STARTED_WALL - args.spawned_at, 2)}

    def mark(name: str, since: float) -> float:
        now = time.perf_counter()
        phases[name] = round(now - since, 2)
        return now

    t = STARTED
    import torch  # noqa: F401
    import transformers  # noqa: F401

    t = mark("import_torch_transformers", t)
    from .ui import build_app

    t = mark("import_gradio_ui", t)
    from .config import Settings
    from .engine import Workbench

    settings = Settings.from_env(dtype=args.dtype)
    wb = Workbench.load(settings)
    t = mark("load_model_embedder_store", t)
    build_app(settings, wb)
    mark("build_app", t)
    return {"phases_s": phases, "ready_s": round(time.time() - args.spawned_at, 2)}


def worker_eval(args) -> dict:
    """The evaluation (no cache) one question at a time, then in batches of args.eval_batch questions: seconds,
    peak RSS after each, and whether the batched answers are the one-at-a-time answers."""
    from .config import Settings
    from .engine import Workbench
    from .evaluation.report import build_report
    from .evaluation.runner import run_eval

    wb = Workbench.load(Settings.from_env(dtype=args.dtype))
    eval_set = load_eval_set(Path(args.data))
    eval_set.items = eval_set.items[: args.eval_questions or None]
    opts = dict(max_new_tokens=args.max_new_tokens, corpus=args.corpus or eval_set.corpus or wb.settings.corpus)
    wb.compare(eval_set.items[0].question, args.arms, **opts)  # warm-up: attach adapters, first-call overheads
    runs, answers = {}, {}
    for name, batch in (("one_at_a_time", 1), ("batched", args.eval_batch)):
        started = time.perf_counter()
        records = run_eval(wb, eval_set, args.arms, eval_batch=batch, **opts)
        seconds = time.perf_counter() - started
        summary = build_report(records, eval_set.labels).summary
        answers[name] = [(r.item.id, r.result.arm, r.result.answer) for r in records]
        runs[name] = {"eval_batch": batch, "seconds": round(seconds, 1), "peak_rss_mib": round(_peak_rss() / 2**20),
                      "contains": {arm: s.contains for arm, s in summary.items()},
                      "f1": {arm: s.f1 for arm, s in summary.items()},
                      "total_p50_ms": {arm: s.total_p50_ms for arm, s in summary.items()}}
    same = statistics.fmean(a == b for a, b in zip(answers["one_at_a_time"], answers["batched"]))
    return {"questions": len(eval_set.items), "runs": runs, "answers_identical": round(same, 4)}


def worker_train(args) -> dict:
    """One RAFT training run, 'now' or 'before' (args.train_variant), on the same sampled examples and steps."""
    import random

    from .config import Settings
    from .engine import Workbench
    from .training.jobs import build_examples
    from .training.trainer import TrainConfig, train

    wb = Workbench.load(Settings.from_env())
    before = {"group_by_length": False, "bf16_autocast": False, "dropout": 0.05} if args.train_variant == "before" else {}
    config = TrainConfig(method="raft", epochs=args.train_epochs, **before)
    examples = build_examples(wb, Path(args.train_data), config, wb.settings.corpus)
    if args.train_examples:
        examples = random.Random(0).sample(examples, min(args.train_examples, len(examples)))
    with tempfile.TemporaryDirectory(prefix="bench-train-") as out:
        result = train(wb.model, wb.tokenizer, examples, config, Path(out), wb.model_id, device=wb.device)
    return {k: getattr(result, k) for k in ("tokens_per_s", "seconds", "steps", "first_loss", "train_loss")}


STARTED, STARTED_WALL = time.perf_counter(), time.time()  # after this module's imports (torch among them)


def _spawn(worker: str, args, extra: list[str] | None = None, data_dir: str | None = None) -> tuple[dict, float]:
    cmd = [sys.executable, "-m", "workbench.bench", worker, "--data", args.data, "--n", str(args.n),
           "--max-new-tokens", str(args.max_new_tokens), "--arms", args.arms, "--dtype", args.dtype,
           *(["--corpus", args.corpus] if args.corpus else []), *(extra or [])]
    env = {**os.environ, "HF_HUB_OFFLINE": "1", "TOKENIZERS_PARALLELISM": "false", "GRADIO_ANALYTICS_ENABLED": "False"}
    if data_dir or getattr(args, "data_dir", None):
        env["WORKBENCH_DATA_DIR"] = data_dir or args.data_dir
    started = time.perf_counter()
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - started
    if proc.returncode != 0:
        raise RuntimeError(f"bench worker {worker} failed: {proc.stderr.strip().splitlines()[-1:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1]), wall


def _mean(values) -> float:
    values = list(values)
    return round(statistics.fmean(values), 3) if values else 0.0


def _ratios(figures: dict) -> dict:
    out = {}
    for key, (goal, kind) in GOALS.items():
        value = figures.get(key)
        if value:
            out[key] = {"value": value, "goal": goal, "ratio_to_goal": round(value / goal, 2),
                        "meets_goal": value >= goal if kind == "min" else value <= goal}
    return out


def run_training(args, figures: dict, log) -> None:
    """Training tokens/s now vs before, each run in its own process on the same examples (--training)."""
    runs = {}
    for variant in ("before", "now"):
        log(f"training: RAFT, {args.train_examples} examples x {args.train_epochs:g} epochs, the trainer {variant}")
        runs[variant], _ = _spawn("train", args, ["--train-variant", variant, "--train-data", args.train_data,
                                                  "--train-examples", str(args.train_examples),
                                                  "--train-epochs", str(args.train_epochs)])
    figures["training"] = runs
    figures["training_tokens_per_s_now_vs_before"] = round(runs["now"]["tokens_per_s"] / runs["before"]["tokens_per_s"], 2)


def run_evaluation(args, figures: dict, log) -> None:
    """The evaluation's time, one question at a time vs batched, in one process (--eval)."""
    log(f"evaluation: {args.eval_questions or 'all'} questions x {args.arms}, one at a time, then {args.eval_batch} "
        "questions per batch (no cache)")
    out, _ = _spawn("eval", args, ["--eval-questions", str(args.eval_questions), "--eval-batch", str(args.eval_batch)])
    runs = out["runs"]
    figures["evaluation"] = out
    figures["eval_batched_vs_one_at_a_time_speedup"] = round(runs["one_at_a_time"]["seconds"] / runs["batched"]["seconds"], 2)
    if out["questions"] == 65 and args.data.endswith("handbook/qa/test.jsonl") and len(parse_arms(args.arms)) == 4:
        figures["eval_65_questions_s"] = runs["batched"]["seconds"]


def run_bench(args, log=lambda msg: print(msg, file=sys.stderr)) -> dict:
    """All workers, then the figures."""
    arms = [a.name for a in parse_arms(args.arms)]
    figures: dict = {"machine": machine(), "threads": int(os.environ.get("WORKBENCH_THREADS", 0)) or "default",
                     "questions": args.n, "max_new_tokens": args.max_new_tokens, "arms": arms}
    if args.training or args.training_only:
        run_training(args, figures, log)
    if args.eval or args.eval_only:
        run_evaluation(args, figures, log)
    if args.training_only or args.eval_only:
        figures["goals"] = _ratios(figures)
        return figures
    log("measuring memory bandwidth")
    figures["memory_read_gb_s"] = round(memory_bandwidth_gbs(), 1)

    log("first start (an empty data directory: the GGUF is dequantized and the shipped corpora indexed)")
    with tempfile.TemporaryDirectory(prefix="bench-first-start-") as fresh:
        first, _ = _spawn("start", args, ["--spawned-at", repr(time.time())], data_dir=fresh)
    figures["first_start_s"] = first["ready_s"]
    figures["first_start_phases_s"] = first["phases_s"]
    log("warm start (store already indexed)")
    _spawn("start", args)  # makes sure the data directory used below is indexed and its model cache written
    start, _ = _spawn("start", args, ["--spawned-at", repr(time.time())])
    figures["warm_start_s"] = start["ready_s"]
    figures["warm_start_phases_s"] = start["phases_s"]

    log("engine: four arms and one arm per question")
    engine, _ = _spawn("engine", args)
    log("engine: one arm only (for its peak RSS)")
    one, _ = _spawn("engine-one", args)
    naive = None
    if not args.skip_naive:
        log("naive: a model copy per adapter, fp32 generate, one arm after another")
        naive, _ = _spawn("naive", args)

    figures["engine_dtype"] = engine["dtype"]
    figures["retrieval_top3_source_hit_rate"] = engine["retrieval_top3_source_hit_rate"]
    figures["weights_mib"] = round(engine["weight_bytes"] / 2**20, 1)
    figures["packed_linear_layers"] = f"{engine['packed_layers']} of {engine['linear_layers']}"
    figures["bandwidth_bound_tokens_per_s"] = round(figures["memory_read_gb_s"] * 1e9 / engine["weight_bytes"], 1)
    per_arm = {}
    for arm in arms:
        rows = [q["arms"][arm] for q in engine["four"] if not q["arms"][arm]["error"]]
        per_arm[arm] = {"ttft_s": _mean(r["ttft_ms"] / 1000 for r in rows),
                        "prefill_s": _mean(r["prefill_ms"] / 1000 for r in rows),
                        "decode_tokens_per_s": _mean(r["tokens_per_s"] for r in rows if r["tokens_per_s"]),
                        "output_tokens": _mean(r["output_tokens"] for r in rows)}
    figures["engine_four_arms"] = per_arm
    figures["engine_four_arms_wall_s"] = _mean(q["wall_s"] for q in engine["four"])
    figures["engine_rag_alone_wall_s"] = _mean(q["wall_s"] for q in engine["one"])
    figures["decode_tokens_per_s_one_arm"] = _mean(q["tokens_per_s"] for q in engine["one"] if q["tokens_per_s"])
    figures["four_vs_one_arm_wall_ratio"] = round(figures["engine_four_arms_wall_s"] / figures["engine_rag_alone_wall_s"], 2) \
        if engine["one"] else None
    # Per question: a comparison decodes until its longest answer ends, the rag arm alone until rag's does.
    figures["four_vs_one_by_question"] = [
        {"four_s": round(f["wall_s"], 2), "one_s": round(o["wall_s"], 2), "ratio": round(f["wall_s"] / o["wall_s"], 2),
         "rag_alone_tokens": o["output_tokens"], "longest_answer_tokens": max(a["output_tokens"] for a in f["arms"].values())}
        for f, o in zip(engine["four"], engine["one"])]
    if "rag" in per_arm:
        figures["rag_ttft_s_in_four_arms"] = per_arm["rag"]["ttft_s"]
    figures["engine_peak_rss_mib"] = {"four_arms": round(engine["peak_rss_bytes"] / 2**20),
                                      "one_arm": round(one["peak_rss_bytes"] / 2**20)}
    figures["peak_rss_four_vs_one_arm"] = round(engine["peak_rss_bytes"] / one["peak_rss_bytes"], 3)
    if naive:
        figures["naive"] = {
            "four_arms_wall_s": _mean(q["wall_s"] for q in naive["questions"]),
            "per_arm": {arm: {"ttft_s": _mean(q["arms"][arm]["ttft_s"] for q in naive["questions"]),
                              "decode_tokens_per_s": _mean(q["arms"][arm]["tokens_per_s"] for q in naive["questions"]),
                              "wall_s": _mean(q["arms"][arm]["wall_s"] for q in naive["questions"])} for arm in arms},
            "peak_rss_mib": round(naive["peak_rss_bytes"] / 2**20),
        }
        figures["speedup_four_arms_engine_vs_naive"] = round(
            figures["naive"]["four_arms_wall_s"] / figures["engine_four_arms_wall_s"], 2)
        # greedy answers of the engine (its dtype) against the fp32 reference, per arm
        figures["answers_identical_to_fp32_reference"] = {arm: round(statistics.fmean(
            e["arms"][arm]["answer"] == nq["arms"][arm]["answer"] for e, nq in zip(engine["four"], naive["questions"])), 2)
            for arm in arms}
    figures["goals"] = _ratios(figures)
    return figures


def parse_args(argv=None):
    import argparse

    p = argparse.ArgumentParser(prog="python -m workbench.bench")
    p.add_argument("worker", choices=["engine", "engine-one", "naive", "start", "train", "eval"])
    p.add_argument("--train-variant", choices=["before", "now"], default="now")
    p.add_argument("--spawned-at", type=float, default=0.0, help="time.time() when the parent started this worker")
    add_options(p)
    return p.parse_args(argv)


def add_options(p) -> None:
    p.add_argument("--data", default="corpora/handbook/qa/test.jsonl", help="QA set whose questions are timed")
    p.add_argument("--corpus", help="corpus of the QA set (default: the set's own, else handbook)")
    p.add_argument("--n", type=int, default=5, help="questions to time")
    p.add_argument("--arms", default=ALL_ARMS)
    p.add_argument("--max-new-tokens", type=int, default=64)
    p.add_argument("--dtype", default=os.environ.get("WORKBENCH_DTYPE", "auto"),
                   help="the engine's weights dtype (auto, float32, bfloat16); the naive side is always float32")
    p.add_argument("--skip-naive", action="store_true", help="leave out the naive side (it loads three model copies)")
    p.add_argument("--training", action="store_true", help="also time training: the trainer now vs before")
    p.add_argument("--training-only", action="store_true", help="time training only")
    p.add_argument("--eval", action="store_true", help="also time the evaluation: one question at a time vs batched")
    p.add_argument("--eval-only", action="store_true", help="time the evaluation only")
    p.add_argument("--eval-questions", type=int, default=0, help="questions of --data the evaluation runs (0: all)")
    p.add_argument("--eval-batch", type=int, default=8, help="questions per generation batch in the batched run")
    p.add_argument("--train-data", default="corpora/handbook/qa/train.jsonl", help="Q/A file the RAFT runs sample")
    p.add_argument("--train-examples", type=int, default=0, help="examples sampled for the training runs (0: all)")
    p.add_argument("--train-epochs", type=float, default=1.0, help="passes over them")


def main(argv=None) -> None:
    args = parse_args(argv)
    if args.worker == "engine":
        out = worker_engine(args, [a.name for a in parse_arms(args.arms)])
    elif args.worker == "engine-one":
        out = worker_engine(args, ["rag"])
    elif args.worker == "naive":
        out = worker_naive(args)
    elif args.worker == "train":
        out = worker_train(args)
    elif args.worker == "eval":
        out = worker_eval(args)
    else:
        out = worker_start(args)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
