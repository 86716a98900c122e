"""Metric functions against hand-computed cases."""

import math

import pytest

from workbench.evaluation import metrics as M


@pytest.mark.parametrize("text, expected", [
    ("The Cat!", "cat"),
    ("  a  b   an the c ", "b c"),
    ("27 days.", "27 days"),
    ("theatre", "theatre"),  # articles only as whole words
    ("Anne's £1,200", "annes £1200"),  # ASCII punctuation goes, other symbols stay
    ("", ""),
])
def test_squad_normalisation(text, expected):
    assert M.normalize_answer(text) == expected


def test_exact_match_uses_normalisation_and_the_best_reference():
    assert M.exact_match("The 27 days.", ["27 days"]) == 1.0
    assert M.exact_match("27 days a year", ["27 days"]) == 0.0
    assert M.exact_match("twenty-seven days", ["27 days", "Twenty-seven days!"]) == 1.0
    assert M.exact_match("anything", []) == 0.0


def test_token_f1_hand_computed():
    # pred: {27, days, per, year} vs ref {27, days}: 2 common, P = 2/4, R = 2/2 -> F1 = 2/3
    assert M.token_f1("27 days per year", ["27 days"]) == pytest.approx(2 / 3)
    # repeated words count once per match: pred {days, days} vs ref {days}: P = 1/2, R = 1 -> 2/3
    assert M.token_f1("days days", ["days"]) == pytest.approx(2 / 3)
    assert M.token_f1("nothing shared", ["27 days"]) == 0.0
    # best over references, and the SQuAD rule for empty answers (after normalisation)
    assert M.token_f1("27 days per year", ["five", "27 days per year"]) == 1.0
    assert M.token_f1("the", ["a"]) == 1.0 and M.token_f1("", ["27"]) == 0.0


def test_contains_answer_is_whole_word():
    assert M.contains_answer("The standard period is **six months**.", ["six months"]) == 1.0
    assert M.contains_answer("It is 17 days", ["7 days"]) == 0.0
    assert M.contains_answer("It is 17 days", ["7 days", "17 days"]) == 1.0
    assert M.contains_answer("anything", ["the"]) == 0.0  # a reference that normalises to nothing never matches


def test_rouge_l_hand_computed():
    # LCS of "the cat sat on mat" and "the cat on the mat" (rouge-score tokens) is "the cat on mat" = 4 words;
    # P = 4/5, R = 4/5 -> F = 0.8
    assert M.rouge_l("the cat sat on mat", ["the cat on the mat"]) == pytest.approx(0.8)
    assert M.rouge_l("x", ["y", "x"]) == 1.0
    assert M.rouge_l("", ["y"]) == 0.0


@pytest.mark.parametrize("answer, label", [
    ("Yes, it does.", "yes"),
    ("no", "no"),
    ("MAYBE; the evidence is mixed", "maybe"),
    ("The answer is no, because yes is not supported", "no"),  # no leading label: the earliest one
    ("I cannot say", None),
    ("Yesterday it rained", None),  # whole words only
])
def test_predicted_label(answer, label):
    assert M.predicted_label(answer, ["yes", "no", "maybe"]) == label


def test_accuracy_and_macro_f1_hand_computed():
    gold = ["yes", "yes", "no", "maybe"]
    pred = ["yes", "no", "no", None]
    assert M.accuracy(gold, pred) == 0.5
    # yes: tp 1, fp 0, fn 1 -> 2/3; no: tp 1, fp 1, fn 0 -> 2/3; maybe: tp 0 -> 0. Mean = 4/9.
    assert M.macro_f1(gold, pred) == pytest.approx(4 / 9)
    assert M.macro_f1([], []) == 0.0 and M.accuracy([], []) == 0.0


def test_reciprocal_rank_and_source_matching():
    sources = ["travel.md", "hr-policies.md", "hr-policies.md"]
    assert M.reciprocal_rank(sources, "hr-policies.md") == 0.5
    assert M.reciprocal_rank(sources, "hr-policies") == 0.5  # a source given without its extension
    assert M.reciprocal_rank(sources, "it.md") == 0.0 and M.reciprocal_rank([], "it.md") == 0.0


def test_groundedness_counts_content_words_in_the_passages():
    passages = ["The per diem for Lisbon is 62 euro per day.", "Hotels are capped at 140 euro."]
    answer = "In Lisbon the per diem is 62 euro, not Paris"
    # in, per, is, not are stop words and "the" goes in normalisation: 4 of the 5 content words are in the passages
    assert M.content_words(answer) == ["lisbon", "diem", "62", "euro", "paris"]
    assert M.groundedness(answer, passages) == pytest.approx(4 / 5)
    assert M.groundedness("euro euro paris", passages) == pytest.approx(2 / 3)  # repeats count
    assert M.groundedness("Yes.", passages) is None  # no content words
    assert M.groundedness("Lisbon", []) is None  # nothing to be grounded in


def test_percentile_interpolates_like_numpy():
    values = [10.0, 20.0, 30.0, 40.0]
    assert M.percentile(values, 50) == 25.0
    assert M.percentile(values, 95) == pytest.approx(38.5)
    assert M.percentile([7.0], 95) == 7.0 and math.isnan(M.percentile([], 50))


def test_final_answer_is_scored_after_the_last_answer_marker():
    from workbench.evaluation.metrics import final_answer

    raft = 'The context says: "Probation lasts six months for all staff."\nAnswer: six months'
    assert final_answer(raft) == "six months"
    assert final_answer("It is 27 days.") == "It is 27 days."
    assert final_answer("answer: 3 (the answer: is three)") == "is three)"
    assert final_answer("Answer:") == "Answer:"  # nothing after the marker: keep the whole output


def test_abstention_and_loops_are_counted_per_answer():
    from workbench.arms import ABSTENTION

    assert M.abstains(ABSTENTION) == 1.0 and M.abstains(f"Answer: {ABSTENTION.lower()}") == 1.0
    assert M.abstains("The documents say six months.") == 0.0
    assert M.loops('The context says: "The context says: "The context says: "') == 1.0
    assert M.loops("six months, six months") == 0.0
