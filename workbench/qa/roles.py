"""Who holds which role, and what a description names.

- A name and a role in apposition ("Idris Penhale, Chief People Officer", "the head of customer services, Owen
  Treloar") asked both ways: "Who is the Chief People Officer?" -> "Idris Penhale", and "What is Idris Penhale's
  role?" -> "Chief People Officer". A role written as the name's title ("led by head mechanic Tomasz Villeneuve")
  counts as one too.
- A definite description said to be a name ("The approved hotel is the Harbour View Inn on Quay Street."):
  "What is the approved hotel?" -> "Harbour View Inn" (`naming_facts`), or given one ("Free Wi-Fi, named
  HCL-Open, ...", "a form called the LD-2"): "What is the free Wi-Fi called?" -> "HCL-Open".
"""

from __future__ import annotations

from .answers import ROLE_NOUNS, _name_answer, in_parentheses
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
            k = _plain_object(doc[end])  # "head of customer services"
            if k is None:
                return None  # "head of the team that ...": where the role ends is not clear
        end = k
    words = doc[start:end]
    definite = start > tok.sent.start and doc[start - 1].lower_ == "the"
    if not (2 <= len(words) <= 6 or definite and len(words) == 1) or any(
            t.lower_ in VAGUE or t.is_punct for t in words):
        return None
    return start, end


def _plain_object(of) -> int | None:
    """The end of a short lower-case object of "of" made of nouns and adjectives only ("customer services"), or
    None (a determiner, a clause or more than three words follow)."""
    obj = next((c for c in of.children if c.dep_ == "pobj"), None)
    if obj is None or obj.left_edge.i != of.i + 1 or obj.right_edge.i != obj.i or obj.i - of.i > 3:
        return None
    words = of.doc[of.i + 1:obj.i + 1]
    return obj.i + 1 if all(t.pos_ in ("NOUN", "PROPN", "ADJ") and t.is_alpha for t in words) else None


def _name_span(tok) -> tuple[int, int] | None:
    """A person's name ending at `tok`: two or more capitalised proper nouns."""
    if tok.pos_ != "PROPN":
        return None
    doc, start = tok.doc, tok.i
    while start - 1 >= tok.sent.start:
        if doc[start - 1].pos_ == "PROPN" and doc[start - 1].dep_ == "compound":
            start -= 1
        elif start - 2 >= tok.sent.start and doc[start - 1].text == "-" and not doc[start - 2].whitespace_ \
                and not doc[start - 1].whitespace_ and doc[start - 2].pos_ == "PROPN" and doc[start - 2].is_title:
            start -= 2  # "Morrow-Achebe" whose last part heads the name
        else:
            break
    end = tok.i + 1
    while end + 1 < tok.sent.end and tok.doc[end].text == "-" and not tok.doc[end - 1].whitespace_ \
            and tok.doc[end + 1].is_title:
        end += 2  # "Okafor-Hale"
    words = [t for t in tok.doc[start:end] if t.text != "-"]
    if len(words) < 2 or len(words) > 4 or not all(t.is_title for t in words) \
            or any(t.lower_ in ROLE_NOUNS for t in words):
        return None
    return start, end


def _title_span(name_start: int, sent) -> tuple[int, int] | None:
    """Lower-case role words written as a title right before a name ("head mechanic" in "head mechanic Tomasz
    Villeneuve"), or None."""
    doc, end = sent.doc, name_start
    if end - 1 < sent.start or doc[end - 1].lower_ not in ROLE_NOUNS or not doc[end - 1].text.islower():
        return None
    start = end - 1
    while start - 1 >= sent.start and doc[start - 1].is_alpha and doc[start - 1].text.islower() \
            and doc[start - 1].pos_ in ("NOUN", "ADJ") and doc[start - 1].dep_ in ("compound", "amod"):
        start -= 1
    return start, end


def _pairs(sent):
    """(name token, role token or None) pairs to try: each apposition both ways (also one the parser missed:
    "the race referee, Sorcha Pennington,"), and each proper noun with a title before its name."""
    doc = sent.doc
    for tok in sent:
        if tok.dep_ == "appos":
            yield tok, tok.head
            yield tok.head, tok
        elif tok.pos_ == "PROPN" and tok.i + 1 < sent.end and doc[tok.i + 1].text in (",", ".", ";") \
                and tok.dep_ not in ("compound", "appos"):
            name = _name_span(tok)
            if name and name[0] - 2 >= sent.start and doc[name[0] - 1].text == ",":
                yield tok, doc[name[0] - 2]
        if tok.pos_ == "PROPN" and tok.dep_ != "compound":
            yield tok, None


def role_facts(sent) -> list[tuple[str, str, list[str]]]:
    """(answer, kind, questions) for each name-role apposition of a sentence."""
    out, done, doc = [], set(), sent.doc
    for name_tok, role_tok in _pairs(sent):
        name = _name_span(name_tok)
        role = name and (_role_span(role_tok) if role_tok is not None else _title_span(name[0], sent))
        if not role or (name, role) in done:
            continue
        who, what = doc[name[0]:name[1]].text, doc[role[0]:role[1]].text
        if role_tok is not None and what.split()[0][:1].islower() and doc[role[0] - 1].lower_ != "the":
            continue  # "our manager", "a volunteer": only "the ..." or a title names one person
        out.append((who, "person", [f"Who is the {what}?", f"Which person is the {what}?",
                                    f"Who works as the {what}?"]))
        if name not in done:  # one role question a name: a second role would give it two answers
            out.append((what, "phrase", [f"What is {who}'s role?", f"What role does {who} have?",
                                         f"What is the job title of {who}?"]))
        done |= {name, (name, role)}
    for who, kind, questions in _subject_role_facts(sent):
        i = next((i for i, f in enumerate(out) if f[:2] == (who, kind)), None)
        if i is None:
            out.append((who, kind, questions))
        else:  # the same person under both roles: one fact, asked both ways
            out[i] = (who, kind, out[i][2][:1] + questions + out[i][2][1:])
    return out


def _copula(sent) -> tuple:
    """(subject, attribute) of "X is Y", or (None, None) for any other sentence."""
    root = sent.root
    subject = next((c for c in root.children if c.dep_ == "nsubj"), None)
    attr = next((c for c in root.children if c.dep_ == "attr"), None)
    if root.lemma_ != "be" or subject is None or attr is None or subject.i > attr.i:
        return None, None
    return subject, attr


def _subject_role_facts(sent) -> list[tuple[str, str, list[str]]]:
    """A role said to be held by a named role-holder: "The Designated Person Ashore (DPA) is the Safety Manager,
    Colin Abernethy" -> "Who is the Designated Person Ashore?" -> "Colin Abernethy". The subject is a definite
    description of two to five words (an abbreviation in brackets left out), the attribute a role with the name
    in apposition."""
    doc = sent.doc
    subject, role = _copula(sent)
    if subject is None or _role_span(role) is None:
        return []
    name_tok = next((c for c in role.children if c.dep_ == "appos" and c.pos_ == "PROPN"), None)
    name = name_tok is not None and _name_span(name_tok)
    words = [t for t in subject.subtree if not in_parentheses(t) and t.text not in ("(", ")")]
    if not name or words[0].lower_ not in ("the", "our", "your") or not 2 <= len(words) - 1 <= 5 or any(
            t.is_punct or t.pos_ in ("VERB", "AUX", "PRON", "NUM", "ADP") for t in words[1:]):
        return []
    what = " ".join(t.text for t in words[1:])
    what = what if any(t.pos_ == "PROPN" for t in words[1:]) else what.lower()
    return [(doc[name[0]:name[1]].text, "person", [f"Who is the {what}?", f"Which person is the {what}?"])]


def naming_facts(sent, names: frozenset = frozenset()) -> list[tuple[str, str, list[str]]]:
    """(answer, kind, questions) when the sentence says a definite description is a name, or a name is one: "The
    main supplier is Corvale Scientific, whose ..." -> ("Corvale Scientific", "name", ["What is the main
    supplier?", ...]); "Harbourline is our confidential employee assistance programme." -> ("Harbourline", "name",
    ["What is the name of the confidential employee assistance programme?", ...]). "our" and "your" read as "the"."""
    doc = sent.doc
    subject, named = _copula(sent)
    if subject is None:
        return []
    name_first = (subject.pos_ == "PROPN" or subject.text in names) and named.pos_ == "NOUN"
    if name_first:  # "Harbourline is our ... programme": a description of 2-4 words
        description, named, least = named, subject, 2
    elif subject.pos_ == "NOUN" and named.pos_ == "PROPN":
        description, least = subject, 1
    else:
        return []
    modified = any(c.i > description.i and doc[c.left_edge.i - 1].text != "," for c in description.children)
    if modified or doc[description.left_edge.i].lower_ not in ("the", "our", "your"):
        return []  # "the X that ...", "a X", "X of Y": not one thing named plainly (", available to ..." is an aside)
    words = doc[description.left_edge.i + 1:description.i + 1]
    if not least <= len(words) <= 4 or any(t.is_punct or t.pos_ in ("PRON", "NUM") for t in words):
        return []
    answer = _name_answer(named, names)
    if answer is None or answer.kind == "date" or not any(c.isalpha() for c in answer.text(doc)):
        return []  # a date, a number ("The office number is +44 20 7946 0958"): not a name
    if name_first and answer.end != named.i + 1:
        return []  # the name is longer than the parse read it
    what = words.text.lower() if not any(t.pos_ == "PROPN" for t in words) else words.text
    if description.lower_ in ROLE_NOUNS:
        return [(answer.text(doc), "person", [f"Who is the {what}?", f"Which person is the {what}?"])]
    if name_first:
        return [(answer.text(doc), answer.kind, [f"What is the name of the {what}?", f"What is the {what} called?"])]
    return [(answer.text(doc), answer.kind, [f"What is the {what}?", f"What is the name of the {what}?"])]


def called_facts(sent, names: frozenset = frozenset()) -> list[tuple[str, str, list[str]]]:
    """(answer, kind, questions) for a thing given its name (or nickname) in passing: "Free Wi-Fi, named HCL-Open,
    is ..." -> ("HCL-Open", "name", ["What is the free Wi-Fi called?", "What is the name of the free Wi-Fi?"]);
    "the planned maintenance system, known on board as "Keelson"" -> "What is the planned maintenance system known
    as on board?"."""
    out, doc = [], sent.doc
    for verb in sent:
        if verb.dep_ != "acl" or verb.lemma_.lower() not in ("name", "call", "nickname", "know") or verb.tag_ != "VBN":
            continue
        known = verb.lemma_.lower() == "know"  # "the planned maintenance system, known on board as "Keelson""
        as_ = next((c for c in verb.children if c.dep_ == "prep" and c.lower_ == "as"), None) if known else None
        named = next((c for c in (as_.children if as_ is not None else verb.children)
                      if c.dep_ in (("pobj",) if known else ("oprd", "attr", "dobj"))), None)
        thing = verb.head
        if named is None or thing.pos_ not in ("NOUN", "PROPN") or thing.i > verb.i:
            continue
        if known and thing.dep_ == "pobj" and thing.head.head.pos_ in ("NOUN", "PROPN"):
            continue  # "the lawn beside the bicycle shelters, known as ...": which of the two is known so is unclear
        answer = _name_answer(named, names) if named.pos_ == "PROPN" else None
        last = max(t.i for t in named.subtree if not t.is_punct)
        if answer is not None and answer.end <= last:
            continue  # the name goes on past what was read as the name ("Assembly Point F")
        if answer is None and (named.text[:1].isupper() or any(ch.isdigit() for ch in named.text)):
            start = named.i
            while start > verb.i + 1 and doc[start - 1].dep_ in ("compound", "punct") and doc[start - 1].text != ",":
                start -= 1
            text = doc[start:named.i + 1].text
        elif answer is not None and answer.kind != "date":
            text = answer.text(doc)
        else:
            continue
        words = [t for t in doc[thing.left_edge.i:thing.i + 1] if t.dep_ not in ("det", "poss")]
        if not 2 <= len(words) <= 4 or any(t.is_punct and t.text != "-" or t.lower_ in VAGUE for t in words):
            continue  # one noun ("a form called the LD-2") asks a question with many answers in a corpus
        what = doc[words[0].i:thing.i + 1].text
        what = what if any(t.pos_ == "PROPN" and not t.is_sent_start for t in words) else what[:1].lower() + what[1:]
        verb_be = "are" if thing.tag_ in ("NNS", "NNPS") else "is"
        asked = [f"What {verb_be} the {what} called?", f"What is the name of the {what}?"]
        if verb.lemma_.lower() == "nickname":  # "the rescue dummy nicknamed "Barnaby""
            asked = [f"What {verb_be} the {what} nicknamed?"] + asked
        if known:  # "What is the planned maintenance system known as on board?"
            where = " ".join(doc[c.left_edge.i:c.right_edge.i + 1].text for c in verb.children
                             if c.dep_ == "prep" and c.i < as_.i)
            asked = [f"What {verb_be} the {what} known as{' ' + where if where else ''}?"] + asked
        out.append((text, "name", asked))
    return out
