"""A sentence whose subject is a pronoun ("It", "They", "She") or opens with one ("Her master", "Its
capacity"), read as if it named its paragraph's (or list item's) topic.

A paragraph usually names its topic in its first sentence and then refers to it by a pronoun:

    "The open workshop is where members fix their own bicycles. It has twelve repair stands."
    -> "The open workshop has twelve repair stands."   ("How many repair stands does the open workshop have?")
    "MV Sandwort is the second vehicle ferry. Her designated master is Captain Helen Okafor."
    -> "MV Sandwort's designated master is Captain Helen Okafor."   ("Who is MV Sandwort's designated master?")

A question with "it" in it says nothing ("How many repair stands does it have?"), so the question generator
refuses it; with the topic put back, the fact can be asked. The topic is the subject of the paragraph's first
sentence, and only stands in for a pronoun of the same number ("it", "its" for a singular noun, "they", "their"
for a plural or a coordination); "she", "he", "her" and "his" stand only for a name (a vessel, a person). An "it"
that stands for nothing ("It is important to book early") is left alone.
"""

from __future__ import annotations

from typing import NamedTuple

from .nlp import parse
from .wording import VAGUE_DET, plural_noun

_PRONOUNS = {"it": False, "they": True, "she": False, "he": False}
"""Subject pronoun -> whether it stands for a plural."""
_POSSESSIVES = {"its": False, "their": True, "her": False, "his": False}
"""Possessive opening a subject ("Her master", "Its capacity") -> whether it stands for a plural."""
_NAMES_ONLY = {"she", "he", "her", "his"}
"""Pronouns that stand only for a name: "she" is a vessel or a person, never "the workshop"."""
_NOT_A_TOPIC = VAGUE_DET | {"each", "every", "any", "some", "all", "no", "both", "either", "neither", "another",
                            "other", "many", "most", "few", "several"}
_SUBJECT = ("nsubj", "nsubjpass")
_RIGHT_MODIFIERS = {"relcl", "acl", "prep", "appos", "punct", "advcl", "amod"}
"""What follows a subject's noun and is not part of its name ("Unit 7" keeps its number, "the room on the
second floor" loses its place)."""


class Topic(NamedTuple):
    text: str
    plural: bool
    name: bool
    """Starts with a proper noun, so it keeps its capital inside a sentence."""


def _subject(sent):
    return next((c for c in sent.root.children if c.dep_ in _SUBJECT), None)


def topic(sent) -> Topic | None:
    """The subject of a paragraph's first sentence, or None when it is not a noun phrase that a pronoun could
    stand for ("This guide", "Each member", "We") or when the sentence's object could be what the pronoun stands
    for ("Kestrel Loom runs one bonus scheme. It is based on ...")."""
    subject = _subject(sent)
    if subject is None or subject.pos_ not in ("NOUN", "PROPN") or subject.left_edge.lower_ in _NOT_A_TOPIC:
        return None
    plural = plural_noun(subject)
    if any(c.dep_ == "dobj" and c.pos_ in ("NOUN", "PROPN") and plural_noun(c) == plural for c in sent.root.children):
        return None
    cut = {t.i for c in subject.children if c.i > subject.i and c.dep_ in _RIGHT_MODIFIERS for t in c.subtree}
    kept = [t.i for t in subject.subtree if t.i not in cut]
    if len(kept) > 6 or kept != list(range(kept[0], kept[-1] + 1)):
        return None
    first = sent.doc[kept[0]]
    return Topic(sent.doc[kept[0]:kept[-1] + 1].text, plural, first.pos_ == "PROPN")


def _dummy_it(sent) -> bool:
    """"It is important to ...", "It appears that ...": an "it" that stands for nothing."""
    root = sent.root
    return any(c.dep_ in ("ccomp", "csubj") for c in root.children) or root.lemma_ == "be" and any(
        c.dep_ == "xcomp" or c.dep_ == "acomp" and any(g.dep_ in ("xcomp", "ccomp") for g in c.children)
        for c in root.children)


def _stands_for(word, topic_: Topic, table: dict) -> bool:
    lower = word.lower_
    return lower in table and table[lower] == topic_.plural and (lower not in _NAMES_ONLY or topic_.name)


def _possessed(text: str, plural: bool) -> str:
    return text + ("'" if plural and text.endswith("s") else "'s")


def resolved(sent, topic_: Topic) -> str | None:
    """The sentence's text with its subject pronoun (or the possessive opening its subject) replaced by the topic,
    or None when it has none to replace."""
    subject = _subject(sent)
    if subject is None:
        return None
    pronoun = subject if _stands_for(subject, topic_, _PRONOUNS) else next(
        (c for c in subject.children if c.dep_ == "poss" and c.i == subject.left_edge.i
         and _stands_for(c, topic_, _POSSESSIVES)), None)
    if pronoun is None or pronoun.lower_ == "it" and _dummy_it(sent):
        return None
    text = topic_.text
    if pronoun.i == sent.start:
        text = text[:1].upper() + text[1:]
    elif not topic_.name:
        text = text[:1].lower() + text[1:]
    if pronoun is not subject:
        text = _possessed(text, topic_.plural)
    doc = sent.doc
    before = doc[sent.start:pronoun.i].text_with_ws
    return f"{before}{text}{pronoun.whitespace_}{doc[pronoun.i + 1:sent.end].text}".strip()


def with_topics(docs: list) -> list:
    """The sentences of one paragraph or list item (its parsed pieces, in order), each whose subject is a pronoun
    or opens with one parsed again with the paragraph's topic in the pronoun's place."""
    sentences = [s for doc in docs for s in doc.sents]
    if not sentences:
        return []
    found = topic(sentences[0])
    out = sentences[:1]
    for sent in sentences[1:]:
        text = resolved(sent, found) if found else None
        out.append(next(iter(next(parse([text])).sents)) if text else sent)
        subject = _subject(sent)
        if found and not text and subject is not None and subject.pos_ in ("NOUN", "PROPN") and \
                subject.lower_ not in found.text.lower().split():
            found = None  # another thing became the subject: a later "it" may stand for it
    return out
