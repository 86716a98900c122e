"""The scale-out path: the same store code against a real Chroma server (`chroma run`, started and stopped here)."""

import dataclasses
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from corpus_files import BROKEN, FACTS, GOOD, write_format_folder

from workbench.retrieval.ingest import ingest
from workbench.retrieval.sessions import CorpusSession, SessionCorpora
from workbench.retrieval.store import VectorStore


def chroma_command() -> str | None:
    beside_python = Path(sys.executable).with_name("chroma")
    return str(beside_python) if beside_python.exists() else shutil.which("chroma")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def chroma_server(tmp_path_factory):
    """(host, port) of a Chroma server on 127.0.0.1 with its own data folder; shut down after the module."""
    command = chroma_command()
    if command is None:
        pytest.skip("the chroma CLI (from the chromadb package) is not installed")
    port = free_port()
    folder = tmp_path_factory.mktemp("chroma-server")
    log = open(folder / "server.log", "wb")
    server = subprocess.Popen(
        [command, "run", "--path", str(folder / "db"), "--host", "127.0.0.1", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.time() + 30
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v2/heartbeat", timeout=1).read()
                break
            except OSError:
                if server.poll() is not None or time.time() > deadline:
                    pytest.fail(f"chroma run did not start: {(folder / 'server.log').read_text()[-2000:]}")
                time.sleep(0.1)
        yield "127.0.0.1", port
    finally:
        server.terminate()
        try:
            server.wait(timeout=10)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()
        log.close()


def test_ingest_sessions_and_library_through_a_chroma_server(chroma_server, settings, fake_embedder, tmp_path):
    host, port = chroma_server
    server_settings = dataclasses.replace(settings, chroma_host=host, chroma_port=port)
    store = VectorStore.open(server_settings, fake_embedder)
    assert store.client.get_settings().chroma_api_impl.endswith("FastAPI")  # the HTTP client, not the on-disk one
    assert not (Path(settings.data_dir) / "chroma").exists()

    folder = write_format_folder(tmp_path / "mixed")
    report = ingest(store, "server-docs", [folder], 40, 5)
    assert sorted(report.files_ok) == sorted(GOOD) and {f["file"] for f in report.files_failed} == set(BROKEN)
    assert ingest(store, "server-docs", [folder], 40, 5).chunks_added == 0
    assert store.query("server-docs", FACTS["memo.docx"][0], 1)[0].source == "memo.docx"

    sessions = SessionCorpora(store, ttl=0.0)
    a, b = CorpusSession.new().id, CorpusSession.new().id
    sessions.ingest(a, "draft", [folder / "notes.txt"], 40, 5)
    sessions.ingest(a, "keep", [folder / "guide.md"], 40, 5)
    assert sessions.names(a) == ("draft", "keep") and sessions.names(b) == ()
    assert sessions.save(a, "keep", "server-keep") == "server-keep"
    sessions.end(a)
    deadline = time.time() + 10
    while sessions.names(a) and time.time() < deadline:
        time.sleep(0.1)
    assert sessions.names(a) == ()
    assert store.corpora() == ["server-docs", "server-keep"]

    # A second app process on the same server sees the same shared corpora.
    other = VectorStore.open(server_settings, fake_embedder)
    assert other.documents("server-keep") == {"guide.md": 2}
    other.delete_corpus("server-keep")
    store.delete_document("server-docs", "notes.txt")
    assert store.corpora() == ["server-docs"] and "notes.txt" not in store.documents("server-docs")
    sessions.close()
