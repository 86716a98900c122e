"""Bring-your-own-corpus ingestion: every format, broken and hostile files, zip limits, idempotence, the CLI."""

import json
import os

import pytest
from corpus_files import BROKEN, FACTS, GOOD, write_bomb, write_format_folder, write_zip

from workbench.retrieval.archive import ArchiveLimits
from workbench.retrieval.ingest import ingest
from workbench.retrieval.loaders import load_file


@pytest.fixture()
def folder(tmp_path):
    return write_format_folder(tmp_path / "mixed")


def metadatas(store, corpus, source):
    got = store._collection(corpus).get(where={"source": source}, include=["metadatas", "documents"])
    return sorted(zip(got["metadatas"], got["documents"]), key=lambda m: m[0]["position"])


def test_every_format_is_ingested_and_every_bad_file_has_a_one_line_reason(store, folder, tmp_path):
    report = ingest(store, "mixed", [folder], 40, 5)
    assert sorted(report.files_ok) == sorted(GOOD)
    failed = {f["file"]: f["error"] for f in report.files_failed}
    assert set(failed) == set(BROKEN)
    for name, words in BROKEN.items():
        assert words in failed[name] and "\n" not in failed[name], (name, failed[name])
    assert report.chunks_added == report.chunks_total == sum(store.documents("mixed").values())
    assert not list(tmp_path.rglob("evil.txt")), "a zip entry escaped its folder"
    texts = " ".join(p.text for p in store.chunks("mixed"))
    for _, fact in FACTS.values():
        assert fact in texts
    assert "SCRIPTLEAK" not in texts and "HIDDENLEAK" not in texts and "COMMENTLEAK" not in texts


def test_chunks_carry_source_page_position_and_heading(store, folder):
    ingest(store, "mixed", [folder], 40, 5)
    pdf = metadatas(store, "mixed", "report.pdf")
    assert [m["page"] for m, _ in pdf] == [1, 2] and [m["position"] for m, _ in pdf] == [0, 1]
    assert FACTS["report.pdf"][1] in pdf[1][1]
    assert metadatas(store, "mixed", "page.html")[0][0]["heading"] == "Rooftop > Bees"
    memo = metadatas(store, "mixed", "memo.docx")
    assert memo[0][0]["heading"] == "Compensation memo"
    assert "marine biology | kelp vouchers" in " ".join(t for _, t in memo)  # the table, row by row
    assert metadatas(store, "mixed", "guide.md")[-1][0]["heading"] == "Visitors > Lanyards"
    assert metadatas(store, "mixed", "records.json")[0][0]["heading"] == "Coffee"


def test_records_use_the_text_column_else_join_string_fields(tmp_path):
    (tmp_path / "a.csv").write_text("Title;Body;n\nT;the body text;3\n")
    (tmp_path / "b.jsonl").write_text('{"q": "why?", "a": "because", "n": 3, "ok": true}\n')
    (tmp_path / "bad.jsonl").write_text('{"text": "fine"}\n{broken\n')
    (tmp_path / "c.json").write_text('{"items": [{"content": "wrapped one"}, {"content": "wrapped two"}]}')
    assert [s.text for s in load_file(tmp_path / "c.json")] == ["wrapped one", "wrapped two"]
    assert [(s.text, s.heading) for s in load_file(tmp_path / "a.csv")] == [("the body text", "T")]
    assert [s.text for s in load_file(tmp_path / "b.jsonl")] == ["q: why?\na: because"]
    with pytest.raises(ValueError, match="line 2 is not valid JSON"):
        load_file(tmp_path / "bad.jsonl")


def test_reingest_adds_nothing_and_a_changed_file_replaces_its_chunks(store, folder):
    first = ingest(store, "mixed", [folder], 40, 5)
    again = ingest(store, "mixed", [folder], 40, 5)
    assert again.chunks_added == 0 and again.chunks_total == first.chunks_total
    assert sorted(again.files_ok) == sorted(first.files_ok)

    (folder / "notes.txt").write_text("The chess tournament moved to Friday mornings.\n")
    changed = ingest(store, "mixed", [folder], 40, 5)
    assert changed.chunks_added == 1 and changed.chunks_total == first.chunks_total
    assert [t for _, t in metadatas(store, "mixed", "notes.txt")] == ["The chess tournament moved to Friday mornings."]


def test_a_file_that_turns_bad_keeps_what_was_stored(store, folder):
    ingest(store, "mixed", [folder / "report.pdf"], 40, 5)
    before = store.documents("mixed")
    (folder / "report.pdf").write_bytes(os.urandom(2048))
    report = ingest(store, "mixed", [folder / "report.pdf"], 40, 5)
    assert report.files_ok == [] and "PDF" in report.files_failed[0]["error"]
    assert store.documents("mixed") == before


def test_batches_stay_under_chromas_maximum_and_progress_goes_files_then_batches(store, folder, monkeypatch):
    sizes, steps = [], []
    monkeypatch.setattr(store.client, "get_max_batch_size", lambda: 3)
    collection = store._collection("mixed", create=True)
    real_add = type(collection).add

    def spy(self, ids, **kwargs):
        sizes.append(len(ids))
        return real_add(self, ids=ids, **kwargs)

    monkeypatch.setattr(type(collection), "add", spy)
    report = ingest(store, "mixed", [folder], 40, 5, progress=lambda *step: steps.append(step))
    assert max(sizes) == 3 and sum(sizes) == report.chunks_added
    units = [unit for _, _, unit, _ in steps]
    assert units == sorted(units, key=["files", "batches"].index)  # all file steps come before the batches
    assert steps[-1][:3] == (len(sizes), len(sizes), "batches")


@pytest.mark.parametrize("limits, entries, reason", [
    (ArchiveLimits(max_files=2), {"a.txt": b"a", "b.txt": b"b", "c.txt": b"c"}, "3 files in the zip; the limit is 2"),
    (ArchiveLimits(max_bytes=10), {"a.txt": b"x" * 11}, "unpacks to"),
])
def test_zip_limits_refuse_the_whole_archive(store, tmp_path, limits, entries, reason):
    report = ingest(store, "zips", [write_zip(tmp_path / "z.zip", entries)], 40, 5, limits=limits)
    assert report.files_ok == [] and reason in report.files_failed[0]["error"]


def test_nested_zips_symlinks_and_bombs_inside_zips_are_refused(store, tmp_path):
    inner = write_zip(tmp_path / "inner.zip", {"deep.txt": b"Deep inside two zips."})
    bomb = write_bomb(tmp_path / "b.zip", megabytes=4)
    outer = write_zip(tmp_path / "outer.zip", {"inner.zip": inner.read_bytes(), "bomb.zip": bomb.read_bytes(),
                                                "top.txt": b"Top level text."}, symlinks={"link.txt": "/etc/passwd"})
    report = ingest(store, "zips", [outer], 40, 5)
    failed = {f["file"]: f["error"] for f in report.files_failed}
    assert report.files_ok == ["outer.zip/top.txt"]
    assert "zip inside a zip is not opened" in failed["outer.zip/inner.zip"]
    assert "symbolic link" in failed["outer.zip/link.txt"]

    deeper = ingest(store, "zips", [outer], 40, 5, limits=ArchiveLimits(max_depth=2))
    failed = {f["file"]: f["error"] for f in deeper.files_failed}
    assert "outer.zip/inner.zip/deep.txt" in deeper.files_ok and "zip bomb" in failed["outer.zip/bomb.zip"]


def test_same_name_twice_in_one_upload_is_refused(store, tmp_path):
    (tmp_path / "a").mkdir(), (tmp_path / "b").mkdir()
    (tmp_path / "a" / "x.txt").write_text("first")
    (tmp_path / "b" / "x.txt").write_text("second")
    report = ingest(store, "dups", [tmp_path / "a" / "x.txt", tmp_path / "b" / "x.txt"], 40, 5)
    assert report.files_ok == ["x.txt"] and "same name" in report.files_failed[0]["error"]


def test_symlinks_in_folders_are_not_followed(store, tmp_path):
    (tmp_path / "docs").mkdir()
    (tmp_path / "secret.txt").write_text("outside the folder")
    (tmp_path / "docs" / "link.txt").symlink_to(tmp_path / "secret.txt")
    (tmp_path / "docs" / "real.txt").write_text("inside the folder")
    report = ingest(store, "links", [tmp_path / "docs"], 40, 5)
    assert report.files_ok == ["real.txt"] and "symbolic link" in report.files_failed[0]["error"]


def test_cli_ingest_prints_the_report_and_exits_by_success(tmp_path, monkeypatch, capsys, fake_embedder):
    from workbench.cli import main
    from workbench.retrieval.embedder import Embedder

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(Embedder, "load", classmethod(lambda cls, name, device="auto": fake_embedder))
    folder = write_format_folder(tmp_path / "mixed")
    args = ["ingest", str(folder), "--corpus", "mine", "--chunk-size", "40", "--chunk-overlap", "5", "--json"]
    assert main(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) == {"corpus", "files_ok", "files_failed", "chunks_added", "chunks_total", "parse_s"}
    assert sorted(out["files_ok"]) == sorted(GOOD) and {f["file"] for f in out["files_failed"]} == set(BROKEN)
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["chunks_added"] == 0

    assert main(["ingest", str(folder / "empty.txt"), "--corpus", "mine", "--json"]) == 1
    assert json.loads(capsys.readouterr().out)["files_failed"] == [{"file": "empty.txt", "error": "empty file"}]


@pytest.mark.parametrize("args, message", [
    (["--corpus", "handbook"], "ships with the app"),
    (["--corpus", "session--x--y"], "reserved for session corpora"),
    (["--corpus", "ok-name", "--chunk-size", "10", "--chunk-overlap", "10"], "overlap (10) must be"),
])
def test_cli_ingest_refuses_bad_arguments_before_loading_anything(args, message, tmp_path, capsys, monkeypatch):
    from workbench.cli import main

    monkeypatch.setenv("WORKBENCH_DATA_DIR", str(tmp_path))
    assert main(["ingest", str(tmp_path), *args]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1


def test_bool_settings_from_the_environment():
    from workbench.config import Settings

    assert Settings.from_env({"WORKBENCH_SHARED_LIBRARY": "false"}).shared_library is False
    assert Settings.from_env({"WORKBENCH_SHARED_LIBRARY": "1"}).shared_library is True
    with pytest.raises(ValueError, match="WORKBENCH_SHARED_LIBRARY='maybe' is not a valid bool"):
        Settings.from_env({"WORKBENCH_SHARED_LIBRARY": "maybe"})


@pytest.mark.slow
def test_a_fact_in_an_uploaded_pdf_docx_or_html_tops_the_rag_column(tmp_path, settings, tiny_model, tiny_tokenizer):
    """The real embedder: a question about a fact found only in one uploaded file retrieves that file first."""
    from workbench.engine import Workbench
    from workbench.retrieval.embedder import Embedder
    from workbench.retrieval.store import VectorStore

    store = VectorStore.open(settings, Embedder.load(settings.embedder, "cpu"))
    report = ingest(store, "uploads", [write_format_folder(tmp_path / "mixed")], 200, 30)
    assert sorted(report.files_ok) == sorted(GOOD)
    wb = Workbench(settings, tiny_model, tiny_tokenizer, store, model_id="tiny-llama")
    for name in ("report.pdf", "memo.docx", "page.html"):
        rag = wb.compare(FACTS[name][0], "rag", corpus="uploads", top_k=3).arms[0]
        assert rag.passages[0].source == name and FACTS[name][1] in rag.passages[0].text, (name, rag.passages)


def test_precomputed_embeddings_are_looked_up_and_only_other_chunks_embedded(store, docs, tmp_path, monkeypatch):
    from workbench.retrieval.ingest import ingest, load_embeddings, save_embeddings

    ingest(store, "first", [docs], 40, 5)
    path = tmp_path / "embeddings.npz"
    assert save_embeddings(store, "first", path) == store.count("first")
    table = load_embeddings(path, store.embedder.name)
    assert table == store.embeddings("first")
    assert load_embeddings(path, "another-embedder") == {} and load_embeddings(tmp_path / "none.npz", "x") == {}

    (docs / "it.txt").write_text("The helpdesk extension is 5566 since May.\n")  # one document edited
    embedded = []
    real_embed = store.embedder.embed
    monkeypatch.setattr(store.embedder, "embed", lambda texts: embedded.extend(texts) or real_embed(texts))
    said = []
    report = ingest(store, "second", [docs], 40, 5, progress=lambda *args: said.append(args[3]),
                    precomputed=lambda: table)
    assert report.files_ok == ["it.txt", "travel.md"]
    assert embedded and all("5566" in text for text in embedded)  # only the edited document's chunks
    looked_up = report.chunks_added - len(embedded)
    assert looked_up > 0 and said[-1] == f"embedded {len(embedded)} chunks, looked up {looked_up} precomputed"
