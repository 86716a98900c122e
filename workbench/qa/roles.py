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
    end = tok.i + 1
    doc = tok.doc
    if end < tok.sent.end and doc[end].lower_ == "of":  # "Head of Lending Services"
        k = end + 1
        while k < tok.sent.end and (doc[k].text[:1].isupper() or doc[k].lower_ in ("and", "&")) and doc[k].is_alpha:
            k += 1
        if k == end + 1:
            return None  # "head of the team ...": the role goes on in lower case
        end = k
    words = doc[start:end]
    definite = start > tok.sent.start and doc[start - 1].lower_ == "the"
    if not (2 <= len(words) <= 6 or definite and len(words) == 1) or any(
            t.lower_ in VAGUE or t.is_punct for t in words):
        return None
    return start, end


def _name_span(tok) -> tuple[int, int] | None:
    """A person's name ending at `tok`: two or more capitalised proper nouns."""
    if tok.pos_ != "PROPN":
        return None
    start = tok.i
    while start - 1 >= tok.sent.start and tok.doc[start - 1].pos_ == "PROPN" and tok.doc[start - 1].dep_ == "compound":
        start -= 1
    end = tok.i + 1
    while end + 1 < tok.sent.end and tok.doc[end].text == "-" and not tok.doc[end - 1].whitespace_ \
            and tok.doc[end + 1].is_title:
        end += 2  # "Okafor-Hale"
    words = [t for t in tok.doc[start:end] if t.text != "-"]
    if len(words) < 2 or len(words) > 4 or not all(t.is_title for t in words) \
            or any(t.lower_ in ROLE_NOUNS for t in words):
        return None
    return start, end


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
                if what.split()[0][:1].islower() and doc[role[0] - 1].lower_ != "the":
                    continue  # "our manager", "a volunteer": only "the ..." or a title names one person
                out.append((who, "person", [f"Who is the {what}?", f"Which person is the {what}?",
                                            f"Who works as the {what}?"]))
                out.append((what, "phrase", [f"What is {who}'s role?", f"What role does {who} have?",
                                             f"What is the job title of {who}?"]))
                break
    return out
