"""Facts from chunks: each answer span found in a sentence, with several phrasings of its question."""

from __future__ import annotations

import hashlib
import random
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from ..results import Passage
from .answers import candidates, mid_sentence_capitals
from .nlp import pipeline
from .phrasing import STYLES, answer_leaks, phrase
from .questions import frame
from .text import copies_run, normalise, plain_units, runs, stitch, words

MAX_PHRASINGS = 5
"""Phrasings kept per fact (the first is the most natural)."""
KIND_RANK = {"count": 0, "money": 0, "percent": 0, "date": 1, "year": 1, "time": 1, "person": 1, "code": 2,
             "name": 2, "number": 3}
"""Preferred kinds when max_facts truncates: numbers with units and dates make the least ambiguous questions."""


class QAError(ValueError):
    """The corpus gives nothing to generate questions from."""


@dataclass
class Fact:
    """One answerable fact from one chunk."""

    fact_id: str
    """Stable: a hash of (source, normalised answer, sentence)."""
    answer: str
    """Verbatim in the chunk."""
    source: str
    chunk_id: str
    sentence: str
    questions: list[str] = field(default_factory=list)
    """Distinct phrasings of a question whose answer is `answer`, the most natural first."""
    kind: str = ""
    """count, money, percent, date, year, time, person, name, code or number."""


class Facts(list):
    """A list of facts that also says how many duplicates were dropped while making it."""

    duplicates_removed: int = 0


def fact_id(source: str, answer: str, sentence: str) -> str:
    key = f"{source}\n{normalise(answer)}\n{' '.join(words(sentence))}"
    return hashlib.sha256(key.encode()).hexdigest()[:16]


def _similar(a: str, b: str) -> bool:
    """Near-same questions: most of their words are shared."""
    wa, wb = set(words(a)), set(words(b))
    return len(wa & wb) / max(1, len(wa | wb)) >= 0.75


def _home(chunks: list[Passage], sentence: str, answer: str) -> Passage | None:
    """The chunk a fact belongs to: one holding its whole sentence, else one holding its answer."""
    return next((c for c in chunks if sentence in c.text), None) or next((c for c in chunks if answer in c.text), None)


def facts_of_document(chunks: list[Passage], docs, names: frozenset = frozenset()) -> list[Fact]:
    """Every fact of one stitched document (`chunks`: its chunks; `docs`: its parsed prose units).

    `names`: words the corpus capitalises mid-sentence.
    """
    out, chunk_runs = [], {c.chunk_id: runs(c.text) for c in chunks}
    for doc in docs:
        for sent in doc.sents:
            for answer in candidates(sent, names):
                fr = frame(sent, answer, names)
                if fr is None:
                    continue
                text = fr.answer.text(sent.doc)  # the frame may have grown it ("the Payslips section of Loomdesk")
                sentence = sent.text.strip()
                chunk = _home(chunks, sentence, text)
                if chunk is None:
                    continue  # markup inside the answer: not verbatim in any chunk
                source_runs = chunk_runs[chunk.chunk_id] | runs(sentence)
                questions: list[str] = []
                for style in STYLES:
                    q = phrase(fr, style)
                    if (q and not answer_leaks(q, text) and not copies_run(q, "", source_runs=source_runs)
                            and q.lower() not in {other.lower() for other in questions}):
                        questions.append(q)
                    if len(questions) == MAX_PHRASINGS:
                        break
                if questions:
                    out.append(Fact(fact_id(chunk.source, text, sentence), text, chunk.source, chunk.chunk_id,
                                    sentence, questions, fr.answer.kind))
    return out


def _dedupe(facts: list[Fact]) -> tuple[list[Fact], int]:
    """Drop repeats: the same fact_id (overlapping chunks) or the same answer and source asked near-identically."""
    kept, seen, by_answer = [], set(), defaultdict(list)
    for f in facts:
        key = (f.source, normalise(f.answer))
        if f.fact_id in seen or any(_similar(f.questions[0], q) for q in by_answer[key]):
            continue
        seen.add(f.fact_id)
        by_answer[key].append(f.questions[0])
        kept.append(f)
    return kept, len(facts) - len(kept)


def _spread(facts: list[Fact], max_facts: int, seed: int) -> list[Fact]:
    """Pick `max_facts` round-robin over sources, and within a source over chunks, best kinds first."""
    rng = random.Random(seed)
    by_source: dict[str, dict[str, list[Fact]]] = defaultdict(lambda: defaultdict(list))
    for f in facts:
        by_source[f.source][f.chunk_id].append(f)
    queues = {}
    for source, chunks in by_source.items():
        for group in chunks.values():
            rng.shuffle(group)
            group.sort(key=lambda f: KIND_RANK.get(f.kind, 3))
        order = list(chunks.values())
        rng.shuffle(order)
        queues[source] = order
    picked: list[Fact] = []
    sources = sorted(queues)
    rng.shuffle(sources)
    while len(picked) < max_facts and any(queues.values()):
        for source in sources:
            groups = queues[source]
            if groups and len(picked) < max_facts:
                group = groups.pop(0)
                picked.append(group.pop(0))
                if group:
                    groups.append(group)
    chosen = {id(f) for f in picked}
    return [f for f in facts if id(f) in chosen]  # document order


def generate_facts(chunks: list[Passage], max_facts: int | None = None, seed: int = 0,
                   progress: Callable[[int, int], None] | None = None) -> Facts:
    """Facts from a corpus's chunks, deduplicated, in document order; spread over all chunks when truncated.

    Raises QAError when there are no chunks or no sentence yields a question.
    """
    if not chunks:
        raise QAError("the corpus has no chunks: ingest some documents into it first")
    nlp = pipeline()
    by_source: dict[str, list[Passage]] = defaultdict(list)
    for c in chunks:
        by_source[c.source].append(c)
    documents = [[group[k] for k in members] for group in by_source.values()
                 for _, members in stitch([c.text for c in group])]
    units = [(d, u) for d, members in enumerate(documents)
             for u in plain_units(stitch([c.text for c in members])[0][0])]
    parsed: dict[int, list] = defaultdict(list)
    for n, ((d, _), doc) in enumerate(zip(units, nlp.pipe([u for _, u in units], batch_size=64))):
        parsed[d].append(doc)
        if progress and (n % 50 == 0 or n == len(units) - 1):
            progress(n + 1, len(units))
    names = frozenset(mid_sentence_capitals(doc for docs in parsed.values() for doc in docs))
    found = [f for d, members in enumerate(documents) for f in facts_of_document(members, parsed.get(d, []), names)]
    kept, removed = _dedupe(found)
    if not kept:
        raise QAError("no questions could be made from this corpus: it needs prose sentences with numbers, dates, "
                      "names or codes; add such documents or write a Q/A file by hand")
    if max_facts is not None and max_facts < len(kept):
        kept = _spread(kept, max(1, max_facts), seed)
    result = Facts(kept)
    result.duplicates_removed = removed
    return result
