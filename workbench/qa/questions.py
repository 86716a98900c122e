"""Turn a parsed sentence and an answer span in it into wh-questions whose answer is that span.

The phrase holding the answer is replaced by a wh-phrase chosen by the answer's kind ("how many days",
"by what date", "to whom") and moved to the front; the subject and the first auxiliary swap places (with
"do"-support when there is none). A sentence is refused (None) when the answer sits where English cannot
ask about it (inside a relative clause, nested in a noun phrase), when a pronoun would leave the question
ambiguous, or when the result would be too short or too long to be a good question.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from .answers import MONTHS, TIME_UNITS, WEEKDAYS, Answer, in_parentheses
from .text import normalise, words

SUBJECTS = {"nsubj", "nsubjpass", "expl", "csubj", "csubjpass"}
OBJECTS = {"dobj", "attr", "oprd", "npadvmod", "dative"}
# Pronouns that leave a question without its referent ("How long is it?").
VAGUE = {"it", "its", "they", "them", "their", "he", "she", "him", "her", "his", "i", "me", "my", "itself", "we",
         "us", "our"}
VAGUE_DET = {"this", "these", "those", "that", "such", "above", "below", "following", "latter", "former", "same"}
QUALIFIERS = {"at", "least", "most", "up", "to", "about", "around", "approximately", "roughly", "nearly", "almost",
              "only", "over", "under", "more", "less", "fewer", "than", "just", "some", "maximum", "minimum", "of",
              "a", "an", "the", "no", "exactly", "another", "further", "additional", "extra", "every", "each"}
MEASURE_WORDS = {"long", "old", "wide", "high", "tall", "deep", "thick", "late", "early", "ahead", "before", "ago"}
DISCOURSE = {"however", "therefore", "also", "thus", "moreover", "furthermore", "accordingly", "additionally",
             "instead", "then", "so", "and", "but", "similarly", "likewise", "consequently", "finally", "again",
             "still", "otherwise", "generally", "usually", "normally", "typically", "overall", "importantly"}
FILLER = {"standard", "normal", "usual", "general", "typical", "current", "overall", "regular", "relevant",
          "specific", "particular", "certain", "various", "actual", "official", "usually", "normally", "generally",
          "typically", "currently", "also", "always", "just", "simply", "really", "very", "main", "own"}
VERB_SYNONYMS = {
    "purchase": "buy", "purchased": "bought", "purchases": "buys", "obtain": "get", "obtained": "got",
    "receive": "get", "receives": "get", "commence": "start", "commences": "starts", "begin": "start",
    "begins": "starts", "assist": "help", "request": "ask for", "requests": "asks for", "provide": "give",
    "provides": "gives", "provided": "given", "permitted": "allowed", "permit": "allow", "submit": "hand in",
    "submitted": "handed in", "require": "need", "requires": "needs", "utilise": "use", "utilize": "use",
    "performed": "carried out", "perform": "carry out", "examined": "studied", "investigated": "studied",
    "evaluate": "assess", "evaluated": "assessed", "booked": "reserved",
}
OTHER_SYNONYMS = {
    "employees": "staff members", "employee": "staff member", "colleagues": "staff members", "individuals": "people",
    "patients": "subjects", "participants": "subjects", "trip": "journey", "trips": "journeys",
    "additional": "extra", "approximately": "about", "regarding": "about",
}
"""Simple synonyms, one swap a question: verbs only where the word is a verb ("the permit" stays)."""
PEOPLE_NOUNS = {"colleague", "employee", "staff", "member", "patient", "people", "person", "starter", "user",
                "engineer", "manager", "student", "child", "adult", "visitor", "volunteer", "participant", "subject",
                "worker", "customer", "client", "contractor", "team", "department", "committee", "nurse", "doctor", "physician", "surgeon",
                "woman", "man", "parent", "teacher", "researcher", "officer", "director", "holder", "traveller"}
PLACE_HEADS = {"room", "office", "building", "floor", "site", "area", "space", "queue", "portal", "system", "channel",
               "app", "module", "store", "folder", "drive", "workspace", "kitchen", "park", "desk", "reception",
               "bay", "hall", "centre", "center", "city", "country", "hospital", "clinic", "department", "ward",
               "unit", "school", "lab", "laboratory", "website", "page", "intranet", "tool", "library", "shop",
               "warehouse", "car", "locker", "cabinet", "box", "basement", "garden", "yard", "street", "town"}
FRONTABLE = {"in", "at", "on", "during", "after", "before", "since", "until", "within", "for", "across", "throughout",
             "outside", "inside", "under", "from"}
"""Prepositions of adjunct phrases that can open a question ("At Kestrel Loom, how long ...")."""
WH_WORDS = {"what", "which", "who", "whom", "when", "where", "how"}


@dataclass(frozen=True)
class Style:
    """How to phrase one variant of a question."""

    wh: int = 0
    """Index into the answer's wh-phrases ("how long", "how many months", ...)."""
    front: bool = False
    """Move the trailing prepositional phrase to the front ("At Kestrel Loom, how long ...")."""
    plain: bool = False
    """Drop filler words (standard, usually, also ...)."""
    synonyms: bool = False
    """Swap some words for simple synonyms."""
    embedded: bool = False
    """Ask indirectly: "Do you know how long the probation period is?"."""
    short: bool = False
    """Leave out a trailing phrase that names nothing ("by default", "in the past")."""


STYLES = [Style(), Style(front=True), Style(wh=1), Style(plain=True), Style(wh=1, front=True),
          Style(synonyms=True), Style(plain=True, front=True), Style(synonyms=True, front=True),
          Style(wh=1, synonyms=True), Style(plain=True, synonyms=True, front=True), Style(short=True),
          Style(embedded=True, plain=True), Style(short=True, wh=1), Style(embedded=True, synonyms=True)]


ABBREVIATED_UNITS = {"h": "hours", "hr": "hours", "hrs": "hours", "min": "minutes", "mins": "minutes", "d": "days",
                     "wk": "weeks", "wks": "weeks", "mo": "months", "y": "years", "yr": "years", "yrs": "years",
                     "s": "seconds", "sec": "seconds"}


def _plural(unit: str) -> str:
    if unit.lower() in ABBREVIATED_UNITS:
        return ABBREVIATED_UNITS[unit.lower()]
    if len(unit) <= 3 or not any(c in "aeiou" for c in unit.lower()):
        return unit  # "mg", "kWh"
    parts = unit.split()
    last = parts[-1].lower()
    if last.endswith("s"):
        return unit
    parts[-1] = parts[-1][:-1] + "ies" if last.endswith("y") and last[-2:-1] not in "aeiou" else parts[-1] + "s"
    return " ".join(parts)


def wh_phrases(answer: Answer, doc, prep: str, role: str, copula: bool, tail=()) -> list[tuple[str, str]]:
    """(wh-phrase, stranded preposition) choices for an answer, the most natural first."""
    kind, p = answer.kind, prep.lower()
    if kind == "count" and answer.start > 0 and doc[answer.start - 1].lower_ == "every":
        unit = _plural(answer.unit)
        return [("how often", ""), (f"every how many {unit}", "")]
    if kind == "count":
        unit = answer.unit if doc[answer.head].tag_ in ("NNS", "NNPS") and answer.unit.lower() not in ABBREVIATED_UNITS \
            else _plural(answer.unit)
        many = f"how many {unit}"
        if _plural(answer.unit).lower().rstrip("s") in TIME_UNITS or answer.unit.lower().rstrip("s") in TIME_UNITS:
            if p in ("", "for") and (copula or role in ("npadvmod", "pobj")) and not tail:
                return [("how long", ""), (many, "")] if p == "" or copula else [("for how long", ""), (many, p)]
        return [(f"{p} {many}".strip(), ""), (many, p)] if p else [(many, ""), (f"what number of {unit}", "")]
    if kind == "money":
        return [("how much", p), (f"{p} what amount".strip(), "")] if p else [("how much", ""), ("what amount", "")]
    if kind == "percent":
        return [(f"{p} what percentage".strip(), ""), (f"{p} what share".strip(), "")]
    if kind in ("date", "year", "time"):
        noun = {"date": "date", "year": "year", "time": "time"}[kind]
        if doc[answer.start:answer.end].text.lower().rstrip("s") in WEEKDAYS:
            noun = "day"
        if p in ("on", "at", "in", "during", ""):
            first = f"on what {noun}" if noun in ("date", "day") else f"in what {noun}" if noun == "year" else f"at what {noun}"
            return [("when", ""), (first, "")]
        return [(f"{p} when", ""), (f"{p} what {noun}", "")]
    if kind == "person":
        if p:
            return [(f"{p} whom", ""), ("who", p)]
        return [("who", ""), ("which person", "")]
    if kind == "phrase" and doc[answer.head].lemma_.lower() in PEOPLE_NOUNS:
        group = "which team" if doc[answer.head].lemma_.lower() in ("team", "department", "committee") else \
            "which people" if doc[answer.head].tag_ == "NNS" else "which person"
        return [(f"{p} whom".strip(), ""), ("who", p)] if p else [("who", ""), (group, "")]
    if kind in ("name", "phrase"):
        place = kind == "name" or doc[answer.head].lemma_.lower() in PLACE_HEADS
        if p in ("in", "at", "on", "inside", "into") and place:
            return [("where", ""), ("what", p)]
        if p in ("in", "at", "on", "inside", "into"):
            return [("what", p), (f"{p} what", "")]
        if p == "from":
            return [("where", "from"), ("from what", "")]
        if p == "by":
            return [("who", "by"), ("by whom", "")]
        if p:
            return [("what", p), (f"{p} what", "")]
        return [("what", ""), ("what exactly", "")]
    if kind == "number" and role != "attr":
        return []  # a bare number is only clear as the value of something ("the average age was 24.9")
    if kind in ("code", "number"):
        if role not in ("attr", "dobj", "pobj", "nsubj", "nsubjpass"):
            return []
        return [(f"{p} what".strip(), ""), ("what", p)] if p else [("what", ""), ("what exactly", "")]
    return []


_YEAR_LIKE = re.compile(r"^1[5-9]\d{2}$|^20\d{2}$")


class _Lowered:
    """A token shown in lower case (the first word of a sentence moved inside a question)."""

    def __init__(self, tok):
        self.tok, self.text = tok, tok.text.lower()

    def __getattr__(self, name):
        return getattr(self.tok, name)


def _render(tokens) -> str:
    """Tokens back to text: original spacing between neighbours, one space elsewhere."""
    out = []
    for i, tok in enumerate(tokens):
        if isinstance(tok, str):
            out.append(tok + " ")
            continue
        nxt = tokens[i + 1] if i + 1 < len(tokens) else None
        glued = nxt is not None and not isinstance(nxt, str) and nxt.i == tok.i + 1
        if tok.text in (",", "–", "—") and not glued:
            out.append(" ")
            continue  # a comma or dash left behind by removed material
        out.append(tok.text + (tok.whitespace_ if glued else " "))
    text = " ".join("".join(out).split())
    for a, b in ((" ,", ","), (" '", "'"), (" ’", "’"), ("( ", "("), (" )", ")"), (" n't", "n't"), (" %", "%"),
                 (" :", ":"), (" ;", ";"), (",,", ",")):
        text = text.replace(a, b)
    return text.strip(" ,;:-–—")


def _lower_first(tokens) -> list:
    """Lower-case the first token unless it is a name, an acronym or "I"."""
    if tokens and not isinstance(tokens[0], str):
        t = tokens[0]
        nxt = t.doc[t.i + 1] if t.i + 1 < len(t.doc) else None
        name = nxt is not None and nxt.text[:1].isupper() and nxt.pos_ == "PROPN"  # "People Operations"
        positional = t.i == t.sent.start and t.pos_ != "PROPN" and t.ent_type_ in ("", "DATE", "CARDINAL", "ORDINAL",
                                                                                   "QUANTITY") and not name
        acronym = sum(c.isupper() for c in t.text) >= 2  # "DVDs", "EUR"
        if not acronym and not (name and t.pos_ in ("NOUN", "ADJ", "PROPN")) and (positional or t.pos_ in ("DET", "ADP", "ADV", "PRON", "AUX", "CCONJ", "SCONJ", "NUM", "PART") or (
                t.pos_ in ("NOUN", "ADJ", "VERB") and not t.ent_type_)):
            return [_Lowered(t)] + list(tokens[1:])
    return list(tokens)


def _subtree(tok) -> range:
    return range(tok.left_edge.i, tok.right_edge.i + 1)


@dataclass
class Frame:
    """A sentence taken apart for one answer: what is asked about, and the clause around it."""

    answer: Answer
    wh: list[tuple[str, str]]
    tail: list
    """Tokens after the answer that belong in the wh-phrase ("of annual leave")."""
    subject: list
    inverted: str
    """The auxiliary that goes before the subject; "" for a question about the subject."""
    verb: list
    """The clause after the subject (verb group and the rest), in order, answer phrase removed."""
    declarative_verb: list
    """The same without inversion, for indirect questions."""
    moved: list
    """Material from before the subject ("Between 1995 and 1998,"), asked at the end."""


def _clause_ok(sent) -> bool:
    n = sum(1 for t in sent if not t.is_punct)
    if ", not " in sent.text or "|" in sent.text or any(t.text == ":" for t in sent):
        return False
    if sent.text.count("(") != sent.text.count(")") or sent.text.count("[") != sent.text.count("]"):
        return False  # cut inside a parenthesis  # contrasts ("on your keyring, not in your bag"), table rows, clauses joined by a colon
    if not sent.text.rstrip(" \"')”’").endswith((".", "!", ";")):
        return False  # cut off by the chunk boundary, a heading, or a list item continuing an earlier sentence
    return 4 <= n <= 45 and sent.root.pos_ in ("VERB", "AUX") and not sent.text.rstrip().endswith("?")


def _clause_root(tok):
    """The verb of the clause holding `tok`: the sentence's, or a coordinated clause's with its own subject."""
    while tok.dep_ != "ROOT":
        if tok.dep_ == "conj" and tok.pos_ in ("VERB", "AUX") and any(c.dep_ in SUBJECTS for c in tok.children):
            return tok
        tok = tok.head
    return tok


def frame(whole, answer: Answer) -> Frame | None:
    """Take sentence `whole` apart around `answer`, or None when it cannot be asked about."""
    if not _clause_ok(whole):
        return None
    doc = whole.doc
    span = doc[answer.start:answer.end]
    named = answer.kind == "code" and answer.unit  # "the SR-2 Software Request form": ask "which form"
    head = doc[answer.head] if named else span.root
    of_money = head.dep_ == "pobj" and head.head.lower_ == "of" and answer.kind == "money" and not named
    if of_money:  # "a learning budget of £1,200": ask "how large a learning budget"
        head = head.head.head
    root = _clause_root(head)
    # "The loan period is three weeks, and DVDs must be returned within 7 days": ask within the clause.
    sent = whole if root == whole.root else doc[root.left_edge.i:root.right_edge.i + 1]
    chain = {root} | {t for t in root.subtree if t.dep_ in ("xcomp", "acomp") and t.head.i in {root.i} | {
        c.i for c in root.subtree if c.dep_ == "xcomp"}}
    subj = next((c for c in root.children if c.dep_ in SUBJECTS), None)
    imperative = subj is None and root.tag_ == "VB" and all(t.dep_ in ("advmod", "punct", "neg") or t.is_punct
                                                          for t in doc[sent.start:root.i])
    if subj is None and not imperative:
        return None
    if subj is not None and subj.pos_ == "PRON" and subj.lower_ not in ("you", "we", "there"):
        return None
    if root.i in range(answer.start, answer.end):
        return None
    prep, role = "", head.dep_
    if head.dep_ == "npadvmod" and head.head.dep_ in ("prep", "advmod") and head.head.head in chain \
            and answer.kind == "count":
        top = head.head  # "sits 410 metres above sea level" -> "how many metres above sea level"
    elif head.dep_ == "pobj" and head.head.dep_ in ("prep", "agent", "dative"):
        top = head.head
        prep = "by" if top.dep_ == "agent" else top.text
        if top.head not in chain:
            return None
        if sum(1 for c in top.head.children if c.dep_ == "prep" and c.lower_ == top.lower_) > 1:
            return None  # "associated with PSV, with WG, with MPA": one of a list
    elif head.dep_ in SUBJECTS and head.head == root:
        top = head
    elif head.dep_ in OBJECTS and head.head in chain:
        top = head
    else:
        return None
    phrase = _subtree(top)
    if any(t.dep_ == "conj" and (t.head.i in range(answer.start, answer.end) or t.head == top) and not in_parentheses(t)
           for t in doc[phrase.start:phrase.stop]) or head.dep_ == "conj":
        return None  # one item of a list is not "the" answer
    nxt = doc[answer.end:answer.end + 2]
    if answer.kind in ("phrase", "name", "code") and len(nxt) and (nxt[0].lower_ in ("and", "or") or nxt[0].text == "," and len(
            nxt) > 1 and nxt[1].pos_ in ("NOUN", "ADJ", "PROPN", "DET")):
        return None  # the first item of a list ("safety boots, hi-vis vest and ear defenders")
    if answer.kind in ("phrase", "name") and any(t.lower_ == "than" for t in sent):
        return None  # comparisons ("greater during NNSP than during NNAP") make a "what" question ambiguous
    if answer.kind == "name" and len(nxt) and nxt[0].text[:1].isupper() and nxt[0].is_alpha:
        return None  # the name goes on ("Threading In days") and the parse cut it
    before = [t for t in doc[phrase.start:answer.start] if t.i != top.i or not prep]
    if of_money:  # the noun and its modifiers go into the wh-phrase: "how large a gym subsidy"
        words_ = [t for t in before if t.i != head.i + 1 and t.dep_ != "det" and t.i <= head.i]
        if head.tag_ != "NN" or any(t.dep_ not in ("compound", "amod") for t in words_ if t.i != head.i) or \
                any(t.lower_ not in QUALIFIERS for t in before if t.i > head.i + 1):
            return None
        money_noun = " ".join(t.text for t in words_)
        before = []
    if any(t.lower_ not in QUALIFIERS and t.dep_ not in ("det", "compound", "poss", "amod") for t in before):
        return None
    compound = [t for t in before if t.dep_ == "compound" and t.pos_ in ("NOUN", "PROPN")]
    appos = {t.i for c in doc[phrase.start:phrase.stop] if c.dep_ == "appos" or c.dep_ == "relcl" and c.left_edge.i > 0
             and doc[c.left_edge.i - 1].text == "," for t in c.subtree}  # asides: ", Finance Director", ", which ..."
    tail_start = answer.head + 1 if named else answer.end
    tail = [t for t in doc[tail_start:phrase.stop] if (not t.is_punct or t.text in ("-", "/")) and t.i not in appos]
    cut = next((k for k, t in enumerate(tail) if t.dep_ in ("cc", "conj")), len(tail))
    tail = tail[:cut]  # "days of annual leave plus public holidays" -> "days of annual leave"
    if len(tail) > 6 or any(t.dep_ in ("relcl", "acl") or t.like_num for t in tail):
        return None  # a clause or a second number ("as compared with 44 patients") in the tail
    if tail and answer.kind not in ("count", "percent", "money", "code", "number"):
        return None  # "fixed-term contracts of less than twelve months": the tail cannot move without the answer
    after: list = []
    copula = root.lemma_ == "be" and not any(c.dep_ in ("aux", "auxpass") for c in root.children)
    if copula and prep and any(c.dep_ == "attr" for c in root.children) and answer.kind in ("phrase", "name"):
        return None  # "What is the standard method Microsoft Authenticator with?"
    wh = wh_phrases(answer, doc, prep, role if not prep else "pobj", copula, tail)
    if of_money:
        wh = [(f"{prep} how large a {money_noun}".strip(), ""), (f"{prep} what size of {money_noun}".strip(), "")]
    if (compound and answer.kind in ("code", "number", "name") or named) and wh:
        noun = answer.unit if named else " ".join(t.text for t in compound)
        wh = [(f"{prep} which {noun}".strip(), ""), (f"which {noun}", prep)] if prep else [(f"which {noun}", ""),
                                                                                          (f"what {noun}", "")]
    if copula and subj is not None and subj.lemma_.lower() in ("age", "date", "day", "time", "year", "month", "deadline"):
        wh = [("what", ""), ("what exactly", "")]  # "What was the mean age?", not "How long was the mean age?"
    if not wh:
        return None
    # Absorb a measure word: "14 characters long" -> "how many characters long".
    if answer.kind == "count" and phrase.stop < sent.end and doc[phrase.stop].lower_ in MEASURE_WORDS:
        tail.append(doc[phrase.stop])
        phrase = range(phrase.start, phrase.stop + 1)

    drop = set(phrase)
    for c in root.children:  # coordinated clauses and trailing discourse belong to another question
        if c.dep_ in ("conj", "cc") and c.i > root.i or c.dep_ == "parataxis":
            drop.update(_subtree(c))
    depth = 0
    dash_open, aside = False, set()
    for t in sent:  # parentheses and dashes: asides, statistics and abbreviations
        if t.text in ("(", "["):
            depth += 1
        elif t.text in ("–", "—"):
            dash_open = not dash_open
            aside.add(t.i)
        if depth or dash_open:
            aside.add(t.i)
        if t.text in (")", "]"):
            depth = max(0, depth - 1)
    if any(i in aside for i in range(answer.start, answer.end)):
        return None
    drop |= aside
    subject_range = _subtree(subj) if subj is not None else range(0)
    start = sent.start
    while start < sent.end and (doc[start].is_punct or doc[start].lower_ in DISCOURSE and doc[start].dep_ in (
            "advmod", "cc", "prep", "pobj", "mark")):
        drop.add(start)
        start += 1
    if doc[start:start + 2].text.lower() == "in addition":
        drop.update((start, start + 1))
        start += 2
    moved = [t for t in doc[start:(subject_range.start if subj is not None else root.i)]
             if t.i not in drop and not t.is_punct]
    if any(t.dep_ == "mark" or t.tag_ in ("WDT", "WP", "WRB") for t in moved):
        return None  # a subordinate clause in front ("If you ...,") does not survive being moved
    if moved and moved[0].pos_ not in ("ADP", "ADV", "SCONJ"):
        return None  # only adverbials move to the end ("Between 2000 and 2009,"), not a stray noun
    drop.update(t.i for t in moved)
    subject_tokens = [t for t in doc[subject_range.start:subject_range.stop] if t.i not in drop] if subj is not None else []

    if top.dep_ in SUBJECTS:  # a question about the subject keeps statement word order
        if root.lemma_ == "be" and (answer.kind == "phrase" or any(
                c.dep_ == "attr" and any(d.lower_ in ("a", "an") for d in c.children) for c in root.children)):
            return None  # "X is a private company" does not single X out; "what is <attr>" reverses the fact
        if after:
            return None  # "What is added ... from Anselm Turnbull?" loses what the tail belonged to
        verb = [t for t in doc[subject_range.stop:sent.end] if t.i not in drop and not (t.is_punct and t.i == sent.end - 1)]
        if root not in verb:
            return None  # a misparse: the clause lost its verb
        return _checked(Frame(answer, wh, tail, [], "", verb, verb, moved + after))

    auxes = [c for c in root.children if c.dep_ in ("aux", "auxpass") and c.i < root.i]
    rest = [t for t in doc[(subject_range.stop if subj is not None else root.i):sent.end]
            if t.i not in drop and not (t.is_punct and t.i == sent.end - 1)]
    if imperative:
        rest = _lower_first(rest)
        inverted, verb = "should", rest
        subject_tokens = ["you"]
    elif auxes:
        inverted = auxes[0].text.lower()
        verb = [t for t in rest if t.i != auxes[0].i]
    elif copula:
        inverted = root.text.lower()
        verb = [t for t in rest if t.i != root.i]
    else:
        inverted = {"VBZ": "does", "VBP": "do", "VBD": "did"}.get(root.tag_, "")
        if not inverted or root.lemma_ in ("be", "have") and root.pos_ == "AUX":
            return None
        verb = [root.lemma_ if t.i == root.i else t for t in rest]
    if root not in rest and not copula:
        return None
    return _checked(Frame(answer, wh, tail, subject_tokens, inverted, verb, rest, after + moved))


def _vague(t) -> bool:
    if isinstance(t, str):
        return False
    w = t.lower_
    return w in VAGUE or w == "such" or w in ("above", "below") and t.dep_ != "prep" or w in VAGUE_DET and (
        t.dep_ == "det" or t.pos_ == "PRON" and w != "that")


def _checked(fr: Frame) -> Frame | None:
    """None when a pronoun or "this ..." would leave the question without its referent, or a clause is left over.

    Possessives after the subject ("new starters ... their team") usually point back into the sentence.
    """
    early = fr.tail + fr.subject
    late = [t for t in fr.verb + fr.moved if isinstance(t, str) or t.tag_ != "PRP$"]
    named = [t for t in fr.subject if not isinstance(t, str) and t.dep_ in SUBJECTS and t.pos_ in ("NOUN", "PROPN")]
    if named or not fr.inverted:
        late = []  # after a named subject, pronouns point back into the sentence ("report an incident ... of noticing it")
    if any(_vague(t) for t in early + late):
        return None
    real = [t for t in fr.verb + fr.moved if not isinstance(t, str)]
    if any(t.like_num and t.dep_ == "pobj" and not _YEAR_LIKE.match(t.text) for t in real):
        return None  # "included transitory DI in 13": a bare count left without its noun
    if any(t.dep_ in SUBJECTS and (t.head.dep_ in ("ROOT", "conj")) for t in real):
        return None  # a second clause survived ("... and Lisbon employees claim in EUR")
    if real and (real[-1].pos_ in ("ADP", "SCONJ", "CCONJ", "DET") and real[-1].dep_ != "prt" or real[-1].dep_ == "neg"):
        return None  # the clause ends in mid-air ("What picks up after?")
    return fr


def _apply(tokens: list, style: Style, used: dict) -> list:
    out = []
    for t in tokens:
        text = t if isinstance(t, str) else t.text
        if style.plain and text.lower() in FILLER and (isinstance(t, str) or t.dep_ in ("amod", "advmod")):
            continue
        real = not isinstance(t, str)
        table = VERB_SYNONYMS if real and t.pos_ in ("VERB", "AUX") else OTHER_SYNONYMS if real else {}
        if style.synonyms and text.lower() in table and not used.get("done") and t.pos_ != "PROPN" \
                and t.dep_ != "compound":
            swap = table[text.lower()]
            out.append(swap.capitalize() if text[:1].isupper() else swap)
            used["done"] = True  # one swap a question: more drifts from the text
            continue
        out.append(t)
    return out


def _trailing_pp(tokens: list) -> int | None:
    """Index in `tokens` where a final prepositional phrase starts (its whole subtree at the end)."""
    real = [(k, t) for k, t in enumerate(tokens) if not isinstance(t, str)]
    for k, t in real:
        if t.dep_ == "prep" and t.lower_ in FRONTABLE and not any(x.dep_ in ("conj", "cc") for x in t.subtree) and (t.head.dep_ in ("ROOT", "xcomp") or t.head.dep_ in SUBJECTS) \
                and any(c.dep_ == "pobj" and c.pos_ in ("NOUN", "PROPN") and not c.like_num
                        and not any(d.lower_ in ("a", "an") for d in c.children)  # "at a time" is an idiom
                        and c.lower_.rstrip("s") not in WEEKDAYS | MONTHS for c in t.children):
            rest = tokens[k:]
            if all(not isinstance(x, str) and x.i in _subtree(t) for x in rest) and len(rest) >= 2:
                return k
    return None


def phrase(fr: Frame, style: Style) -> str | None:
    """One question from a frame in the given style, or None when the style does not apply."""
    if style.wh >= len(fr.wh):
        return None
    wh, strand = fr.wh[style.wh]
    if strand and fr.tail:
        return None  # "How many days of the event ... within?" strands too far
    used: dict = {}
    tail = _apply(fr.tail, style, used)
    subject = _apply(_lower_first(fr.subject), style, used)
    verb = _apply(fr.declarative_verb if style.embedded else fr.verb, style, used)
    moved = _apply(_lower_first(fr.moved), style, used)
    if style.embedded and not fr.inverted:
        clause = tail + verb
    elif style.embedded:
        clause = tail + subject + verb
    else:
        clause = tail + ([fr.inverted] if fr.inverted else []) + subject + verb
    body = clause + ([strand] if strand else []) + moved
    if style.short:
        k = _trailing_pp(body)
        if k is None or k <= len(tail) + 1 or any(not isinstance(t, str) and (t.pos_ == "PROPN" or t.like_num)
                                                  for t in body[k:]):
            return None  # names and numbers in the phrase are context the question needs
        body = body[:k]
    front = []
    if style.front:
        k = _trailing_pp(body)
        if k is None or k <= len(tail) + 1:
            return None
        front, body = body[k:], body[:k]
    text = _render(body)
    lead = f"{_render(front)}, " if front else ""
    if style.embedded:
        question = f"Do you know {lead}{wh} {text}?"
    else:
        question = f"{lead}{wh} {text}?"
    question = question[0].upper() + question[1:]
    return question if _good(question, fr) else None


def _good(question: str, fr: Frame) -> bool:
    w = words(question)
    if not 4 <= len(w) <= 32:
        return False
    content = [x for x in w if x not in WH_WORDS and len(x) > 2 and x not in (
        "does", "did", "the", "and", "are", "was", "were", "should", "you", "many", "exactly", "know", "much")]
    return len(content) >= (2 if fr.inverted else 3)  # "What was strongly expressed?" says too little


def answer_leaks(question: str, answer: str) -> bool:
    """Whether the question gives its own answer away."""
    return normalise(answer) in normalise(question)
