"""A non-restrictive relative clause read as a sentence of its own, its antecedent as the subject.

Manuals put many facts in a clause that hangs off a noun:

    "The freezers are on the backup generator, which starts automatically within 30 seconds of a power cut."
    -> "The backup generator starts automatically within 30 seconds of a power cut."
       ("The backup generator starts automatically within how many seconds of a power cut?")

A wh-phrase cannot stand inside the relative clause ("... generator, which starts within how many seconds?"
asks two things), so the question generator refuses such an answer (cloze._embedded). Restated with its
antecedent, the clause is an ordinary sentence and is asked like one. Only a clause set off by a comma and
opened by "which" or "who" as its subject is restated: a restrictive clause ("a cabinet that fails its test is
labelled") narrows its noun, and without the rest of the sentence it would state something else.
"""

from __future__ import annotations

from .wording import VAGUE_DET

_RELATIVE_PRONOUNS = {"which", "who"}
MAX_ANTECEDENT_WORDS = 8
"""A longer antecedent makes a question too long to read; the parse is also less likely to be right."""


def _antecedent(head, comma) -> list | None:
    """The noun phrase the clause describes: from the first word of the head noun's phrase to the comma before
    the clause, or None when it is not a plain noun phrase of a few words."""
    doc = head.doc
    while head.dep_ == "pobj" and head.head.dep_ == "prep" and head.head.head.pos_ in ("NOUN", "PROPN"):
        head = head.head.head  # "the waste collection point in room F2.22, which is open ...": the point is open
    tokens = list(doc[head.left_edge.i:comma.i])
    if not tokens or len(tokens) > MAX_ANTECEDENT_WORDS or tokens[0].lower_ in VAGUE_DET:
        return None
    if any(t.is_punct and t.text not in ("-", "'", "’", ".") for t in tokens):
        return None  # an aside or a list inside it: "the form (GL-22)", "cans, bottles"
    return tokens


def restatements(sent) -> list[str]:
    """Each non-restrictive "which"/"who" clause of `sent` as a sentence with its antecedent as the subject."""
    doc = sent.doc
    out = []
    for clause in (t for t in sent if t.dep_ == "relcl" and t.head.pos_ in ("NOUN", "PROPN")):
        pronoun = next((c for c in clause.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        first = clause.left_edge
        if pronoun is None or pronoun != first or pronoun.lower_ not in _RELATIVE_PRONOUNS or first.i == 0:
            continue
        comma = doc[first.i - 1]
        if comma.text != "," or comma.i <= clause.head.i:
            continue
        subject = _antecedent(clause.head, comma)
        if subject is None:
            continue
        body = list(doc[first.i + 1:clause.right_edge.i + 1])
        while body and (body[-1].is_punct or body[-1].dep_ == "cc"):
            body.pop()
        if len(body) < 2:
            continue
        text = "".join(t.text_with_ws for t in subject).rstrip() + " " + "".join(t.text_with_ws for t in body)
        out.append(text[:1].upper() + text[1:].rstrip() + ".")
    return out
