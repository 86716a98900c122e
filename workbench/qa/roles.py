"""Who holds which role: a name and a role in apposition ("Idris Penhale, Chief People Officer", "the Travel
Coordinator, Lewin Barraclough") asked both ways: "Who is the Chief People Officer?" -> "Idris Penhale", and
"What is Idris Penhale's role?" -> "Chief People Officer"."""

from __future__ import annotations

from .answers import ROLE_NOUNS
from .wording import VAGUE


def _role_span(tok) -> tuple[int, int] | None:
    """The role words ending at `tok` ("Reward and Benefits Lead"), determiners and the name left out."""
    if tok.lower_ not in ROLE_NOUNS:
        return None
    start = tok.left_edge.i
    while start < tok.i and (tok.doc[start].dep_ in ("det", "poss") or tok.doc[start].is_punct):
        start += 1
    words = tok.doc[start:tok.i + 1]
    if not 2 <= len(words) <= 6 or any(t.lower_ in VAGUE or t.is_punct for t in words):
        return None
    if tok.i + 1 < tok.sent.end and tok.doc[tok.i + 1].lower_ == "of":
        return None  # "head of ..." goes on: the role is cut
    return start, tok.i + 1


def _name_span(tok) -> tuple[int, int] | None:
    """A person's name ending at `tok`: two or more capitalised proper nouns."""
    if tok.pos_ != "PROPN":
        return None
    start = tok.i
    while start - 1 >= tok.sent.start and tok.doc[start - 1].pos_ == "PROPN" and tok.doc[start - 1].dep_ == "compound":
        start -= 1
    words = tok.doc[start:tok.i + 1]
    if len(words) < 2 or len(words) > 4 or not all(t.is_title for t in words) \
            or any(t.lower_ in ROLE_NOUNS for t in words):
        return None
    return start, tok.i + 1


def role_facts(sent) -> list[tuple[str, str, list[str]]]:
    """(answer, kind, questions) for each name-role apposition of a sentence."""
    out = []
    for tok in sent:
        if tok.dep_ != "appos":
            continue
        pair = (tok.head, tok)
        for name_tok, role_tok in (pair, pair[::-1]):
            name, role = _name_span(name_tok), _role_span(role_tok)
            if name and role:
                doc = sent.doc
                who, what = doc[name[0]:name[1]].text, doc[role[0]:role[1]].text
                if what.split()[0][:1].islower():
                    continue  # "our manager": only titles written as names are unique roles
                out.append((who, "person", [f"Who is the {what}?", f"Which person is the {what}?",
                                            f"Who works as the {what}?"]))
                out.append((what, "phrase", [f"What is {who}'s role?", f"What role does {who} have?",
                                             f"What is the job title of {who}?"]))
                break
    return out
