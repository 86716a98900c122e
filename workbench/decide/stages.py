"""The stages of a Decide run, each a small function over the run folder.

    qa      questions from the corpus, split by fact        -> qa/facts.jsonl, qa/train.jsonl, qa/test.jsonl,
                                                               qa/recall.jsonl
    plan    measure this machine, fit the budget            -> plan in run.json
    lora    knowledge recipe: documents + training questions -> adapters/lora/
    raft    the reader, continued on the training questions -> adapters/raft/ (or the reader, if it reads better)
    eval    four arms on the held-out questions             -> eval/ (summary.csv, per_question.csv, ...)
    unanswerable  held-out questions, answers' chunks withheld -> unanswerable/ (criteria.py)
    updates       training facts changed in a copy            -> updates/ (criteria.py)
    refit   the measured lora continued on the held-out facts -> adapters/lora/ (the measured one: lora-measured/)
    report  intervals, costs, break-even, verdict           -> report.json, report.md

A stage reads what earlier stages wrote (files and `run.state`) and returns what it adds to the state; the
pipeline records it in run.json, so a restarted run skips the stages already done.
"""

from __future__ import annotations

import math
import random
import shutil
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from .. import polar
from ..arms import ALL_ARMS
from ..evaluation.datasets import EvalSet, load_eval_set
from ..qa.split import read_jsonl
from ..slot import BATCH
from ..training.card import READER_TARGET
from ..training.knowledge import KnowledgeItem
from ..training.trainer import TrainConfig
from .criteria import stage_unanswerable, stage_updates
from .examples import (DecideError, check_facts, knowledge_items, lora_examples, plan_inputs, reader_adapter,
                       reader_examples, split_rows, tokens, validation_split)
from .plan import MAX_READER_EPOCHS, Speed, make_plan, refit_repeats, refit_replays, validation_seconds
from .recheck import record_documents
from .verdict import mean

if TYPE_CHECKING:
    from ..engine import Workbench

# --- qa --------------------------------------------------------------------------------------------------
def stage_qa(run, wb: Workbench) -> dict:
    """Generate facts with several question phrasings each (in a parsing worker, qa/worker.py); hold out whole
    facts for the test set."""
    from ..qa import QAError, quality, write_jsonl
    from ..qa.worker import generate_facts_isolated

    chunks = wb.store.chunks(run.corpus) if wb.store.exists(run.corpus) else []
    if not chunks:
        raise DecideError(f"corpus {run.corpus!r} has no documents; ingest some in the Corpora tab first")
    try:
        facts = generate_facts_isolated(wb.settings, chunks, run.seed)
    except QAError as exc:
        raise DecideError(str(exc)) from None
    check_facts(len(facts), run.corpus)
    rows = split_rows(facts, run.seed)
    write_jsonl([asdict(f) for f in facts], run.path / "qa" / "facts.jsonl")
    for name in ("train", "test", "recall"):
        write_jsonl(getattr(rows, name), run.path / "qa" / f"{name}.jsonl")
    record_documents(run, wb)  # what a later re-check compares the store with (recheck.py)
    q = quality(facts, chunks)
    words = sum(len(c.text.split()) for c in chunks)
    return {"qa": {"facts": len(facts), "train": len(rows.train), "test": len(rows.test),
                   "recall": len(rows.recall), "aliased": sum(1 for f in facts if f.aliased), "words": words,
                   "quality": q}}


def _train_facts(run) -> list[KnowledgeItem]:
    """Training facts with their questions (rows of qa/train.jsonl grouped by fact: the first phrasing of each;
    docs/decide.md, "Every phrasing of each training fact")."""
    return knowledge_items(read_jsonl(run.path / "qa" / "train.jsonl"))


def _recall_facts(run) -> list[KnowledgeItem]:
    """The held-out facts with their first phrasing, which the refit teaches the lora (qa/recall.jsonl)."""
    path = run.path / "qa" / "recall.jsonl"
    return knowledge_items(read_jsonl(path)) if path.is_file() else []


LORA_LEARNING_RATE = 2e-3
"""The closed-book lora's rate: twice TrainConfig's default. On the three reader-mix corpora at Decide's split and
repeats it answered 0.167 of the hand-written questions (0.122 at 1e-3, 0.189 at 4e-3, which recalled fewer
held-out generated facts); docs/fine-tuning-recipes.md, "Decide's lora: learning rate"."""
LORA_BATCH_SIZE = 2
"""Examples per optimiser step of the closed-book lora and its refit: half TrainConfig's four, so the same tokens
and minutes make twice the steps. A fresh lora on every fact of a held-out corpus at the run's repeats recalled
its training questions 37 % → 63 % and their other, untrained phrasing 30 % → 50 % (harbour-ferries, 6 repeats;
greenway-lab's other phrasing 66 % → 86 % at 10), at 3–17 % fewer tokens/s; docs/decide.md, "Two examples a step"."""
LORA_TOP_LAYERS = 0.5
"""The closed-book lora and its refit put LoRA in the last half of the layers (TrainConfig.top_layers): a step
stops its backward halfway down, so the same minutes hold more repeats; docs/decide.md, "The last half of the
layers"."""
RAFT_LEARNING_RATE = 3e-4
"""Continuing the reader: a third of a fresh adapter's rate, so a few dozen questions adjust it, not overwrite it."""


def _validation_split(run) -> tuple[list[KnowledgeItem], list[KnowledgeItem]]:
    return validation_split(_train_facts(run), run.seed)


# --- plan ------------------------------------------------------------------------------------------------
PROBE_BATCH = LORA_BATCH_SIZE
"""Examples per step of the speed probe: the lora's, whose questions and documents are most of a run's training."""
PROBE_STEPS = {"raft": 6, "questions": 8, "documents": 8}
"""Steps of PROBE_BATCH examples the speed probe trains of each kind (raft's first, whose first step is not
counted)."""


def measure_speed(wb: Workbench, questions, documents=(), raft=(), asked=(), corpus: str | None = None,
                  cancel=None) -> Speed:
    """Training tokens/s of each kind of example a run trains, and seconds to answer one question with all four
    arms.

    Training: two short runs (in the training worker process, so their memory goes back), raft's examples with LoRA
    in every layer and the lora's questions and documents with LoRA where the lora has it, on a seeded draw of
    each kind, longest first, PROBE_BATCH to a step (the stages batch by length too), each kind timed apart: a raft
    example is a long prompt with a short target (the LM head runs over the target's columns only), and a step's
    fixed cost weighs more on short chunks than on packed Q/A (_probe_run). (Chunks and Q/A drawn together and
    batched as they came read 15-25 % under the lora stage's speed: docs/decide.md, "The speed probe".)

    Answering: one evaluation batch of the `asked` questions (the run's test questions; a stock one without), base
    and rag (lora and raft cost what base and rag cost: the same prompts, the same lengths), waiting, like the
    evaluation's, while a comparison runs."""
    draws = {kind: _probe_draw(wb, examples, PROBE_STEPS[kind])
             for kind, examples in (("raft", raft), ("questions", questions), ("documents", documents))}
    # raft trains LoRA in every layer, the lora only in its last ones (LORA_TOP_LAYERS): a short run for each
    rates, _ = _probe_run(wb, {"raft": draws["raft"]}, TrainConfig(), cancel)
    lora_rates, whole_run = _probe_run(wb, {k: draws[k] for k in ("questions", "documents")}, _lora_config(), cancel)
    rates.update(lora_rates)
    qa = rates["questions"] or rates["documents"] or whole_run
    batch = list(asked)[:wb.settings.eval_batch] or ["What is this document about?"] * min(wb.settings.eval_batch, 4)
    started = time.perf_counter()
    wb.compare_many(batch, ["base", "rag"], cancel=cancel, priority=BATCH, corpus=corpus)
    eval_s = (time.perf_counter() - started) * 2 / len(batch)
    return Speed(train_tokens_per_s=round(qa, 1), eval_s_per_question=round(eval_s, 2),
                 doc_tokens_per_s=_rounded(rates["documents"]), raft_tokens_per_s=_rounded(rates["raft"]))


def _lora_config(**changes) -> TrainConfig:
    """The closed-book lora's training settings (its stage, its refit and the speed probe's run of its examples)."""
    return replace(TrainConfig(method="knowledge", learning_rate=LORA_LEARNING_RATE, batch_size=LORA_BATCH_SIZE,
                               top_layers=LORA_TOP_LAYERS), **changes)


def _probe_run(wb: Workbench, draws: dict[str, list[tuple]], config: TrainConfig,
               cancel=None) -> tuple[dict[str, float | None], float | None]:
    """Tokens/s of each kind in `draws`, trained in one short run under `config`, PROBE_BATCH to a step, the kind
    with the longest example first, and the whole run's (warm-up included: the figure for a corpus too small to time
    a whole step of a kind). The first step warms kernels up and grows memory to its largest; it is not counted."""
    from ..training.jobs import train_examples

    b = PROBE_BATCH
    kinds = sorted((kind for kind in draws if draws[kind]), key=lambda kind: -draws[kind][0][1])
    whole = [(kind, ex, n) for kind in kinds for ex, n in draws[kind][:len(draws[kind]) - len(draws[kind]) % b]]
    probe = whole or [(kind, ex, n) for kind in kinds for ex, n in draws[kind]]  # under b of every kind
    if not probe:
        return dict.fromkeys(draws), None
    ends: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        started = time.perf_counter()
        train_examples(wb, [ex for _, ex, _ in probe], replace(config, epochs=1, batch_size=b, keep_order=True),
                       Path(tmp) / "probe", progress=lambda p: ends.append(time.perf_counter()), cancel=cancel)
    # step k trained probe[bk:bk+b] and ended at ends[k]; each kind fills whole steps, so a step is of one kind
    rates = {kind: _rate([(sum(n for _, _, n in probe[k * b:k * b + b]), ends[k] - ends[k - 1])
                          for k in range(1, len(ends)) if probe[k * b][0] == kind]) if whole else None
             for kind in draws}
    whole_run = sum(n for _, _, n in probe) / max((ends[-1] if ends else time.perf_counter()) - started, 1e-3)
    return rates, whole_run


def _rounded(rate: float | None) -> float | None:
    return round(rate, 1) if rate else None


def _probe_draw(wb: Workbench, examples, steps: int) -> list[tuple]:
    """(example, tokens) for a seeded draw of `steps` × PROBE_BATCH examples that keep a target, longest first."""
    from ..training.data import has_target, tokenize

    drawn = random.Random(0).sample(list(examples), min(PROBE_BATCH * steps, len(examples)))
    rows = [(ex, tokenize(wb.tokenizer, ex, TrainConfig().max_length)) for ex in drawn]
    return sorted(((ex, len(t["input_ids"])) for ex, t in rows if has_target(t)), key=lambda row: -row[1])


def _rate(steps: list[tuple[int, float]]) -> float | None:
    """Tokens per second over timed (tokens, seconds) steps; None without any."""
    seconds = sum(s for _, s in steps)
    return sum(n for n, _ in steps) / seconds if seconds > 0 else None


def stage_plan(run, wb: Workbench) -> dict:
    test = read_jsonl(run.path / "qa" / "test.jsonl")
    inputs = plan_inputs(wb, run.corpus, _train_facts(run), len(test), run.seed, _recall_facts(run))
    speed = measure_speed(wb, inputs.qa_examples, inputs.doc_examples, inputs.raft_examples,
                          [row["question"] for row in test], run.corpus, run.cancel)
    plan = make_plan(run.budget_minutes, run.elapsed(), inputs.test_available, inputs.qa_tokens, inputs.doc_tokens,
                     inputs.raft_tokens, speed, inputs.criteria, inputs.recall_tokens, inputs.raft_from_reader)
    return {"plan": asdict(plan)}


# --- lora, raft --------------------------------------------------------------------------------------------
def _command(run) -> str:
    """The command that runs (or resumes) this Decide run, for its adapters' model cards."""
    return f"python -m workbench decide --corpus {run.corpus} --budget {run.budget_minutes:g} --out {run.path}"


def _progress(run, stage: str):
    """A trainer's progress callback that reports the stage's share done and its time left."""
    return lambda p: run.report_progress(stage, p["step"] / max(p["total"], 1), p.get("eta_s"))


def _train_stage(run, wb: Workbench, method: str, examples, epochs: float, seconds: float,
                 init: Path | None = None) -> dict:
    from ..training.jobs import train_and_install

    config = TrainConfig(method="raft", epochs=epochs, max_seconds=seconds, raft_k=wb.settings.top_k, seed=run.seed)
    if method == "lora":
        config = _lora_config(epochs=epochs, max_seconds=seconds, seed=run.seed)
    if init is not None:
        config = replace(config, init_adapter=str(init), learning_rate=RAFT_LEARNING_RATE,
                         epochs=min(epochs, MAX_READER_EPOCHS))
    result = train_and_install(
        wb, examples, config, run.adapter_dir(method), cancel=run.cancel,
        progress=_progress(run, method),
        data=f"questions generated by Decide run {run.path.name}", corpus=run.corpus,
        command=_command(run),
        **({"target": READER_TARGET} if method == "raft" else {}))
    return {"adapters": {**run.state.get("adapters", {}), method: str(run.adapter_dir(method))},
            "training_minutes": {**run.state.get("training_minutes", {}), method: round(result.seconds / 60, 2)},
            f"{method}_training": {"steps": result.steps, "loss": [result.first_loss, result.train_loss],
                                   "tokens_per_s": result.tokens_per_s, "examples": len(examples),
                                   "from": str(init) if init else "a fresh LoRA"}}


def stage_lora(run, wb: Workbench) -> dict:
    plan = run.state["plan"]
    examples = lora_examples(wb, run.corpus, _train_facts(run), run.seed, plan["lora_qa_repeats"],
                             plan["lora_doc_repeats"])
    return _train_stage(run, wb, "lora", examples, 1.0, plan["lora_seconds"])  # repeats are in the examples


def _validate(run, wb: Workbench, adapter: str, facts: list[KnowledgeItem]) -> float:
    """Share of the validation facts (first phrasing each) whose raft answer contains the answer."""
    from ..evaluation.datasets import EvalItem
    from ..evaluation.metrics import contains_answer, final_answer
    from ..evaluation.runner import iter_eval

    items = [EvalItem(str(i), f.questions[0], [f.answer], f.source) for i, f in enumerate(facts)]
    scores = [contains_answer(final_answer(r.result.answer), r.item.answers)
              for records in iter_eval(wb, items, "raft", None, run.cancel, corpus=run.corpus, raft_adapter=adapter)
              for r in records]
    return round(mean(scores), 4) if scores else 0.0


def stage_raft(run, wb: Workbench) -> dict:
    """Continue the reader on the corpus's questions (a fresh LoRA where no reader fits the base model), then keep
    whichever of the reader alone and the tuned adapter answers more validation facts (ties keep the reader)."""
    plan = run.state["plan"]
    reader = reader_adapter(wb)
    _, validation = _validation_split(run)
    # the validation answers come out of raft's time, so a run whose raft training meets its limit keeps its budget
    checking_s = validation_seconds(len(validation), plan["speed"]["eval_s_per_question"])
    training_s = max(plan["raft_seconds"] - checking_s, plan["raft_seconds"] / 2) if reader else plan["raft_seconds"]
    examples = reader_examples(wb, run.corpus, _train_facts(run), run.seed)
    state = _train_stage(run, wb, "raft", examples, plan["raft_epochs"], training_s, reader)
    if reader is not None and (reader / polar.THRESHOLD_FILE).is_file():
        # The tuned reader keeps the reader's yes/no thresholds: a harbour-ferries run's tuned raft answered 12
        # of the 28 held-out yes/no questions right by its argmax, 18 with them (docs/decide.md).
        shutil.copyfile(reader / polar.THRESHOLD_FILE, run.adapter_dir("raft") / polar.THRESHOLD_FILE)
    if reader is None or not validation:
        return state
    scores = {"reader": _validate(run, wb, str(reader), validation),
              "tuned": _validate(run, wb, state["adapters"]["raft"], validation)}
    kept = "tuned" if scores["tuned"] > scores["reader"] else "reader"
    if kept == "reader":
        state["adapters"]["raft"] = str(reader)
    state["raft_choice"] = {"validation_facts": len(validation), "contains": scores, "kept": kept}
    return state


# --- eval --------------------------------------------------------------------------------------------------
def test_set(run) -> EvalSet:
    """The held-out questions the plan chose, read (and checked) like any eval file."""
    eval_set = load_eval_set(run.path / "qa" / "test.jsonl")
    eval_set.items = eval_set.items[: run.state["plan"]["test_questions"]]
    eval_set.name, eval_set.corpus = f"decide-{run.path.name}", run.corpus
    return eval_set


def stage_eval(run, wb: Workbench) -> dict:
    from ..evaluation.report import build_report, run_metadata, write_report
    from ..evaluation.runner import ResultCache, iter_eval

    eval_set = test_set(run)
    adapters = run.state["adapters"]
    overrides = dict(corpus=run.corpus, lora_adapter=adapters["lora"], raft_adapter=adapters["raft"])
    records, started = [], time.perf_counter()
    for done, question_records in enumerate(iter_eval(wb, eval_set.items, ALL_ARMS,
                                                      ResultCache.in_data_dir(wb.settings), run.cancel,
                                                      **overrides), 1):
        records += question_records
        run.report_progress("eval", done / len(eval_set.items), None)
    report = build_report(records)
    meta = run_metadata(wb, eval_set, ["base", "rag", "lora", "raft"], len(eval_set.items),
                        time.perf_counter() - started, **overrides)
    write_report(report, run.path / "eval", meta)
    return {"eval": {"questions": len(eval_set.items), "seconds": round(time.perf_counter() - started, 1)}}


# --- refit -----------------------------------------------------------------------------------------------
MEASURED_LORA = "lora-measured"
"""Where the refit keeps the lora adapter the evaluation measured (adapters/lora-measured)."""
REFIT_LEARNING_RATE = 1e-3
"""The refit's rate, half the lora stage's: on the three held-out corpora its adapters answered 14 of 86
hand-written questions, 12 at 2e-3, the measured adapters 9 (docs/decide.md, "The refit")."""


REFIT_MARGIN_S = 15.0
"""Seconds of the budget the refit leaves unused: the report, and the step its time limit ends in."""


def refit_limit(run) -> float:
    """The refit's time limit: what is left of the budget, since it is the last training, less REFIT_MARGIN_S and
    the adapter's loading and saving (as long as they took in the lora stage: its time outside training), but never
    under half the plan's. Stages run 10-40 % off the probe's reading on a 2-core machine that other work shares: a
    run whose stages took less than their estimates gives the rest to the refit, one whose stages overran shortens
    it and still ends in its budget."""
    planned = run.state["plan"]["refit_seconds"]
    trained = run.state.get("training_minutes", {}).get("lora")
    overhead = max(0.0, run.done.get("lora", 0.0) - 60 * trained) if trained is not None else 0.0
    return max(run.budget_minutes * 60 - run.elapsed() - overhead - REFIT_MARGIN_S, planned / 2)


def stage_refit(run, wb: Workbench) -> dict:
    """Continue the measured lora on the held-out facts, now that every measurement is done: a user's adapter
    should know every fact the generator found, as a model selected on held-out data is refitted on all of it.
    The held-out facts' questions are seen as often as the time the run has left allows (plan.refit_repeats), the
    training questions half as often again so they are not forgotten (plan.REFIT_REPLAY). adapters/lora becomes the
    refitted adapter; the measured one is kept beside it."""
    from ..training.jobs import train_and_install

    plan = run.state["plan"]
    recall = _recall_facts(run)
    if not recall or not plan.get("refit_seconds"):
        return {"refit": {"facts": 0}}
    measured = run.adapter_dir(MEASURED_LORA)
    if not measured.is_dir():
        shutil.copytree(run.adapter_dir("lora"), measured)
    train, limit = _train_facts(run), refit_limit(run)
    once = [tokens(wb, lora_examples(wb, run.corpus, facts, run.seed, documents=False)) for facts in (recall, train)]
    # the lora stage's speed: the probe read 262-426 tokens/s on one corpus where its stages trained at 283-340
    speed = run.state.get("lora_training", {}).get("tokens_per_s") or plan["speed"]["train_tokens_per_s"]
    repeats, epochs = refit_repeats(limit * speed, *once)
    examples = (lora_examples(wb, run.corpus, recall, run.seed, repeats, documents=False)
                + lora_examples(wb, run.corpus, train, run.seed, refit_replays(repeats), documents=False))
    random.Random(run.seed).shuffle(examples)
    config = _lora_config(epochs=epochs, max_seconds=limit, seed=run.seed,
                          learning_rate=REFIT_LEARNING_RATE, init_adapter=str(measured))
    result = train_and_install(
        wb, examples, config, run.adapter_dir("lora"), cancel=run.cancel, progress=_progress(run, "refit"),
        data=f"questions generated by Decide run {run.path.name}: every fact, the held-out ones after the evaluation",
        corpus=run.corpus, command=_command(run))
    minutes = run.state.get("training_minutes", {})
    trained = repeats * result.steps / math.ceil(len(examples) / config.batch_size)  # where its limit ended it
    return {"refit": {"facts": len(recall), "repeats": round(trained, 1), "minutes": round(result.seconds / 60, 2),
                      "steps": result.steps, "measured_adapter": str(measured)},
            "training_minutes": {**minutes, "lora": round(minutes.get("lora", 0.0) + result.seconds / 60, 2)}}


def stage_report(run, wb: Workbench) -> dict:
    from .report import write_decide_report

    report = write_decide_report(run)
    keys = ("summary", "break_even_queries", "winner", "tied_with", "needs", "unanswerable", "updates")
    return {"verdict": report["verdict"], "report_summary": {k: report[k] for k in keys}}


STAGES = [("qa", stage_qa), ("plan", stage_plan), ("lora", stage_lora), ("raft", stage_raft), ("eval", stage_eval),
          ("unanswerable", stage_unanswerable), ("updates", stage_updates), ("refit", stage_refit),
          ("report", stage_report)]
