"""Yes/no questions: which questions count, how a threshold or calibration picks yes or no, and which arms it
reaches."""

import json

import torch
from conftest import save_random_adapter

from workbench import polar
from workbench.results import Passage


def passage(text):
    return Passage(text=text, source="rules.md", score=1.0, chunk_id=text[:8])


def test_yes_no_questions_start_with_an_auxiliary_and_offer_no_alternative():
    assert polar.is_yes_no("Do assistance dogs travel free?")
    assert polar.is_yes_no("  can't I pay on board?")
    assert not polar.is_yes_no("Is the fare paid in cash or by card?")
    assert not polar.is_yes_no("What does a day ticket cost?")
    assert not polar.is_yes_no("")
    assert polar.calibrated_arms("Is it free?", "rag, raft") == {"rag", "raft"}
    assert polar.calibrated_arms("Is it free?", "") == set()
    assert polar.calibrated_arms("What does it cost?", "raft") == set()


def test_the_passages_decide_against_the_content_free_lean():
    yes, no = [1], [2]

    def logits(y, n, other=0.0):
        out = torch.full((6,), other)
        out[1], out[2] = y, n
        return out

    # The model says no with its passages, but says no far more surely with none: the passages point to yes.
    assert polar.calibrated_token(2, logits(2.0, 3.0), logits(0.0, 3.0), yes, no) == 1
    # The passages lean to no more than the content-free prompt does: no.
    assert polar.calibrated_token(1, logits(3.0, 2.5), logits(3.0, 1.0), yes, no) == 2
    # An answer that does not start with yes or no (an abstention, a phrase) is kept.
    assert polar.calibrated_token(4, logits(2.0, 3.0, 5.0), logits(0.0, 3.0), yes, no) == 4
    # A tokenizer without one-token yes and no answers is left alone.
    assert polar.calibrated_token(2, logits(2.0, 3.0), logits(0.0, 3.0), [], no) == 2


def every_token_a_yes_or_no(workbench, monkeypatch) -> int:
    """Make every even token a yes and every odd one a no; returns the token the tests force."""
    vocab = len(workbench.tokenizer)
    monkeypatch.setattr(polar, "answer_ids", lambda tok: (list(range(0, vocab, 2)), list(range(1, vocab, 2))))
    return workbench.tokenizer.encode("Lisbon", add_special_tokens=False)[0]


def test_only_the_calibrated_arms_weigh_a_yes_no_question(workbench, tmp_path, monkeypatch):
    raft = save_random_adapter(workbench.model, tmp_path / "my-raft", seed=2)
    forced = every_token_a_yes_or_no(workbench, monkeypatch)
    calls = []

    def weigh(token, logits, null_logits, yes, no):
        calls.append(not torch.equal(logits, null_logits))
        return forced

    monkeypatch.setattr(polar, "calibrated_token", weigh)
    result = workbench.compare("Is the per diem for Lisbon 62?", "rag,raft", raft_adapter=str(raft),
                               yes_no_calibration="raft")
    by_arm = {a.arm: a for a in result.arms}
    assert calls == [True]  # raft only, its content-free prompt gave other logits
    assert by_arm["raft"].answer.startswith(workbench.tokenizer.decode([forced]).strip())

    calls.clear()
    workbench.compare("What is the per diem for Lisbon?", "rag,raft", raft_adapter=str(raft), yes_no_calibration="raft")
    workbench.compare("Is the per diem for Lisbon 62?", "rag,raft", raft_adapter=str(raft))  # off by default
    assert calls == []
    workbench.compare("Is the per diem for Lisbon 62?", "rag,raft", raft_adapter=str(raft),
                      yes_no_calibration="rag,raft")
    assert len(calls) == 2


def test_the_adapters_threshold_decides_between_yes_and_no():
    yes, no = [1], [2]
    odds = torch.zeros(6)
    odds[1], odds[2] = 1.0, 2.0  # log P(yes) - log P(no) = -1
    assert polar.thresholded_token(2, odds, -1.5, yes, no) == 1  # above the cut: yes, though "no" was likelier
    assert polar.thresholded_token(1, odds, -0.5, yes, no) == 2
    assert polar.thresholded_token(4, odds, -1.5, yes, no) == 4  # an answer in words is kept
    # the fitted cut answers the most right, halfway between two odds
    assert polar.fit_threshold([(-3.0, False), (-2.0, False), (-1.0, True), (0.5, True), (-1.5, True)]) == -1.75
    assert polar.fit_threshold([(1.0, True)]) < 1.0


def test_an_adapter_folder_carries_its_thresholds_and_a_bad_file_is_no_threshold(tmp_path):
    assert polar.threshold(tmp_path) is None
    (tmp_path / polar.THRESHOLD_FILE).write_text('{"threshold": -1.25, "questions": 10}')
    assert polar.threshold(tmp_path) == polar.YesNoCut(-1.25, -1.25)  # one threshold serves both kinds
    (tmp_path / polar.THRESHOLD_FILE).write_text('{"threshold": -1.25, "threshold_negated": 2.0}')
    assert polar.threshold(tmp_path) == polar.YesNoCut(-1.25, 2.0)
    for bad in ("{not json", "[1, 2]", '{"threshold": "high"}', '{"threshold_negated": 2.0}'):
        (tmp_path / polar.THRESHOLD_FILE).write_text(bad)
        assert polar.threshold(tmp_path) is None, bad


def test_the_evidence_is_the_sentence_nearest_the_question_and_its_negation_picks_the_threshold():
    passages = [passage("Dogs on leads are welcome. Season tickets are not sold; day tickets are sold on board."),
                passage("Bicycles travel free of charge.")]
    assert polar.evidence("Does the company sell season tickets?", passages) == "Season tickets are not sold;"
    assert polar.evidence("Do bicycles travel free?", passages) == "Bicycles travel free of charge."
    assert polar.evidence("Is it free?", []) == ""
    cut = polar.YesNoCut(plain=-2.0, negated=2.0)
    assert cut.at("Does the company sell season tickets?", passages) == 2.0
    assert cut.at("Are dogs on leads welcome?", passages) == -2.0
    assert polar.negated_evidence("Can cash be used?", [passage("Cash is accepted everywhere except on board.")])
    assert polar.negated_evidence("Is a refund given?", [passage("Refunds aren't given.")])
    assert not polar.negated_evidence("Is a notebook given?", [passage("A notebook is given to each student.")])


def test_each_threshold_is_fitted_on_its_own_kind_of_evidence():
    scored = [(-3.0, False, False), (-2.0, False, True), (-1.0, False, True),  # plain: yes above -2.5
              (-1.0, True, False), (0.5, True, False), (1.5, True, True)]  # negated: yes above 1.0
    assert polar.fit_cuts(scored) == polar.YesNoCut(-2.5, 1.0)
    plain_only = polar.fit_cuts(scored[:3])
    assert plain_only.negated == plain_only.plain == -2.5  # no negated evidence: the threshold fitted on all


def record_cuts(workbench, monkeypatch) -> tuple[list[float], int]:
    """Every token a yes or a no, and polar.thresholded_token replaced by a spy: (the cuts it is called with, the
    token it answers)."""
    forced = every_token_a_yes_or_no(workbench, monkeypatch)
    cuts = []

    def decide(token, logits, cut, yes, no):
        cuts.append(cut)
        return forced

    monkeypatch.setattr(polar, "thresholded_token", decide)
    return cuts, forced


def test_a_raft_adapter_with_a_threshold_answers_yes_no_questions_by_it(workbench, tmp_path, monkeypatch):
    raft = save_random_adapter(workbench.model, tmp_path / "cut-raft", seed=3)
    cuts, forced = record_cuts(workbench, monkeypatch)
    workbench.compare("Is the per diem for Lisbon 62?", "rag,raft", raft_adapter=str(raft))
    assert cuts == []  # an adapter without a threshold answers by its argmax
    (raft / polar.THRESHOLD_FILE).write_text(json.dumps({"threshold": -1.25}))
    result = workbench.compare("Is the per diem for Lisbon 62?", "rag,raft", raft_adapter=str(raft))
    assert cuts == [-1.25]  # raft's first token, by its adapter's cut; rag has no adapter
    assert {a.arm: a for a in result.arms}["raft"].answer.startswith(workbench.tokenizer.decode([forced]).strip())
    workbench.compare("What is the per diem for Lisbon?", "rag,raft", raft_adapter=str(raft))
    assert cuts == [-1.25]  # not a yes/no question


def test_a_question_over_negated_evidence_is_decided_by_the_negated_threshold(workbench, tmp_path, monkeypatch):
    from workbench.retrieval.ingest import ingest

    raft = save_random_adapter(workbench.model, tmp_path / "cut-raft", seed=3)
    (raft / polar.THRESHOLD_FILE).write_text(json.dumps({"threshold": -1.25, "threshold_negated": 2.5}))
    rules = tmp_path / "rules"
    rules.mkdir()
    (rules / "fares.md").write_text("Season tickets are not sold. Day tickets cost 4 euro.\n")
    ingest(workbench.store, "fares", [rules], 40, 5)
    cuts, _ = record_cuts(workbench, monkeypatch)
    workbench.compare("Does the company sell season tickets?", "raft", raft_adapter=str(raft), corpus="fares")
    workbench.compare("Do day tickets cost 4 euro?", "raft", raft_adapter=str(raft), corpus="fares", top_k=1)
    assert cuts == [2.5, -1.25]
