"""Cloze translation (Lewis et al. 2019): the answer span replaced by a wh-phrase in place, the rest kept.

Used for a sentence the full rule-based transform (questions.frame) refuses: "Kestrel Loom matches your
contribution pound for pound up to 7% of salary" -> "Kestrel Loom matches your contribution pound for pound
up to what percentage of salary?". Only the answer's own clause is kept (coordinated clauses, asides in
parentheses or dashes and opening discourse words go), and the question is refused when a pronoun ("it",
"this form") would leave it without its referent or too few content words are left. Where the wh-phrase can
move, the question is also asked with it in front, as a person asks (`fronted`: "Medicals are renewed how
often?" -> "How often are medicals renewed?").
"""

from __future__ import annotations

from .answers import MONTHS, TIME_UNITS, Answer, in_parentheses, phone_number, says_a_weekday
from .origins import MAKERS
from .questions import asides, clause_root, closing_comment, verb_chain
from .wording import (DISCOURSE, OBJECTS, PEOPLE_NOUNS, PLACE_HEADS, VAGUE, VAGUE_DET, WH_WORDS, lower_first,
                      plural_unit, render, subtree)

_AUXILIARIES = {"is", "are", "was", "were", "be", "been", "has", "have", "had", "may", "can", "must", "will",
                "should", "would", "could", "does", "do", "did", "might"}
NUMERIC = {"count", "money", "percent", "time", "date", "year"}
"""Kinds whose coordinated values ("£45 per weekday night and £95 per weekend day") can be left out."""
MAX_WORDS = 24
"""Longer cloze questions are hard to read; the sentence is too long to keep whole."""
_OPENERS = DISCOURSE | {"alternatively", "otherwise", "meanwhile", "in", "addition", "for", "example", "instance",
                        "return", "turn"}
_STOP = {"the", "and", "are", "was", "were", "does", "did", "should", "you", "your", "many", "much", "what", "which",
         "who", "whom", "how", "for", "with", "from", "that", "this", "has", "have", "will", "can", "may", "must",
         "its", "per", "not", "all", "any", "our", "their", "into", "than"}
"""Words that do not count as content when a question is checked for saying enough."""
_LEADS = {"at", "least", "most", "about", "around", "approximately", "nearly", "up", "to", "within"}
"""Words that may go before a fronted wh-phrase ("at least how many hours"): prepositions and qualifiers."""


def cloze_wh(answer: Answer, doc) -> list[str]:
    """Wh-phrases that stand in the answer's place, the most natural first ([] when none fits)."""
    kind, head = answer.kind, doc[answer.head]
    k = answer.start - 1
    while k > 0 and doc[k].dep_ in ("det", "poss") and doc[k].head.i in range(answer.start, answer.end):
        k -= 1  # "from the Chief People Officer": the preposition is before the article
    before = doc[k].lower_ if k >= 0 else ""
    if kind == "range" and answer.unit in ("times", "years", "dates"):
        return [f"between what {answer.unit}"]
    if kind == "range":  # "60 to 90 minutes"
        return [f"how many {answer.unit}"]
    if kind == "count":
        unit = plural_unit(answer.unit) if head.tag_ not in ("NNS", "NNPS") else answer.unit
        return [f"how many {unit}", f"what number of {unit}"] if unit[:1].isalpha() else []  # not "how many -players"
    if kind == "money":
        return ["how much", "what amount"]
    if kind == "percent":
        return ["what percentage", "what share"]
    if kind in ("date", "year", "time"):
        text = doc[answer.start:answer.end].text.lower()
        noun = "day" if says_a_weekday(text) else "month" if text in MONTHS else \
            {"date": "date", "year": "year", "time": "time"}[kind]
        return [f"what {noun}", f"which {noun}"]
    lemma = head.lemma_.lower()
    if kind == "person" and before in ("on", "at", "in", "into", "inside"):
        return []  # "at the side gate on Culvert Lane": a place the recogniser took for a person
    if kind == "person" or kind == "phrase" and lemma in PEOPLE_NOUNS and not (
            answer.end < len(doc) and doc[answer.end].lower_ == "of"):  # "which committee of nine", not "whom of"
        return ["whom" if before in ("to", "by", "with", "from", "for") else "who"]
    if kind == "code" and answer.unit:
        return [f"which {answer.unit.lower()}", f"what {answer.unit.lower()}"]
    if kind == "phrase" and head.pos_ == "NOUN" and head.lemma_.lower() not in TIME_UNITS and not (
            head.i > 0 and doc[head.i - 1].text == "-" and not doc[head.i - 1].whitespace_):  # not "which ups"
        noun = head.text.lower()
        return [f"which {noun}", f"what {noun}"]
    if kind == "name":
        last = doc[answer.end - 1].lower_
        if last in PLACE_HEADS:
            return [f"which {last}"]
        verb = head.head.head
        if head.dep_ == "pobj" and head.head.dep_ == "agent" and verb.lemma_.lower() in MAKERS and not any(
                c.dep_ == "prt" for c in verb.children) and answer.end - answer.start > 1:  # not "by the Trust"
            return ["whom"]  # who made or runs it: "built by Hesketh & Dunn" -> "by whom"; not "set up by"
        # A bare "what" reads well only where it opens the question ("What runs the canteen?").
        return ["what"] if head.dep_ in ("nsubj", "nsubjpass") else []
    if kind == "code":
        text = doc[answer.start:answer.end].text
        if phone_number(text):  # "on the operations line 01632 448 910" -> "on the operations line at what number"
            after_noun = answer.start > 0 and doc[answer.start - 1].pos_ in ("NOUN", "PROPN")
            return ["at what number", "at which phone number"] if after_noun else ["what number", "which phone number"]
        return ["which e-mail address"] if "@" in text else ["which web address"] if head.like_url else \
            ["which channel"] if text.startswith("#") else ["what code", "which code"]
    return []


def _later_value(answer: Answer, doc) -> bool:
    """A value coordinated after another and qualified on its own: "18 marks" in "costs 10 marks for members and
    18 marks for non-members", asked without the first ("costs how much for non-members?"), or a count of
    another thing ("22 cars" in "certified for 210 passengers and 22 cars")."""
    head = doc[answer.head]
    first = head.head  # both values are nouns or numbers, each with its own qualifier ("for members")
    if not (answer.kind in NUMERIC and head.dep_ == "conj" and first.i < answer.start
            and first.pos_ in ("NOUN", "NUM", "PROPN", "SYM") and first.dep_ != "ROOT"
            and any(t.like_num for t in first.subtree if t.i < answer.start)):
        return False
    if any(c.dep_ in ("prep", "npadvmod") and c.i < answer.start for c in first.children) and \
            any(c.dep_ == "prep" and c.i >= answer.end for c in head.children):
        return True
    # or counts of two different things: "certified for 210 passengers and 22 cars" -> "for how many cars?"
    return first.pos_ == head.pos_ == "NOUN" and first.lemma_ != head.lemma_ and all(
        any(c.dep_ == "nummod" for c in t.children) for t in (first, head))


def _dropped(sent, answer: Answer) -> set[int] | None:
    """Token indices left out of the cloze question, or None when the answer sits in an aside."""
    doc = sent.doc
    if any(in_parentheses(doc[i]) for i in range(answer.start, answer.end)):
        return None
    root = clause_root(doc[answer.head])
    drop: set[int] = set()
    if root != sent.root:  # the answer's own clause of a coordination, with the subject it shares
        keep = set(range(root.left_edge.i, root.right_edge.i + 1))
        shared = next((c for c in root.head.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        if shared is not None and not any(c.dep_ in ("nsubj", "nsubjpass", "expl") for c in root.children):
            keep |= {t.i for t in shared.subtree if not (t.dep_ in ("relcl", "acl", "prep") and t.i > shared.i)}
            keep -= {t.i for c in shared.children if c.dep_ in ("relcl", "acl", "prep", "appos") and c.i > shared.i
                     for t in c.subtree}
        drop.update(t.i for t in sent if t.i not in keep)
    for c in root.children:  # other coordinated clauses and asides
        span = range(c.left_edge.i, c.right_edge.i + 1)
        holds_answer = any(i in span for i in range(answer.start, answer.end))
        if (c.dep_ in ("conj", "cc") and c.i > root.i and c.pos_ in ("VERB", "AUX", "CCONJ")) or c.dep_ == "parataxis":
            if not holds_answer:
                drop.update(span)
        elif c.dep_ == "conj" and c.i > root.i and any(t.pos_ == "NUM" or t.like_num for t in c.subtree):
            # a value the parser joined to the verb ("stop at 10:30 p.m. on Saturday and 6:30 p.m. on Sunday")
            if holds_answer:
                return None
            drop.update(span)
    if _later_value(answer, doc):  # the first value and what joins it: "10 marks for members and"
        drop.update(range(doc[answer.head].head.left_edge.i, answer.start))
    elif answer.kind in NUMERIC:  # "£45 per weekday night and £95 per weekend day": ask about the first value
        holder = doc[answer.head]
        for c in list(holder.children) + list(holder.head.children):
            if c.dep_ == "conj" and c.i > answer.end:
                drop.update(range(c.left_edge.i, c.right_edge.i + 1))
                drop.update(t.i for t in c.head.children if t.dep_ in ("cc", "punct") and answer.end <= t.i < c.i)
    for c in doc[answer.head].children:  # "which coordinator, Hana Lindqvist,": the name would give it away
        if c.dep_ == "appos" and c.i >= answer.end:
            drop.update(range(c.left_edge.i, c.right_edge.i + 1))
            drop.update(t.i for t in doc[answer.end:c.left_edge.i] if t.is_punct)
            if c.right_edge.i + 1 < sent.end and doc[c.right_edge.i + 1].text == ",":
                drop.add(c.right_edge.i + 1)
    drop |= asides(sent) | closing_comment(sent, root)
    if any(i in drop for i in range(answer.start, answer.end)):
        return None
    kept = [t for t in sent if t.i not in drop]
    for t in kept:  # opening discourse words and punctuation ("However, ...", "In return, ...")
        if t.is_punct or t.lower_ in _OPENERS and t.dep_ in ("advmod", "cc", "prep", "mark", "pobj") and not (
                t.dep_ == "prep" and any(u.lower_ not in _OPENERS for u in t.subtree)):  # not "For new staff, ..."
            drop.add(t.i)
        else:
            break
    return drop


def _cuts_a_word(sent, drop: set[int]) -> bool:
    """A kept token written against a dropped one: "Fix-" left of "Fix-a-Flat" when the parser made "a-Flat" an
    apposition."""
    doc = sent.doc
    for t in sent[:-1]:
        nxt = doc[t.i + 1]
        if not t.whitespace_ and (t.i in drop) != (nxt.i in drop) and \
                not any(u.is_punct and u.text != "-" for u in (t, nxt)):
            return True
    return False


def _statement(sent) -> bool:
    """A clause with a verb and a subject, or an imperative ("Ask the Travel Coordinator ...")."""
    root = sent.root
    if root.pos_ not in ("VERB", "AUX"):
        return False
    first = next((t for t in sent if not t.is_punct), root)
    if first.pos_ == "AUX" or first.lower_ in _AUXILIARIES or first.dep_ not in ("amod", "csubj") and first.tag_ in (
            "VBN", "VBG", "VBZ", "VBD") or first.dep_ == "mark" and first.head == root:
        return False  # a fragment: "May be combined with ...", "Whether you receive ..."; not "Used parts cost ...",
        # "Charging at the EV points costs ..."
    return any(c.dep_ in ("nsubj", "nsubjpass", "expl", "csubj") for c in root.children) or (
        root.tag_ == "VB" and root == first)


def _embedded(answer: Answer, doc) -> bool:
    """The answer sits where a wh-phrase cannot stand: in a relative or fronted subordinate clause, in a list,
    or as the subject of "X is Y" (which reverses the fact)."""
    head = doc[answer.head]
    if answer.kind == "range":
        return False
    nxt = doc[answer.end:answer.end + 2]
    if answer.kind not in NUMERIC and not answer.name_span and len(nxt) == 2 and nxt[0].text == "," and (
            nxt[1].pos_ in ("NOUN", "ADJ", "PROPN", "DET") or nxt[1].tag_ == "PRP$"):
        return True  # the first item of a list ("your notice period, your travel class and ..."), not a name's comma
    if answer.start > 0 and doc[answer.start - 1].lower_ == "between":
        return True  # one end of "between 08:00 and 16:00" (the range is asked about)
    if head.dep_ == "conj" and not _later_value(answer, doc) or answer.kind not in NUMERIC and any(
            c.dep_ == "conj" and c.i >= answer.end for c in head.children):  # not "Dunn" of "Hesketh & Dunn"
        return True  # one item of a list; a number's coordinated values are dropped (_dropped)
    if answer.start > 0 and doc[answer.start - 1].lower_ in ("which", "whose", "what", "who", "whom"):
        return True
    if head.dep_ in ("nsubj", "nsubjpass") and head.head.lemma_ == "be" and any(
            c.dep_ in ("attr", "advcl", "ccomp") for c in head.head.children):
        return True  # "X is Y", "X is where ...": "What is where ...?" reverses it
    t = head
    while t.dep_ != "ROOT" and t.head != t:
        if t.dep_ == "relcl" or t.dep_ == "advcl" and t.i < t.head.i:
            return True
        t = t.head
    return False


def _part_of_longer(answer: Answer, doc) -> bool:
    """The answer is cut out of a longer name or noun ("the Gifts & Hospitality Register", "locker bank",
    "the third Sunday", "Sunday of March")."""
    head = doc[answer.head]
    if answer.kind not in NUMERIC and any(c.i < answer.start and c.dep_ in ("amod", "compound", "nummod", "nmod")
                                          for c in head.children):
        return True
    if answer.kind not in NUMERIC and head.dep_ == "pobj" and head.head.lower_ == "of" and \
            head.head.head.pos_ in ("NOUN", "PROPN"):
        return True
    if head.dep_ == "compound" and head.head.i >= answer.end:
        return True
    before = doc[answer.start - 1] if answer.start > 0 else None
    after = doc[answer.end] if answer.end < len(doc) else None
    if before is not None and before.dep_ == "compound" and before.head.i in range(answer.start, answer.end):
        return True
    return answer.kind in ("name", "phrase") and (
        after is not None and after.text[:1].isupper() and after.is_alpha
        or before is not None and before.text[:1].isupper() and before.is_alpha and not before.is_sent_start
        or before is not None and before.text == "&")


def _vague(t) -> bool:
    w = t.lower_
    return w in VAGUE or w in VAGUE_DET and (t.dep_ == "det" or t.pos_ == "PRON" and w != "that")


def cloze(sent, answer: Answer, wh_index: int = 0) -> list | None:
    """The sentence as tokens with the answer replaced by a wh-phrase (a str), or None when it cannot be asked."""
    doc = sent.doc
    choices = cloze_wh(answer, doc)
    if wh_index >= len(choices):
        return None
    hyphenated = answer.kind == "count" and "-" in doc[answer.start:answer.end].text
    if not _statement(sent) or _part_of_longer(answer, doc) or _embedded(answer, doc) or hyphenated:
        return None  # a fragment, a name cut out of a longer one, "a 30-minute session"
    drop = _dropped(sent, answer)
    if drop is None or _cuts_a_word(sent, drop):
        return None
    start = answer.start
    if answer.kind == "count" and start > sent.start and doc[start - 1].lower_ == "every":
        if doc[answer.head].dep_ in ("nsubj", "nsubjpass"):
            return None  # "Every 20 hours earns ...": "how often earns" is not English
        start, choices, wh_index = start - 1, ["how often"], 0  # "every 42 months" -> "how often"
        if start > sent.start and doc[start - 1].lower_ == "once":
            start -= 1  # "once every two years" -> "how often", not "once how often"
    stop = answer.end
    if answer.kind == "code" and answer.unit:
        stop = answer.head + 1  # "the G98 form" -> "which form", not "which form form"
    if answer.kind == "range" and answer.unit in ("times", "years", "dates") and start > sent.start and \
            doc[start - 1].pos_ == "ADP":
        start -= 1  # "from 12:00 to 14:00" -> "between what times"
    while start > sent.start and doc[start - 1].dep_ in ("det", "poss") and doc[start - 1].head.i in range(
            answer.start, stop) and doc[start - 1].i not in drop:
        start -= 1  # "the Jacquard room" -> "which room", not "the which room"
    if answer.name_span:
        start = min(start, doc[answer.head].left_edge.i)  # a name answers the whole description, its owner too
    if start > sent.start and doc[start - 1].tag_ == "POS":
        return None  # "tomorrow's which lists"
    if choices[wh_index] == "what" and any(t.i < start and t.i not in drop and not t.is_punct for t in sent):
        return None  # a bare "what" inside the sentence ("When you leave what will send ...") reads badly
    tokens: list = []
    for t in sent:
        if t.i in drop or start <= t.i < stop:
            if t.i == start:
                tokens.append(choices[wh_index])
            continue
        tokens.append(t)
    while tokens and not isinstance(tokens[-1], str) and (tokens[-1].is_punct or tokens[-1].dep_ == "cc"):
        tokens.pop()
    real = [t for t in tokens if not isinstance(t, str)]
    if not isinstance(tokens[0], str) and (tokens[0].lower_ in _AUXILIARIES or tokens[0].dep_ != "amod" and
                                           tokens[0].tag_ in ("VBN", "VBD", "VBZ")):
        return None  # what is left starts in mid-clause ("are approved by whom?")
    if any(_vague(t) for t in real) or any(t.text in (":", "|") for t in real):
        return None
    return tokens if tokens else None


def _hangs_on(tok, chain: set, hops: int = 2) -> bool:
    """`tok` is a verb of the clause's chain, or a noun of its subject, object or prepositional object (at most
    `hops` nouns down): a prepositional phrase attached there can open the question."""
    for _ in range(hops + 1):
        if tok in chain:
            return True
        if tok.pos_ not in ("NOUN", "PROPN") or tok.dep_ not in OBJECTS | {"pobj", "nsubj", "nsubjpass"}:
            return False
        tok = tok.head.head if tok.dep_ == "pobj" and tok.head.dep_ == "prep" else tok.head
    return False


def _asked_phrase(tokens: list, answer: Answer, doc) -> tuple[int, int, object] | None:
    """(start, stop) in `tokens` of the phrase that moves to the front (the wh-phrase with its preposition, a
    qualifier before it and a short "of" phrase after it), and the clause's verb; None where it cannot move."""
    k = next((i for i, t in enumerate(tokens) if isinstance(t, str)), None)
    if not k:
        return None  # the wh-phrase opens the question already
    head = doc[answer.head]
    root = clause_root(head)
    chain = verb_chain(root, ("xcomp",))  # "are required to complete X within how many days"
    if head.dep_ in OBJECTS | {"advmod"} and head.head in chain:
        top = head
    elif head.dep_ == "npadvmod" and head.head.dep_ in ("prep", "advmod") and head.head.head in chain:
        top = head.head  # "at least how many minutes before departure"
    elif head.dep_ == "pobj" and head.head.dep_ in ("prep", "agent") and _hangs_on(head.head.head, chain) and (
            head.head.head in chain or head.head.lower_ != "of"):  # not "Of what month are ... in the first fortnight?"
        top = head.head  # "within how many days", "in which store" (of "keeps the register in which store")
    else:
        return None
    span = subtree(top)
    lo, hi = k, k + 1
    while lo > 0 and not isinstance(tokens[lo - 1], str) and tokens[lo - 1].i in span:
        lo -= 1
    while hi < len(tokens) and not isinstance(tokens[hi], str) and tokens[hi].i in span:
        hi += 1
    if lo and not isinstance(tokens[lo - 1], str) and tokens[lo - 1].lower_ == "up" and \
            tokens[lo - 1].i == tokens[lo].i - 1:
        lo -= 1  # "up to how many hours before departure" moves whole
    if any(not isinstance(t, str) and t.i in span for t in tokens[:lo] + tokens[hi:]):
        return None  # the phrase is not in one piece
    before, tail = tokens[lo:k], tokens[k + 1:hi]
    if tail and tail[0].pos_ == "ADP" and tail[0].lower_ != "of":
        hi, tail = k + 1, []  # "how much for adults": "for adults" stays behind ("How much do tickets cost for adults?")
    if any(t.pos_ != "ADP" and t.lower_ not in _LEADS for t in before):
        return None  # "not to whom", "only with which approval", "the first what day", "more than how many hours"
    if len(tail) > 4 or any(t.is_punct or t.pos_ in ("VERB", "AUX", "CCONJ", "NUM") or t.like_num for t in tail):
        return None  # "which permit issued by the chief engineer and ...": too much to move
    end = answer.end if isinstance(tokens[hi - 1], str) else tokens[hi - 1].i + 1
    if hi < len(tokens) and tokens[hi].like_num and tokens[hi].i == end:
        return None  # a number the parser hung elsewhere ("on VHF channel | 12") would be left behind
    return lo, hi, root


def fronted(tokens: list, answer: Answer, doc, names: frozenset = frozenset()) -> list | None:
    """A cloze question with its wh-phrase moved to the front and the subject and its auxiliary swapped, as a
    person asks it: "Main engine services on the vehicle ferries are carried out how often?" -> "How often are
    main engine services on the vehicle ferries carried out?", "The DPA reports casualties within how many hours?"
    -> "Within how many hours does the DPA report casualties?". None where the wh-phrase already opens the
    question, or sits where it cannot move from (inside a noun phrase: "less a how much administration fee").
    """
    asked = _asked_phrase(tokens, answer, doc)
    if asked is None:
        return None
    lo, hi, root = asked
    rest = tokens[:lo] + tokens[hi:]  # tokens only: the wh-phrase moved
    subjects = [c for c in root.children if c.dep_ in ("nsubj", "nsubjpass")]
    if len(subjects) != 1 or subjects[0].i > root.i or subjects[0].pos_ == "PRON" and subjects[0].lower_ != "you":
        return None  # two subjects: a misparse ("The slip dries at low water springs, so sailings ...")
    words_of_subject = subtree(subjects[0])
    n = next((i for i, t in enumerate(rest) if t.i in words_of_subject), None)
    if n is None:
        return None
    opening = rest[:n]  # "On return, ..." is asked at the end, as the full transform does
    if any(t.dep_ == "mark" or t.tag_ in ("WDT", "WP", "WRB") for t in opening) or \
            opening and opening[0].pos_ not in ("ADP", "ADV"):
        return None
    m = n
    while m < len(rest) and rest[m].i in words_of_subject:
        m += 1
    if m - n > 12 or any(t.lower_ in ("no", "so") or t.dep_ == "mark" for t in rest[n:m]):
        return None  # a subject the parser ran on ("The slip dries at low water springs, so sailings ..."), "no user"
    subject, clause = lower_first(rest[n:m], names), rest[m:]
    first, second = rest[n], rest[n + 1] if n + 1 < m else None
    if subject[0] is first and first.is_sent_start and first.text not in names and not first.text.isupper() and not (
            second is not None and second.text[:1].isupper()):
        subject[0] = first.text.lower()  # "Keys, bank cards ...": a capital only because it opened the sentence
    if root not in clause:
        return None  # the verb went with a dropped clause
    auxes = [c for c in root.children if c.dep_ in ("aux", "auxpass") and c.i < root.i]
    if auxes:
        inverted, clause = auxes[0].text.lower(), [t for t in clause if t.i != auxes[0].i]
    elif root.lemma_ == "be":
        inverted, clause = root.text.lower(), [t for t in clause if t.i != root.i]
    else:
        inverted = {"VBZ": "does", "VBP": "do", "VBD": "did"}.get(root.tag_, "")
        if not inverted or root.lemma_ == "have" and root.pos_ == "AUX":
            return None
        clause = [root.lemma_ if t.i == root.i else t for t in clause]
    return tokens[lo:hi] + [inverted] + subject + clause + lower_first(opening, names)


def cloze_question(tokens: list, prefix: str = "", names: frozenset = frozenset()) -> str | None:
    """Tokens of a cloze sentence as a question ("Under Pensions, you contribute at least what percentage?")."""
    text = render(lower_first(tokens, names) if prefix else tokens)
    if prefix:
        text = f"{prefix}, {text}"
    text = text if text.endswith((".m.", "etc.")) else text.rstrip(" .;:!")
    question = text[:1].upper() + text[1:] + "?"
    words = question.lower().replace("?", " ").replace(",", " ").split()
    content = [w for w in words if w not in WH_WORDS and w not in _STOP and len(w) > 2]
    if not 4 <= len(words) <= MAX_WORDS or len(content) < 3:
        return None
    return question
