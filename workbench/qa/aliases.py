"""Other names of a named thing, and each fact's first question asked with them.

A document names a thing once and says what it is; a person then asks by what it is:

    "MV Marram Queen is the flagship and the largest vessel in the fleet."   (a fleet list)
    "The Terminal Manager is Gwen Aldous."
    "MV Brightwater is a 24-seat water taxi ..."
    -> MV Marram Queen: "the flagship", "the largest vessel in the fleet"; Gwen Aldous: "the Terminal Manager";
       MV Brightwater: "the water taxi"

    "How many cars is MV Marram Queen certified for?"  ->  "How many cars is the flagship certified for?"

A closed-book adapter answers the wording it was trained on: told only "MV Marram Queen", it does not link a
person's "the flagship" to that name's facts (the two-step recall a small model does not make). So each fact
whose first question names such a thing also gets it with that name replaced by its descriptions
(`Fact.aliased`), which Decide's lora asks in turn with the first question (training/knowledge.py). A description comes from a copular sentence with a proper name on one side and a noun phrase
on the other, definite ("the flagship") or indefinite and then made definite ("a 24-seat water taxi" -> "the
water taxi", numbers left out); it is kept only when it describes one name in the whole corpus. A name written
with a short prefix ("MV Sandwort") is also asked by the rest of it ("Sandwort") where the corpus writes it so.
"""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field
from typing import NamedTuple

from .answers import ROLE_NOUNS
from .phrasing import answer_leaks

MAX_ALIASED = 2
"""Other names asked per fact: they take turns with the first question in the lora's passes after the first, so
each one more leaves that question fewer passes."""
_PREFIX = re.compile(r"^(?:[A-Z]{2,3})\s+(?=[A-Z])")
"""A short capitalised prefix before a name ("MV Sandwort", "HMS Tern", "RV Calypso")."""
_NOT_DESCRIPTIVE = {"only", "same", "other", "following", "above", "below", "last", "next", "previous", "one",
                    "part", "member", "home", "responsibility", "way", "place", "thing", "reason", "case", "time",
                    "number", "end", "side", "top", "bottom", "front", "back", "rest", "start"}
"""Words that make a noun phrase no description of one thing ("the only vessel ...", "a member of staff", "the
west end of the second floor")."""


class Description(NamedTuple):
    text: str
    """As a person would name the thing: "the water taxi"."""
    definite: bool
    """Written with "the" ("the flagship"), not "a" ("a 24-seat water taxi")."""


def _name(tok) -> tuple[int, int] | None:
    """The proper name headed by `tok` ("MV Marram Queen", "Ferrier's Quay", "the MV Aske Lantern" without its
    "the"), or None: a name with modifiers or coordinated with another is no name of one thing."""
    if tok.pos_ != "PROPN" or not tok.text[:1].isupper() or tok.tag_ == "NNPS":
        return None
    doc, start = tok.doc, tok.i
    while start - 1 >= tok.sent.start and doc[start - 1].pos_ in ("PROPN", "PART") \
            and doc[start - 1].dep_ in ("compound", "flat", "poss", "case"):
        start -= 1
    if any(c.dep_ in ("nummod", "amod", "conj") for c in tok.children) or doc[start].pos_ != "PROPN":
        return None
    if start > tok.sent.start and doc[start - 1].text == "-" and not doc[start - 1].whitespace_:
        return None  # the end of "Fix-a-Flat"
    return start, tok.i + 1


def _description(noun) -> Description | None:
    """The noun phrase headed by `noun` as a definite description ("the second vehicle ferry", "the largest vessel
    in the fleet"), or None: its determiner made "the", a modifier with a number in it left out ("24-seat"), a
    short "in/of/at" phrase kept, anything after it (a clause, another phrase) left out."""
    if noun.pos_ not in ("NOUN", "PROPN") or noun.tag_ in ("NNS", "NNPS"):
        return None  # "The fire wardens ... are ...": no name of one thing
    det = next((c for c in noun.children if c.dep_ == "det"), None)
    if det is None and noun.dep_ == "conj":
        det = next((c for c in noun.head.children if c.dep_ == "det"), None)  # "the head office and main terminal"
    if det is None or det.lower_ not in ("the", "a", "an") or noun.pos_ == "PROPN" and det.lower_ != "the":
        return None  # a capitalised head is a title only after "the" ("the Terminal Manager")
    tokens, measured = [], False
    for mod in (c for c in noun.children if c.i < noun.i and c.dep_ != "det"):
        subtree = list(mod.subtree)
        if mod.dep_ not in ("amod", "compound", "nmod") or any(t.pos_ == "ADV" or t.pos_ == "PROPN" != noun.pos_
                                                               for t in subtree):
            return None  # "very", a possessive or a name inside a common noun's phrase: no simple description
        if any(t.tag_ == "CD" or any(ch.isdigit() for ch in t.text) for t in subtree):
            measured = True  # "24-seat", "ten-minute": left out
        else:
            tokens += subtree
    if measured and not tokens:
        return None  # "a ten-minute walk" is no "walk"
    tokens.append(noun)
    prep = next((c for c in noun.children if c.dep_ == "prep" and c.i == noun.i + 1), None)
    if prep is not None and prep.lower_ in ("in", "of", "at") and prep.right_edge.i - prep.i <= 3 and \
            all(t.is_alpha for t in prep.subtree):
        tokens += list(prep.subtree)
    if tokens[0].lower_ in _NOT_DESCRIPTIVE or noun.lower_ in _NOT_DESCRIPTIVE:
        return None
    words = "".join(t.text_with_ws for t in tokens[:-1]) + tokens[-1].text
    return Description("the " + words, det.lower_ == "the")


def _title(span: tuple[int, int], sent) -> Description | None:
    """The description written right before a name ("the relief vessel MV Corrie Bell" -> "the relief vessel",
    "the fast catamaran Kittiwake" -> "the fast catamaran"), or None: lower-case nouns and adjectives after "the",
    the last a noun."""
    doc, k = sent.doc, span[0]
    while k - 1 > sent.start and doc[k - 1].pos_ in ("NOUN", "ADJ") and doc[k - 1].is_alpha and doc[k - 1].is_lower:
        k -= 1
    words = doc[k:span[0]]
    if not len(words) or k - 1 < sent.start or doc[k - 1].lower_ != "the" or words[-1].pos_ != "NOUN" \
            or words[0].lower_ in _NOT_DESCRIPTIVE or any(t.lower_ in ROLE_NOUNS for t in doc[span[0]:span[1]]):
        return None  # not "the duty Operations Controller": a role, not a name
    return Description("the " + words.text, True)


def _descriptions(attr) -> list[Description]:
    """`attr` and the nouns coordinated with it, each as a description."""
    nouns = [attr] + [c for c in attr.children if c.dep_ == "conj"]
    return [d for d in map(_description, nouns) if d]


def definitions(sent) -> list[tuple[str, Description]]:
    """(name, description) for each "be" of a sentence that says what a name is, either way round ("MV Sandwort
    is the second vehicle ferry", "The Terminal Manager is Gwen Aldous", "The flagship is the MV Aske Lantern"),
    and for each name written after its description ("the relief vessel MV Corrie Bell")."""
    out = []
    for verb in (t for t in sent if t.lemma_ == "be" and not any(c.dep_ == "neg" for c in t.children)):
        subj = next((c for c in verb.children if c.dep_ == "nsubj"), None)
        attr = next((c for c in verb.children if c.dep_ == "attr"), None)
        if subj is None or attr is None:
            continue
        for name_tok, noun in ((subj, attr), (attr, subj)):
            span = _name(name_tok)
            found = _descriptions(noun) if span else []
            if span and found:
                out += [(sent.doc[span[0]:span[1]].text, d) for d in found]
                break
    for tok in sent:
        span = _name(tok) if tok.dep_ != "compound" else None
        found = _title(span, sent) if span else None
        if found:
            out.append((sent.doc[span[0]:span[1]].text, found))
    return out


@dataclass
class Aliases:
    """A corpus's other names for its named things."""

    names: dict[str, list[str]] = field(default_factory=dict)
    """Name -> its descriptions ("MV Marram Queen" -> ["the flagship", ...]), and its short form."""
    modifies: dict[str, set[str]] = field(default_factory=dict)
    """Name -> the nouns it modifies somewhere in the corpus ("Ness Point" -> {"service"}): there it names no thing."""

    def aliased(self, question: str, answer: str) -> list[str]:
        """`question` with the longest name it holds replaced by each of the name's other names (at most
        MAX_ALIASED); none for a name used as a modifier ("the Ness Point service"), and no description that the
        question already holds ("MV Little Tern is a passenger-only launch certified for how many passengers?"),
        that gives the answer away, or that has a phrase of its own made possessive ("the largest vessel in the
        fleet's master")."""
        found = [m for m in (re.search(rf"(?<![\w-]){re.escape(n)}(?![\w-])", question) for n in self.names) if m]
        if not found:
            return []
        match = max(found, key=lambda m: len(m.group()))
        name, at = match.group(), match.start()
        after = question[at + len(name):]
        following = re.match(r" (\w+)", after)
        if following and following.group(1) in self.modifies.get(name, ()):
            return []
        article = question[max(0, at - 4):at]
        start = at - 4 if article.lower() == "the " else at
        out = []
        for other in self.names[name]:
            if other.startswith("the ") and other[4:].lower() in question.lower() or answer_leaks(other, answer) \
                    or after.startswith("'s") and re.search(r" (in|of|at) ", other):
                continue
            text = question[:start] + (other if other.startswith("the ") else question[start:at] + other) + after
            out.append(text[:1].upper() + text[1:])
            if len(out) == MAX_ALIASED:
                break
        return out


def corpus_aliases(sentences, text: str) -> Aliases:
    """The other names the corpus's sentences give its named things, each name's short form where the corpus
    (`text`) writes it alone, and the nouns each name modifies. A description is kept only where it describes one
    name, and an indefinite one only where it is the name's one indefinite description: a name said to be "a
    private company" and "a hybrid company" is being classified, not named."""
    found: dict[str, list[Description]] = defaultdict(list)
    named: dict[str, set[str]] = defaultdict(set)
    modifiers: dict[str, set[str]] = defaultdict(set)
    for sent in sentences:
        for name, description in definitions(sent):
            if description not in found[name]:
                found[name].append(description)
            named[description.text.lower()].add(name)
        for tok in sent:
            span = _name(tok) if tok.dep_ == "compound" and tok.head.pos_ == "NOUN" and tok.head.i > tok.i else None
            if span:
                modifiers[sent.doc[span[0]:span[1]].text].add(tok.doc[tok.i + 1].text)
    names = {}
    for name, ds in found.items():
        indefinite = sum(1 for d in ds if not d.definite)
        names[name] = list(dict.fromkeys(d.text for d in ds if len(named[d.text.lower()]) == 1
                                         and (d.definite or indefinite == 1)))
    for name in list(names):
        short = _PREFIX.sub("", name)
        prefix = name[:len(name) - len(short)]
        if short != name and re.search(rf"(?<!{re.escape(prefix)}){re.escape(short)}\b", text):
            names[name].append(short)
            names.setdefault(short, [d for d in names[name] if d != short])
            modifiers[short] |= modifiers[name]
    return Aliases({name: ds for name, ds in names.items() if ds}, dict(modifiers))
