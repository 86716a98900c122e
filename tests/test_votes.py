"""Votes: stored in SQLite, tallied per session and all time, refused when there is nothing to judge."""

import pytest

from workbench.votes import ALL_BAD, CHOICES, VoteStore

ANSWERS = {"base": "12 months", "rag": "six months", "lora": "", "raft": "six months"}


def test_votes_are_tallied_per_session_and_all_time(tmp_path):
    store = VoteStore(tmp_path / "votes.sqlite")
    store.add("rag", "Probation?", ANSWERS, "tiny", session="s1")
    store.add("rag", "Probation?", ANSWERS, "tiny", session="s2")
    store.add(ALL_BAD, "Payday?", ANSWERS, "tiny", session="s1")
    tally = {r.choice: (r.session, r.all_time) for r in store.tally("s1")}
    assert list(tally) == list(CHOICES) == ["base", "rag", "lora", "raft", "all bad"]
    assert tally == {"base": (0, 0), "rag": (1, 2), "lora": (0, 0), "raft": (0, 0), "all bad": (1, 1)}
    assert {r.choice: r.session for r in store.tally(None)}["rag"] == 0
    # a new store on the same file (an app restart) keeps the votes
    assert {r.choice: r.all_time for r in VoteStore(tmp_path / "votes.sqlite").tally()}["rag"] == 2


@pytest.mark.parametrize("choice, question, answers, message", [
    ("best", "q?", ANSWERS, "unknown vote 'best'"),
    ("rag", "  ", ANSWERS, "ask a question first"),
    ("rag", "q?", {"base": "", "rag": " "}, "ask a question first"),
])
def test_bad_votes_are_refused_and_nothing_is_stored(tmp_path, choice, question, answers, message):
    store = VoteStore(tmp_path / "votes.sqlite")
    with pytest.raises(ValueError, match=message):
        store.add(choice, question, answers, "tiny")
    assert sum(r.all_time for r in store.tally()) == 0
