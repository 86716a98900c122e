"""Where things are: a clause that puts its subject somewhere, asked with "where".

"The fire extinguisher is next to the paint booth." -> "Where is the fire extinguisher?" -> "next to the paint
booth"; "Specialist tools are kept in the locked Blue Cabinet." -> "Where are specialist tools kept?"; "The first-aid
kit hangs beside the main door." -> "Where does the first-aid kit hang?". The answer keeps its preposition, as a
person answers "where" ("next to the paint booth", not "the paint booth").

A spatial preposition (beside, next to, behind, ...) always places; "in", "at", "on", "under", "above" and
"below" only before a proper name or a noun that names a place ("at Wexley Market", "in the staff room"), since
they also open times, manners and rules ("in 2019", "in writing", "under the policy"). The place follows its verb
("In Lisbon, dental cover is included" scopes a rule; it does not place the cover), and a noun object has a
determiner or a modifier ("on site" and "under way" are idioms).

A street address is asked for the name it belongs to, wherever the sentence puts it ("Larkspur Dental Practice,
7 Mallory Row, Eastwick." -> "What is the address of Larkspur Dental Practice?" -> "7 Mallory Row").
"""

from __future__ import annotations

from .answers import MONTHS, WEEKDAYS, compound_start
from .wording import PLACE_HEADS, VAGUE, VAGUE_DET

SPATIAL = {"beside", "behind", "underneath", "beneath", "opposite", "inside", "outside", "near", "alongside", "next"}
"""Prepositions that always say where ("next" as in "next to")."""
GENERAL = {"in", "at", "on", "under", "above", "below"}
"""Prepositions that say where only before a place ("under the desk", not "under the policy")."""
PLACES = PLACE_HEADS | {"wall", "door", "entrance", "exit", "gate", "corridor", "stairs", "staircase", "shelf",
                       "counter", "cupboard", "drawer", "tray", "noticeboard", "board", "window", "field", "meadow",
                       "wharf", "pier", "quay", "terminal", "platform", "deck", "harbour", "port", "village",
                       "market", "square", "lane", "road", "branch", "premises", "storeroom", "store", "booth", "lounge",
                       "reach", "wing", "annexe", "annex", "depot", "yard", "workshop", "studio", "kiosk"}
"""Nouns that name a place after "in", "at" or "on"."""
WH = {"who", "whom", "whose", "which", "what", "that", "where", "when"}
STREETS = {"street", "road", "row", "lane", "avenue", "square", "quay", "wharf", "place", "way", "close", "drive",
           "terrace", "crescent", "parade", "walk", "court", "gardens", "hill", "mews", "yard", "embankment"}
"""Last words of a street name."""
MAX_WORDS = 10
"""Longest subject or answer asked about."""


def _place_object(prep) -> object | None:
    """The object of a place preposition, or None: "next to" reads through "to"; "in/at/on" need a name or a
    place noun that is neither a date nor a day."""
    if prep.lower_ == "next":
        to = next((c for c in prep.children if c.lower_ == "to" and c.dep_ == "prep"), None)
        prep = to if to is not None else prep
    obj = next((c for c in prep.children if c.dep_ == "pobj"), None)
    if obj is None or obj.pos_ not in ("NOUN", "PROPN") or obj.like_email or obj.like_url:
        return None
    name = obj.pos_ == "PROPN" or obj.text[:1].isupper()  # "at Tollbridge", which the tagger may call a noun
    if not name and not any(c.dep_ in ("det", "poss", "amod", "compound", "nummod") for c in obj.children):
        return None
    if obj.lower_ in MONTHS or obj.lower_.rstrip("s") in WEEKDAYS:
        return None
    if prep.lower_ in GENERAL and not (name or obj.lemma_.lower() in PLACES):
        return None
    return obj


def _span(tok) -> tuple[int, int]:
    return tok.left_edge.i, tok.right_edge.i + 1


def _plain(doc, start: int, end: int) -> bool:
    """A short stretch without commas, clauses in brackets or vague pronouns."""
    words = doc[start:end]
    return 0 < len(words) <= MAX_WORDS and not any(
        t.is_punct and t.text not in "-'’" or t.lower_ in VAGUE | VAGUE_DET | WH or t.pos_ == "VERB"
        or any(c in t.text for c in "<>=") for t in words)


def _end(obj) -> int:
    """Where the answer ends: the object's phrase, cut before a coordinated phrase that names no place ("in the
    Dobby meeting room" of "in the Dobby meeting room and bookings") and before a comma ("at 14 Harbour Road" of
    "at 14 Harbour Road, Wrexley")."""
    end = obj.right_edge.i + 1
    for conj in (c for c in obj.children if c.dep_ == "conj"):
        if not (conj.pos_ == "PROPN" or conj.lemma_.lower() in PLACES):
            end = next((c for c in obj.children if c.dep_ == "cc" and c.i < conj.i), conj).i
            break
    comma = next((t.i for t in obj.doc[obj.i + 1:end] if t.text == ","), None)
    return comma if comma is not None else end


def _question(verb, subject: str) -> str | None:
    """"Where is X?", "Where are X welcome?", "Where are X kept?", "Where must X be stored?", "Where does X hang?";
    None for other verb forms."""
    aux = [c for c in verb.children if c.dep_ in ("aux", "auxpass")]
    if verb.lemma_ == "be" and not aux:
        complement = [c for c in verb.children if c.dep_ in ("acomp", "attr") and c.lower_ not in SPATIAL]
        if complement and (len(complement) > 1 or complement[0].pos_ != "ADJ" or len(list(complement[0].subtree)) > 1):
            return None  # "X is the place for Y in Z": not where X is
        return " ".join(["Where", verb.text.lower(), subject] + [c.text.lower() for c in complement]) + "?"
    if aux and aux[0].i < verb.i and all(a.i < verb.i for a in aux):
        first, rest = aux[0].text.lower(), " ".join(a.text.lower() for a in aux[1:])
        return " ".join(w for w in ("Where", first, subject, rest, verb.text.lower()) if w) + "?"
    if not aux and verb.tag_ in ("VBZ", "VBP", "VBD"):
        do = {"VBZ": "does", "VBP": "do", "VBD": "did"}[verb.tag_]
        return f"Where {do} {subject} {verb.lemma_.lower()}?"
    return None


def place_facts(sent, names: frozenset = frozenset()) -> list[tuple[str, str, list[str]]]:
    """(answer, kind, questions) for each clause of the sentence that places its subject. `names`: words the corpus
    capitalises mid-sentence, which keep their capital at the question's start ("Where does Sandwort lie?")."""
    out, doc = [], sent.doc
    for prep in sent:
        if prep.dep_ not in ("prep", "advmod", "acomp") or prep.lower_ not in SPATIAL | GENERAL \
                or prep.head.pos_ not in ("VERB", "AUX"):
            continue
        obj = _place_object(prep)
        verb = prep.head
        subject = next((c for c in verb.children if c.dep_ in ("nsubj", "nsubjpass")), None)
        if obj is None or subject is None or subject.pos_ not in ("NOUN", "PROPN") or not subject.i < verb.i < prep.i:
            continue
        if any(c.dep_ in ("dobj", "neg") for c in verb.children):
            continue  # "keeps a log in the office", "is not kept in ...": the subject is not what is placed
        s_start, s_end = _span(subject)
        if not _plain(doc, s_start, s_end):
            s_end = subject.i + 1  # "Specialist tools, from … to …, are kept …": the head and what comes before it
        a_start, a_end = prep.i, _end(obj)
        if any(t.lower_ in ("no", "none", "neither", "nobody") for t in doc[s_start:s_end]):
            continue  # "No open flames are allowed in the roof space": nothing is placed there
        if not (_plain(doc, s_start, s_end) and _plain(doc, a_start, a_end)):
            continue
        what = doc[s_start:s_end].text
        what = what[:1].lower() + what[1:] if doc[s_start].pos_ != "PROPN" and doc[s_start].text not in names \
            else what
        question = _question(verb, what)
        if question:
            out.append((doc[a_start:a_end].text, "place", [question]))
    return out


def _owner(sent, before: int) -> str | None:
    """The nearest proper name before token `before` in the sentence, as written ("Larkspur Dental Practice")."""
    doc = sent.doc
    for tok in reversed(doc[sent.start:before]):
        if tok.pos_ == "PROPN" and tok.dep_ != "compound" and tok.text[:1].isupper():
            start = compound_start(tok)
            if doc[start:tok.i + 1].text.split()[-1].lower() in STREETS or tok.lower_ in MONTHS:
                return None
            return doc[start:tok.i + 1].text
    return None


def address_facts(sent) -> list[tuple[str, str, list[str]]]:
    """(answer, kind, questions) for each street address of the sentence ("7 Mallory Row") with the name before it."""
    out, doc = [], sent.doc
    for street in sent:
        if street.lower_ not in STREETS or not street.text[:1].isupper() or street.pos_ != "PROPN":
            continue
        start = street.left_edge.i
        number, name = doc[start], doc[start + 1:street.i]
        if not (number.text.isdigit() and len(name) and all(t.text[:1].isupper() and t.is_alpha for t in name)):
            continue
        owner = _owner(sent, start)
        if owner:
            out.append((doc[start:street.i + 1].text, "place", [f"What is the address of {owner}?", f"Where is {owner}?"]))
    return out
