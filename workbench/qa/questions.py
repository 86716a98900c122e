"""Take a parsed sentence apart around an answer span: the Frame from which questions are phrased.

The phrase holding the answer is replaced by a wh-phrase chosen by the answer's kind ("how many days",
"by what date", "to whom") and moved to the front; the subject and the first auxiliary swap places (with
"do"-support when there is none). A sentence is refused (None) when the answer sits where English cannot
ask about it (inside a relative clause, nested in a noun phrase), when a pronoun would leave the question
ambiguous, or when the result would be too short or too long to be a good question.
"""

from __future__ import annotations

from dataclasses import dataclass

from .answers import Answer, in_parentheses, phone_number
from .answers import TIME_UNITS
from .wording import (DISCOURSE, MEASURE_WORDS, OBJECTS, QUALIFIERS, QUANTITY_NOUNS, SUBJECTS, VAGUE, VAGUE_DET,
                      YEAR_LIKE, lower_first, plural_noun, subtree, wh_phrases)


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
    names: frozenset = frozenset()
    """Words the corpus capitalises mid-sentence: kept capitalised when they open a clause."""


def gap(sent) -> int | None:
    """Where a second clause with its verb left out begins (its "and"), or None: "Boarding closes 5 minutes before
    departure for foot passengers and 15 minutes before departure for vehicles", "Members pay £10 a year and
    students £5 a year". The parse hangs the second clause's words on the first verb, so a question about it, or
    one that takes in its words, mixes the two clauses."""
    root = sent.root
    cc = next((c for c in root.children if c.dep_ == "cc"), None)
    if cc is None or any(c.dep_ == "conj" and c.pos_ in ("VERB", "AUX") for c in root.children):
        return None
    values = [t for t in sent if t.like_num and t.dep_ != "conj"]  # a list ("between 6 and 9") counts once
    return cc.i if any(t.i < cc.i for t in values) and any(t.i > cc.i for t in values) else None


def _clause_ok(sent) -> bool:
    """Whether a sentence is a whole statement worth asking about."""
    n = sum(1 for t in sent if not t.is_punct)
    if ", not " in sent.text or "|" in sent.text or any(t.text == ":" for t in sent):
        return False  # contrasts ("on your keyring, not in your bag"), table rows, clauses joined by a colon
    if sent.text.count("(") != sent.text.count(")") or sent.text.count("[") != sent.text.count("]"):
        return False  # cut inside a parenthesis
    if not sent.text.rstrip(" \"')”’").endswith((".", "!", ";")):
        return False  # cut off by the chunk boundary, a heading, or a list item continuing an earlier sentence
    return 4 <= n <= 45 and sent.root.pos_ in ("VERB", "AUX") and not sent.text.rstrip().endswith("?")


def _subject(verb):
    return next((c for c in verb.children if c.dep_ in SUBJECTS), None)


def _borrows_subject(verb) -> bool:
    """Whether a coordinated verb without a subject of its own shares the sentence verb's ("Links expire ... and
    can be extended"). A verb whose form says another subject does not: "exceeds" is not said of "Marram Queen and
    Sandwort" (a parse that joins "... must not sail when ... or the wave height exceeds 2.5 metres" to "sail")."""
    subj = _subject(verb.head) if verb.dep_ == "conj" and verb.head.dep_ == "ROOT" else None
    if subj is None:
        return False
    return not ((plural_noun(subj) or subj.lower_ in ("we", "they")) and verb.tag_ == "VBZ")


def clause_root(tok):
    """The verb of the clause holding `tok`: the sentence's, or a coordinated one ("... and can be extended")."""
    while tok.dep_ != "ROOT":
        if tok.dep_ == "conj" and tok.pos_ in ("VERB", "AUX") and (_subject(tok) or _borrows_subject(tok)):
            return tok
        tok = tok.head
    return tok


def verb_chain(root, deps: tuple[str, ...] = ("xcomp", "acomp")) -> set:
    """The clause's verb and the `deps` it governs, directly or through an xcomp ("are required to complete"):
    the words an asked-about phrase may attach to."""
    xcomps = {root.i} | {c.i for c in root.subtree if c.dep_ == "xcomp"}
    return {root} | {t for t in root.subtree if t.dep_ in deps and t.head.i in xcomps}


@dataclass
class _Clause:
    """The clause an answer sits in: its verb, subject and the span asked within."""

    sent: object
    root: object
    chain: set
    """The root and the xcomp/acomp verbs it governs: where an asked-about phrase may attach."""
    subj: object
    borrowed: bool
    """The subject belongs to the first of two coordinated verbs ("Links expire ... and can be extended")."""
    imperative: bool


def _measured_head(doc, answer: Answer, named: bool):
    """(head token asked about, of_money, measure): "a maximum of 90 days" asks about "maximum", "a learning
    budget of £1,200" about "budget" ("how large a"), "a break of 15 minutes" about "break" ("how long a")."""
    head = doc[answer.head] if named else doc[answer.start:answer.end].root
    of_money = head.dep_ == "pobj" and head.head.lower_ == "of" and answer.kind in ("money", "count") and not named \
        and head.head.head.pos_ == "NOUN"
    if of_money and head.head.head.lower_ in QUANTITY_NOUNS:
        return head.head.head, False, ""
    if of_money and answer.kind == "money":
        return head.head.head, True, "how large a"
    if of_money and answer.unit.lower().rstrip("s") in TIME_UNITS:
        return head.head.head, True, "how long a"
    return head, False, ""


def _clause_of(whole, head) -> _Clause | None:
    """The clause holding `head`, or None when it has no usable subject (nor is an imperative)."""
    doc = whole.doc
    root = clause_root(head)
    # "The loan period is three weeks, and DVDs must be returned within 7 days": ask within the clause.
    sent = whole if root == whole.root else doc[root.left_edge.i:root.right_edge.i + 1]
    chain = verb_chain(root)
    subj = _subject(root)
    borrowed = subj is None and _borrows_subject(root)
    if borrowed:
        subj = _subject(root.head)
    imperative = subj is None and root.tag_ == "VB" and all(t.dep_ in ("advmod", "punct", "neg") or t.is_punct
                                                          for t in doc[sent.start:root.i])
    if subj is None and not imperative:
        return None
    if subj is not None and subj.pos_ == "PRON" and subj.lower_ not in ("you", "we", "there"):
        return None
    return _Clause(sent, root, chain, subj, borrowed, imperative)


def _asked_phrase(head, answer: Answer, root, chain: set):
    """(top token of the phrase replaced by the wh-phrase, stranded preposition, role), or None."""
    prep, role = "", head.dep_
    if head.dep_ == "npadvmod" and head.head.dep_ in ("prep", "advmod") and head.head.head in chain \
            and answer.kind == "count":
        return head.head, prep, role  # "sits 410 metres above sea level" -> "how many metres above sea level"
    if head.dep_ == "pobj" and head.head.dep_ in ("prep", "agent", "dative"):
        top = head.head
        if top.head not in chain:
            return None
        if sum(1 for c in top.head.children if c.dep_ == "prep" and c.lower_ == top.lower_) > 1:
            return None  # "associated with PSV, with WG, with MPA": one of a list
        return top, "by" if top.dep_ == "agent" else top.text, role
    if head.dep_ in SUBJECTS and head.head == root:
        return head, prep, role
    if head.dep_ in OBJECTS and head.head in chain:
        return head, prep, role
    return None


def _listed_or_cut(doc, answer: Answer, head, top, phrase: range, sent) -> bool:
    """The answer is one item of a list, part of a comparison, or a name the parse cut short."""
    if any(t.dep_ == "conj" and (t.head.i in range(answer.start, answer.end) or t.head == top) and not in_parentheses(t)
           for t in doc[phrase.start:phrase.stop]) or head.dep_ == "conj":
        return True  # one item of a list is not "the" answer
    nxt = doc[answer.end:answer.end + 2]
    listed = len(nxt) and (nxt[0].lower_ in ("and", "or") or nxt[0].text == "," and len(nxt) > 1
                           and nxt[1].pos_ in ("NOUN", "ADJ", "PROPN", "DET"))
    if answer.kind in ("phrase", "name", "code") and listed and not answer.name_span:
        return True  # the first item of a list ("safety boots, hi-vis vest and ear defenders"), not its name's comma
    if answer.kind in ("phrase", "name") and any(t.lower_ == "than" for t in sent):
        return True  # comparisons ("greater during NNSP than during NNAP") make a "what" question ambiguous
    return answer.kind == "name" and bool(len(nxt)) and nxt[0].text[:1].isupper() and nxt[0].is_alpha


def _tail(doc, answer: Answer, named: bool, phrase: range) -> tuple[Answer, list] | None:
    """Tokens after the answer that go into the wh-phrase ("days of annual leave"), the answer grown by an
    "of" phrase it cannot leave ("the Payslips section of Loomdesk"); None when the tail cannot move."""
    appos = {t.i for c in doc[phrase.start:phrase.stop] if c.dep_ == "appos" or c.dep_ == "relcl" and c.left_edge.i > 0
             and doc[c.left_edge.i - 1].text == "," for t in c.subtree}  # asides: ", Finance Director", ", which ..."
    tail_start = answer.head + 1 if named else answer.end
    tail = [t for t in doc[tail_start:phrase.stop] if (not t.is_punct or t.text in ("-", "/")) and t.i not in appos]
    cut = next((k for k, t in enumerate(tail) if t.dep_ in ("cc", "conj")), len(tail))
    tail = tail[:cut]  # "days of annual leave plus public holidays" -> "days of annual leave"
    if len(tail) > 6 or any(t.dep_ in ("relcl", "acl") or t.like_num for t in tail):
        return None  # a clause or a second number ("as compared with 44 patients") in the tail
    if tail and answer.kind == "code" and phone_number(answer.text(doc)):
        return None  # "on what number at any time": a phone number takes no phrase with it
    if tail and tail[0].dep_ == "amod":
        return None  # an adjective after its noun ("costs 32 pounds single"): "How much single ...?" is not English
    if tail and answer.kind in ("phrase", "name") and not answer.name_span and tail[0].lower_ == "of" and \
            len(tail) <= 4 and answer.end - answer.start + len(tail) <= 6 and tail[-1].i == phrase.stop - 1:
        return Answer(answer.start, tail[-1].i + 1, answer.head, answer.kind), []
    if tail and answer.kind not in ("count", "percent", "money", "code", "number"):
        return None  # "fixed-term contracts of less than twelve months": the tail cannot move without the answer
    return answer, tail


def _wh(doc, answer: Answer, head, prep: str, role: str, copula: bool, tail: list, subj, before: list,
        of_money: bool, measure: str, named: bool) -> list[tuple[str, str]] | None:
    """The wh-phrase choices for the answer, or None when its modifiers cannot go into one."""
    if of_money:  # the noun and its modifiers go into the wh-phrase: "how large a gym subsidy"
        words_ = [t for t in before if t.i != head.i + 1 and t.dep_ != "det" and t.i <= head.i]
        if head.tag_ != "NN" or any(t.dep_ not in ("compound", "amod") for t in words_ if t.i != head.i) or \
                any(t.lower_ not in QUALIFIERS for t in before if t.i > head.i + 1):
            return None
        money_noun = " ".join(t.text for t in words_)
        size = "what size of" if answer.kind == "money" else "what length of"
        wh = [(f"{prep} {measure} {money_noun}".strip(), ""), (f"{prep} {size} {money_noun}".strip(), "")]
        compound = []
    elif not answer.name_span and any(t.lower_ not in QUALIFIERS and t.dep_ not in ("det", "compound", "poss", "amod")
                                      or t.lower_ in VAGUE for t in before):
        return None  # "our university hospital": whose? (A name answers it: "the university's contractor, Hallam")
    else:
        wh = wh_phrases(answer, doc, prep, role if not prep else "pobj", copula, tail)
        compound = [t for t in before if t.dep_ == "compound" and t.pos_ in ("NOUN", "PROPN")]
    if compound and answer.kind == "name" and not doc[answer.start].text[:1].isupper():
        return None  # "the rig bay": a noun the tagger took for a name, not "which rig" -> "bay"
    if (compound and answer.kind in ("code", "number", "name") or named) and wh:
        noun = answer.unit if named else " ".join(t.text for t in compound)
        wh = [(f"{prep} which {noun}".strip(), ""), (f"which {noun}", prep)] if prep else [(f"which {noun}", ""),
                                                                                          (f"what {noun}", "")]
    if copula and subj is not None and subj.lemma_.lower() in ("age", "date", "day", "time", "year", "month",
                                                               "deadline"):
        wh = [("what", ""), ("what exactly", "")]  # "What was the mean age?", not "How long was the mean age?"
    return wh or None


def asides(sent) -> set[int]:
    """Tokens in parentheses, brackets or between dashes: asides, statistics and abbreviations."""
    depth, dash_open, aside = 0, False, set()
    for t in sent:
        if t.text in ("(", "["):
            depth += 1
        elif t.text in ("–", "—"):
            dash_open = not dash_open
            aside.add(t.i)
        if depth or dash_open:
            aside.add(t.i)
        if t.text in (")", "]"):
            depth = max(0, depth - 1)
    return aside


def closing_comment(sent, root) -> set[int]:
    """A remark on the whole clause after its last comma (", a condition of the premises licence."): the comma and
    the remark, which belong to no question about the clause."""
    doc = sent.doc
    for c in root.children:
        first = c.left_edge
        if c.i > root.i and first.lower_ in ("a", "an") and first.i > sent.start and doc[first.i - 1].text == "," \
                and c.right_edge.i >= sent.end - 2:
            return set(range(first.i - 1, c.right_edge.i + 1))
    return set()


def _opening(doc, sent, drop: set) -> int:
    """Where the clause starts once opening discourse words ("However,", "In addition") are dropped."""
    start = sent.start
    while start < sent.end and (doc[start].is_punct or doc[start].lower_ in DISCOURSE and doc[start].dep_ in (
            "advmod", "cc", "prep", "pobj", "mark")):
        drop.add(start)
        start += 1
    if doc[start:start + 2].text.lower() == "in addition":
        drop.update((start, start + 1))
        start += 2
    return start


def _assemble(doc, answer: Answer, wh, tail: list, top, cl: _Clause, copula: bool, drop: set, moved: list,
              subject_range: range, names: frozenset) -> Frame | None:
    """The frame: statement word order for a question about the subject, else the auxiliary before the subject."""
    root, sent, subj = cl.root, cl.sent, cl.subj
    subject_tokens = [t for t in doc[subject_range.start:subject_range.stop] if t.i not in drop] if subj is not None \
        else []
    if top.dep_ in SUBJECTS:
        if root.lemma_ == "be" and (answer.kind == "phrase" or any(
                c.dep_ == "attr" and any(d.lower_ in ("a", "an") for d in c.children) for c in root.children)):
            return None  # "X is a private company" does not single X out; "what is <attr>" reverses the fact
        verb = [t for t in doc[subject_range.stop:sent.end]
                if t.i not in drop and not (t.is_punct and t.i == sent.end - 1)]
        if root not in verb:
            return None  # a misparse: the clause lost its verb
        return _checked(Frame(answer, wh, tail, [], "", verb, verb, moved, names))
    auxes = [c for c in root.children if c.dep_ in ("aux", "auxpass") and c.i < root.i]
    clause_start = sent.start if cl.borrowed else subject_range.stop if subj is not None else root.i
    rest = [t for t in doc[clause_start:sent.end] if t.i not in drop and not (t.is_punct and t.i == sent.end - 1)]
    if cl.imperative:
        rest = lower_first(rest, names)
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
    return _checked(Frame(answer, wh, tail, subject_tokens, inverted, verb, rest, moved, names))


def frame(whole, answer: Answer, names: frozenset = frozenset()) -> Frame | None:
    """Take sentence `whole` apart around `answer`, or None when it cannot be asked about."""
    if not _clause_ok(whole):
        return None
    doc = whole.doc
    named = bool(answer.kind == "code" and answer.unit)  # "the SR-2 Software Request form": ask "which form"
    head, of_money, measure = _measured_head(doc, answer, named)
    cl = _clause_of(whole, head)
    if cl is None or cl.root.i in range(answer.start, answer.end):
        return None
    asked = _asked_phrase(head, answer, cl.root, cl.chain)
    if asked is None:
        return None
    top, prep, role = asked
    phrase = subtree(top)
    if _listed_or_cut(doc, answer, head, top, phrase, cl.sent):
        return None
    before = [t for t in doc[phrase.start:answer.start] if t.i != top.i or not prep]
    grown = _tail(doc, answer, named, phrase)
    if grown is None:
        return None
    answer, tail = grown
    copula = cl.root.lemma_ == "be" and not any(c.dep_ in ("aux", "auxpass") for c in cl.root.children)
    if copula and prep and any(c.dep_ == "attr" for c in cl.root.children) and answer.kind in ("phrase", "name"):
        return None  # "What is the standard method Microsoft Authenticator with?"
    wh = _wh(doc, answer, head, prep, role, copula, tail, cl.subj, before, of_money, measure, named)
    if wh is None:
        return None
    # Absorb a measure word: "14 characters long" -> "how many characters long".
    if answer.kind == "count" and phrase.stop < cl.sent.end and doc[phrase.stop].lower_ in MEASURE_WORDS:
        if doc[phrase.stop].lower_ == "old" and answer.unit.lower() in ("year", "years") and not tail:
            wh = [("how old", "")]  # an age: "at least 14 years old" -> "How old must volunteers be?"
        else:
            tail.append(doc[phrase.stop])
        phrase = range(phrase.start, phrase.stop + 1)
    drop = set(phrase)
    before_phrase = doc[phrase.start - 1] if phrase.start > cl.sent.start else None
    if before_phrase is not None and before_phrase.dep_ == "prep" and not any(before_phrase.children):
        drop.add(before_phrase.i)  # "hold at most two cards": the parser left "at" without its object
    for c in cl.root.children:  # coordinated clauses and trailing discourse belong to another question
        if c.dep_ in ("conj", "cc") and c.i > cl.root.i or c.dep_ == "parataxis":
            drop.update(subtree(c))
    aside = asides(cl.sent) | closing_comment(cl.sent, cl.root)
    if any(i in aside for i in range(answer.start, answer.end)):
        return None
    drop |= aside
    subject_range = subtree(cl.subj) if cl.subj is not None else range(0)
    start = _opening(doc, cl.sent, drop)
    moved = [] if cl.borrowed else [t for t in doc[start:(subject_range.start if cl.subj is not None else cl.root.i)]
                                    if t.i not in drop and not t.is_punct]
    if any(t.dep_ == "mark" or t.tag_ in ("WDT", "WP", "WRB") for t in moved):
        return None  # a subordinate clause in front ("If you ...,") does not survive being moved
    if moved and moved[0].pos_ not in ("ADP", "ADV", "SCONJ"):
        return None  # only adverbials move to the end ("Between 2000 and 2009,"), not a stray noun
    drop.update(t.i for t in moved)
    return _assemble(doc, answer, wh, tail, top, cl, copula, drop, moved, subject_range, names)


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
        late = []  # after a named subject, pronouns point back into the sentence ("an incident ... noticing it")
    if any(_vague(t) for t in early + late):
        return None
    real = [t for t in fr.verb + fr.moved if not isinstance(t, str)]
    if any(t.like_num and t.dep_ == "pobj" and not YEAR_LIKE.match(t.text) for t in real):
        return None  # "included transitory DI in 13": a bare count left without its noun
    if any(t.dep_ in SUBJECTS and t.head.dep_ not in ("relcl", "advcl", "ccomp", "acl", "pcomp", "xcomp", "csubj")
           for t in real):
        return None  # a second clause survived ("... and Lisbon employees claim in EUR")
    last = real[-1] if real else None
    if last is not None and (last.pos_ in ("ADP", "SCONJ", "CCONJ", "DET") and last.dep_ != "prt"
                             or last.dep_ == "neg"):
        return None  # the clause ends in mid-air ("What picks up after?")
    return fr
