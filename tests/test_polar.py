"""Yes/no questions: which questions count, how calibration picks yes or no, and which arms it reaches."""

import torch
from conftest import save_random_adapter

from workbench import polar


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


def test_only_the_calibrated_arms_weigh_a_yes_no_question(workbench, tmp_path, monkeypatch):
    raft = save_random_adapter(workbench.model, tmp_path / "my-raft", seed=2)
    vocab = len(workbench.tokenizer)
    monkeypatch.setattr(polar, "answer_ids", lambda tok: (list(range(0, vocab, 2)), list(range(1, vocab, 2))))
    forced = workbench.tokenizer.encode("Lisbon", add_special_tokens=False)[0]
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
