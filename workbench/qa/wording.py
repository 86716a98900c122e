"""Words: the wh-phrase that asks for each kind of answer, word lists, and tokens back to text."""

from __future__ import annotations

import re

from .answers import MONTHS, TIME_UNITS, Answer, phone_number, says_a_weekday

SUBJECTS = {"nsubj", "nsubjpass", "expl", "csubj", "csubjpass"}
OBJECTS = {"dobj", "attr", "oprd", "npadvmod", "dative"}
# Pronouns that leave a question without its referent ("How long is it?").
VAGUE = {"it", "its", "they", "them", "their", "he", "she", "him", "her", "his", "i", "me", "my", "itself", "we",
         "us", "our"}
VAGUE_DET = {"this", "these", "those", "that", "such", "above", "below", "following", "latter", "former", "same"}
QUALIFIERS = {"at", "least", "most", "up", "to", "about", "around", "approximately", "roughly", "nearly", "almost",
              "only", "over", "under", "more", "less", "fewer", "than", "just", "some", "maximum", "minimum", "of",
              "a", "an", "the", "no", "exactly", "another", "further", "additional", "extra", "every", "each",
              "total", "average", "mean", "limit", "cap", "median"}
QUANTITY_NOUNS = {"maximum", "minimum", "total", "average", "mean", "limit", "cap", "median"}
"""Nouns that only measure ("a maximum of 90 days"): the question asks for the number itself."""
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
                "worker", "customer", "client", "contractor", "team", "department", "committee", "nurse", "doctor",
                "physician", "surgeon",
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


ABBREVIATED_UNITS = {"h": "hours", "hr": "hours", "hrs": "hours", "min": "minutes", "mins": "minutes", "d": "days",
                     "wk": "weeks", "wks": "weeks", "mo": "months", "y": "years", "yr": "years", "yrs": "years",
                     "s": "seconds", "sec": "seconds"}


def plural_noun(noun) -> bool:
    """A plural noun, or nouns joined by "and" ("Marram Queen and Sandwort")."""
    return noun.tag_ in ("NNS", "NNPS") or any(c.dep_ == "conj" for c in noun.children)


def plural_unit(unit: str) -> str:
    """The plural of a unit ("week" -> "weeks", "facility" -> "facilities"); short or abbreviated ones stay."""
    if unit.lower() in ABBREVIATED_UNITS:
        return ABBREVIATED_UNITS[unit.lower()]
    if len(unit) <= 3 or not any(c in "aeiou" for c in unit.lower()) or not unit[-1:].isalpha():
        return unit  # "mg", "kWh", "microM."
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
        unit = plural_unit(answer.unit)
        return [("how often", ""), (f"every how many {unit}", "")]
    if kind == "count" and not answer.unit[:1].isalpha():
        return []  # a unit the tokenizer cut ("1 first-player token": not "how many -players")
    if kind == "count":
        plural = doc[answer.head].tag_ in ("NNS", "NNPS") and answer.unit.lower() not in ABBREVIATED_UNITS
        unit = answer.unit if plural else plural_unit(answer.unit)
        many = f"how many {unit}"
        if plural_unit(answer.unit).lower().rstrip("s") in TIME_UNITS or \
                answer.unit.lower().rstrip("s") in TIME_UNITS:
            if p in ("", "for") and (copula or role in ("npadvmod", "pobj")) and not tail:
                return [("how long", ""), (many, "")] if p == "" or copula else [("for how long", ""), (many, p)]
        return [(f"{p} {many}".strip(), ""), (many, p)] if p else [(many, ""), (f"what number of {unit}", "")]
    if kind == "money":
        return [("how much", p), (f"{p} what amount".strip(), "")] if p else [("how much", ""), ("what amount", "")]
    if kind == "percent":
        return [(f"{p} what percentage".strip(), ""), (f"{p} what share".strip(), "")]
    if kind in ("date", "year", "time"):
        noun = {"date": "date", "year": "year", "time": "time"}[kind]
        span_text = doc[answer.start:answer.end].text.lower()
        if says_a_weekday(span_text):
            noun = "day"
        elif span_text in MONTHS:
            noun, p = "month", p or "in"  # "announced in June": "in what month"
        if p in ("on", "at", "in", "during", ""):
            first = f"on what {noun}" if noun in ("date", "day") else f"in what {noun}" if noun in ("year", "month") \
                else f"at what {noun}"
            return [("when", ""), (first, "")]
        return [(f"{p} when", ""), (f"{p} what {noun}", "")]
    if kind == "person" and p in ("in", "at", "on", "inside", "into"):
        return [("where", ""), ("what", p)]  # "in Tenter Café": a place the recogniser took for a person
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
        if p == "by" and kind == "name":
            return [("who", "by"), ("by whom", "")]
        if p:
            return [("what", p), (f"{p} what", "")]
        return [("what", ""), ("what exactly", "")]
    if kind == "number" and role != "attr":
        return []  # a bare number is only clear as the value of something ("the average age was 24.9")
    if kind in ("code", "number"):
        if role not in ("attr", "dobj", "pobj", "nsubj", "nsubjpass"):
            return []
        if phone_number(answer.text(doc)):  # "on what number", but "What is the office number?"
            return [(f"{p} what number".strip(), ""), ("what number", p)] if p else \
                [("what", "")] if role == "attr" else [("what number", "")]
        return [(f"{p} what".strip(), ""), ("what", p)] if p else [("what", ""), ("what exactly", "")]
    return []


YEAR_LIKE = re.compile(r"^1[5-9]\d{2}$|^20\d{2}$")


class _Lowered:
    """A token shown in lower case (the first word of a sentence moved inside a question)."""

    def __init__(self, tok):
        self.tok, self.text = tok, tok.text.lower()

    def __getattr__(self, name):
        return getattr(self.tok, name)


def render(tokens) -> str:
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


FUNCTION_POS = ("DET", "ADP", "ADV", "PRON", "AUX", "CCONJ", "SCONJ", "NUM", "PART")


def lower_first(tokens, names: frozenset = frozenset()) -> list:
    """Lower-case the first token unless it is a name (`names`: the corpus capitalises it) or an acronym."""
    if not tokens or isinstance(tokens[0], str):
        return list(tokens)
    t = tokens[0]
    nxt = t.doc[t.i + 1] if t.i + 1 < len(t.doc) else None
    multiword = nxt is not None and nxt.text[:1].isupper() and nxt.pos_ == "PROPN"  # "People Operations"
    keep = sum(c.isupper() for c in t.text) >= 2 or t.text in names or multiword and t.pos_ in ("NOUN", "ADJ", "PROPN")
    positional = t.i == t.sent.start and t.pos_ != "PROPN" and t.ent_type_ in ("", "DATE", "CARDINAL", "ORDINAL",
                                                                               "QUANTITY")
    common = t.pos_ in FUNCTION_POS or t.pos_ in ("NOUN", "ADJ", "VERB") and not t.ent_type_
    if not keep and (positional or common):
        return [_Lowered(t)] + list(tokens[1:])
    return list(tokens)


def subtree(tok) -> range:
    return range(tok.left_edge.i, tok.right_edge.i + 1)
