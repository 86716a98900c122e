"""What colour a thing is: a colour word before a noun, asked in place.

"First-aiders wear green vests." -> "First-aiders wear what colour vests?" -> "green". Manuals mark bins, tags,
lanyards, vests and forms by colour, and people ask for it; a sentence with more than one colour ("yellow bins 1
mark, red bins 6 marks") is left to the other patterns, since "what colour" would have several answers.
"""

from __future__ import annotations

from .wording import VAGUE

COLOURS = {"red", "orange", "yellow", "green", "blue", "purple", "violet", "pink", "brown", "black", "white", "grey",
           "gray", "silver", "gold", "navy", "turquoise", "amber", "maroon", "beige", "cream", "teal", "lilac"}
MAX_WORDS = 24
"""Longest question: the sentence is kept, so a long one makes a question nobody would ask."""


def colour_facts(sent) -> list[tuple[str, str, list[str]]]:
    """(answer, kind, questions) for the one colour word of a sentence that modifies a noun."""
    found = [t for t in sent if t.lower_ in COLOURS]
    if len(found) != 1:
        return []
    colour = found[0]
    noun = colour.head
    if colour.dep_ != "amod" or noun.pos_ not in ("NOUN", "PROPN") or noun.i < colour.i \
            or colour.text[:1].isupper() and colour.i != sent.start:
        return []  # "Blue Cabinet" is a name; "the bins are green" says it after the noun
    words = [t for t in sent if not t.is_space]
    if len(words) > MAX_WORDS or words[0].lower_ in VAGUE or any(t.lower_ in VAGUE for t in noun.subtree):
        return []
    if words[0].dep_ == "mark" or not words[0].is_alpha:
        return []  # "If ... what colour ..., it ...", "2) among ..."
    if any(t.text in "():;" or t.text == "," and t.i > colour.i for t in words[:-1]):
        return []  # a clause or an aside after the colour makes the in-place question unreadable
    while noun.dep_ == "compound" and noun.head.i > noun.i:
        noun = noun.head  # "red fire alarm call point": the point
    doc = sent.doc
    first = colour.i - 1 if colour.i > sent.start and doc[colour.i - 1].dep_ == "det" else colour.i
    if noun.dep_ == "appos" or first > sent.start and doc[first - 1].text == "," or any(
            c.dep_ in ("det", "nummod", "amod", "poss") and c.i < first for c in noun.children):
        return []  # "the nearest red call point", "1 silver coin", "…, a white tent": no place for "what colour"
    before = doc[sent.start:first].text_with_ws  # without the article: "a what colour lanyard"
    after = doc[colour.i + 1:sent.end].text.rstrip(" .;:!")
    question = f"{before}what colour {after}".strip() + "?"
    question = question[:1].upper() + question[1:]
    return [(colour.text, "colour", [question])]
