"""Chunking, the Chroma store and idempotent ingestion, with a fake embedder."""

import pytest

from workbench.retrieval.chunking import chunk_sections
from workbench.retrieval.ingest import ingest
from workbench.retrieval.loaders import Section, load_file
from workbench.retrieval.store import StoreError, check_corpus_name


def test_markdown_sections_carry_their_heading_path(docs):
    sections = load_file(docs / "travel.md")
    assert [s.heading for s in sections] == ["Travel", "Travel > Per diems", "Travel > Hotels"]


def test_chunks_respect_size_and_overlap():
    words = " ".join(f"w{i}" for i in range(100))
    chunks = chunk_sections([Section(words, heading="H")], "a.txt", lambda t: len(t.split()), 20, 5)
    assert len(chunks) >= 5
    assert all(len(c.text.split()) <= 20 for c in chunks)
    assert set(chunks[0].text.split()) & set(chunks[1].text.split())  # consecutive chunks overlap
    assert [c.position for c in chunks] == list(range(len(chunks)))
    assert chunks[0].metadata == {"source": "a.txt", "position": 0, "heading": "H"}


def test_overlap_must_be_smaller_than_chunk():
    with pytest.raises(ValueError, match="overlap"):
        chunk_sections([Section("a b c")], "a.txt", lambda t: len(t.split()), 10, 10)


def test_ingest_is_idempotent_and_replaces_changed_files(store, docs):
    first = ingest(store, "handbook", [docs], 40, 5)
    assert sorted(first.files_ok) == ["it.txt", "travel.md"] and first.chunks_added == first.chunks_total > 0

    again = ingest(store, "handbook", [docs], 40, 5)
    assert again.chunks_added == 0 and again.chunks_total == first.chunks_total

    (docs / "it.txt").write_text("The helpdesk moved to extension 7788.\n")
    changed = ingest(store, "handbook", [docs], 40, 5)
    assert changed.chunks_added == 1
    texts = [p.text for p in store.chunks("handbook") if p.source == "it.txt"]
    assert texts == ["The helpdesk moved to extension 7788."]  # the old chunk is gone


def test_query_finds_the_passage_with_the_fact(store, docs):
    ingest(store, "handbook", [docs], 40, 5)
    passages = store.query("handbook", "helpdesk extension", 2)
    assert passages[0].source == "it.txt" and "4455" in passages[0].text
    assert passages[0].score >= passages[1].score


def test_bad_files_are_listed_and_the_rest_ingested(store, docs, tmp_path):
    (docs / "empty.md").write_text("")
    (docs / "data.xyz").write_text("hello")
    (docs / "latin1.txt").write_bytes("caf\xe9".encode("latin-1"))
    report = ingest(store, "handbook", [docs], 40, 5)
    failed = {f["file"]: f["error"] for f in report.files_failed}
    assert failed == {"empty.md": "empty file", "data.xyz": failed["data.xyz"], "latin1.txt": "not decodable as UTF-8 text"}
    assert "unsupported file type .xyz" in failed["data.xyz"]
    assert sorted(report.files_ok) == ["it.txt", "travel.md"]


@pytest.mark.parametrize("name", ["ab", "-abc", "abc-", "a b c", "a/b/c", "x" * 513, "a..b"])
def test_invalid_corpus_names_are_refused(name):
    with pytest.raises(StoreError, match="invalid corpus name"):
        check_corpus_name(name)


def test_unknown_corpus_says_which_exist(store, docs):
    ingest(store, "handbook", [docs], 40, 5)
    with pytest.raises(StoreError, match=r"unknown corpus 'nope' \(known: handbook\)"):
        store.query("nope", "x", 3)


def test_delete_document_and_corpus(store, docs):
    ingest(store, "handbook", [docs], 40, 5)
    store.delete_document("handbook", "it.txt")
    assert list(store.documents("handbook")) == ["travel.md"]
    store.delete_corpus("handbook")
    assert store.corpora() == []
