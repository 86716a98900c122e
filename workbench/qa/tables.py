"""Questions from a table row, made from its table's header and the row's label (its first cell).

| Years of service | Award |          "What is the award for 5 years?"  -> "£500 voucher"
| 5 years | £500 voucher |           "Under Long service, what is the award for 5 years?"

Each other cell of the row is an answer, verbatim; a table without a header row is asked about only when it
has two columns (label | value: "What is the phone under Contacts?"). A person named against a role ("Laboratory
Manager: Dr Sunita Hargreaves (room F2.14)") is asked with "who", and the answer is the name without its
parenthesis or what follows a comma: "Who is the Laboratory Manager?" -> "Dr Sunita Hargreaves". A value that says
what it is is asked as such: "Campus Security: extension 2222" -> "What is the extension for Campus Security?".
"""

from __future__ import annotations

import re

from .answers import CURRENCY_WORDS, PLACE_NOUNS, ROLE_NOUNS, TIME_UNITS
from .structure import Unit, context
from .wording import WH_WORDS

MAX_ANSWER_WORDS = 15
"""Longer cells are sentences, not answers."""
_PREPOSITIONS = {"by", "for", "to", "with", "at", "in", "on", "of", "from", "per"}
"""A header ending in one ("Led by") is not a noun."""
_TITLES = {"dr", "prof", "professor", "mr", "mrs", "ms", "miss", "sir", "dame", "rev", "revd", "captain", "capt"}
"""Titles a person's name may open with ("Dr Sunita Hargreaves")."""
_NOT_PEOPLE = PLACE_NOUNS | {"plc", "llp", "limited", "services", "partners", "trust", "council"}
"""Last words of a name that is not a person's, organisations' included: a role's label may name a firm ("Fleet
manager: Overnight Services Ltd")."""
_CONTACT = re.compile(r"(extension|ext|room|tel|telephone|phone|office)\.?\s+\S*\d", re.I)
"""A value that says what it is ("extension 4415", "room F2.14"): asked as "What is the extension for ...?"."""
_MONEY = re.compile(r"[£€$¥₹]\s?\d|\d\s?(?:euro|eur|gbp|usd|pounds?|dollars?)\b", re.I)


def kind_of(value: str) -> str:
    """A rough kind for a cell's value: money, percent, count (starts with a number) or name."""
    if _MONEY.search(value) or len(value.split()) == 2 and value.split()[1].lower() in CURRENCY_WORDS:
        return "money"
    if "%" in value or "per cent" in value.lower():
        return "percent"
    if re.match(r"^\d", value):
        return "count"
    return "name"


def _lead(value: str) -> str:
    """A value up to its first parenthesis, comma or semicolon: "extension 2222, or 01632 960 222" -> "extension 2222"."""
    return re.split(r"\s*[(,;]", value)[0]


def _person(label: str, value: str) -> str:
    """The person a role's label names ("Laboratory Manager", "Dr Sunita Hargreaves (room F2.14)" -> "Dr Sunita
    Hargreaves"; "Crewing Manager", "Bethan Marsh, extension 220" -> "Bethan Marsh"), or ""."""
    role = re.split(r"[,(]| of ", label)[0].split()  # "Director of the laboratory" -> "Director"
    name = _lead(value).split()
    if not role or role[-1].lower() not in ROLE_NOUNS or not 2 <= len(name) <= 5 \
            or name[-1].lower() in _NOT_PEOPLE:
        return ""
    titled = name[0].lower().rstrip(".") in _TITLES
    if not all(w[:1].isupper() and w[1:].replace("-", "").replace("'", "").isalpha() for w in name) \
            or not titled and len(name) > 3:
        return ""
    return " ".join(name)


def _noun(header: str) -> str:
    """A header as a noun phrase inside a question: "Award" -> "award"; "VAT rate" and "Laboratory Manager" (a
    capitalised title) stay."""
    words = header.split()
    if words and words[0][1:2].islower() and not any(w[:1].isupper() for w in words[1:]):
        words[0] = words[0].lower()
    return " ".join(words)


def _is_plural(noun: str) -> bool:
    """Whether a noun phrase is plural, judged by its last word before a preposition ("tools from the ...")."""
    head = re.split(r"\s(?:from|of|at|in|for|with|on)\s", noun)[0]
    last = head.split()[-1].lower() if head.split() else ""
    return last.endswith("s") and not last.endswith(("ss", "us", "is"))


def _wh(value: str, kind: str) -> str:
    """The wh-word for a labelled value: "how long" (a duration), "how much" (money), else "what"."""
    unit = value.split()[1].lower().rstrip("s") if kind == "count" and len(value.split()) > 1 else ""
    return "how long" if unit in TIME_UNITS else "how much" if kind == "money" else "what"


def row_questions(unit: Unit) -> list[tuple[str, str, list[str]]]:
    """(answer, kind, questions) for each answer cell of a table row."""
    cells = unit.cells
    label = cells[0] if cells else ""
    if not label or not any(c.isalnum() for c in label) or len(label.split()) > 10:
        return []
    header = unit.header if len(unit.header) == len(cells) else []
    if not header and len(cells) != 2:
        return []
    heading = context(unit.heading)  # "Under What happens at Threading In, ..." reads badly
    out = []
    for j, value in enumerate(cells[1:], start=1):
        if not value or not any(c.isalnum() for c in value) or len(value.split()) > MAX_ANSWER_WORDS \
                or value.lower() in ("yes", "no", "-", "n/a", "none"):
            continue
        kind, standalone = kind_of(value), False
        if header:
            noun = _noun(header[j])
            if not noun or noun.lower() == label.lower() or noun.split()[0].lower() in WH_WORDS \
                    or noun.split()[-1].lower() in _PREPOSITIONS:
                continue  # "Who uses it" is not a noun to ask "what is the ..." about
            verb = "are" if _is_plural(noun) else "is"
            plain = f"what {verb} the {noun} for {label}"
        else:  # "Video games | 14 days": how long are video games kept?
            noun = _noun(re.sub(r"\s*\([^)]*\)", "", label))  # "Band 2 (fillings, ...)" -> "Band 2"
            verb = "are" if _is_plural(noun) else "is"
            article = "" if _is_plural(noun) else "the "
            person, contact = _person(label, value), _CONTACT.match(value)
            if person:  # "Who is the Laboratory Manager?" -> "Dr Sunita Hargreaves"
                value, kind = person, "person"
                plain = f"who {verb} {article}{noun}"
            elif contact:  # "Campus Security: extension 2222, or ..." -> "What is the extension for Campus Security?"
                value = _lead(value)
                named = noun[:1].isupper() and noun.split()[-1].lower() not in ROLE_NOUNS  # no article
                plain = f"what is the {contact.group(1).lower()} for {'' if named else article}{noun}"
            else:
                plain = f"{_wh(value, kind)} {verb} {article}{noun}"
            standalone = bool(person or contact)
        asked = plain[:1].upper() + plain[1:]
        questions = [asked + "?"] if standalone else []  # a role or a contact needs no heading: first, plain
        if heading:
            questions.append(f"Under {heading}, {plain}?")
        questions.append(asked + (f" under {heading}?" if not header and heading else "?"))
        if kind == "money" and header:
            questions.append(f"How much is the {noun} for {label}?")
            if not re.search(r"\d", label) and len(label.split()) <= 3:
                questions.append(f"How much is a {label} {noun}?")
        if header:
            questions.append(f"For {label}, what {verb} the {noun}?")
        out.append((value, kind, questions))
    return out
