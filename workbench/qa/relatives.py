"""A non-restrictive relative clause, or a participle clause opening a sentence, read as a sentence of its own.

Manuals put many facts in a clause that hangs off a noun:

    "The freezers are on the backup generator, which starts automatically within 30 seconds of a power cut."
    -> "the backup generator starts automatically within 30 seconds of a power cut."
       ("Within how many seconds of a power cut does the backup generator start automatically?")

A wh-phrase cannot stand inside the relative clause ("... generator, which starts within how many seconds?"
asks two things), so the question generator refuses such an answer (cloze._embedded). Restated with its
antecedent, the clause is an ordinary sentence and is asked like one. Only a clause set off by a comma and
opened by "which" or "who" as its subject is restated: a restrictive clause ("a cabinet that fails its test is
labelled") narrows its noun, and without the rest of the sentence it would state something else.

A participle clause before the subject describes the subject, and neither a cloze question nor the full transform
can ask a sentence that opens with one:

    "Built in 2009 by Hesketh & Dunn at Carrow Yard, MV Marram Queen is 48 metres long."
    -> "MV Marram Queen was built in 2009 by Hesketh & Dunn at Carrow Yard."
       ("By whom was MV Marram Queen built in 2009 at Carrow Yard?")
    -> "MV Marram Queen is 48 metres long."   ("How many metres long is MV Marram Queen?")
"""

from __future__ import annotations

from .answers import _YEAR
from .wording import VAGUE, VAGUE_DET

_RELATIVE_PRONOUNS = {"which", "who"}
MAX_ANTECEDENT_WORDS = 8
"""A longer antecedent makes a question too long to read; the parse is also less likely to be right."""


def _antecedent(head, comma) -> list | None:
    """The noun phrase the clause describes: from the first word of the head noun's phrase to the comma before
    the clause, or None when it is not a plain noun phrase of a few words. Not a measure ("valid for 90 days,
    which allows ..."), a bare common noun ("on request, which must be made ..."), or a noun inside a phrase that
    describes another noun ("a form signed by the manager who ..."). Where that phrase is a participle clause set
    off by commas ("the MV Aske Lantern, built at the Brannock yard, which carries 310 passengers"), the parser
    hangs the clause on the yard but the writer meant the ship: the noun before the participle is the antecedent."""
    doc = head.doc
    while head.dep_ == "pobj" and head.head.dep_ == "prep" and head.head.head.pos_ in ("NOUN", "PROPN"):
        head = head.head.head  # "the waste collection point in room F2.22, which is open ...": the point is open
    tokens = list(doc[head.left_edge.i:comma.i])
    if not tokens or len(tokens) > MAX_ANTECEDENT_WORDS or tokens[0].lower_ in VAGUE_DET:
        return None
    if any(t.is_punct and t.text not in ("-", "'", "’", ".") for t in tokens):
        return None  # an aside or a list inside it: "the form (GL-22)", "cans, bottles"
    if head.dep_ == "conj" or any(c.dep_ == "conj" for c in head.children):
        return None  # "pain, swelling and mouth opening, which were measured ...": the clause is about all three
    if head.like_num or any(c.dep_ == "nummod" for c in head.children):
        return None  # a measure ("90 days", "16 talers per month"), not a thing; "a 45-minute induction" is one
    if len(tokens) == 1 and tokens[0].pos_ != "PROPN":
        return None
    t = head  # up to the verb the noun belongs to: a participle or adjective on the way describes another noun
    while True:
        if t.dep_ == "acl" and t.i == t.left_edge.i and doc[t.i - 1].text == "," and t.head.i < t.i - 1 \
                and t.head.pos_ in ("NOUN", "PROPN"):
            return _antecedent(t.head, doc[t.i - 1])  # the clause after ", built at the yard," is the ship's
        if t.dep_ in ("acl", "amod"):
            return None
        if t.pos_ in ("VERB", "AUX") or t.head == t:
            return tokens
        t = t.head


def _text(tokens) -> str:
    return "".join(t.text_with_ws for t in tokens).rstrip()


def _sentence(text: str) -> str:
    return text if text.endswith(".") else text + "."  # "until 3 p.m." keeps its own full stop


def _opening_participle(sent) -> list[str]:
    """A sentence opening with a past participle clause ("Built in 2009 by ..., MV Marram Queen is ..."): the clause
    said of the subject ("was" where it names a year, else "is"), and the rest of the sentence on its own."""
    doc, root = sent.doc, sent.root
    clause = sent[0]  # the participle itself opens the sentence: not "When a service is suspended, ..."
    if clause.tag_ != "VBN" or clause.dep_ != "advcl" or clause.head != root or clause.left_edge != clause:
        return []
    comma = doc[clause.right_edge.i + 1] if clause.right_edge.i + 1 < sent.end else None
    subject = next((c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")), None)
    if comma is None or comma.text != "," or subject is None or subject.i <= comma.i or subject.pos_ == "PRON":
        return []
    noun = list(doc[subject.left_edge.i:subject.i + 1])
    if subject.left_edge.i != comma.i + 1 or len(noun) > MAX_ANTECEDENT_WORDS or noun[0].lower_ in VAGUE_DET:
        return []
    body = list(doc[clause.i:comma.i])
    if len(body) < 3 or any(t.lower_ in VAGUE or t.is_punct and t.text not in ("-", "&", "'", "’") for t in body):
        return []
    plural = subject.tag_ in ("NNS", "NNPS")
    past = any(_YEAR.match(t.text) for t in body)
    verb = ("were" if plural else "was") if past else ("are" if plural else "is")
    rest = list(doc[comma.i + 1:sent.end])
    while rest and rest[-1].is_punct and rest[-1].text != ".":
        rest.pop()
    said = _text(body)
    return [_sentence(f"{_text(noun)} {verb} {said[:1].lower()}{said[1:]}"), _sentence(_text(rest))]


def restatements(sent) -> list[str]:
    """Each non-restrictive "which"/"who" clause of `sent` as a sentence with its antecedent as the subject, and
    an opening participle clause and the rest of its sentence as two sentences."""
    doc = sent.doc
    out = _opening_participle(sent)
    for clause in (t for t in sent if t.dep_ == "relcl" and t.head.pos_ in ("NOUN", "PROPN")):
        pronoun = next((c for c in clause.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        first = clause.left_edge
        if pronoun is None or pronoun != first or pronoun.lower_ not in _RELATIVE_PRONOUNS or first.i == 0 or \
                clause.pos_ not in ("VERB", "AUX") or doc[first.i + 1].pos_ in ("DET", "PRON", "PROPN", "NOUN"):
            continue  # "which the library arranges": the pronoun is the object, the parse is unreliable
        comma = doc[first.i - 1]
        if comma.text != "," or comma.i <= clause.head.i:
            continue
        subject = _antecedent(clause.head, comma)
        if subject is None:
            continue
        body = list(doc[first.i + 1:clause.right_edge.i + 1])
        while body and (body[-1].is_punct or body[-1].dep_ == "cc"):
            body.pop()
        if len(body) < 2 or any(t.lower_ in VAGUE for t in body):
            continue  # "which gives them 40 percent off": who "them" are is outside the clause
        # The antecedent keeps its case (an answer taken from it must be verbatim in the source); questions are
        # capitalised when they are made.
        out.append(_sentence(f"{_text(subject)} {_text(body)}"))
    return out
