"""The Corpora tab through its real HTTP API (gradio_client): uploads, private sessions, expiry, restarts, limits."""

import time
from contextlib import contextmanager

import pytest
from corpus_files import BROKEN, FACTS, GOOD, write_format_folder

from workbench.ui import build_app

pytestmark = pytest.mark.ui


@contextmanager
def launched(wb, **launch_kwargs):
    demo = build_app(wb.settings, wb).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True, **launch_kwargs)
    try:
        yield url
    finally:
        demo.close()


def client(url):
    from gradio_client import Client

    return Client(url, verbose=False)


@pytest.fixture()
def files(tmp_path):
    from gradio_client import handle_file

    return [handle_file(str(p)) for p in sorted(write_format_folder(tmp_path / "mixed").iterdir())]


def pick(files, *names):
    return [f for f in files if f["orig_name"] in names]


def upload(c, files, name="mine"):
    """Ingest through the UI endpoint: (report, the Compare tab's corpus dropdown update)."""
    out = c.predict(files, name, 40, 5, api_name="/ingest")
    return out[0], out[-1]


def listing(c):
    return {row[0]: row[1] for row in c.predict("", api_name="/corpora")[1]["data"]}


def ask_rag(c, question, corpus):
    """The rag column's passage cards as (score, source, chunk_id, text), best first."""
    import re

    out = c.predict(question, corpus, 3, 8, 0.0, "", "(none)", "(none)", api_name="/compare_stream")
    cards = re.findall(r"\*\*#\d+(?: of \d+)? · score ([\d.-]+)\*\* · `([^`]+)` · chunk `(\w+)`\n\n(.*?)(?=\n\n---\n\n|$)",
                       out[6], re.S)
    return [(float(score), source, chunk, text) for score, source, chunk, text in cards]


def test_upload_ingests_every_format_and_two_sessions_never_see_each_others_corpora(workbench, files):
    from gradio_client.exceptions import AppError

    with launched(workbench) as url:
        a, b = client(url), client(url)
        report, compare_dropdown = upload(a, files)
        assert sorted(report["files_ok"]) == sorted(GOOD) and {f["file"] for f in report["files_failed"]} == set(BROKEN)
        mine = compare_dropdown["value"]  # the Compare tab now offers and selects the upload
        assert mine.startswith("session--") and ["mine (this session)", mine] in compare_dropdown["choices"]
        assert listing(a) == {"mine": "this session", "handbook": "demo"}
        top = ask_rag(a, FACTS["report.pdf"][0], mine)[0]
        assert top[1] == "report.pdf" and FACTS["report.pdf"][1] in top[3]

        assert listing(b) == {"handbook": "demo"}
        with pytest.raises(AppError, match="no corpus 'mine' in this session"):
            b.predict("mine", api_name="/documents")
        with pytest.raises(AppError, match="not in the list of choices"):
            ask_rag(b, FACTS["report.pdf"][0], mine)  # b cannot reach a's corpus even by its full name
        b_report, b_dropdown = upload(b, pick(files, "notes.txt"))
        assert b_report["chunks_total"] < report["chunks_total"] and b_dropdown["value"] != mine

        again, _ = upload(a, files)
        assert again["chunks_added"] == 0 and again["chunks_total"] == report["chunks_total"]
        a.close(), b.close()


def test_a_session_corpus_is_deleted_after_the_session_ends(workbench, files, monkeypatch):
    monkeypatch.setenv("GRADIO_HEARTBEAT_INTERVAL", "0.2")  # notice the closed client quickly
    workbench.settings.session_corpus_ttl = 0.5
    with launched(workbench) as url:
        a = client(url)
        upload(a, pick(files, "notes.txt", "guide.md"))
        owned = [n for n in workbench.store.collections() if n.startswith("session--")]
        assert len(owned) == 1
        a.close()
        deadline = time.time() + 15
        while workbench.store.exists(owned[0]) and time.time() < deadline:
            time.sleep(0.2)
        assert not workbench.store.exists(owned[0])
        assert workbench.store.corpora() == ["handbook"]


def test_a_saved_corpus_survives_an_app_restart(workbench, files, fake_embedder):
    from chromadb.api.shared_system_client import SharedSystemClient

    from workbench.engine import Workbench
    from workbench.retrieval.store import VectorStore

    with launched(workbench) as url:
        a = client(url)
        report, _ = upload(a, files)
        status = a.predict("mine", "team-docs", api_name="/save_corpus")[0]
        assert "shared library as **team-docs**" in status
        upload(a, pick(files, "notes.txt"), name="scratch")  # not saved
        a.close()

    SharedSystemClient.clear_system_cache()  # what a new process would have: nothing cached in memory
    store = VectorStore.open(workbench.settings, fake_embedder)
    restarted = Workbench(workbench.settings, workbench.model, workbench.tokenizer, store, model_id="tiny-llama")
    with launched(restarted) as url:
        c = client(url)
        assert listing(c) == {"handbook": "demo", "team-docs": "shared library"}
        docs = c.predict("team-docs", api_name="/documents")[0]["data"]
        assert sum(n for _, n in docs) == report["chunks_total"]
        top = ask_rag(c, FACTS["page.html"][0], "team-docs")[0]
        assert top[1] == "page.html"
        c.close()
    scratch = [meta for name, meta in store.collections().items() if name.endswith("--scratch")]
    assert scratch and scratch[0]["expires_at"] > 0  # the unsaved one is counting down since the restart


def test_hosts_can_switch_the_shared_library_off(workbench, files):
    from gradio_client.exceptions import AppError

    workbench.settings.shared_library = False
    with launched(workbench) as url:
        a = client(url)
        upload(a, pick(files, "notes.txt"))
        with pytest.raises(AppError, match="switched off"):
            a.predict("mine", "", api_name="/save_corpus")
        with pytest.raises(AppError, match="ships with the app"):
            a.predict("handbook", api_name="/delete_corpus")
        assert "Deleted corpus **mine**" in a.predict("mine", api_name="/delete_corpus")[0]
        a.close()


def test_uploads_above_the_size_limit_are_refused(workbench, tmp_path):
    from gradio_client import handle_file

    big = tmp_path / "big.txt"
    big.write_text("word " * 1000)
    with launched(workbench, max_file_size="1kb") as url:
        a = client(url)
        with pytest.raises(Exception, match="(?i)file size|too large|exceed|413"):
            a.predict([handle_file(str(big))], "mine", 40, 5, api_name="/ingest")
        a.close()


def tab_sessions(wb):
    """The Corpora tab's session state without an app: its handlers are plain functions of it."""
    from workbench.retrieval.sessions import SessionCorpora
    from workbench.ui.clients import Holdings
    from workbench.ui.sessions import CorpusSessions
    from workbench.ui.uploads import UsedUploads

    manager = SessionCorpora(wb.store)
    return CorpusSessions(manager, state=None, demo=None, default=wb.settings.corpus,
                          holdings=Holdings(manager, wb.settings.data_path / "adapters", wb.settings),
                          uploads=UsedUploads(wb.settings.upload_cache_ttl))


def test_corpora_handlers_say_what_to_choose_first(workbench):
    import gradio as gr

    from workbench.jobs import Jobs
    from workbench.retrieval.admission import IngestSlots, ParseBudget
    from workbench.ui import corpora as tab

    sessions, s = tab_sessions(workbench), workbench.settings
    slots, budget = IngestSlots(s.ingest_concurrency, 1, s.ingest_waiting, s.ingest_small_bytes), ParseBudget(60)
    no_files, bad_name, *rest = tab.validate_ingest([], "a b", 40, 5, None)
    assert not no_files["is_valid"] and no_files["message"] == "choose some files (or a .zip) to upload first"
    assert not bad_name["is_valid"] and "corpus name" in bad_name["message"]
    assert all(v["is_valid"] for v in rest)
    with pytest.raises(gr.Error, match=r"choose some files \(or a .zip\) to upload first"):
        tab.ingest_files(workbench, sessions, Jobs(), slots, budget, ParseBudget(60), 0, "", [], "mine", 40, 5, None,
                         None)
    with pytest.raises(gr.Error, match="choose a corpus and one of its documents first"):
        tab.delete_document(sessions, 0, "handbook", "", None, None)
    with pytest.raises(gr.Error) as refused:
        tab.delete_corpus(sessions, 0, "", None, None)
    assert refused.value.message == "choose a corpus first"
    with pytest.raises(gr.Error, match="choose one of your corpora first"):
        tab.save(sessions, 0, None, "", None, None)


def test_corpora_handlers_ingest_use_and_delete_a_session_corpus(workbench, tmp_path):
    from workbench.jobs import Jobs
    from workbench.retrieval.admission import IngestSlots, ParseBudget
    from workbench.ui import corpora as tab

    sessions, s = tab_sessions(workbench), workbench.settings
    slots, budget = IngestSlots(s.ingest_concurrency, 1, s.ingest_waiting, s.ingest_small_bytes), ParseBudget(60)
    note = tmp_path / "garden.md"
    note.write_text("The garden gate code is 7710. The shed key hangs by the door.\n")
    jobs = Jobs()
    jobs.cancel("pressed-early")  # Cancel pressed before the job started: nothing is ingested
    report, summary, *_ = tab.ingest_files(workbench, sessions, jobs, slots, budget, ParseBudget(60), 0,
                                           "pressed-early", [str(note)], "garden", 40, 5, None, None)
    assert report is None and summary == "**Cancelled**: nothing was added to **garden**."
    report, summary, failures, value, picker, listing, documents, _ = tab.ingest_files(
        workbench, sessions, jobs, slots, budget, ParseBudget(60), 0, "", [str(note)], "garden", 40, 5, None, None)
    assert report["files_ok"] and summary.startswith("**garden**: 1 file ingested") and failures.empty
    assert value.selected.endswith("--garden") and picker["value"] == "garden"
    assert ["garden", "this session"] == list(listing.iloc[0][:2]) and list(documents["document"]) == ["garden.md"]

    message, value, *_ = tab.use(sessions, 0, "garden", value, None)
    assert message == "The rag and raft arms now use **garden** in the Compare tab."
    message, value, _, listing, *_ = tab.delete_corpus(sessions, 0, "garden", value, None)
    assert message == "Deleted corpus **garden**." and "garden" not in set(listing["corpus"])
