"""Who made a thing and when, said in passing: a participle after its noun.

"Lanterns of Vell is a strategy board game, designed by Corvin Ashdale and Noor Eskelund and first published by
Thimbleweed Games in 2019." -> "Who was Lanterns of Vell designed by?" -> "Corvin Ashdale and Noor Eskelund";
"In what year was Lanterns of Vell published?" -> "2019". The sentence patterns ask about a clause's own verb;
these participles hang off a noun, often an apposition ("Spokehaven, a bicycle co-operative founded in 2011"), so
the question names what the noun describes: the proper name it stands beside, or the subject it is said of.
"""

from __future__ import annotations

from .answers import _YEAR, compound_start
from .wording import VAGUE

MADE = {"found", "establish", "build", "open", "launch", "create", "start", "introduce", "publish", "form",
        "incorporate", "design", "write", "complete", "refurbish", "renovate", "install", "set", "release"}
"""Verbs whose year says when a thing began."""
MAKERS = MADE | {"lead", "run", "manage", "own", "edit", "approve", "sign", "maintain", "organise", "organize",
                 "produce", "sponsor", "fund", "illustrate", "chair", "operate", "issue", "develop", "compile",
                 "author", "draft", "review", "host", "present", "deliver", "teach", "coordinate", "supervise"}
"""Verbs whose agent ("designed by X") is the one who made or runs the thing: "Who was … designed by?"."""


def _described(verb):
    """What the participle says something about: up from its noun through an apposition, a preposition or a
    copula's complement to a proper name or the clause's subject; None when that is not found in a few steps."""
    tok = verb.head
    for _ in range(5):
        if tok.pos_ == "PROPN" and tok.dep_ != "compound":
            return tok
        if tok.dep_ == "attr" and tok.head.lemma_ == "be":
            return next((c for c in tok.head.children if c.dep_ == "nsubj"), None)
        if tok.dep_ in ("appos", "pobj", "prep", "conj") and tok.head.i != tok.i:
            tok = tok.head
            continue
        return None
    return None


def _name(tok) -> str | None:
    """The described thing as written: a proper name with its compounds, or a short subject phrase."""
    doc = tok.doc
    start, end = tok.left_edge.i, tok.right_edge.i + 1
    if tok.pos_ == "PROPN" and tok.dep_ != "nsubj":
        start, end = compound_start(tok), tok.i + 1
    words = doc[start:end]
    if not 1 <= len(words) <= 5 or any(t.is_punct or t.lower_ in VAGUE or t.pos_ == "VERB" for t in words):
        return None
    if not any(t.pos_ == "PROPN" for t in words):
        return None  # "the game" or "a co-operative" names nothing a reader can look up
    return words.text


def origin_facts(sent) -> list[tuple[str, str, list[str]]]:
    """(answer, kind, questions) for each participle after a noun with an agent ("designed by X") or a year
    ("founded in 2011")."""
    out, doc = [], sent.doc
    for verb in sent:
        acl = verb if verb.dep_ == "acl" else verb.head if verb.dep_ == "conj" and verb.head.dep_ == "acl" else None
        if acl is None or verb.tag_ != "VBN":
            continue
        thing = _described(acl)
        what = _name(thing) if thing is not None else None
        if not what:
            continue
        be = "were" if thing.tag_ in ("NNS", "NNPS") and thing.pos_ != "PROPN" and thing.dep_ != "nsubj" else "was"
        done = " ".join([verb.lower_] + [c.lower_ for c in verb.children if c.dep_ == "prt"])  # "set up"
        for prep in verb.children:
            obj = next((c for c in prep.children if c.dep_ == "pobj"), None)
            if obj is None:
                continue
            if prep.dep_ == "agent" and verb.lemma_.lower() in MAKERS:
                span = doc[obj.left_edge.i:obj.right_edge.i + 1]
                if 1 <= len(span) <= 8 and all(t.pos_ == "PROPN" or t.lower_ == "and" or t.text == "-" for t in span):
                    out.append((span.text, "name", [f"Who {be} {what} {done} by?", f"By whom {be} {what} {done}?"]))
            elif prep.lower_ == "in" and _YEAR.match(obj.text) and verb.lemma_.lower() in MADE:
                out.append((obj.text, "year", [f"In what year {be} {what} {done}?", f"When {be} {what} {done}?"]))
    return out
