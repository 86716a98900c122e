"""Per-session corpora: privacy, permissions, expiry after the session ends, saving to the shared library."""

import pytest

from workbench.retrieval.ingest import ingest
from workbench.retrieval.sessions import CorpusSession, SessionCorpora
from workbench.retrieval.store import StoreError


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


@pytest.fixture()
def clock():
    return Clock()


@pytest.fixture()
def sessions(store, docs, clock):
    ingest(store, "handbook", [docs], 40, 5)
    manager = SessionCorpora(store, ttl=60, shared_library=True, shipped=("handbook",), clock=clock)
    yield manager
    manager.close()


def upload(sessions, sid, name, docs):
    return sessions.ingest(sid, name, [docs], 40, 5)


def test_a_session_corpus_is_private(sessions, store, docs):
    a, b = CorpusSession.new().id, CorpusSession.new().id
    report = upload(sessions, a, "mine", docs)
    assert report.corpus == "mine" and report.chunks_total > 0
    assert [(i.name, i.scope) for i in sessions.list(a)] == [("mine", "session"), ("handbook", "shipped")]
    assert [i.name for i in sessions.list(b)] == ["handbook"]
    assert store.corpora() == ["handbook"]  # never listed publicly
    with pytest.raises(StoreError, match=r"no corpus 'mine' in this session \(yours: none; shared: handbook\)"):
        sessions.find(b, "mine")
    with pytest.raises(StoreError) as err:
        store.query("nope", "q", 1)
    assert a not in str(err.value)  # errors name shared corpora only
    assert upload(sessions, b, "mine", docs).chunks_total == report.chunks_total  # same name, separate corpus


def test_ids_are_generated_by_the_server_and_unguessable():
    ids = {CorpusSession.new().id for _ in range(100)}
    assert len(ids) == 100 and all(len(i) == 24 for i in ids)


def test_corpora_expire_after_the_session_ends_plus_the_ttl(sessions, store, docs, clock):
    sid = CorpusSession.new().id
    upload(sessions, sid, "mine", docs)
    sessions.end(sid)
    clock.now += 30
    sessions.end(sid)  # a second end (Gradio dropping the state later) does not push the expiry back
    clock.now += 29
    assert sessions.sweep() == [] and sessions.names(sid) == ("mine",)
    clock.now += 2
    assert sessions.sweep() == [sessions.collection(sid, "mine")] and sessions.names(sid) == ()
    assert store.corpora() == ["handbook"]


def test_a_session_that_comes_back_keeps_its_corpora(sessions, docs, clock):
    sid = CorpusSession.new().id
    upload(sessions, sid, "mine", docs)
    sessions.end(sid)
    sessions.touch(sid)  # e.g. the browser reconnected
    clock.now += 3600
    assert sessions.sweep() == [] and sessions.names(sid) == ("mine",)


def test_saved_corpora_survive_the_session_and_everyone_sees_them(sessions, store, docs, clock):
    a, b = CorpusSession.new().id, CorpusSession.new().id
    chunks = upload(sessions, a, "mine", docs).chunks_total
    assert sessions.save(a, "mine", "team-docs") == "team-docs"
    sessions.end(a)
    clock.now += 3600
    sessions.sweep()
    assert store.corpora() == ["handbook", "team-docs"] and store.count("team-docs") == chunks
    assert ("team-docs", "shared") in [(i.name, i.scope) for i in sessions.list(b)]
    assert store.query("team-docs", "helpdesk extension", 1)[0].source == "it.txt"


def test_names_must_not_clash_with_the_library(sessions, docs):
    a = CorpusSession.new().id
    with pytest.raises(StoreError, match="'handbook' is a shared corpus"):
        upload(sessions, a, "handbook", docs)
    upload(sessions, a, "mine", docs)
    with pytest.raises(StoreError, match="already has a corpus named 'handbook'"):
        sessions.save(a, "mine", "handbook")
    with pytest.raises(StoreError, match="invalid corpus name"):
        upload(sessions, a, "../x", docs)


def test_permissions(sessions, store, docs):
    a = CorpusSession.new().id
    with pytest.raises(StoreError, match="ships with the app"):
        sessions.delete_corpus(a, "handbook")
    upload(sessions, a, "mine", docs)
    assert sessions.delete_document(a, "mine", "it.txt") == 1
    assert [i.name for i in sessions.list(a)][0] == "mine"
    sessions.delete_document(a, "mine", "travel.md")  # the last document takes the empty corpus with it
    assert sessions.names(a) == ()

    locked = SessionCorpora(store, ttl=60, shared_library=False, shipped=("handbook",))
    upload(locked, a, "mine", docs)
    with pytest.raises(StoreError, match="switched off"):
        locked.save(a, "mine")
    ingest(store, "library", [docs], 40, 5)
    with pytest.raises(StoreError, match="read-only"):
        locked.delete_corpus(a, "library")
    locked.delete_corpus(a, "mine")  # your own uploads stay yours to delete


def test_an_upload_where_every_file_fails_leaves_no_corpus(sessions, tmp_path):
    (tmp_path / "empty.txt").write_text("")
    sid = CorpusSession.new().id
    report = sessions.ingest(sid, "broken", [tmp_path / "empty.txt"], 40, 5)
    assert report.files_failed and sessions.names(sid) == ()


def test_orphans_of_a_previous_run_expire(sessions, store, docs, clock):
    sid = CorpusSession.new().id
    upload(sessions, sid, "mine", docs)
    restarted = SessionCorpora(store, ttl=60, clock=clock)  # a new process: nobody holds `sid` any more
    assert restarted.expire_orphans() == 1
    clock.now += 61
    assert restarted.sweep() == [sessions.collection(sid, "mine")]


def test_a_session_corpus_is_shown_by_the_name_its_owner_gave_it():
    from workbench.retrieval.sessions import display_name

    assert display_name("session--52c2ab--harbor-lantern") == "harbor-lantern"
    assert display_name("handbook") == "handbook"


def test_a_cancelled_ingest_stores_nothing_and_leaves_what_was_stored(sessions, store, docs, tmp_path):
    """Cancel (a job's event) stops an ingest before anything is written: a new corpus is not left behind, an
    existing one keeps its chunks."""
    import threading

    from workbench.jobs import Cancelled

    sid, cancel = CorpusSession.new().id, threading.Event()
    cancel.set()
    with pytest.raises(Cancelled):
        sessions.ingest(sid, "mine", [docs], 40, 5, cancel=cancel)
    assert sessions.list(sid)[0].name == "handbook"  # no empty "mine"
    before = upload(sessions, sid, "mine", docs).chunks_total
    extra = tmp_path / "extra.md"
    extra.write_text("# Extra\n\nThe canteen opens at eight.\n")
    with pytest.raises(Cancelled):
        sessions.ingest(sid, "mine", [extra], 40, 5, cancel=cancel)
    assert store.count(sessions.find(sid, "mine").collection) == before


def test_cancel_kills_a_parse_in_flight_within_a_second():
    """A parse stuck in its worker (here: asleep) ends soon after Cancel, not at its time limit."""
    import threading
    import time

    from workbench.jobs import Cancelled
    from workbench.retrieval.parsing import ParseLimits, ParseWorker

    cancel = threading.Event()
    with ParseWorker(ParseLimits(timeout_s=60), cancel) as worker:
        assert worker.call(abs, -3, timeout=30) == 3
        threading.Timer(0.5, cancel.set).start()
        started = time.perf_counter()
        with pytest.raises(Cancelled):
            worker.call(time.sleep, 30, timeout=60)
        assert time.perf_counter() - started < 2
