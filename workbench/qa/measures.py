"""A measure written before its noun: "a 40-minute safety orientation" -> "How long is the safety orientation?" ->
"40-minute".

Manuals state sizes and durations as hyphenated modifiers ("a 6-metre telescopic ladder", "a 27-point safety
check"), which the sentence patterns do not ask about: the number is not a quantity of the noun. The question
depends on the unit: a duration or a length asks "how long", a weight "how heavy", a countable unit "how many
points does … have". The thing measured needs two words or more: a lone noun ("a 90-minute limit", "a
ten-minute walk", "a five-day week") asks "How long is the walk?", which names nothing in a corpus, and "24-hour"
says round the clock, not how long.
"""

from __future__ import annotations

from .answers import TIME_UNITS
from .wording import VAGUE

LENGTHS = {"metre", "meter", "m", "centimetre", "cm", "millimetre", "mm", "kilometre", "km", "foot", "feet", "inch",
           "mile", "yard"}
WEIGHTS = {"kilogram", "kg", "gram", "g", "tonne", "ton", "pound", "lb"}
COUNTED = {"point", "page", "step", "seat", "bed", "room", "item", "question", "module", "stage", "part",
           "hole", "lane", "bay", "berth", "car", "storey", "story", "pin", "digit", "character",
           "letter", "word"}


def _question(unit: str, what: str, plural: bool) -> list[str]:
    be, do = ("are", "do") if plural else ("is", "does")
    if unit in TIME_UNITS or unit in LENGTHS:
        return [f"How long {be} the {what}?", f"What is the length of the {what}?"]
    if unit in WEIGHTS:
        return [f"How heavy {be} the {what}?", f"What is the weight of the {what}?"]
    if unit in COUNTED:
        units = unit + ("s" if not unit.endswith("s") else "")
        return [f"How many {units} {do} the {what} have?"]
    return []


def measure_facts(sent) -> list[tuple[str, str, list[str]]]:
    """(answer, kind, questions) for each hyphenated measure before a noun ("40-minute" in "a 40-minute safety
    orientation")."""
    out, doc = [], sent.doc
    for num in sent:
        if not (num.like_num and num.dep_ == "nummod" and num.i + 2 < sent.end):
            continue
        dash, unit = doc[num.i + 1], doc[num.i + 2]
        if dash.text != "-" or num.whitespace_ or dash.whitespace_ or num.head.i != unit.i:
            continue
        noun = unit.head
        while noun.dep_ in ("compound", "amod") and noun.head.i > noun.i:
            noun = noun.head  # "a 900-bed teaching hospital": the hospital
        if unit.dep_ not in ("compound", "amod") or noun.pos_ != "NOUN" or noun.i <= unit.i \
                or doc[num.i:unit.i + 1].text.lower() == "24-hour":
            continue
        words = doc[unit.i + 1:noun.i + 1]
        if any(t.dep_ not in ("compound", "amod") and t.i != noun.i or t.lower_ in VAGUE or not t.is_alpha
               or t.tag_ in ("VBG", "VBN") for t in words):
            continue
        if len(words) < 2:
            continue
        lemma = unit.lemma_.lower() if unit.lemma_ else unit.lower_
        what = words.text if words[0].pos_ == "PROPN" or words[0].text.isupper() else words.text[:1].lower() + words.text[1:]
        questions = _question(lemma.rstrip("s") if lemma not in LENGTHS | WEIGHTS else lemma, what, noun.tag_ == "NNS")
        if questions:
            out.append((doc[num.i:unit.i + 1].text, "count", questions))
    return out
