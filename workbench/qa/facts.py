"""Facts from chunks: each answer span found in a sentence, list item or table row, with several phrasings.

A sentence is first asked about by the full rule-based transform (questions.frame: "How many books may members
borrow?"); where that refuses, by cloze translation (cloze.py: "Members may borrow up to how many books?"). Who
holds a role or what a thing is called (roles.py), where a thing is (places.py), what colour it is
(colours.py), a measure written before its noun (measures.py) and who made a thing and when (origins.py) are
asked by their own patterns. A sentence whose subject is a pronoun ("it", "they", "she") or opens with one ("Her
master") is read with its paragraph's or list item's topic in the pronoun's place (pronouns.py); a relative clause
("..., which starts within 30 seconds") as a sentence of its own with its noun as the subject, and an opening
participle clause ("Built in 2009 by ..., the ferry is ...") as two sentences (relatives.py). A list item is
asked about under its heading ("Under Halbridge pension, ..."); a table row from its table's header and its own
label (tables.py). A thing the corpus also calls by what it is ("MV Marram Queen is the flagship") has each first
question that names it asked by that too (aliases.py, `Fact.aliased`).
"""

from __future__ import annotations

import hashlib
import random
import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Callable

from ..results import Passage
from .aliases import corpus_aliases
from .answers import candidates, mid_sentence_capitals, ranges, with_qualifier
from .cloze import cloze, cloze_question, fronted
from .nlp import parse
from .phrasing import STYLES, restyle, Style, active, answer_leaks, phrase
from .questions import frame, gap
from .structure import Unit, context, sentences, units
from .colours import colour_facts
from .measures import measure_facts
from .origins import origin_facts
from .places import address_facts, place_facts
from .pronouns import with_topics
from .relatives import restatements
from .roles import called_facts, naming_facts, role_facts
from .tables import row_questions
from .text import copies_run, documents, normalise, one_line, runs, words

MAX_PHRASINGS = 5
"""Phrasings kept per fact (the first is the most natural)."""
KIND_RANK = {"count": 0, "money": 0, "percent": 0, "date": 1, "year": 1, "time": 1, "person": 1, "code": 2,
             "name": 2, "place": 2, "colour": 2, "number": 3}
"""Preferred kinds when max_facts truncates: numbers with units and dates make the least ambiguous questions."""
_DOUBLED = re.compile(r"\b([A-Za-z]+) \1\b", re.I)
"""A word twice in a row ("Who who finds an error ..."): a subject's relative clause the transform misread."""


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
    """count, money, percent, date, year, time, person, name, code, number, phrase, place or colour."""
    how: str = "rule"
    """How its questions were made: rule (full transform), cloze (answer replaced in place), table, list, role
    (roles.py), place (places.py), colour (colours.py), measure (measures.py) or origin (origins.py)."""
    aliased: list[str] = field(default_factory=list)
    """The first question with the thing it names called by another of its names ("the flagship" for "MV Marram
    Queen", aliases.py): Decide's lora asks them in turn with the first question (training/knowledge.py)."""


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


def _home(flat_chunks: list[tuple[Passage, str]], sentence: str, answer: str) -> Passage | None:
    """The chunk a fact belongs to: one holding its whole sentence, else one holding its answer (`flat_chunks`:
    each chunk with its text on one line, `text.one_line`, as the sentence and answer are compared)."""
    sentence, answer = one_line(sentence), one_line(answer)
    return next((c for c, text in flat_chunks if sentence in text), None) or next(
        (c for c, text in flat_chunks if answer in text), None)


def _questions(candidates_: list[str], answer: str, source_runs: set, allow_copy: bool) -> list[str]:
    """Distinct phrasings that do not give the answer away, at most MAX_PHRASINGS; copying ones last (cloze)."""
    fresh, copying, seen = [], [], set()
    for q in candidates_:
        if not q or q.lower() in seen or answer_leaks(q, answer) or _DOUBLED.search(q):
            continue
        seen.add(q.lower())
        (copying if copies_run(q, "", source_runs=source_runs) else fresh).append(q)
    return (fresh + (copying if allow_copy else []))[:MAX_PHRASINGS]


def _rule_phrasings(fr) -> list[str]:
    return [active(fr)] + [phrase(fr, style) for style in STYLES]


def _cloze_phrasings(sent, answer, names: frozenset, heading: str, item: bool) -> list[str]:
    """Cloze phrasings: the wh-phrase fronted as a person asks, in place, under the heading, filler dropped, a
    synonym, the other wh-phrase."""
    out = []
    for wh in (0, 1):
        tokens = cloze(sent, answer, wh)
        if tokens is None:
            continue
        front = fronted(tokens, answer, sent.doc, names)
        plain = restyle(tokens, Style(plain=True), {})
        swapped = restyle(tokens, Style(synonyms=True), {})
        under = f"Under {heading}" if heading else ""
        forms = [(front, under), (tokens, under), (plain, ""), (swapped, under), (tokens, "")] if item else \
            [(front, ""), (tokens, ""), (tokens, under), (plain, ""), (swapped, "")]
        out += [cloze_question(t, prefix, names) for t, prefix in forms
                if t is not None and (prefix or not item or not heading)]
    return out


COPYING_PATTERNS = {"colour"}
"""Patterns whose questions keep their sentence (asked in place), so they may copy it."""


def _first_clause_only(sent, at: int | None, answer, questions: list[str]) -> list[str]:
    """In a sentence whose second clause leaves its verb out from token `at` on (`questions.gap`), the questions
    about the first clause that take in no value of the second; none about the second."""
    if at is None:
        return questions
    if answer.start > at:
        return []
    later = {t.text for t in sent.doc[at:sent.end] if t.like_num} - {t.text for t in sent.doc[sent.start:at]}
    return [q for q in questions if q and not later & {w.strip(",?") for w in q.split()}]


def _patterns(sent, names: frozenset) -> list[tuple[str, list]]:
    """(how, its (answer, kind, questions) triples) for each pattern that asks about a sentence by its own shape."""
    return [("role", role_facts(sent) + naming_facts(sent, names) + called_facts(sent, names)),
            ("origin", origin_facts(sent)), ("place", place_facts(sent, names) + address_facts(sent)),
            ("colour", colour_facts(sent)), ("measure", measure_facts(sent))]


def _readings(sentences):
    """(parsed sentence, text of the sentence it reads, whether it is a restatement) for each sentence and then each
    of its relative clauses restated as a sentence (relatives.py): a fact found in a restatement belongs to the
    sentence it came from."""
    for sent in sentences:
        text = sent.text.strip()
        yield sent, text, False
        for restated in parse(restatements(sent)):
            yield next(iter(restated.sents)), text, True


def facts_of_document(chunks: list[Passage], parsed: list[tuple[Unit, list]], names: frozenset = frozenset()
                      ) -> list[Fact]:
    """Every fact of one stitched document (`chunks`: its chunks; `parsed`: its units, each with its parsed sentences
    read with their topics, `pronouns.with_topics`).

    `names`: words the corpus capitalises mid-sentence.
    """
    out, chunk_runs = [], {c.chunk_id: runs(c.text) for c in chunks}
    flat_chunks = [(c, one_line(c.text)) for c in chunks]  # once per document, not per fact
    ids, restated = set(), False

    def add(answer: str, sentence: str, questions_: list[str], kind: str, how: str, allow_copy: bool):
        answer = with_qualifier(answer, sentence, kind)
        chunk = _home(flat_chunks, sentence, answer)
        if chunk is None:
            return  # markup inside the answer: not verbatim in any chunk
        fid = fact_id(chunk.source, answer, sentence)
        if restated and fid in ids:
            return  # the sentence itself was asked about this answer: not a duplicate in the corpus
        qs = _questions(questions_, answer, chunk_runs[chunk.chunk_id] | runs(sentence), allow_copy)
        if qs:
            ids.add(fid)
            out.append(Fact(fid, answer, chunk.source, chunk.chunk_id, sentence, qs, kind, how))

    for unit, read in parsed:
        if unit.kind == "row":
            for answer, kind, qs in row_questions(unit):
                add(answer, unit.text, qs, kind, "table", True)
            continue
        item = unit.kind == "item"
        for sent, sentence, restated in _readings(read):
            for how, found in _patterns(sent, names):
                for answer, kind, qs in found:
                    add(answer, sentence, qs, kind, how, how in COPYING_PATTERNS)
            spans, at = ranges(sent), gap(sent)
            for answer in candidates(sent, names) + spans:
                fr = frame(sent, answer, names)
                text = (fr.answer if fr else answer).text(sent.doc)  # the frame may grow it ("... of Loomdesk")
                rule = _rule_phrasings(fr) if fr else []
                if item and context(unit.heading):
                    rule = [f"Under {context(unit.heading)}, {q[:1].lower() + q[1:]}" for q in rule if q] + rule
                qs = _questions(_first_clause_only(sent, at, answer, rule), text, runs(sentence), False)
                if qs:
                    add(text, sentence, qs, fr.answer.kind, "list" if item else "rule", False)
                elif answer.kind == "range" or not any(r.start <= answer.start < r.end for r in spans):
                    # one end of a range ("from 08:00 to 14:30") is asked about as the range
                    phrasings = _first_clause_only(sent, at, answer,
                                                   _cloze_phrasings(sent, answer, names, context(unit.heading), item))
                    add(answer.text(sent.doc), sentence, phrasings, answer.kind, "list" if item else "cloze", True)
    return out


def _sentence_end(text: str, unit: Unit) -> str:
    """A list item without final punctuation gets a full stop, so the parser reads it as a sentence."""
    return text + "." if unit.kind == "item" and not text.rstrip().endswith((".", ";", "!", "?", ":")) else text


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


def _one_answer(facts: list[Fact]) -> list[Fact]:
    """The facts without any phrasing that another fact of the same document asks with another answer ("Where
    does Marram Queen lie?" -> "on Berth 1" and "at Ferrier's Quay", from one sentence): such a question has two
    right answers and would score one of them wrong. A fact left without a phrasing is dropped. Answers one of
    which holds the other ("head office", "at head office") are one answer."""
    answers: dict[tuple[str, str], list[str]] = defaultdict(list)
    for f in facts:
        for q in f.questions:
            answers[(f.source, q.lower())].append(normalise(f.answer))

    def other(f: Fact, q: str) -> bool:
        mine = normalise(f.answer)
        return any(a not in mine and mine not in a for a in answers[(f.source, q.lower())])

    out = []
    for f in facts:
        kept = [q for q in f.questions if not other(f, q)]
        if kept:
            f.questions = kept
            out.append(f)
    return out


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
    stitched = documents(chunks)
    pieces = [(d, u) for d, (_, text) in enumerate(stitched) for u in units(text)]
    texts = [(u, part) for _, u in pieces if u.kind != "row" for part in sentences(u)]
    by_unit: dict[int, list] = defaultdict(list)
    for n, ((u, _), doc) in enumerate(zip(texts, parse([_sentence_end(t, u) for u, t in texts]))):
        by_unit[id(u)].append(doc)
        if progress and (n % 50 == 0 or n == len(texts) - 1):
            progress(n + 1, len(texts))
    read = {key: with_topics(docs) for key, docs in by_unit.items()}  # once, for the facts and the other names
    parsed: dict[int, list] = defaultdict(list)
    for d, u in pieces:
        parsed[d].append((u, read.get(id(u), [])))
    names = frozenset(mid_sentence_capitals(doc for docs in by_unit.values() for doc in docs))
    found = [f for d, (members, _) in enumerate(stitched)
             for f in facts_of_document(members, parsed.get(d, []), names)]
    kept, removed = _dedupe(found)
    kept = _one_answer(kept)
    aliases = corpus_aliases((s for sents in read.values() for s in sents), "\n".join(text for _, text in stitched))
    for f in kept:
        f.aliased = aliases.aliased(f.questions[0], f.answer)
    if not kept:
        raise QAError("no questions could be made from this corpus: it needs prose sentences with numbers, dates, "
                      "names or codes; add such documents or write a Q/A file by hand")
    if max_facts is not None and max_facts < len(kept):
        kept = _spread(kept, max(1, max_facts), seed)
    result = Facts(kept)
    result.duplicates_removed = removed
    return result
