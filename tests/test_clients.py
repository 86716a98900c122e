"""Limits per client address beside the per-session ones: a client that opens new sessions gets no more parse time,
votes, corpora or adapters than one session of its own would share with them; X-Forwarded-For counts only behind
a trusted proxy. Each test goes through the real app (`build_app`, gradio_client) on the tiny workbench."""

from __future__ import annotations

from contextlib import contextmanager
from types import SimpleNamespace

import pytest
from conftest import save_random_adapter

from workbench.ui import build_app
from workbench.ui.clients import client_address

pytestmark = pytest.mark.ui
ELSEWHERE = {"X-Forwarded-For": "198.51.100.7"}
"""What a client behind a proxy (or one claiming to be) sends."""


@pytest.fixture(autouse=True)
def proxy_elsewhere(monkeypatch):
    """As on a Space, the proxy is not on this machine: uvicorn, which trusts an X-Forwarded-For from 127.0.0.1 by
    default (FORWARDED_ALLOW_IPS), then trusts none, and only Settings.trusted_proxies decides."""
    monkeypatch.setenv("FORWARDED_ALLOW_IPS", "192.0.2.1")


@contextmanager
def launched(wb):
    demo = build_app(wb.settings, wb)
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    clients = []

    def new_client(headers=None):
        from gradio_client import Client

        clients.append(Client(url, verbose=False, headers=headers))
        return clients[-1]

    try:
        yield new_client
    finally:
        for c in clients:
            c.close()
        demo.close()


def ingest(c, path, name):
    from gradio_client import handle_file

    return c.predict([handle_file(str(path))], name, 40, 5, api_name="/ingest")[0]


def test_the_client_address_is_the_peer_unless_a_trusted_proxy_says_otherwise():
    def request(host, forwarded=None):
        return SimpleNamespace(client=SimpleNamespace(host=host),
                               headers={"x-forwarded-for": forwarded} if forwarded else {})

    assert client_address(request("203.0.113.5", "198.51.100.7")) == "203.0.113.5"  # the header is not trusted
    assert client_address(request("10.0.0.2", "6.6.6.6, 198.51.100.7"), trusted_proxies=1) == "198.51.100.7"
    assert client_address(request("10.0.0.2", "198.51.100.7, 10.0.0.9"), trusted_proxies=2) == "198.51.100.7"
    assert client_address(request("10.0.0.2"), trusted_proxies=1) == "10.0.0.2"  # not through the proxy
    assert client_address(request("2001:db8:1:2:aaaa::1")) == client_address(request("2001:db8:1:2:bbbb::9")) \
        == "2001:db8:1:2::/64"
    assert client_address(request("::ffff:203.0.113.5")) == "203.0.113.5"
    assert client_address(None) == ""


def test_new_sessions_give_a_client_no_more_parse_time(workbench, tmp_path):
    s = workbench.settings
    s.parse_timeout_s, s.session_parse_s, s.client_parse_s = 1.0, 600.0, 1.5
    slow = tmp_path / "slow.rtf"  # striprtf reads it in quadratic time: each file spends its whole 1 s limit
    slow.write_text("{\\rtf1 {\\fonttbl" + "\\f1" * 20_000 + " x}")
    with launched(workbench) as new_client:
        refused = None
        for i in range(4):  # a fresh session each time: each has 600 s of its own
            try:
                ingest(new_client(), slow, f"slow{i}")
            except Exception as exc:  # noqa: BLE001 - the refusal checked below
                refused = (i, str(exc))
                break
        assert refused is not None and 1 <= refused[0] <= 2, refused
        assert "your address (all its sessions) has used its 1.5 s of file parsing" in refused[1]

        small = tmp_path / "small.txt"
        small.write_text("Extension 4455.")
        with pytest.raises(Exception, match="your address"):  # a header alone is no other address
            ingest(new_client(ELSEWHERE), small, "small")
        s.trusted_proxies = 1  # behind a proxy that appends the address it saw
        assert ingest(new_client(ELSEWHERE), small, "small")["files_ok"] == ["small.txt"]


def test_new_sessions_give_a_client_no_more_votes(workbench):
    workbench.settings.client_votes_per_minute = 3

    def ask_and_vote(c):
        answers = list(c.predict("Probation?", "handbook", 3, 8, 0.0, "", "(none)", "(none)",
                                 api_name="/compare_stream")[0::4])
        return c.predict("Probation?", *answers, api_name="/vote_rag")[1]

    with launched(workbench) as new_client:
        a = new_client()
        for feedback in [ask_and_vote(a), ask_and_vote(a), ask_and_vote(new_client())]:
            assert feedback.startswith("✓ Recorded"), feedback
        assert "at most 3 votes a minute from one address" in ask_and_vote(new_client())
        workbench.settings.trusted_proxies = 1
        assert ask_and_vote(new_client(ELSEWHERE)).startswith("✓ Recorded")


def test_sessions_and_clients_hold_a_bounded_number_of_corpora(workbench, tmp_path):
    workbench.settings.session_corpora, workbench.settings.client_corpora = 2, 3
    doc = tmp_path / "doc.txt"
    doc.write_text("The parking code is 5521.")
    with launched(workbench) as new_client:
        a, b = new_client(), new_client()
        ingest(a, doc, "one"), ingest(a, doc, "two")
        with pytest.raises(Exception, match="this session has 2 corpora, the most one session may have"):
            ingest(a, doc, "three")
        assert ingest(a, doc, "one")["files_ok"] == ["doc.txt"]  # adding to a corpus it has is fine
        ingest(b, doc, "mine")
        with pytest.raises(Exception, match="the sessions from your address have 3 corpora"):
            ingest(b, doc, "more")
        a.predict("one", api_name="/delete_corpus")
        assert ingest(b, doc, "more")["files_ok"] == ["doc.txt"]
        workbench.settings.trusted_proxies = 1
        assert ingest(new_client(ELSEWHERE), doc, "mine")["files_ok"] == ["doc.txt"]


def test_sessions_and_clients_hold_a_bounded_number_of_adapters(workbench, tmp_path):
    from gradio_client import handle_file

    workbench.settings.session_adapters, workbench.settings.client_adapters = 1, 2
    folder = save_random_adapter(workbench.model, tmp_path / "adapter")

    def upload(c, name):
        files = [handle_file(str(folder / n)) for n in ("adapter_config.json", "adapter_model.safetensors")]
        return c.predict(files, name, False, api_name="/upload_adapter")

    with launched(workbench) as new_client:
        a = new_client()
        assert "Installed adapter **mine**" in upload(a, "mine")
        with pytest.raises(Exception, match="this session has 1 adapters, the most one session may have"):
            upload(a, "another")
        assert "Installed adapter **mine**" in upload(new_client(), "mine")  # the same bytes, another session
        with pytest.raises(Exception, match="the sessions from your address have 2 adapters"):
            upload(new_client(), "mine")
        workbench.settings.trusted_proxies = 1
        assert "Installed adapter **mine**" in upload(new_client(ELSEWHERE), "mine")


@pytest.fixture()
def holdings(store, settings, tmp_path):
    """Holdings over a fresh store, with room for one corpus and one adapter per session and no client limits."""
    from workbench.retrieval.sessions import SessionCorpora
    from workbench.ui.clients import Holdings

    settings.session_corpora, settings.client_corpora = 1, 0
    settings.session_adapters, settings.client_adapters = 1, 0
    manager = SessionCorpora(store)
    yield Holdings(manager, tmp_path / "adapters", settings)
    manager.close()


def test_ingests_in_flight_hold_their_room_so_a_burst_cannot_overshoot(holdings):
    """Two new corpora asked for at once by a session with room for one: the second is refused while the first is
    still ingesting (before, both passed the check and the session ended with two); the same corpus twice is
    fine, and the room comes back when an ingest ends without creating its corpus."""
    sid = "a" * 24
    with holdings.corpus_room(sid, None, "first"):
        with pytest.raises(ValueError, match="this session has 1 corpora"):
            with holdings.corpus_room(sid, None, "second"):
                pass
        with holdings.corpus_room(sid, None, "first"):  # more files for the corpus being made: no new room
            pass
    with holdings.corpus_room(sid, None, "second"):  # "first" ended with nothing stored: its room is free again
        pass


def test_trainings_and_installs_in_flight_hold_their_room_so_a_burst_cannot_overshoot(holdings, settings, tmp_path):
    """Two adapters made at once by a session with room for one: the second is refused while the first is still
    training (before, both passed the check and the session ended with two); the same name twice at once is
    refused; the room comes back when a training ends without writing its adapter, and a written adapter counts
    once."""
    from workbench import adapters as adapter_lib

    sid = "a" * 24
    with holdings.adapter_room(sid, None, "first"):
        with pytest.raises(ValueError, match="this session has 1 adapters"):
            with holdings.adapter_room(sid, None, "second"):
                pass
        settings.session_adapters = 2
        with pytest.raises(ValueError, match="an adapter named 'first' is being made in this session already"):
            with holdings.adapter_room(sid, None, "first"):
                pass
        settings.session_adapters = 1
    with holdings.adapter_room(sid, None, "second"):  # "first" was cancelled: its room is free again
        written = adapter_lib.adapter_folder(tmp_path / "adapters", sid, "second")
        written.mkdir(parents=True)
        (written / adapter_lib.CONFIG_FILE).write_text("{}")
        assert holdings.adapters({sid})[sid] == 1
