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


def test_a_vote_counts_once_per_answer_the_app_gave_in_that_session():
    from workbench.votes import VoteGate

    gate, answers = VoteGate(), ["12 months", "six months", "", "six months"]
    gate.produced("s1", "Probation?", answers)
    with pytest.raises(ValueError, match="vote on answers the app just gave"):
        gate.claim("s2", "Probation?", answers)  # another session
    with pytest.raises(ValueError, match="vote on answers the app just gave"):
        gate.claim("s1", "Probation?", ["x" * 2**21, "", "", ""])  # text the app never showed
    gate.claim("s1", "Probation?", answers)
    with pytest.raises(ValueError, match="each once"):
        gate.claim("s1", "Probation?", answers)


def test_votes_are_rate_limited_per_session():
    from workbench.votes import VoteGate

    now = [0.0]
    gate = VoteGate(per_minute=3, clock=lambda: now[0])
    for i in range(5):
        gate.produced("s1", f"q{i}?", [f"a{i}"])
    for i in range(3):
        gate.claim("s1", f"q{i}?", [f"a{i}"])
    with pytest.raises(ValueError, match="at most 3 votes a minute"):
        gate.claim("s1", "q3?", ["a3"])
    now[0] = 61.0
    gate.claim("s1", "q3?", ["a3"])


def test_huge_fields_are_refused_and_nothing_is_stored(tmp_path):
    store = VoteStore(tmp_path / "votes.sqlite")
    with pytest.raises(ValueError, match="each answer 32,768"):
        store.add("rag", "q?", {"base": "x" * 2**21}, "tiny")
    with pytest.raises(ValueError, match="question may be 8,192"):
        store.add("rag", "q" * 2**21, ANSWERS, "tiny")
    with pytest.raises(ValueError, match="as text"):
        store.add("rag", ["q?"], ANSWERS, "tiny")
    assert sum(r.all_time for r in store.tally()) == 0


@pytest.mark.ui
def test_hostile_votes_through_the_api_leave_the_store_small(client, workbench):
    """What the issue did: 2 MiB fields in three calls. Now refused in the feedback line; the file stays small."""
    path = workbench.settings.data_path / "votes.sqlite"
    for _ in range(3):
        unchanged, feedback = client.predict("q?", "x" * 2**21, "x" * 2**21, "", "", api_name="/vote_rag")
        assert feedback.startswith("⚠️") and unchanged == {"__type__": "update"}
    unchanged, feedback = client.predict("q?", "an answer never given", "", "", "", api_name="/vote_rag")
    assert "vote on answers the app just gave" in feedback
    assert path.stat().st_size < 64 * 1024


def test_votes_are_rate_limited_per_client_address_across_its_sessions():
    from workbench.votes import VoteGate

    now = [0.0]
    gate = VoteGate(per_minute=3, per_client_minute=4, clock=lambda: now[0])
    for i in range(6):
        gate.produced(f"s{i}", "q?", [f"a{i}"])
    for i in range(4):  # four new sessions, one vote each
        gate.claim(f"s{i}", "q?", [f"a{i}"], client="203.0.113.5")
    with pytest.raises(ValueError, match="at most 4 votes a minute from one address"):
        gate.claim("s4", "q?", ["a4"], client="203.0.113.5")
    gate.claim("s4", "q?", ["a4"], client="198.51.100.7")  # another address
    now[0] = 61.0
    gate.claim("s5", "q?", ["a5"], client="203.0.113.5")
