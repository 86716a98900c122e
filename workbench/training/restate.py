"""Document-side augmentation for the knowledge recipe: a chunk's sentences in another order, and each
fact-bearing sentence restated on its own and with its answer moved.

A fact seen in one wording, always in the same place of the same paragraph, is memorised but hard to extract
with a question (Allen-Zhu & Li, "Physics of Language Models 3.1", 2023: shuffled sentence order and several
restatements per fact made held-out facts extractable). These helpers make such variants from the documents
alone, so they can be built for every fact of a corpus, including facts no training question asks about:

    shuffled_text("A. B. C.", rng)                         -> "C. A. B."
    restatements("The carnet costs £52.", "£52", "Fares")  -> ["Fares: The carnet costs £52.",
                                                                "£52 is what the carnet costs."]
"""

from __future__ import annotations

import random
import re

_SENTENCE_END = re.compile(r"(?<=[.!?])\s+(?=[A-Z0-9\"'(])")
_BLOCK_LINE = re.compile(r"^\s*(?:[-*+•|#>]|\d{1,2}[.)]\s)")


def text_units(text: str) -> list[str]:
    """A chunk cut into units that read on their own: sentences of its paragraphs, and whole lines of its lists,
    tables and headings (a table row or list item is not split at its full stops)."""
    units: list[str] = []
    for block in re.split(r"\n\s*\n", text.strip()):
        lines = [line for line in block.splitlines() if line.strip()]
        if any(_BLOCK_LINE.match(line) for line in lines):
            units += [line.strip() for line in lines]
        elif lines:
            units += [s.strip() for s in _SENTENCE_END.split(" ".join(line.strip() for line in lines)) if s.strip()]
    return units


def shuffled_text(text: str, rng: random.Random) -> str:
    """The chunk's units in a random order, one per line (never the original order when there are two or more)."""
    units = text_units(text)
    if len(units) < 2:
        return text.strip()
    order = list(range(len(units)))
    while order == sorted(order):
        rng.shuffle(order)
    return "\n".join(units[i] for i in order)


# The answer's role in its sentence -> how the sentence is turned around it. An object or complement answer
# becomes "<its phrase> is what <the rest>"; an answer in an adverbial or prepositional phrase of the main verb
# moves to the front with its phrase.
_OBJECT_DEPS = {"dobj", "attr", "oprd", "dative", "acomp"}
_FRONTED_DEPS = {"prep", "npadvmod"}


def _answer_span(doc, sentence: str, answer: str):
    start = sentence.lower().find(answer.lower())
    return doc.char_span(start, start + len(answer), alignment_mode="expand") if start >= 0 else None


def _capitalise(text: str) -> str:
    return text[:1].upper() + text[1:]


def _lower_first(text: str) -> str:
    """Lower-case the first word unless it looks like a name or code (two capitals, or a capital mid-sentence)."""
    first = text.split(" ", 1)[0]
    return text if sum(ch.isupper() for ch in first) != 1 or not first[:1].isupper() else text[:1].lower() + text[1:]


def _without(doc, phrase) -> str:
    """The sentence with `phrase` taken out and its final punctuation dropped."""
    end = len(doc) - 1 if doc[-1].is_punct else len(doc)
    before, after = doc[:phrase.start].text, doc[phrase.end:end].text if phrase.end < end else ""
    return " ".join(part for part in (before.rstrip(" ,"), after.strip(" ,")) if part)


def turned(doc, sentence: str, answer: str) -> str | None:
    """The sentence turned around its answer, from its parse; None where the parse offers no clean turn (an answer
    that is the subject, or one nested deeper than a phrase of the main verb):

        object or complement      "The carnet costs £52."       -> "£52 is what the carnet costs."
        passive agent             "It is run by the Society."   -> "The Society is what it is run by."
        adverbial of the verb     "Laptops are refreshed every 42 months." -> "Every 42 months, laptops are refreshed."
    """
    span = _answer_span(doc, sentence, answer)
    if span is None:
        return None
    head = span.root
    phrase = doc[head.left_edge.i:head.right_edge.i + 1]
    agent = head.dep_ == "pobj" and head.head.dep_ == "agent"
    bare_measure = head.dep_ == "npadvmod" and head.left_edge.i == span.start  # "costs £52": an object in effect
    if agent and head.head.head.dep_ == "ROOT":
        rest = _without(doc, doc[head.head.i:phrase.end])
        return f"{_capitalise(phrase.text)} is what {_lower_first(rest)} by." if len(rest.split()) >= 2 else None
    if (head.dep_ in _OBJECT_DEPS or bare_measure) and head.head.dep_ == "ROOT":
        rest = _without(doc, phrase)
        return f"{_capitalise(phrase.text)} is what {_lower_first(rest)}." if len(rest.split()) >= 2 else None
    adverbial = head if head.dep_ == "npadvmod" else head.head if head.dep_ == "pobj" else None
    if adverbial is not None and adverbial.dep_ in _FRONTED_DEPS and adverbial.head.dep_ == "ROOT":
        phrase = doc[adverbial.left_edge.i:adverbial.right_edge.i + 1]
        rest = _without(doc, phrase)
        if phrase.start > 0 and len(rest.split()) >= 2:  # already in front: nothing to turn
            return f"{_capitalise(phrase.text)}, {_lower_first(rest)}."
    return None


def restatements(sentence: str, answer: str, title: str = "", nlp=None) -> list[str]:
    """Other wordings of one fact-bearing sentence: the sentence on its own under its document's title, and the
    sentence turned around its answer where the parse allows it (see `turned`)."""
    sentence = sentence.strip()
    out = [f"{title}: {sentence}" if title else sentence]
    if nlp is not None and answer:
        other = turned(nlp(sentence), sentence, answer)
        if other and other != sentence:
            out.append(other)
    return out


def source_title(source: str) -> str:
    """"fares-and-passes.md" -> "fares and passes": a document's name as a title."""
    return source.rsplit("/", 1)[-1].rsplit(".", 1)[0].replace("-", " ").replace("_", " ")


def fact_statements(facts, nlp=None) -> list[str]:
    """Restatements of every distinct fact-bearing sentence of a corpus (facts with .sentence, .answer, .source,
    as the question generator makes them): each sentence once on its own, plus a turn around each of its answers."""
    seen_sentences, out = set(), {}
    for f in facts:
        variants = restatements(f.sentence, f.answer, source_title(f.source), nlp)
        if f.sentence in seen_sentences:
            variants = variants[1:]
        seen_sentences.add(f.sentence)
        out.update(dict.fromkeys(variants))
    return list(out)
