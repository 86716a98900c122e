"""What a Decide run trains and asks, built from its facts: the split into training and held-out facts, the lora
examples (knowledge recipe), the raft examples (the reader's prompts) and the token counts the plan fits into the
budget. The run's stages (stages.py) and the plan shown before a run (preview.py) build them the same way.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from ..qa import qa_items, split_by_fact
from ..retrieval.sessions import display_name
from ..training.knowledge import KnowledgeItem, KnowledgeMix, document_example, knowledge_examples
from ..training.raft import raft_examples
from ..training.reader import ReaderItem, ReaderMix, build_reader
from ..training.trainer import TrainConfig
from .criteria import UNANSWERABLE_QUESTIONS, UPDATED_FACTS

if TYPE_CHECKING:
    from ..engine import Workbench


class DecideError(ValueError):
    """A corpus or budget that Decide cannot work with; the message says what to do."""


MIN_FACTS = 6
"""Fewer facts than this cannot be split into training facts and test facts at all. A few documents give a few
dozen facts: the run goes ahead and its intervals say how little a small test set can tell apart."""
TEST_QUESTIONS_WANTED = 30
"""A verdict needs questions: below ~30 the 95 % intervals of two arms overlap unless they differ by ~25 points."""
RAFT_MAX_EXAMPLES = 240
"""The reader already reads: tuning it on a corpus needs a few hundred examples, not every phrasing of every fact
(a rag prompt is ~450 tokens, so a corpus of 200 facts would otherwise cost more than the lora run)."""
LORA_QUESTION_NOISE = 0.25
"""Share of a training question's words the lora's Q/A passes after the first leave out (`KnowledgeMix.question_noise`):
a person asks about a fact in fewer and other words than the generator. On the held-out corpora's hand-written
questions Decide's refitted lora answered 14 → 19 of 86 with it, each corpus within rerun churn (docs/decide.md,
"Questions with words left out")."""


def test_fraction(n_facts: int) -> float:
    """A quarter of the facts, raised up to half on small corpora so the test set reaches ~30 questions.

    Neither adapter is measured on a fact it was trained on; raft learns to read passages from a few dozen
    examples, and the lora learns the held-out facts after the evaluation (the refit stage)."""
    return min(0.5, max(0.25, TEST_QUESTIONS_WANTED / max(n_facts, 1)))


def check_facts(n_facts: int, corpus: str) -> None:
    """DecideError, saying what to add, when a corpus gave too few facts to split."""
    if n_facts < MIN_FACTS:
        raise DecideError(
            f"only {n_facts} answerable facts found in corpus {display_name(corpus)!r} (Decide needs at "
            f"least {MIN_FACTS}): add documents with concrete facts — numbers, names, dates, places — or more text")


@dataclass
class SplitRows:
    """A run's questions, as the qa stage writes them."""

    train: list[dict]
    """qa/train.jsonl: each training fact's first phrasing; both adapters learn these."""
    test: list[dict]
    """qa/test.jsonl: each held-out fact asked in its phrasing least like the first."""
    recall: list[dict]
    """qa/recall.jsonl: each held-out fact's first phrasing, which the refit stage teaches the measured lora
    after the evaluation, so the adapter a user takes has learned every fact the corpus gave."""


def split_rows(facts, seed: int) -> SplitRows:
    """The facts split by fact into training and held-out ones (a Decide run's qa/ files, see SplitRows)."""
    train_facts, test_facts = split_by_fact(facts, test_fraction(len(facts)), seed=seed)
    return SplitRows(qa_items(train_facts, "train", reword=False), qa_items(test_facts, "test", reword=True),
                     qa_items(test_facts, "train", reword=False))


def knowledge_items(rows: list[dict]) -> list[KnowledgeItem]:
    """Training facts with all their phrasings and aliased questions (training rows grouped by fact)."""
    items: dict[str, KnowledgeItem] = {}
    for row in rows:
        key = row.get("fact_id") or f"{row['answer']}|{row.get('source', '')}"
        item = items.setdefault(key, KnowledgeItem(row["answer"], [], row.get("source", "")))
        if row["question"] not in item.questions:
            item.questions.append(row["question"])
        item.aliased += [q for q in row.get("aliased", []) if q not in item.aliased]
    return list(items.values())


def validation_split(facts: list[KnowledgeItem], seed: int) -> tuple[list[KnowledgeItem], list[KnowledgeItem]]:
    """(train, validation) of the training facts: a fifth of them (3 to 12) is held out of raft training to choose
    between the reader alone and the corpus-tuned raft; the test facts are never looked at."""
    n = min(12, max(3, round(len(facts) / 5))) if len(facts) >= 8 else 0
    order = random.Random(seed).sample(range(len(facts)), len(facts))
    held = set(order[:n])
    return [f for i, f in enumerate(facts) if i not in held], [f for i, f in enumerate(facts) if i in held]


def lora_examples(wb: Workbench, corpus: str, facts: list[KnowledgeItem], seed: int, qa_repeats: int = 1,
                  doc_repeats: int = 1, documents: bool = True):
    """The knowledge recipe: the corpus's chunks and every training phrasing, repeated, the passes after the first
    with some of each question's words left out (LORA_QUESTION_NOISE)."""
    chunks = wb.store.chunks(corpus) if documents else []
    mix = KnowledgeMix(qa_repeats=qa_repeats, doc_repeats=doc_repeats, question_noise=LORA_QUESTION_NOISE, seed=seed)
    return knowledge_examples(wb.tokenizer, facts, chunks, wb.settings.system_prompt, mix)


def reader_adapter(wb: Workbench) -> Path | None:
    """The shipped general reader, if it was trained for the loaded base model (Decide's raft starts from it)."""
    from ..adapters import READER, AdapterError, find_adapter, read_config, same_model

    try:
        folder = find_adapter(READER, wb.settings.adapter_dirs, allow_paths=False)
        base = read_config(folder).get("base_model_name_or_path", "")
    except AdapterError:
        return None
    return folder if same_model(base, wb.model_id) else None


def reader_examples(wb: Workbench, corpus: str, facts: list[KnowledgeItem], seed: int):
    """Training facts (validation facts excepted) in the rag arm's prompt, the fact's passage among distractors of
    the same corpus, or withheld with the abstention as target (training/reader.py): each fact's first phrasing,
    then further phrasings round by round, up to RAFT_MAX_EXAMPLES."""
    train_facts, _ = validation_split(facts, seed)
    rounds = max((len(f.questions) for f in train_facts), default=0)
    items = [ReaderItem(f.questions[r], f.answer, corpus, f.source)
             for r in range(rounds) for f in train_facts if r < len(f.questions)][:RAFT_MAX_EXAMPLES]
    raft = build_reader(items, wb.store, wb.tokenizer, wb.settings.system_prompt,
                        ReaderMix(k=wb.settings.top_k, seed=seed))
    return raft_examples(raft, wb.tokenizer)


def tokens(wb: Workbench, examples) -> int:
    from ..training.data import tokenize

    return sum(len(tokenize(wb.tokenizer, ex, TrainConfig().max_length)["input_ids"]) for ex in examples)


@dataclass
class PlanInputs:
    """What the plan fits into the budget, for one set of training facts."""

    qa_examples: list
    """The training phrasings once (the lora examples without documents)."""
    doc_examples: list
    """Each chunk once."""
    raft_examples: list
    """raft's examples (each training fact's phrasings in the reader's prompt)."""
    qa_tokens: int
    doc_tokens: int
    raft_tokens: int
    test_available: int
    criteria: tuple[int, int]
    """(questions the documents do not answer, changed facts) the criteria stages would ask at most."""
    validation_facts: int
    recall_tokens: int = 0
    """The recall facts' questions once (what the refit repeats)."""
    raft_from_reader: bool = False
    """raft continues the shipped reader (at most plan.MAX_READER_EPOCHS) rather than a fresh LoRA."""


def plan_inputs(wb: Workbench, corpus: str, facts: list[KnowledgeItem], test_available: int, seed: int,
                recall: list[KnowledgeItem] = ()) -> PlanInputs:
    """The examples and token counts of a run over `facts` (the training facts) with `test_available` held-out
    questions, whose facts (`recall`) the refit teaches the lora."""
    qa = lora_examples(wb, corpus, facts, seed, documents=False)
    docs = [document_example(wb.tokenizer, c) for c in wb.store.chunks(corpus)]
    raft = reader_examples(wb, corpus, facts, seed)
    criteria = (min(UNANSWERABLE_QUESTIONS, test_available), min(UPDATED_FACTS, len(facts)))
    recall_tokens = tokens(wb, lora_examples(wb, corpus, list(recall), seed, documents=False)) if recall else 0
    return PlanInputs(qa, docs, raft, tokens(wb, qa), tokens(wb, docs), tokens(wb, raft), test_available,
                      criteria, len(validation_split(facts, seed)[1]), recall_tokens, reader_adapter(wb) is not None)
