"""Phrase a Frame as a question in one of several styles (fronted phrase, other wh-word, synonyms ...)."""

from __future__ import annotations

from dataclasses import dataclass

from .questions import Frame
from .text import normalise, words
from .answers import MONTHS, WEEKDAYS
from .wording import (FILLER, FRONTABLE, OTHER_SYNONYMS, SUBJECTS, VERB_SYNONYMS, WH_WORDS,
                      lower_first, render, subtree)


@dataclass(frozen=True)
class Style:
    """How to phrase one variant of a question."""

    wh: int = 0
    """Index into the answer's wh-phrases ("how long", "how many months", ...)."""
    front: bool = False
    """Move the trailing prepositional phrase to the front ("At Kestrel Loom, how long ...")."""
    plain: bool = False
    """Drop filler words (standard, usually, also ...)."""
    synonyms: bool = False
    """Swap some words for simple synonyms."""
    embedded: bool = False
    """Ask indirectly: "Do you know how long the probation period is?"."""
    short: bool = False
    """Leave out a trailing phrase that names nothing ("by default", "in the past")."""


STYLES = [Style(), Style(front=True), Style(wh=1), Style(plain=True), Style(wh=1, front=True),
          Style(synonyms=True), Style(plain=True, front=True), Style(synonyms=True, front=True),
          Style(wh=1, synonyms=True), Style(plain=True, synonyms=True, front=True), Style(short=True),
          Style(embedded=True, plain=True), Style(short=True, wh=1), Style(embedded=True, synonyms=True)]


def restyle(tokens: list, style: Style, used: dict) -> list:
    """Tokens with the style's filler words dropped and at most one synonym swapped in (`used` records it)."""
    out = []
    for t in tokens:
        text = t if isinstance(t, str) else t.text
        if style.plain and text.lower() in FILLER and (isinstance(t, str) or t.dep_ in ("amod", "advmod")):
            continue
        real = not isinstance(t, str)
        table = VERB_SYNONYMS if real and t.pos_ in ("VERB", "AUX") else OTHER_SYNONYMS if real else {}
        if style.synonyms and text.lower() in table and not used.get("done") and t.pos_ != "PROPN" \
                and t.dep_ != "compound":
            swap = table[text.lower()]
            out.append(swap.capitalize() if text[:1].isupper() else swap)
            used["done"] = True  # one swap a question: more drifts from the text
            continue
        out.append(t)
    return out


def _trailing_pp(tokens: list) -> int | None:
    """Index in `tokens` where a final prepositional phrase starts (its whole subtree at the end)."""
    real = [(k, t) for k, t in enumerate(tokens) if not isinstance(t, str)]
    for k, t in real:
        if t.dep_ == "prep" and t.lower_ in FRONTABLE and not any(x.dep_ in ("conj", "cc") for x in t.subtree) \
                and (t.head.dep_ == "ROOT" or t.head.dep_ in SUBJECTS) \
                and any(c.dep_ == "pobj" and c.pos_ in ("NOUN", "PROPN") and not c.like_num
                        and not any(d.lower_ in ("a", "an") for d in c.children)  # "at a time" is an idiom
                        and (c.pos_ == "PROPN" or c.tag_ == "NNS" or any(d.dep_ in ("det", "poss", "amod", "compound")
                                                                         for d in c.children))  # not "for pound"
                        and c.lower_.rstrip("s") not in WEEKDAYS | MONTHS for c in t.children):
            rest = tokens[k:]
            if all(not isinstance(x, str) and x.i in subtree(t) for x in rest) and len(rest) >= 2:
                return k
    return None


def phrase(fr: Frame, style: Style) -> str | None:
    """One question from a frame in the given style, or None when the style does not apply."""
    if style.wh >= len(fr.wh):
        return None
    wh, strand = fr.wh[style.wh]
    if strand and fr.tail:
        return None  # "How many days of the event ... within?" strands too far
    used: dict = {}
    tail = restyle(fr.tail, style, used)
    subject = restyle(lower_first(fr.subject, fr.names), style, used)
    verb = restyle(fr.declarative_verb if style.embedded else fr.verb, style, used)
    moved = restyle(lower_first(fr.moved, fr.names), style, used)
    if style.embedded and not fr.inverted:
        clause = tail + verb
    elif style.embedded:
        clause = tail + subject + verb
    else:
        clause = tail + ([fr.inverted] if fr.inverted else []) + subject + verb
    body = clause + ([strand] if strand else []) + moved
    if style.short:
        k = _trailing_pp(body)
        if k is None or k <= len(tail) + 1 or any(not isinstance(t, str) and (t.pos_ == "PROPN" or t.like_num)
                                                  for t in body[k:]):
            return None  # names and numbers in the phrase are context the question needs
        body = body[:k]
    front = []
    if style.front:
        k = _trailing_pp(body)
        if k is None or k <= len(tail) + 1:
            return None
        front, body = body[k:], body[:k]
    text = render(body)
    lead = f"{render(front)}, " if front else ""
    if style.embedded:
        question = f"Do you know {lead}{wh} {text}?"
    else:
        question = f"{lead}{wh} {text}?"
    question = question[0].upper() + question[1:]
    return question if _good(question, fr) else None


_MODALS = {"must", "can", "may", "will", "should", "would", "could", "might", "shall"}


def third_person(lemma: str) -> str:
    """The present tense after he, she or it: "service" -> "services", "carry" -> "carries"."""
    if lemma in ("have", "be"):
        return {"have": "has", "be": "is"}[lemma]
    if lemma.endswith("y") and lemma[-2:-1] not in "aeiou":
        return lemma[:-1] + "ies"
    return lemma + ("es" if lemma.endswith(("s", "sh", "ch", "x", "z", "o")) else "s")


def active(fr: Frame) -> str | None:
    """A passive question about its agent asked in the active voice, as a person asks it: "Who are lifejackets
    serviced every 12 months by?" -> "Who services lifejackets every 12 months?", "Expense claims must be
    approved by whom?" -> "Who must approve expense claims?". None for any other frame."""
    wh = next((w for w, strand in fr.wh if strand == "by" and w in ("who", "what")), None)
    verb = next((t for t in fr.verb if not isinstance(t, str) and t.tag_ == "VBN"
                 and any(c.dep_ == "auxpass" for c in t.children)), None)
    if wh is None or verb is None or fr.tail or not fr.subject:
        return None
    rest = [t for t in fr.verb if isinstance(t, str) or t.dep_ != "auxpass"]
    k = rest.index(verb)
    particles = []
    while k + 1 < len(rest) and not isinstance(rest[k + 1], str) and rest[k + 1].dep_ == "prt":
        particles.append(rest.pop(k + 1))  # "carried out": the particle stays with its verb
    before, after = rest[:k], rest[k + 1:]
    if fr.inverted in ("is", "are"):
        group = [third_person(verb.lemma_.lower())]
    elif fr.inverted in ("was", "were") and verb.text.endswith("ed"):
        group = [verb.text]
    elif fr.inverted in _MODALS:
        group = [fr.inverted, verb.lemma_.lower()]
    else:
        return None  # "has been", an irregular past: left in the passive
    if any(not isinstance(t, str) and t.pos_ in ("VERB", "AUX") for t in before):
        return None
    body = group + particles + before + lower_first(fr.subject, fr.names) + after + lower_first(fr.moved, fr.names)
    question = f"{wh.capitalize()} {render(body)}?"
    return question if _good(question, fr) else None


def _good(question: str, fr: Frame) -> bool:
    w = words(question)
    if not 4 <= len(w) <= 32:
        return False
    content = [x for x in w if x not in WH_WORDS and len(x) > 2 and x not in (
        "does", "did", "the", "and", "are", "was", "were", "should", "you", "many", "exactly", "know", "much", "one")]
    return len(content) >= (2 if fr.inverted else 3)  # "What was strongly expressed?" says too little


def answer_leaks(question: str, answer: str) -> bool:
    """Whether the question gives its own answer away."""
    return normalise(answer) in normalise(question)
