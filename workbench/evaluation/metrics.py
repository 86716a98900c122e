"""Metric functions on strings and ranks: pure, small, and each defined exactly in its docstring.

Answer-quality metrics take a prediction and a list of acceptable references and return the best score
over the references (as SQuAD does). Scores are fractions in 0..1.
"""

from __future__ import annotations

import math
import re
import string
from collections import Counter
from functools import lru_cache
from pathlib import PurePosixPath

from ..arms import ABSTENTION

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = set(string.punctuation)

# Function words ignored by groundedness: they appear in any passage, so they would say nothing. A bare
# yes/no verdict is not content either. (The SQuAD normalisation already removes a, an, the.)
STOP_WORDS = frozenset("""
i me my we our you your he him his she her it its they them their what which who whom this that these those
am is are was were be been being have has had having do does did doing and but if or because as until while of
at by for with about against between into through during before after above below to from up down in out on off
over under again further then once here there when where why how all any both each few more most other some such
no nor not only own same so than too very s t can will just don should now also may might must shall would could
per yes
""".split())


_ANSWER_MARK = re.compile(r"\banswer\s*:", re.IGNORECASE)


def final_answer(text: str) -> str:
    """The part of an output that is scored: the text after the last 'Answer:' marker when there is one, else
    all of it. RAFT adapters quote their evidence first and end with 'Answer: ...' (as in the RAFT paper);
    every arm is scored the same way."""
    marks = list(_ANSWER_MARK.finditer(text))
    tail = text[marks[-1].end():].strip() if marks else ""
    return tail or text


def normalize_answer(text: str) -> str:
    """SQuAD v1.1 normalisation: lower case, drop punctuation, drop the articles a/an/the, squeeze whitespace."""
    text = "".join(ch for ch in text.lower() if ch not in _PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def _best(score, prediction: str, references: list[str]) -> float:
    return max((score(prediction, ref) for ref in references), default=0.0)


def _em(prediction: str, reference: str) -> float:
    return float(normalize_answer(prediction) == normalize_answer(reference))


def _f1(prediction: str, reference: str) -> float:
    pred, ref = normalize_answer(prediction).split(), normalize_answer(reference).split()
    if not pred or not ref:  # SQuAD: two empty answers agree, one empty answer scores 0
        return float(pred == ref)
    common = sum((Counter(pred) & Counter(ref)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(pred), common / len(ref)
    return 2 * precision * recall / (precision + recall)


def _contains(prediction: str, reference: str) -> float:
    ref = normalize_answer(reference)
    # Padding with spaces makes the match whole-word: "7" is not found in "17 days".
    return float(bool(ref) and f" {ref} " in f" {normalize_answer(prediction)} ")


def exact_match(prediction: str, references: list[str]) -> float:
    """1.0 when the normalised prediction equals a normalised reference, else 0.0."""
    return _best(_em, prediction, references)


def token_f1(prediction: str, references: list[str]) -> float:
    """SQuAD token F1 (bag of normalised words, precision and recall), best over the references."""
    return _best(_f1, prediction, references)


def contains_answer(prediction: str, references: list[str]) -> float:
    """1.0 when a normalised reference occurs in the normalised prediction as whole words, else 0.0."""
    return _best(_contains, prediction, references)


@lru_cache(maxsize=1)
def _rouge_scorer():
    from rouge_score import rouge_scorer

    return rouge_scorer.RougeScorer(["rougeL"], use_stemmer=False)


def rouge_l(prediction: str, references: list[str]) -> float:
    """ROUGE-L F-measure (longest common subsequence of words, `rouge-score` library), best over the references."""
    scorer = _rouge_scorer()
    return _best(lambda p, r: scorer.score(r, p)["rougeL"].fmeasure, prediction, references)


def predicted_label(prediction: str, labels: list[str]) -> str | None:
    """The label a free-text answer gives: its leading word if that is a label, else the earliest label word in
    it, else None. Words are compared after normalisation ("Yes, it does." -> "yes"; "The answer is no" -> "no").
    """
    words = normalize_answer(prediction).split()
    wanted = {normalize_answer(label): label for label in labels}
    if words and words[0] in wanted:
        return wanted[words[0]]
    return next((wanted[w] for w in words if w in wanted), None)


def accuracy(gold: list[str], predicted: list[str | None]) -> float:
    """Share of items whose predicted label equals the gold label (an unparsed prediction is wrong)."""
    return sum(g == p for g, p in zip(gold, predicted)) / len(gold) if gold else 0.0


def macro_f1(gold: list[str], predicted: list[str | None]) -> float:
    """Unweighted mean over the gold classes of each class's F1 (as scikit-learn's average='macro' over them).

    A prediction that names no label (None) is a miss for its gold class and a false alarm for none.
    A class with no gold items and no predictions would be 0/0; only classes present in `gold` count.
    """
    scores = []
    for label in sorted(set(gold)):
        tp = sum(g == label and p == label for g, p in zip(gold, predicted))
        fp = sum(g != label and p == label for g, p in zip(gold, predicted))
        fn = sum(g == label and p != label for g, p in zip(gold, predicted))
        scores.append(2 * tp / (2 * tp + fp + fn) if tp else 0.0)
    return sum(scores) / len(scores) if scores else 0.0


def same_source(passage_source: str, source: str) -> bool:
    """A passage comes from the reference document: same path, or the reference is that path without extension."""
    a, b = PurePosixPath(passage_source.strip()), PurePosixPath(source.strip())
    return a == b or a.with_suffix("") == b


def reciprocal_rank(passage_sources: list[str], source: str) -> float:
    """1/rank of the first passage from `source` among the retrieved ones (rank 1 = best), 0.0 if none is."""
    for rank, got in enumerate(passage_sources, 1):
        if same_source(got, source):
            return 1.0 / rank
    return 0.0


def content_words(text: str) -> list[str]:
    """The normalised words of `text` that are not stop words (with repeats)."""
    return [w for w in normalize_answer(text).split() if w not in STOP_WORDS]


def groundedness(prediction: str, passages: list[str]) -> float | None:
    """Share of the prediction's content words (repeats counted) that occur among the passages' normalised words.

    None when the prediction has no content words or there are no passages (nothing to measure).
    """
    words = content_words(prediction)
    if not words or not passages:
        return None
    vocabulary = set(normalize_answer(" ".join(passages)).split())
    return sum(w in vocabulary for w in words) / len(words)


def abstains(prediction: str) -> float:
    """1.0 when the answer (after its last 'Answer:' marker) says the abstention phrase, else 0.0."""
    return float(f" {normalize_answer(ABSTENTION)} " in f" {normalize_answer(final_answer(prediction))} ")


def loops(prediction: str, n: int = 3, times: int = 3) -> float:
    """1.0 when some run of `n` words (lower-cased, punctuation dropped) occurs `times` times or more in the
    answer: an answer that repeats itself ("The context says: The context says: ..."), else 0.0."""
    words = re.findall(r"\w+", prediction.lower())
    grams = Counter(tuple(words[i:i + n]) for i in range(len(words) - n + 1))
    return float(any(count >= times for count in grams.values()))


def percentile(values: list[float], q: float) -> float:
    """The q-th percentile (0..100) with linear interpolation between closest ranks (numpy's default)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    pos = (len(ordered) - 1) * q / 100
    low, high = math.floor(pos), math.ceil(pos)
    return ordered[low] + (ordered[high] - ordered[low]) * (pos - low)
