"""Turn Q/A pairs into training examples for the two methods, with the inference prompt builder.

- lora: the prompt is the base arm's (closed book); the target is the answer.
- raft: Retrieval-Augmented Fine-Tuning (Zhang et al., 2024). The prompt is exactly the rag arm's prompt:
  k distractor chunks retrieved from the corpus plus, with probability P, the oracle chunk (the one from
  `source` that contains the answer), shuffled. The target quotes the evidence and ends with the answer,
  so the model learns to find the right passage and ignore the others.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass

from ..arms import build_prompt
from ..results import Passage
from .data import Example, QAPair

ANSWER_MARK = "Answer:"


@dataclass
class RaftExample:
    """One RAFT example before tokenisation, kept for inspection and tests."""

    pair: QAPair
    passages: list[Passage]
    oracle: Passage | None
    """The oracle chunk when it is among the passages, else None."""
    prompt: str
    target: str


def _contains(text: str, answer: str) -> bool:
    return answer.lower() in text.lower()


def find_oracle(pair: QAPair, ranked: list[Passage], chunks: list[Passage]) -> Passage | None:
    """The best-ranked chunk from `source` that contains the answer; else any containing it; else best from source."""
    for candidates in (
        [p for p in ranked if p.source == pair.source and _contains(p.text, pair.answer)],
        [p for p in chunks if p.source == pair.source and _contains(p.text, pair.answer)],
        [p for p in ranked if _contains(p.text, pair.answer)],
        [p for p in chunks if _contains(p.text, pair.answer)] if not pair.source else [],
        [p for p in ranked if p.source == pair.source],
    ):
        if candidates:
            return candidates[0]
    return None


def evidence_quote(text: str, answer: str, max_words: int = 30) -> str:
    """The sentence of `text` that holds the answer, trimmed to about max_words around it."""
    sentences = re.split(r"(?<=[.!?])\s+|\n+", text)
    sentence = next((s for s in sentences if _contains(s, answer)), "").strip(" -*#|")
    words = sentence.split()
    if len(words) > max_words:
        at = next((i for i, w in enumerate(words) if answer.split()[0].lower() in w.lower()), 0)
        start = max(0, min(at - max_words // 2, len(words) - max_words))
        words = words[start:start + max_words]
    return " ".join(words).replace("**", "")


def raft_target(pair: QAPair, oracle: Passage | None) -> str:
    if oracle is None:
        return f"{ANSWER_MARK} {pair.answer}"
    return f'The context says: "{evidence_quote(oracle.text, pair.answer)}"\n{ANSWER_MARK} {pair.answer}'


def build_raft(pairs: list[QAPair], store, corpus: str, tokenizer, system_prompt: str, k: int = 3,
               p_oracle: float = 0.8, seed: int = 0) -> list[RaftExample]:
    """RAFT examples: k passages in the prompt, one of them the oracle with probability p_oracle."""
    rng = random.Random(seed)
    chunks = store.chunks(corpus)
    out = []
    for pair in pairs:
        ranked = store.query(corpus, pair.question, k + 4)
        oracle = find_oracle(pair, ranked, chunks)
        distractors = [p for p in ranked if oracle is None or p.chunk_id != oracle.chunk_id]
        with_oracle = oracle is not None and rng.random() < p_oracle
        passages = distractors[: k - 1] + [oracle] if with_oracle else distractors[:k]
        rng.shuffle(passages)
        prompt = build_prompt(tokenizer, pair.question, passages, system_prompt)
        out.append(RaftExample(pair, passages, oracle if with_oracle else None, prompt,
                               raft_target(pair, oracle if with_oracle else None)))
    return out


def _completion(tokenizer, target: str) -> str:
    """The trained text: the target and EOS; plain-text prompts end in 'Answer:', so a space first."""
    space = "" if getattr(tokenizer, "chat_template", None) else " "
    return f"{space}{target}{tokenizer.eos_token or ''}"


def lora_examples(pairs: list[QAPair], tokenizer, system_prompt: str) -> list[Example]:
    """Closed-book examples: the base arm's prompt, the answer as target."""
    return [Example([(build_prompt(tokenizer, p.question, None, system_prompt), False),
                     (_completion(tokenizer, p.answer), True)]) for p in pairs]


def raft_examples(raft: list[RaftExample], tokenizer) -> list[Example]:
    return [Example([(r.prompt, False), (_completion(tokenizer, r.target), True)]) for r in raft]
