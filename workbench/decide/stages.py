"""The stages of a Decide run, each a small function over the run folder.

    qa      questions from the corpus, split by fact        -> qa/facts.jsonl, qa/train.jsonl, qa/test.jsonl
    plan    measure this machine, fit the budget            -> plan in run.json
    lora    knowledge recipe: documents + question phrasings -> adapters/lora/
    raft    the reader, continued on the training questions -> adapters/raft/ (or the reader, if it reads better)
    eval    four arms on the held-out questions             -> eval/ (summary.csv, per_question.csv, ...)
    unanswerable  held-out questions, answers' chunks withheld -> unanswerable/ (criteria.py)
    updates       training facts changed in a copy            -> updates/ (criteria.py)
    report  intervals, costs, break-even, verdict           -> report.json, report.md

A stage reads what earlier stages wrote (files and `run.state`) and returns what it adds to the state; the
pipeline records it in run.json, so a restarted run skips the stages already done.
"""

from __future__ import annotations

import random
import tempfile
import time
from dataclasses import asdict, replace
from pathlib import Path
from typing import TYPE_CHECKING

from ..arms import ALL_ARMS
from ..evaluation.datasets import EvalSet, load_eval_set
from ..qa.split import read_jsonl
from ..retrieval.sessions import display_name
from ..training.knowledge import KnowledgeItem, KnowledgeMix, document_example, knowledge_examples
from ..training.card import READER_TARGET
from ..training.raft import raft_examples
from ..training.reader import ReaderItem, ReaderMix, build_reader
from ..training.trainer import TrainConfig, train
from .criteria import UNANSWERABLE_QUESTIONS, UPDATED_FACTS, stage_unanswerable, stage_updates
from .plan import Speed, make_plan
from .recheck import record_documents
from .verdict import mean

if TYPE_CHECKING:
    from ..engine import Workbench

MIN_FACTS = 6
"""Fewer facts than this cannot be split into training facts and test facts at all. A few documents give a few
dozen facts: the run goes ahead and its intervals say how little a small test set can tell apart."""
TEST_QUESTIONS_WANTED = 30
"""A verdict needs questions: below ~30 the 95 % intervals of two arms overlap unless they differ by ~25 points."""


def test_fraction(n_facts: int) -> float:
    """A quarter of the facts, raised up to half on small corpora so the test set reaches ~30 questions.

    Held-out facts have no training question for either adapter, so the lora arm loses nothing it is tested on;
    raft learns to read passages, which a few dozen examples already teach."""
    return min(0.5, max(0.25, TEST_QUESTIONS_WANTED / max(n_facts, 1)))


class DecideError(ValueError):
    """A corpus or budget that Decide cannot work with; the message says what to do."""


# --- qa --------------------------------------------------------------------------------------------------
def stage_qa(run, wb: Workbench) -> dict:
    """Generate facts with several question phrasings each; hold out whole facts for the test set."""
    from ..qa import QAError, generate_facts, qa_items, quality, split_by_fact, write_jsonl

    chunks = wb.store.chunks(run.corpus) if wb.store.exists(run.corpus) else []
    if not chunks:
        raise DecideError(f"corpus {run.corpus!r} has no documents; ingest some in the Corpora tab first")
    try:
        facts = generate_facts(chunks, seed=run.seed,
                               progress=lambda done, total: run.report_progress("qa", done / max(total, 1), None))
    except QAError as exc:
        raise DecideError(str(exc)) from None
    if len(facts) < MIN_FACTS:
        raise DecideError(
            f"only {len(facts)} answerable facts found in corpus {display_name(run.corpus)!r} (Decide needs at "
            f"least {MIN_FACTS}): add documents with concrete facts — numbers, names, dates, places — or more text")
    train_facts, test_facts = split_by_fact(facts, test_fraction(len(facts)), seed=run.seed)
    write_jsonl([asdict(f) for f in facts], run.path / "qa" / "facts.jsonl")
    write_jsonl(qa_items(train_facts, "train", reword=False), run.path / "qa" / "train.jsonl")
    write_jsonl(qa_items(test_facts, "test", reword=True), run.path / "qa" / "test.jsonl")
    record_documents(run, wb)  # what a later re-check compares the store with (recheck.py)
    q = quality(facts, chunks)
    words = sum(len(c.text.split()) for c in chunks)
    return {"qa": {"facts": len(facts), "train": len(train_facts), "test": len(test_facts), "words": words,
                   "quality": q}}


def _train_facts(run) -> list[KnowledgeItem]:
    """Training facts with all their phrasings (rows of qa/train.jsonl grouped by fact)."""
    items: dict[str, KnowledgeItem] = {}
    for row in read_jsonl(run.path / "qa" / "train.jsonl"):
        key = row.get("fact_id") or f"{row['answer']}|{row.get('source', '')}"
        item = items.setdefault(key, KnowledgeItem(row["answer"], [], row.get("source", "")))
        if row["question"] not in item.questions:
            item.questions.append(row["question"])
    return list(items.values())


RAFT_LEARNING_RATE = 3e-4
"""Continuing the reader: a third of a fresh adapter's rate, so a few dozen questions adjust it, not overwrite it."""
RAFT_MAX_EPOCHS = 2.0
"""At most two passes over the corpus's questions when continuing the reader (more learnt them by rote and looped)."""


def _validation_split(run) -> tuple[list[KnowledgeItem], list[KnowledgeItem]]:
    """(train, validation) of the training facts: a fifth of them (3 to 12) is held out of raft training to choose
    between the reader alone and the corpus-tuned raft; the test facts are never looked at."""
    facts = _train_facts(run)
    n = min(12, max(3, round(len(facts) / 5))) if len(facts) >= 8 else 0
    order = random.Random(run.seed).sample(range(len(facts)), len(facts))
    held = set(order[:n])
    return [f for i, f in enumerate(facts) if i not in held], [f for i, f in enumerate(facts) if i in held]


def _lora_examples(run, wb: Workbench, qa_repeats: int = 1, doc_repeats: int = 1, documents: bool = True):
    chunks = wb.store.chunks(run.corpus) if documents else []
    return knowledge_examples(wb.tokenizer, _train_facts(run), chunks, wb.settings.system_prompt,
                              KnowledgeMix(qa_repeats=qa_repeats, doc_repeats=doc_repeats, seed=run.seed))


RAFT_MAX_EXAMPLES = 240
"""The reader already reads: tuning it on a corpus needs a few hundred examples, not every phrasing of every fact
(a rag prompt is ~450 tokens, so a corpus of 200 facts would otherwise cost more than the lora run)."""


def _raft_examples(run, wb: Workbench):
    """Training facts (validation facts excepted) in the rag arm's prompt, the fact's passage among distractors of
    the same corpus, or withheld with the abstention as target (training/reader.py): each fact's first phrasing,
    then further phrasings round by round, up to RAFT_MAX_EXAMPLES."""
    train_facts, _ = _validation_split(run)
    rounds = max((len(f.questions) for f in train_facts), default=0)
    items = [ReaderItem(f.questions[r], f.answer, run.corpus, f.source)
             for r in range(rounds) for f in train_facts if r < len(f.questions)][:RAFT_MAX_EXAMPLES]
    raft = build_reader(items, wb.store, wb.tokenizer, wb.settings.system_prompt,
                        ReaderMix(k=wb.settings.top_k, seed=run.seed))
    return raft_examples(raft, wb.tokenizer)


def reader_adapter(wb: Workbench) -> Path | None:
    """The shipped general reader, if it was trained for the loaded base model (Decide's raft starts from it)."""
    from ..adapters import READER, AdapterError, find_adapter, read_config, same_model

    try:
        folder = find_adapter(READER, wb.settings.adapter_dirs, allow_paths=False)
        base = read_config(folder).get("base_model_name_or_path", "")
    except AdapterError:
        return None
    return folder if same_model(base, wb.model_id) else None


def _tokens(wb: Workbench, examples) -> int:
    from ..training.data import tokenize

    return sum(len(tokenize(wb.tokenizer, ex, TrainConfig().max_length)["input_ids"]) for ex in examples)


# --- plan ------------------------------------------------------------------------------------------------
PROBE_STEPS = 3


def measure_speed(wb: Workbench, sample) -> Speed:
    """Training tokens/s from a short run on real examples (its first step, which warms kernels up, is not
    counted), and seconds to answer one question with all four arms."""
    probe = random.Random(0).sample(sample, min(4 * PROBE_STEPS, len(sample)))
    step_times: list[float] = []
    with tempfile.TemporaryDirectory() as tmp:
        train(wb.model, wb.tokenizer, probe, TrainConfig(epochs=1, batch_size=4), Path(tmp) / "probe", wb.model_id,
              progress=lambda p: step_times.append(time.perf_counter()), model_source=getattr(wb, "source", None),
              device=wb.device)
    # Steps run on batches of similar lengths; the tokens of steps 2..n are those of all but the first batch.
    tokens = _tokens(wb, probe)
    steps = len(step_times)
    tokens_per_s = (tokens * (steps - 1) / steps / (step_times[-1] - step_times[0])
                    if steps > 1 and step_times[-1] > step_times[0] else 1.0)
    # The evaluation generates eval_batch questions together: time a batch of (up to 4) questions' base and rag
    # rows; lora and raft rows cost about what base and rag cost (same prompts, same lengths).
    copies = min(wb.settings.eval_batch, 4)
    started = time.perf_counter()
    wb.compare_many(["What is this document about?"] * copies, ["base", "rag"])
    eval_s = (time.perf_counter() - started) * 2 / copies
    return Speed(train_tokens_per_s=round(tokens_per_s, 1), eval_s_per_question=round(eval_s, 2))


def stage_plan(run, wb: Workbench) -> dict:
    qa_examples = _lora_examples(run, wb, documents=False)
    doc_examples = [document_example(wb.tokenizer, c) for c in wb.store.chunks(run.corpus)]
    raft_examples_ = _raft_examples(run, wb)
    speed = measure_speed(wb, qa_examples + doc_examples)
    test_available = len(read_jsonl(run.path / "qa" / "test.jsonl"))
    criteria = (min(UNANSWERABLE_QUESTIONS, test_available), min(UPDATED_FACTS, len(_train_facts(run))))
    plan = make_plan(run.budget_minutes, run.elapsed(), test_available, _tokens(wb, qa_examples),
                     _tokens(wb, doc_examples), _tokens(wb, raft_examples_), speed, criteria)
    return {"plan": asdict(plan)}


# --- lora, raft --------------------------------------------------------------------------------------------
def _train_stage(run, wb: Workbench, method: str, examples, epochs: float, seconds: float,
                 init: Path | None = None) -> dict:
    from ..training.jobs import train_and_install

    config = TrainConfig(method="knowledge" if method == "lora" else "raft", epochs=epochs, max_seconds=seconds,
                         raft_k=wb.settings.top_k, seed=run.seed)
    if init is not None:
        config = replace(config, init_adapter=str(init), learning_rate=RAFT_LEARNING_RATE,
                         epochs=min(epochs, RAFT_MAX_EPOCHS))
    result = train_and_install(
        wb, examples, config, run.adapter_dir(method), cancel=run.cancel,
        progress=lambda p: run.report_progress(method, p["step"] / max(p["total"], 1), p.get("eta_s")),
        data=f"questions generated by Decide run {run.path.name}", corpus=run.corpus,
        command=f"python -m workbench decide --corpus {run.corpus} --budget {run.budget_minutes:g} --out {run.path}",
        **({"target": READER_TARGET} if method == "raft" else {}))
    return {"adapters": {**run.state.get("adapters", {}), method: str(run.adapter_dir(method))},
            "training_minutes": {**run.state.get("training_minutes", {}), method: round(result.seconds / 60, 2)},
            f"{method}_training": {"steps": result.steps, "loss": [result.first_loss, result.train_loss],
                                   "tokens_per_s": result.tokens_per_s, "examples": len(examples),
                                   "from": str(init) if init else "a fresh LoRA"}}


def stage_lora(run, wb: Workbench) -> dict:
    plan = run.state["plan"]
    examples = _lora_examples(run, wb, plan["lora_qa_repeats"], plan["lora_doc_repeats"])
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
    state = _train_stage(run, wb, "raft", _raft_examples(run, wb), plan["raft_epochs"], plan["raft_seconds"], reader)
    _, validation = _validation_split(run)
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


def stage_report(run, wb: Workbench) -> dict:
    from .report import write_decide_report

    report = write_decide_report(run)
    keys = ("summary", "break_even_queries", "winner", "tied_with", "needs", "unanswerable", "updates")
    return {"verdict": report["verdict"], "report_summary": {k: report[k] for k in keys}}


STAGES = [("qa", stage_qa), ("plan", stage_plan), ("lora", stage_lora), ("raft", stage_raft), ("eval", stage_eval),
          ("unanswerable", stage_unanswerable), ("updates", stage_updates), ("report", stage_report)]
