"""Yes/no questions from statements, offline: the subject and its auxiliary swap places.

    "Bicycles are carried free of charge."        -> "Are bicycles carried free of charge?"            yes
    "Season tickets are not sold."                -> "Are season tickets sold?"                         no
    "There is no ticket office at Cobb Wharf."    -> "Is there a ticket office at Cobb Wharf?"          no
    "External users pay twice the internal rate." -> "Do external users pay twice the internal rate?"   yes
    "A carnet costs £52."                         -> "Does a carnet cost £40?"  (£40 from elsewhere)    no

A sentence that negates its verb ("not", "never", "no") is asked without the negation and answered "no"; one
that does not is answered "yes", or "no" once a number, amount or date in it is swapped for another of the same
kind found elsewhere in the corpus. Sentences whose truth hangs on a word the inversion would garble ("only",
"except", "unless", "rather than") or on a clause before the subject are left out, as are pronoun subjects that
leave the question without its referent. `scripts/train_reader.py --yes-no N` adds them to the reader's training
mix, a recipe that was measured and not kept (docs/fine-tuning-recipes.md).
"""

from __future__ import annotations

import random
import re
from collections import defaultdict
from dataclasses import dataclass

from ..results import Passage
from .answers import mid_sentence_capitals
from .nlp import parse
from .questions import _clause_ok, _subject, asides
from .structure import sentences, units
from .text import documents
from .wording import SUBJECTS, VAGUE

VALUE_LABELS = ("CARDINAL", "MONEY", "QUANTITY", "PERCENT", "TIME", "DATE")
"""Entities swapped to make a false statement of a true one."""
HEDGES = {"only", "except", "unless", "rather", "instead", "either", "neither", "nor", "whether", "otherwise"}
"""Words whose meaning the inversion would garble, or which make a yes/no answer depend on a condition."""
CONTRACTED = {"ca": "can", "wo": "will", "sha": "shall"}
DO_SUPPORT = {"VBZ": "does", "VBP": "do"}
"""Present tense only: a past participle the parser takes for a past tense ("Cancellations made ...") would
make "Did cancellations make ..."."""
MIN_WORDS, MAX_WORDS = 4, 30


@dataclass(frozen=True)
class YesNo:
    """A yes/no question and the sentence that decides it."""

    question: str
    answer: str
    """"yes" or "no"."""
    evidence: str
    """The sentence as the document words it (finds its passage)."""
    source: str


def _negations(root, aux) -> list:
    """Tokens that negate the clause: "not"/"n't"/"never" on its verb or auxiliary, "no" before its subject or
    object ("No crew member will ...", "There is no ticket office")."""
    found = [c for head in {root, aux} if head is not None for c in head.children if c.dep_ == "neg"]
    for c in root.children:
        if c.dep_ in ("nsubj", "nsubjpass", "dobj", "attr"):
            found += [d for d in c.children if d.dep_ == "det" and d.lower_ == "no"]
    return found


def polar(sent, names: frozenset = frozenset()) -> tuple[str, str] | None:
    """(question, "yes"/"no") for a parsed sentence, or None where it would not make a clear question."""
    if not _clause_ok(sent) or any(t.lower_ in HEDGES for t in sent) or asides(sent):
        return None
    root = sent.root
    subj = _subject(root)
    if subj is None or subj.lower_ in VAGUE or subj.lower_ in ("this", "that", "these", "those", "you"):
        return None
    parts = [c for c in root.children if c.dep_ in SUBJECTS]  # "co", "-", "op" can each be a subject
    start, end = min(c.left_edge.i for c in parts), max(c.right_edge.i for c in parts)
    if start != sent.start or end >= root.i:
        return None  # something comes before the subject, or the subject is not before its verb
    if any(c.dep_ == "conj" and c.pos_ in ("VERB", "AUX") for c in root.children):
        return None  # two clauses ("opens at 05:30 and closes ..."): one question would ask both
    aux = next((c for c in root.children if c.dep_ in ("aux", "auxpass") and end < c.i < root.i), None)
    if aux is None and root.lemma_ == "be":
        aux = root  # "Bicycles are free" -> "Are bicycles free"
    negations = _negations(root, aux)
    if len(negations) > 1 or any(t.lower_ in ("no", "none", "nobody", "nothing") and t not in negations
                                 for t in sent):
        return None
    dropped = {t.i for t in negations if t.lower_ != "no"}
    swapped = {t.i: ("any" if t.head.tag_ in ("NNS", "NNPS") else "a") for t in negations if t.lower_ == "no"}
    if aux is not None:
        front = CONTRACTED.get(aux.lower_, aux.lower_)
        dropped.add(aux.i)
    elif root.tag_ in DO_SUPPORT:
        front = DO_SUPPORT[root.tag_]
        swapped[root.i] = root.lemma_
    else:
        return None
    subject = [sent.doc[i] for i in range(start, end + 1)]
    rest = [t for t in sent if t.i > end and t.i not in dropped]
    while rest and rest[-1].is_punct:
        rest.pop()

    def text(tokens, first_word: bool) -> str:
        out = ""
        for n, t in enumerate(tokens):
            word = swapped.get(t.i, t.text)
            if first_word and n == 0 and t.pos_ != "PROPN" and word not in names and not (
                    word.isupper() and len(word) > 1):
                word = word[:1].lower() + word[1:]
            out += word + t.whitespace_
        return out.strip()

    question = f"{front.capitalize()} {text(subject, True)} {text(rest, False)}?"
    question = " ".join(question.split()).replace(" ,", ",")
    if not MIN_WORDS <= len(question.split()) <= MAX_WORDS:
        return None
    return question, "no" if negations else "yes"


def shape(entity) -> str:
    """What a value may be swapped with: its kind and its words with the numbers taken out ("MONEY £#",
    "DATE # days", "TIME #"), so "14 days" becomes "7 days", never "ages 9 to"."""
    return entity.label_ + " " + re.sub(r"\d+(?:[.,:]\d+)*", "#", entity.text.lower())


def _swap_value(question: str, sent, values: dict[str, list[str]], rng: random.Random) -> str | None:
    """The question with one number, amount or date of its sentence replaced by another of the same kind from the
    corpus (one the sentence does not hold), or None when it has none to swap."""
    ents = [e for e in sent.ents if e.label_ in VALUE_LABELS and e.text in question]
    rng.shuffle(ents)
    for e in ents:
        others = [v for v in values.get(shape(e), []) if v not in sent.text and v.lower() != e.text.lower()]
        if others:
            return question.replace(e.text, rng.choice(others), 1)
    return None


def yes_no_questions(chunks: list[Passage], max_questions: int | None = None, seed: int = 0) -> list[YesNo]:
    """Yes/no questions over a corpus's chunks, as many "yes" as "no" (up to `max_questions` in all)."""
    rng = random.Random(seed)
    texts = [(members[0].source, part) for members, text in documents(chunks) for u in units(text)
             if u.kind in ("prose", "item") for part in sentences(u)]  # sentences cut by a chunk boundary whole
    docs = list(parse([t for _, t in texts]))
    names = frozenset(mid_sentence_capitals(docs))
    values: dict[str, list[str]] = defaultdict(list)
    for doc in docs:
        for e in doc.ents:
            if e.label_ in VALUE_LABELS and e.text not in values[shape(e)]:
                values[shape(e)].append(e.text)
    yes, no, seen = [], [], set()
    for (source, _), doc in zip(texts, docs):
        for sent in doc.sents:
            evidence = " ".join(sent.text.split())
            if evidence in seen:
                continue
            seen.add(evidence)
            asked = polar(sent, names)
            if asked is None:
                continue
            question, answer = asked
            if answer == "yes" and rng.random() < 0.5:
                false = _swap_value(question, sent, values, rng)
                if false:
                    question, answer = false, "no"
            (yes if answer == "yes" else no).append(YesNo(question, answer, evidence, source))
    rng.shuffle(yes)
    rng.shuffle(no)
    n = min(len(yes), len(no), max_questions // 2 if max_questions is not None else len(yes))
    picked = yes[:n] + no[:n]
    rng.shuffle(picked)
    return picked
