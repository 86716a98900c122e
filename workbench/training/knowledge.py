"""Training data that teaches a small model the facts of a corpus, not only the answer style.

One Q/A per fact trained for a few epochs teaches a 135M model how answers look, not what they are (closed-book
accuracy ~3 % on the handbook). The `knowledge` method follows what the literature found to inject knowledge:

- the documents themselves as plain language-modelling examples (continued pre-training), so every fact of the
  corpus is seen, also the ones no question was written for;
- several phrasings of each question (Ovadia et al. 2023: paraphrase augmentation; Allen-Zhu & Li 2023:
  knowledge must be seen in varied forms to be extractable);
- Q/A mixed with the documents from the start (Jiang et al. 2024: question-answer pairs help a model learn how
  knowledge is asked for before/while it reads documents).

`knowledge_examples` builds the mixed list; the trainer treats every example alike.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace

from ..arms import build_prompt
from ..qa.wording import WH_WORDS
from ..results import Passage
from .data import Example, QAPair
from .restate import shuffled_text, source_title


@dataclass
class KnowledgeItem:
    """One fact to learn: its answer, where it is, and every phrasing of its question."""

    answer: str
    questions: list[str]
    source: str = ""
    aliased: list[str] = field(default_factory=list)
    """Its first question with the thing it names called by another of its names ("the flagship" for "MV Marram
    Queen", qa/aliases.py): the Q/A passes after the first ask these in turn with the first question."""


@dataclass
class KnowledgeMix:
    """How the knowledge method mixes its data into one pass (train it with epochs=1)."""

    qa_repeats: int = 6
    """Times each question phrasing is seen. Facts need repetition to stick; documents less so."""
    doc_repeats: int = 1
    """Times each document chunk is seen (language-modelling loss on the whole chunk)."""
    phrasings: int = 4
    """At most this many phrasings of each question (a different subset each repeat when there are more)."""
    per_conversation: int = 8
    """Questions packed into one multi-turn conversation under one system prompt (chat models): the system prompt
    and template are ~25 of a ~45-token single-turn example, so packing halves the tokens per fact."""
    statement_repeats: int = 0
    """Times each restatement of a fact-bearing sentence is seen (restate.py; 0: none)."""
    shuffle_sentences: bool = False
    """Document repeats after the first show each chunk's sentences in a new order."""
    qa_first: bool = False
    """One pass over the Q/A comes before the documents, the rest is mixed (train with keep_order=True)."""
    question_noise: float = 0.0
    """Share of a question's words left out, drawn anew in each Q/A pass after the first (question words and the
    last three words kept): a person asks about a fact in fewer and other words than the generator does."""
    seed: int = 0


def document_example(tokenizer, passage: Passage) -> Example:
    """A chunk as plain text with its source as a title; every token is trained (continued pre-training)."""
    return text_example(tokenizer, f"{source_title(passage.source)}\n\n{passage.text.strip()}")


def qa_example(tokenizer, question: str, answer: str, system_prompt: str) -> Example:
    """The lora arm's exact closed-book prompt and the short answer as target."""
    space = "" if getattr(tokenizer, "chat_template", None) else " "
    return Example([(build_prompt(tokenizer, question, None, system_prompt), False),
                    (f"{space}{answer}{tokenizer.eos_token or ''}", True)])


def items_from_pairs(pairs: list[QAPair]) -> list[KnowledgeItem]:
    """Q/A pairs with the same answer and source are phrasings of one fact."""
    by_fact: dict[tuple[str, str], KnowledgeItem] = {}
    for p in pairs:
        key = (p.answer.strip().lower(), p.source)
        item = by_fact.setdefault(key, KnowledgeItem(p.answer, [], p.source))
        if p.question not in item.questions:
            item.questions.append(p.question)
    return list(by_fact.values())


def conversation_example(tokenizer, turns: list[tuple[str, str]], system_prompt: str) -> Example:
    """Several closed-book Q/A turns in one chat under one system prompt; every answer is trained."""
    from .data import chat_example

    messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
    for question, answer in turns:
        messages += [{"role": "user", "content": question.strip()}, {"role": "assistant", "content": answer}]
    return chat_example(tokenizer, messages)


def text_example(tokenizer, text: str) -> Example:
    """Plain text with every token trained (a restatement, a shuffled chunk)."""
    return Example([(f"{text.strip()}{tokenizer.eos_token or ''}", True)])


_KEPT_WORDS = WH_WORDS | {"whose", "why", "many", "much", "long", "often", "far", "old"}
"""Words that say what is asked; `noisy` never leaves them out."""


def noisy(question: str, share: float, rng) -> str:
    """The question with about `share` of its words left out at random (question words and the last three words
    kept): "How many repair stands does the open workshop have?" -> "How many stands does the workshop have?"."""
    words = question.split()
    keep = [w.lower().strip(",?") in _KEPT_WORDS or i >= len(words) - 3 or rng.random() >= share
            for i, w in enumerate(words)]
    out = " ".join(w for w, k in zip(words, keep) if k)
    return out[:1].upper() + out[1:]


def _asked(item: KnowledgeItem, n: int) -> list[str]:
    """The item's phrasings in Q/A pass `n`: in the passes after the first, its first phrasing and each of its
    aliased questions take turns (the other phrasings stay), so a thing's other names cost no extra examples."""
    turn = (n - 1) % (1 + len(item.aliased)) if n else 0
    return list(item.questions) if turn == 0 else [item.aliased[turn - 1]] + item.questions[1:]


def _qa_pass(tokenizer, items: list[KnowledgeItem], system_prompt: str, mix: KnowledgeMix, rng,
             n: int = 0) -> list[Example]:
    """Every item's phrasings (at most `mix.phrasings`, a new subset each pass) once, shuffled, packed into chats.
    `n` is the pass's number: in the passes after the first, each question with `mix.question_noise` of its words
    left out (`noisy`) and the other names in turn (`_asked`)."""
    noise = mix.question_noise if n else 0.0
    turns = []
    for item in items:
        questions = _asked(item, n)
        rng.shuffle(questions)
        turns += [(noisy(q, noise, rng) if noise else q, item.answer) for q in questions[: mix.phrasings]]
    rng.shuffle(turns)
    if getattr(tokenizer, "chat_template", None) and mix.per_conversation > 1:
        return [conversation_example(tokenizer, turns[i:i + mix.per_conversation], system_prompt)
                for i in range(0, len(turns), mix.per_conversation)]
    return [qa_example(tokenizer, q, a, system_prompt) for q, a in turns]


def knowledge_examples(tokenizer, items: list[KnowledgeItem], chunks: list[Passage], system_prompt: str,
                       mix: KnowledgeMix | None = None, statements: list[str] = ()) -> list[Example]:
    """Documents, restatements and Q/A phrasings, repeated and shuffled together: the whole run (epochs=1).

    With `mix.qa_first` the first Q/A pass leads and the list is in training order (train with keep_order)."""
    mix = mix or KnowledgeMix()
    rng = random.Random(mix.seed)
    out = [document_example(tokenizer, c) for c in chunks]
    for _ in range(mix.doc_repeats - 1):
        out += [document_example(tokenizer, replace(c, text=shuffled_text(c.text, rng))) if mix.shuffle_sentences
                else document_example(tokenizer, c) for c in chunks]
    out += [text_example(tokenizer, s) for s in statements for _ in range(mix.statement_repeats)]
    first = _qa_pass(tokenizer, items, system_prompt, mix, rng) if mix.qa_first and mix.qa_repeats else []
    for n in range(1 if first else 0, mix.qa_repeats):
        out += _qa_pass(tokenizer, items, system_prompt, mix, rng, n)
    rng.shuffle(out)
    return first + out
