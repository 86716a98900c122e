"""Answer candidates in a parsed sentence: numbers with units, money, percentages, dates, names, codes.

Spans come from the parse (part-of-speech tags and dependencies) first, because the small pipeline's
entity labels are often wrong (it calls people organisations and extension numbers dates); entity
labels only help to tell a person from other names.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MONTHS = {m.lower() for m in ("January February March April May June July August September October November "
                              "December Jan Feb Mar Apr Jun Jul Aug Sep Sept Oct Nov Dec").split()}
WEEKDAYS = {d.lower() for d in "Monday Tuesday Wednesday Thursday Friday Saturday Sunday".split()}
TIME_UNITS = {"second", "minute", "hour", "day", "week", "fortnight", "month", "year", "night", "decade",
              "working day", "business day"}
CURRENCY_WORDS = {"euro", "euros", "pound", "pounds", "dollar", "dollars", "eur", "gbp", "usd", "chf", "franc",
                  "francs", "yen", "rupee", "rupees", "cent", "cents", "pence", "p", "crown", "crowns", "mark", "marks",
                  "krone", "kroner", "krona", "kronor"}
CURRENCY_SYMBOLS = {"£", "€", "$", "¥", "₹"}
ROLE_NOUNS = {"director", "manager", "officer", "coordinator", "lead", "head", "chair", "president", "partner",
              "administrator", "advisor", "adviser", "owner", "secretary", "controller", "specialist", "engineer",
              "supervisor", "representative", "ceo", "cfo", "cto", "coo", "founder", "consultant", "chief",
              "treasurer", "analyst", "assistant", "champion", "steward", "counsel", "accountant", "nurse",
              "receptionist", "referee", "umpire", "mechanic", "technician", "librarian", "curator", "editor",
              "designer", "architect", "inspector", "auditor", "registrar", "bursar", "clerk", "warden", "caretaker",
              "porter", "dentist", "doctor", "physician", "surgeon", "pharmacist", "therapist", "teacher", "tutor",
              "lecturer", "professor", "instructor", "trainer", "coach", "captain", "purser", "skipper", "pilot",
              "marshal", "ranger", "organiser", "organizer", "dispatcher", "operator", "cashier", "foreman",
              "liaison", "mentor", "convenor", "convener", "superintendent", "principal", "dean", "invigilator",
              "examiner", "planner", "scheduler", "keeper", "guard"}
PLACE_NOUNS = {"observatory", "library", "hall", "centre", "center", "street", "road", "hill", "house", "society",
               "company", "ltd", "inc", "bank", "university", "school", "hospital", "college", "institute", "museum",
               "park", "station", "building", "office", "team", "department", "group", "committee", "board", "fund",
               "scheme", "plan", "policy", "form", "portal", "system", "app", "service", "club", "association",
               "café", "cafe", "day", "week", "fortnight", "fair", "festival", "market", "trail", "night", "room",
               "harbour", "harbor", "port", "wharf", "quay", "pier", "island", "airport", "terminal", "laboratory",
               "licence", "license", "card", "cards", "certificate", "permit", "ticket", "award"}
"""Last words of a name that is not a person's: a place, an organisation, a scheme or a document ("Wrexley Harbour",
"Passenger Boat Licence")."""
# e.g. KL-204, HR-7, A4, V2.1 (not plain words and not plain numbers)
_CODE = re.compile(r"^(?=.*\d)(?=.*[A-Za-z])[A-Za-z0-9]+(?:[-/.][A-Za-z0-9]+)*$")
_TIME = re.compile(r"^\d{1,2}:\d{2}$|^\d{1,2}(?:am|pm)$", re.I)
_YEAR = re.compile(r"^1[5-9]\d{2}$|^20\d{2}$")
_PENCE = re.compile(r"^\d+(?:\.\d+)?p$")
"""An amount in pence written as one word ("22p per kWh")."""
_PHONE = re.compile(r"^(?:\+|0)\d[\d ]*\d$")
"""Digits in groups after a 0 or a + (`phone_number` also counts them)."""
_STATS = {"=", "<", ">", "±", "+", "/-", "+/-", "versus", "vs", "vs.", "P", "p", "CI", "OR", "HR", "RR", "SD", "SE"}
"""Near a number, these mark a statistic (compared case-sensitively: "or" is a word, "OR" an odds ratio)."""


QUALIFIERS = ("at least", "at most", "up to", "no more than", "no fewer than", "no less than", "not more than",
              "within", "once every", "every", "about", "around", "approximately", "roughly", "nearly", "almost",
              "only", "between")
"""Words before an amount that are part of what it says ("at least 15 minutes", "every 20 minutes"). Not "more
than", "over", "under" and the like: in "no one may work more than 12 hours" the answer to "How long may one
work?" is 12 hours, not "more than 12 hours"."""
QUALIFIED_KINDS = {"count", "money", "percent", "number", "range"}
"""Kinds of answer a qualifier belongs to (a name after "only" or a place after "over" does not take it)."""
_ANY_QUALIFIER = "|".join(re.escape(q) for q in QUALIFIERS)
_QUALIFIED = re.compile(rf"(?<![\w-])(?:{_ANY_QUALIFIER})\s+$", re.IGNORECASE)
"""A qualifier written just before an answer (searched up to it; its words one space apart, as the answer's
chunk is matched on one line)."""
_LEADING = re.compile("(?:" + _ANY_QUALIFIER.replace(re.escape(" "), r"\s+") + r")(?!\S)", re.IGNORECASE)
"""A qualifier that starts an answer, its words apart by any whitespace."""


def with_qualifier(answer: str, sentence: str, kind: str) -> str:
    """`answer` with the qualifier its sentence puts before it, as written: "15 minutes" in "Rinse for at least 15
    minutes." -> "at least 15 minutes". A person answering "How long should I rinse?" says it, and people's
    reference answers keep it (5 of the 86 hand-written held-out questions, 21 of the 180 reader-mix ones), so an
    adapter trained on the bare amount answers "15 minutes" where "at least 15 minutes" is asked for."""
    at = sentence.find(answer)
    if kind not in QUALIFIED_KINDS or at < 0:
        return answer
    qualifier = _QUALIFIED.search(sentence, 0, at)
    return sentence[qualifier.start():at] + answer if qualifier else answer


def qualifier(answer: str) -> str:
    """The qualifier an answer starts with, lower-cased ("" when none): "At least 15 minutes" -> "at least"."""
    leading = _LEADING.match(answer.lstrip())
    return " ".join(leading.group().lower().split()) if leading else ""


@dataclass
class Answer:
    """A candidate answer: tokens [start, end) of the doc, the head token, and its kind."""

    start: int
    end: int
    head: int
    kind: str
    """count, money, percent, date, year, time, number, person, name, code or phrase (a short noun phrase)"""
    unit: str = ""
    """For counts: the unit noun as written ("days")."""
    name_span: tuple[int, int] | None = None
    """For a description followed by its name ("the bunker barge Ruddock Jane"): the name's tokens [start, end),
    which the answer says; the question asks in the description's place."""

    def text(self, doc) -> str:
        return doc[self.name_span[0]:self.name_span[1]].text if self.name_span else doc[self.start:self.end].text


def mid_sentence_capitals(docs) -> set[str]:
    """Words written capitalised mid-sentence more often than in lower case: likely names ("Heddle", not "Personal")."""
    capital: dict[str, int] = {}
    lower: dict[str, int] = {}
    for doc in docs:
        for t in doc:
            if t.is_alpha and not t.is_stop and not t.is_sent_start:
                if t.text[:1].isupper():
                    capital[t.text] = capital.get(t.text, 0) + 1
                elif t.text.islower():
                    lower[t.text] = lower.get(t.text, 0) + 1
    return {w for w, n in capital.items() if n > lower.get(w.lower(), 0)}


def in_parentheses(tok) -> bool:
    sent = tok.sent
    depth = 0
    for t in sent:
        if t.i >= tok.i:
            break
        depth += {"(": 1, "[": 1, ")": -1, "]": -1}.get(t.text, 0)
    return depth > 0


def _statistic(tok) -> bool:
    """A number that is a statistic in a comparison (P=0.01, 2.3 versus 0.7) or a range end."""
    near = [t.text for t in tok.doc[max(tok.sent.start, tok.i - 2):min(tok.sent.end, tok.i + 3)]]
    return bool(_STATS & set(near)) or any(c.dep_ == "conj" and not in_parentheses(c) for c in tok.children) \
        or tok.dep_ == "conj"


_EXTENSION_WORDS = {"extension", "ext.", "ext"}
_ORDINAL_DAY = re.compile(r"^(?:[1-9]|[12]\d|3[01])(?:st|nd|rd|th)$", re.I)


_OF_THE_MONTH = (["of", "each", "month"], ["of", "every", "month"], ["of", "the", "month"])
"""What follows a day that recurs monthly: "the 25th of each month", "the first Tuesday of the month"."""


def _ordinal_date(tok) -> Answer | None:
    """A day of the month as an ordinal: "the 25th of each month", "the 1st of March", "5th March"; None for an
    ordinal of something else ("the 3rd floor")."""
    doc, stop = tok.doc, tok.sent.end
    rest = [t.lower_ for t in doc[tok.i + 1:min(tok.i + 4, stop)]]
    if rest[:1] and rest[0] in MONTHS:
        return Answer(tok.i, tok.i + 2, tok.i, "date")
    if rest[:2] and rest[0] == "of" and rest[1] in MONTHS:
        return Answer(tok.i, tok.i + 3, tok.i, "date")
    if rest[:3] in _OF_THE_MONTH:
        return Answer(tok.i, tok.i + 4, tok.i, "date")
    return None


def says_a_weekday(text: str) -> bool:
    """"Tuesday", "Fridays", "the first Tuesday of each month", "Tuesday mornings": asked "what day"."""
    return any(w.rstrip("s") in WEEKDAYS for w in text.lower().split())


_WEEK_ORDINALS = {"first", "second", "third", "fourth", "last"}
_DAY_PARTS = {"morning", "mornings", "afternoon", "afternoons", "evening", "evenings", "night", "nights"}


def _weekday(start: int, end: int, doc, sent) -> Answer:
    """A weekday with what says which one: "the first Tuesday of each month", "the first Saturday in April",
    "every second Thursday", "Tuesday mornings", "Fridays"."""
    if start - 1 >= sent.start and doc[start - 1].lower_ in _WEEK_ORDINALS:
        start -= 1
        if start - 1 >= sent.start and doc[start - 1].lower_ == "every":  # "every second Thursday": fortnightly
            start -= 1
    rest = [t.lower_ for t in doc[end:min(end + 3, sent.end)]]
    if rest[:3] in _OF_THE_MONTH:
        end += 3
    elif rest[:2] and rest[0] in ("of", "in") and rest[1] in MONTHS and doc[start].lower_ in _WEEK_ORDINALS:
        end += 2
    elif rest[:1] and rest[0] in _DAY_PARTS:
        end += 1
    root = next((t for t in doc[start:end] if t.head == t or not start <= t.head.i < end), doc[start])
    return Answer(start, end, root.i, "date")


def _per(doc, end: int, stop: int) -> int:
    """The end of a rate after an amount: "£35" + " per month", " per person per fiscal year"."""
    while end + 1 < stop and doc[end].lower_ == "per":
        k = end + 1
        while k < stop and doc[k].pos_ in ("ADJ", "NOUN") and doc[k].dep_ in ("amod", "compound") \
                and doc[k].head.i > k:
            k += 1
        if k >= stop or doc[k].pos_ != "NOUN":
            break
        end = k + 1
    return end


def ranges(sent) -> list[Answer]:
    """Ranges of times or dates ("10:00 to 16:00", "20 March to 5 April"): their ends are not answers alone."""
    doc, out = sent.doc, []
    for tok in sent:
        between = tok.lower_ == "and" and tok.i - 2 >= sent.start and doc[tok.i - 2].lower_ == "between"
        if tok.lower_ not in ("to", "-", "–", "until") and not between or tok.i - 1 < sent.start \
                or tok.i + 1 >= sent.end:
            continue
        a, b = doc[tok.i - 1], doc[tok.i + 1]
        if _TIME.match(a.text) and _TIME.match(b.text):
            out.append(Answer(tok.i - 1, tok.i + 2, tok.i - 1, "range", unit="times"))
        elif _YEAR.match(a.text) and _YEAR.match(b.text):
            out.append(Answer(tok.i - 1, tok.i + 2, tok.i - 1, "range", unit="years"))
        elif a.text.isdigit() and int(a.text) <= 31 and b.like_num and tok.i + 2 < sent.end \
                and doc[tok.i + 2].lower_ in MONTHS and not (tok.i - 2 >= sent.start and doc[tok.i - 2].lower_ in MONTHS):
            out.append(Answer(tok.i - 1, tok.i + 3, tok.i + 2, "range", unit="dates"))  # "1 to 14 March"
        elif a.like_num and b.like_num and tok.i + 2 < sent.end and doc[tok.i + 2].pos_ == "NOUN" \
                and doc[tok.i + 2].lower_.rstrip("s") in TIME_UNITS | {"metre", "kilometre", "mile", "minute",
                                                                         "people", "player", "person", "kg"}:
            out.append(Answer(tok.i - 1, tok.i + 3, tok.i + 2, "range", unit=doc[tok.i + 2].text))
        elif a.lower_ in MONTHS and b.like_num and tok.i + 2 < sent.end and doc[tok.i + 2].lower_ in MONTHS:
            first = tok.i - 2 if tok.i - 2 >= sent.start and doc[tok.i - 2].like_num else tok.i - 1
            out.append(Answer(first, tok.i + 3, tok.i - 1, "range", unit="dates"))
    return out


def _number_answer(tok) -> Answer | None:
    doc = tok.doc
    start = end = tok.i
    while end + 1 < tok.sent.end and doc[end + 1].like_num and doc[end + 1].head == tok.head \
            and doc[end + 1].i != tok.head.i:
        end += 1  # "1 200", "two hundred"
    end += 1
    if start > tok.sent.start and doc[start - 1].text in CURRENCY_SYMBOLS:
        return Answer(start - 1, _per(doc, end, tok.sent.end), tok.i if tok.head.i >= end or tok.head.i < start - 1
                      else tok.head.i, "money")
    after = doc[end] if end < tok.sent.end else None
    if after is not None and after.text == "%":
        return Answer(start, end + 1, tok.i, "percent")
    if after is not None and after.lower_ in ("per", "percent") and (after.lower_ == "percent" or (
            end + 1 < tok.sent.end and doc[end + 1].lower_ == "cent")):
        return Answer(start, end + (1 if after.lower_ == "percent" else 2), tok.i, "percent")
    if after is not None and after.lower_ in ("a.m.", "p.m.", "am", "pm") and end - start == 1:
        return Answer(start, end + 1, tok.i, "time")  # "6 p.m."
    if _TIME.match(tok.text):
        last = end + 1 if after is not None and after.lower_ in ("am", "pm", "a.m.", "p.m.") else end
        return Answer(start, last, tok.i, "time")
    head = tok.head
    if head.lower_ in MONTHS or (after is not None and after.lower_ in MONTHS):  # 30 June (2024)
        month = head if head.lower_ in MONTHS else after
        stop = max(end, month.i + 1)
        if stop < tok.sent.end and _YEAR.match(doc[stop].text):
            stop += 1
        return Answer(min(start, month.i), stop, month.i, "date")
    between = doc[end:head.i] if head.i >= end else None
    if tok.dep_ in ("nummod", "quantmod") and head.pos_ in ("NOUN", "PROPN") and between is not None \
            and len(between) <= 3 and all(t.head == head and t.dep_ in ("amod", "compound", "punct") or t.text == "-"
                                          for t in between):
        unit = head.lower_  # "10 working days", "64 bike spaces"
        if unit in CURRENCY_WORDS:
            return Answer(start, _per(doc, head.i + 1, tok.sent.end), head.i, "money")
        if unit in ("percent",):
            return Answer(start, head.i + 1, head.i, "percent")
        return Answer(start, head.i + 1, head.i, "count", unit=doc[end:head.i + 1].text)
    if _YEAR.match(tok.text) and end - start == 1:
        return Answer(start, end, tok.i, "year")
    return Answer(start, end, tok.i, "number")


def _glued(doc, i: int, step: int, lo: int, hi: int) -> int:
    """Extend index i over tokens written without spaces between them ("KL-Staff", "Wi-Fi")."""
    while lo <= i + step < hi:
        a, b = (doc[i + step], doc[i]) if step < 0 else (doc[i], doc[i + step])
        if a.whitespace_ or b.tag_ == "POS" or b.is_punct and b.text not in "-/" or a.is_punct and a.text not in "-/":
            break
        i += step
    return i


def compound_start(tok) -> int:
    """Where the proper name ending at `tok` starts: back over the proper nouns compounded onto it ("Larkspur Dental"
    of "Larkspur Dental Practice")."""
    doc, start = tok.doc, tok.i
    while start - 1 >= tok.sent.start and doc[start - 1].dep_ == "compound" and doc[start - 1].pos_ == "PROPN":
        start -= 1
    return start


def _name_answer(tok, names: set[str] = frozenset()) -> Answer | None:
    """A proper-noun chain ending at `tok` (its compound children before it), words glued by hyphens included."""
    doc, sent = tok.doc, tok.sent
    start = tok.i
    while start - 1 >= sent.start and doc[start - 1].dep_ in ("compound", "punct") and doc[start - 1].head.i in range(
            start, tok.i + 1) and (doc[start - 1].pos_ == "PROPN" or doc[start - 1].text[:1].isupper()
                                   or doc[start - 1].text == "-"):
        start -= 1
    start = _glued(doc, start, -1, sent.start, sent.end)
    end = _glued(doc, tok.i, 1, sent.start, sent.end) + 1
    while end < sent.end and doc[end].like_num and doc[end].head.i in range(start, end + 1):  # "Unit 7", "NIST 800-88"
        end = _glued(doc, end, 1, sent.start, sent.end) + 1
    if end + 1 < sent.end and doc[end].text == "&" and doc[end + 1].pos_ == "PROPN" and doc[end + 1].head == tok:
        end = doc[end + 1].i + 1  # one firm: "Hesketh & Dunn"
    while doc[start].is_punct and start < tok.i:
        start += 1
    span = doc[start:end]
    if span.text.lower().rstrip("s") in WEEKDAYS:
        return _weekday(start, end, doc, sent)
    if span.text.lower() in MONTHS or any(t.lower_ in MONTHS for t in span):
        return Answer(start, end, tok.i, "date")
    if any(c in span.text for c in "<>=±") or (len(span) == 1 and tok.i == sent.start and not tok.ent_type_
                                                 and tok.text not in names):
        return None  # a statistic, or a common noun capitalised as the first word
    if doc[end - 1].lower_ in PLACE_NOUNS:
        return Answer(start, end, tok.i, "name")
    person = any(e.label_ == "PERSON" for e in span.ents) or any(
        c.dep_ == "appos" and c.lower_ in ROLE_NOUNS for c in tok.children) or tok.lower_ in ROLE_NOUNS
    person = person and len(span) >= 2 and all(t.is_title for t in span)
    return Answer(start, end, tok.i, "person" if person else "name")


def _words(chunk) -> list:
    """A noun chunk's words without its article or possessor ("the Facilities queue" -> "Facilities queue")."""
    return [t for t in chunk if t.dep_ not in ("det", "poss", "case") and t.tag_ != "POS"]


def _noun_argument(chunk) -> bool:
    """A chunk headed by a common noun that is a subject or an object, which a question can ask for."""
    return chunk.root.pos_ == "NOUN" and chunk.root.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj")


def _phrase_answer(chunk) -> Answer | None:
    """A short informative noun phrase ("the Facilities queue", "a video call"): modified, no pronouns."""
    toks = _words(chunk)
    if not 2 <= len(toks) <= 4 or not _noun_argument(chunk) or any(t.pos_ in ("PRON", "NUM", "DET") for t in toks):
        return None
    if any(t.is_punct and t.text != "-" for t in toks) or toks[0].is_punct:
        return None
    # A noun or name modifier makes a term ("Jacquard room", "Security team"); adjectives alone rarely do.
    if not any(t.dep_ == "compound" and t.pos_ in ("NOUN", "PROPN") for t in toks):
        return None
    first = toks[0].i
    return Answer(first, chunk.end, chunk.root.i, "phrase")


def _described_name(chunk) -> Answer | None:
    """A description with its name right after it, or after a comma ("the catering contractor Saltgrass Catering
    Ltd.", "the bunker barge Ruddock Jane", "The licensed waste contractor, Hallam Environmental, collects ..."):
    asked as the description ("who runs the café?", "from which barge ...?"), answered by the name."""
    if not _noun_argument(chunk):
        return None
    appos = next((c for c in chunk.root.children if c.dep_ == "appos" and c.pos_ == "PROPN"), None)
    listed = appos is not None and any(c.dep_ == "conj" for c in appos.children)  # "the contractors, A and B,"
    name = _name_answer(appos) if appos is not None and not in_parentheses(appos) and not listed else None
    if name is None or name.start < chunk.end or chunk.doc[chunk.end:name.start].text not in ("", ","):
        return None
    return Answer(_words(chunk)[0].i, chunk.end, chunk.root.i, "phrase", name_span=(name.start, name.end))


def phone_number(text: str) -> bool:
    """A telephone number: digits in groups, starting with 0 or + ("0311 448 2090", "+44 20 7946 0958")."""
    return bool(_PHONE.match(text)) and 9 <= sum(c.isdigit() for c in text) <= 15


def _phone_answer(tok) -> Answer | None:
    """The telephone number starting at `tok`, its digit groups being tokens of their own."""
    doc, end = tok.doc, tok.i + 1
    while end < tok.sent.end and doc[end].text.isdigit() and doc[end - 1].whitespace_:
        end += 1
    return Answer(tok.i, end, end - 1, "code") if phone_number(doc[tok.i:end].text) else None


def _code_answer(tok) -> Answer:
    """A code ("HR-G1" is three tokens); one naming a thing ("the SR-2 Software Request form") keeps its name."""
    doc, sent = tok.doc, tok.sent
    start, end = _glued(doc, tok.i, -1, sent.start, sent.end), _glued(doc, tok.i, 1, sent.start, sent.end) + 1
    noun = doc[start:end].root.head
    if doc[start:end].root.dep_ == "compound" and noun.pos_ == "NOUN" and noun.i >= end and all(
            t.head.i in range(end, noun.i + 1) and t.dep_ == "compound" for t in doc[end:noun.i]):
        return Answer(start, noun.i, noun.i, "code", unit=noun.text)
    return Answer(start, end, tok.i, "code")


def _range_end(tok) -> bool:
    """One end of a range ("Monday to Friday", "10:00 to 16:00", "L1 to L3")."""
    doc, sent = tok.doc, tok.sent
    before = doc[tok.i - 1].lower_ if tok.i - 1 >= sent.start else ""
    after = doc[tok.i + 1].lower_ if tok.i + 1 < sent.end else ""
    return after in ("to", "-", "–", "and", "or", "through") and tok.i + 2 < sent.end and (
        doc[tok.i + 2].like_num or doc[tok.i + 2].pos_ == "PROPN") or before in ("to", "–", "through", "-") and (
        tok.i - 2 >= sent.start and (doc[tok.i - 2].like_num or doc[tok.i - 2].pos_ == "PROPN"))


def candidates(sent, names: set[str] = frozenset()) -> list[Answer]:
    """Answer candidates of one sentence, left to right, without overlaps.

    `names`: words seen capitalised in mid-sentence nearby, so a sentence's first word can be told a name.
    """
    found: list[Answer] = []
    taken: set[int] = set()

    def add(answer: Answer | None):
        if answer is None or any(i in taken for i in range(answer.start, answer.end)):
            return
        found.append(answer)
        taken.update(range(answer.start, answer.end))

    for tok in sent:
        if tok.i in taken or in_parentheses(tok) or _range_end(tok):
            continue
        if tok.like_email or tok.like_url:
            add(Answer(tok.i, tok.i + 1, tok.i, "code"))
        elif tok.text.startswith("#") and len(tok.text) > 2:
            add(Answer(tok.i, tok.i + 1, tok.i, "code"))
        elif tok.text[:1] in "+0" and (answer := _phone_answer(tok)) is not None:
            add(answer)
        elif _PENCE.match(tok.text):
            add(Answer(tok.i, _per(tok.doc, tok.i + 1, sent.end), tok.i, "money"))
        elif _ORDINAL_DAY.match(tok.text):
            add(_ordinal_date(tok))
        elif _CODE.match(tok.text) and not tok.like_num and not _TIME.match(tok.text):
            add(_code_answer(tok))
        elif _TIME.match(tok.text):
            after = tok.doc[tok.i + 1] if tok.i + 1 < sent.end else None
            add(Answer(tok.i, tok.i + (2 if after is not None and after.lower_ in ("a.m.", "p.m.", "am", "pm")
                                       else 1), tok.i, "time"))
        elif tok.like_num and tok.i > sent.start and tok.doc[tok.i - 1].lower_ in _EXTENSION_WORDS:
            add(Answer(tok.i - 1, tok.i + 1, tok.i, "code", unit="extension"))  # "on extension 7777": which extension
        elif tok.like_num and tok.pos_ == "NUM" and not _statistic(tok) and tok.lower_ not in ("one",) and not (
                tok.i > sent.start and tok.doc[tok.i - 1].pos_ in ("NOUN", "PROPN")):  # "type 2", "Year 10"
            add(_number_answer(tok))
        elif tok.pos_ == "PROPN" and tok.dep_ in ("nsubj", "nsubjpass", "dobj", "pobj", "attr") and not any(
                c.dep_ == "prep" and c.lower_ == "of" for c in tok.children):
            add(_name_answer(tok, names))
        elif tok.lower_.rstrip("s") in WEEKDAYS:
            add(_weekday(tok.i, tok.i + 1, tok.doc, sent))
    for chunk in sent.noun_chunks:
        add(_described_name(chunk) or _phrase_answer(chunk))
    return sorted(found, key=lambda a: a.start)
