"""Reader examples: the rag arm's prompt with the right passage among distractors, or without it, and a short target.

A reader adapter learns to *read*, not to remember: every example is the exact retrieval prompt (arms.build_prompt,
k passages retrieved from the item's own corpus) and one of four targets:

- a fact whose passage is among them: the answer, as the passage words it;
- a yes/no question whose deciding passage is among them: "Yes." or "No.";
- a fact whose passage was withheld (no passage holds the answer), or a question the documents never answer:
  the abstention phrase (arms.ABSTENTION);

so the model learns to find the passage that answers, to say yes or no when asked so, to stop after the answer,
and to say so when nothing answers. `build_reader` builds them for any mix of corpora (training.raft.raft_examples
turns them into training examples, loss on the target): the shipped reader (models/adapters/reader,
scripts/train_reader.py) on many domains, Decide's raft on one corpus.
"""

from __future__ import annotations

import random
from dataclasses import dataclass

from ..arms import ABSTENTION, build_prompt
from ..results import Passage
from .data import QAPair
from .raft import RaftExample, _contains

KINDS = ("fact", "yesno", "unanswerable")


@dataclass
class ReaderItem:
    """One question of the reader's training mix."""

    question: str
    answer: str
    """The short answer (fact), "yes" or "no" (yesno), "" (unanswerable)."""
    corpus: str
    """The corpus whose passages the prompt shows."""
    source: str = ""
    kind: str = "fact"
    evidence: str = ""
    """yesno: a phrase of the passage that decides it (finds that passage); facts use the answer itself."""

    @property
    def needle(self) -> str:
        """The text that marks the deciding passage: the evidence, else a fact's answer ("" when neither)."""
        return self.evidence or (self.answer if self.kind == "fact" else "")


@dataclass
class ReaderMix:
    k: int = 3
    """Passages per prompt (the top-k the arms use)."""
    p_withheld: float = 0.05
    """Share of fact and yes/no items whose deciding passage is withheld; their target is the abstention. 0.05 is
    what the shipped reader was trained with; Decide continues it with the same share (at 0.15 a greenway run's
    tuned reader wrongly abstained on 37 % of the hand-written answerable questions, docs/decide.md)."""
    seed: int = 0


def _holds(passage: Passage, needle: str) -> bool:
    return bool(needle) and _contains(passage.text, needle)


def _deciding(item: ReaderItem, ranked: list[Passage], chunks: list[Passage]) -> Passage | None:
    """The passage that answers: the best-ranked one from the item's source holding the answer (or evidence), else
    any passage of the corpus holding it; for a yes/no item without evidence, the best-ranked one from its source."""
    needle = item.needle
    same = [p for p in ranked + chunks if not item.source or p.source == item.source]
    for candidates in ([p for p in same if _holds(p, needle)], [p for p in ranked + chunks if _holds(p, needle)],
                       [p for p in ranked if item.kind == "yesno" and p.source == item.source]):
        if candidates:
            return candidates[0]
    return None


def target(item: ReaderItem, answered: bool) -> str:
    """What the reader says: the answer, Yes./No., or the abstention when no passage answers."""
    if item.kind == "unanswerable" or not answered:
        return ABSTENTION
    if item.kind == "yesno":
        return "Yes." if item.answer.strip().lower().startswith("y") else "No."
    return item.answer.strip()


def build_reader(items: list[ReaderItem], store, tokenizer, system_prompt: str,
                 mix: ReaderMix | None = None) -> list[RaftExample]:
    """One example per item: k passages from its corpus (the deciding one among them unless withheld) and its
    target. Items whose deciding passage cannot be found are skipped (they would teach a wrong answer)."""
    mix = mix or ReaderMix()
    rng = random.Random(mix.seed)
    chunks_of: dict[str, list[Passage]] = {}
    out = []
    for item in items:
        if item.corpus not in chunks_of:  # once per corpus, not per item
            chunks_of[item.corpus] = store.chunks(item.corpus)
        chunks = chunks_of[item.corpus]
        ranked = store.query(item.corpus, item.question, mix.k + 6)
        if item.kind == "unanswerable":
            passages, oracle = ranked[: mix.k], None
        else:
            oracle = _deciding(item, ranked, chunks)
            if oracle is None:
                continue
            # Distractors never hold the answer: a second passage that does would make "withheld" a lie.
            distractors = [p for p in ranked if p.chunk_id != oracle.chunk_id and not _holds(p, item.needle)]
            if rng.random() < mix.p_withheld:
                passages, oracle = distractors[: mix.k], None
            else:
                passages = distractors[: mix.k - 1] + [oracle]
        rng.shuffle(passages)
        prompt = build_prompt(tokenizer, item.question, passages, system_prompt)
        pair = QAPair(item.question, item.answer, item.source)
        out.append(RaftExample(pair, passages, oracle, prompt, target(item, oracle is not None)))
    return out

