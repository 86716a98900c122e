"""The offline QA generator (workbench/qa): answers verbatim, no copied word runs, split by fact, CLI, UI.

Unit tests run on short texts written here (a library and an observatory, not the shipped corpora); the
spaCy pipeline loads once per process. The slow test runs the whole shipped handbook and PubMedQA sample.
"""

import json
from pathlib import Path

import pytest

from workbench.cli import main
from workbench.qa import QAError, generate_facts, qa_items, quality, split_by_fact
from workbench.qa.split import heldout_path
from workbench.qa.text import copies_run, plain_units
from workbench.results import Passage

LIBRARY = """# Alder Street Library

## Opening hours

The Alder Street Library opens at 09:00 and the reading room closes at 21:00 on weekdays. On Sundays the building
is closed. The library was founded in 1887 by the merchant Harriet Voss.

## Borrowing

Members may borrow up to 12 books at a time. The standard loan period for books is three weeks, and DVDs must be
returned within 7 days. Renewals can be requested at the front desk.
"""
OBSERVATORY = """Kerrow Hill Observatory sits 410 metres above sea level on the edge of the Brannock moors.

Public viewing nights take place every Friday from October to March. Tickets cost £8 for adults and are sold online.
Each session lasts about two hours and is limited to 30 visitors.

The observatory is run by the Brannock Astronomical Society, which has 240 members.
"""
NO_FACTS = "# Contents\n\n- apples\n- pears\n\n| a | b |\n|---|---|\n"


def passages(*texts_and_sources):
    return [Passage(text, source, 0.0, f"{source}#{k}") for k, (text, source) in enumerate(texts_and_sources)]


@pytest.fixture(scope="module")
def chunks():
    return passages((LIBRARY, "library.md"), (OBSERVATORY, "observatory.txt"))


@pytest.fixture(scope="module")
def facts(chunks):
    return generate_facts(chunks)


def by_answer(facts):
    return {f.answer: f for f in facts}


def test_answers_are_short_spans_verbatim_in_their_chunk_with_several_phrasings(facts, chunks):
    text = {c.chunk_id: c.text for c in chunks}
    assert len(facts) >= 8
    for f in facts:
        assert f.answer in text[f.chunk_id] and len(f.answer.split()) <= 5
        assert f.questions and len(set(f.questions)) == len(f.questions) <= 5
        assert all(q.endswith("?") and f.answer.lower() not in q.lower() for q in f.questions)
    assert sum(len(f.questions) >= 2 for f in facts) >= 0.8 * len(facts)


def test_questions_ask_about_their_answer_with_the_right_wh_word(facts):
    found = by_answer(facts)
    expected = {  # answer -> a question the generator should ask for it
        "12 books": "How many books may members borrow at a time?",
        "21:00": "When does the reading room close on weekdays?",
        "1887": "When was the library founded by the merchant Harriet Voss?",
        "three weeks": "How long is the loan period for books?",
        "7 days": "Within how many days must DVDs be returned?",
        "£8": "How much do tickets cost for adults?",
        "two hours": "How many hours does each session last?",
        "Brannock Astronomical Society": "Who is the observatory run by?",
    }
    for answer, question in expected.items():
        assert answer in found, f"no fact for {answer!r}"
        assert question in found[answer].questions, found[answer].questions


def test_rule_made_questions_copy_no_six_words_of_their_chunk_and_quality_meets_the_goals(facts, chunks):
    text = {c.chunk_id: c.text for c in chunks}
    assert not [q for f in facts if f.how == "rule" for q in f.questions if copies_run(q, text[f.chunk_id])]
    for f in facts:  # cloze questions keep the sentence, so they may copy; their rewordings that do not come first
        copying = [copies_run(q, text[f.chunk_id]) for q in f.questions]
        assert copying == sorted(copying)
    figures = quality(facts, chunks)
    assert figures["answer_in_source"] == 1.0 and 0 < figures["no_copy_6"] < 1
    assert figures["facts"] == len(facts) and figures["questions"] == sum(len(f.questions) for f in facts)


def test_copies_run_counts_words_not_punctuation():
    source = "The standard probation period for new employees at Kestrel Loom is six months."
    assert copies_run("How long is the standard probation period for new employees?", source)
    assert not copies_run("At Kestrel Loom, how long is the probation period for new employees?", source)


def test_generation_is_deterministic_and_repeated_facts_count_once(chunks, facts):
    again = generate_facts(chunks)
    assert [(f.fact_id, f.questions) for f in again] == [(f.fact_id, f.questions) for f in facts]
    repeated = Passage("## Again\n\nMembers may borrow up to 12 books at a time.", "library.md", 0.0, "library.md#2")
    with_repeat = generate_facts(chunks + [repeated])
    assert [f.fact_id for f in with_repeat] == [f.fact_id for f in facts] and with_repeat.duplicates_removed == 1
    assert quality(with_repeat, chunks)["duplicates_removed"] == 1


def test_chunks_cut_inside_a_sentence_are_stitched_back_by_their_overlap():
    text = "The reading room closes at 21:00 on weekdays."
    cut = passages((text[:26], "library.md"), (text[4:], "library.md"))  # overlap: "reading room closes at"
    facts = generate_facts(cut)
    assert [(f.sentence, f.chunk_id) for f in facts if f.answer == "21:00"] == [(text, "library.md#1")]
    assert len({f.fact_id for f in facts}) == len(facts)


def test_max_facts_spreads_over_every_source(chunks):
    few = generate_facts(chunks, max_facts=4, seed=1)
    assert len(few) == 4 and {f.source for f in few} == {"library.md", "observatory.txt"}
    assert [f.fact_id for f in generate_facts(chunks, max_facts=4, seed=1)] == [f.fact_id for f in few]


def test_split_is_by_fact_and_sentence_stratified_by_source_and_test_phrasings_never_appear_in_train(facts, chunks):
    train, test = split_by_fact(facts, test_fraction=0.3, seed=0)
    assert train and test and {f.source for f in test} == {"library.md", "observatory.txt"}
    assert not {f.fact_id for f in train} & {f.fact_id for f in test}
    assert not {f.sentence for f in train} & {f.sentence for f in test}
    train_rows, test_rows = qa_items(train, "train", reword=True), qa_items(test, "test", reword=True)
    assert len(train_rows) == sum(len(f.questions) for f in train) and len(test_rows) == len(test)
    assert set(train_rows[0]) == {"id", "question", "answer", "source", "chunk_id", "fact_id"}
    train_questions = {r["question"].lower() for r in train_rows}
    text = {c.chunk_id: c.text for c in chunks}
    for row in test_rows:
        assert row["question"].lower() not in train_questions
        assert not copies_run(row["question"], text[row["chunk_id"]])
    reworded = [r for r, f in zip(test_rows, test) if len(f.questions) > 1]
    assert reworded and all(r["question"] != f.questions[0] for r, f in zip(test_rows, test) if len(f.questions) > 1)
    assert split_by_fact(facts, 0.3, seed=0) == (train, test)
    assert [r["question"] for r in qa_items(train, "train", reword=False)] == [f.questions[0] for f in train]


def test_empty_input_or_text_without_facts_is_an_error_saying_what_to_do():
    with pytest.raises(QAError, match="ingest some documents"):
        generate_facts([])
    with pytest.raises(QAError, match="no questions could be made"):
        generate_facts(passages((NO_FACTS, "contents.md")))
    with pytest.raises(ValueError, match="test fraction"):
        split_by_fact([], test_fraction=1.5)


def test_markup_headings_and_tables_are_not_parsed_as_sentences():
    units = plain_units("# Title\n\nSee **Anselm Turnbull** in [the guide](http://x).\n\n| a | b |\n"
                        "- first item\n- second; third part.")
    assert units == ["See Anselm Turnbull in the guide.", "First item", "Second;", "Third part."]


# --- the qa subcommand --------------------------------------------------------------------------------
@pytest.fixture()
def tiny_corpora(store, tmp_path):
    from workbench.retrieval.ingest import ingest

    docs = tmp_path / "mini"
    docs.mkdir()
    (docs / "library.md").write_text(LIBRARY)
    (docs / "observatory.txt").write_text(OBSERVATORY)
    ingest(store, "mini", [docs], chunk_size=200, chunk_overlap=20)
    bare = tmp_path / "bare"
    bare.mkdir()
    (bare / "contents.md").write_text(NO_FACTS)
    ingest(store, "bare", [bare], chunk_size=200, chunk_overlap=20)
    store.create("empty-one")
    return store


def test_qa_command_writes_train_and_test_jsonl_and_prints_quality(tiny_corpora, settings, tmp_path, capsys):
    out = tmp_path / "out" / "mini.jsonl"
    assert main(["qa", "--corpus", "mini", "--out", str(out), "--data-dir", settings.data_dir, "--json"]) == 0
    figures = json.loads(capsys.readouterr().out)
    train = [json.loads(line) for line in out.read_text().splitlines()]
    test = [json.loads(line) for line in heldout_path(out).read_text().splitlines()]
    assert heldout_path(out).name == "mini.test.jsonl"
    assert figures["train"] == len(train) > 0 and figures["test"] == len(test) > 0
    assert figures["answer_in_source"] == 1.0 and figures["no_copy_6"] >= 0.5  # cloze questions may copy
    assert figures["words"] > 0 and figures["facts_per_1000_words"] == round(1000 * figures["facts"] /
                                                                             figures["words"], 1)
    assert not {r["fact_id"] for r in train} & {r["fact_id"] for r in test}
    assert {"question", "answer", "source", "chunk_id"} <= set(train[0]) and train[0]["source"] in ("library.md",
                                                                                                   "observatory.txt")


@pytest.mark.parametrize("corpus, message", [
    ("nope", "error: unknown corpus 'nope'"),
    ("empty-one", "error: corpus 'empty-one' is empty: add documents to it first"),
    ("bare", "error: no questions could be made from this corpus"),
])
def test_qa_command_refuses_unknown_empty_or_factless_corpora_in_one_line(tiny_corpora, settings, tmp_path, capsys,
                                                                          corpus, message):
    out = tmp_path / "qa.jsonl"
    assert main(["qa", "--corpus", corpus, "--out", str(out), "--data-dir", settings.data_dir]) == 2
    err = capsys.readouterr().err
    assert err.startswith(message) and err.count("\n") == 1
    assert not out.exists()


@pytest.mark.ui
def test_generate_questions_button_returns_quality_and_both_files(client):
    summary, files = client.predict("handbook", 0, 0.2, api_name="/generate_qa")
    assert "Answer verbatim in its passage: **100%**" in summary
    names = sorted(Path(f).name for f in files)
    assert names == ["handbook-qa.jsonl", "handbook-qa.test.jsonl"]
    rows = [json.loads(line) for f in files for line in Path(f).read_text().splitlines()]
    assert {r["answer"] for r in rows} <= {"62 euro", "140 euro", "4455", "14 characters"} and rows


# --- whole corpora --------------------------------------------------------------------------------------
@pytest.mark.slow
@pytest.mark.parametrize("corpus", ["handbook", "pubmedqa-sample"])
def test_shipped_corpora_meet_the_quality_goals(corpus, store):
    from workbench.qa.run import read_reference
    from workbench.retrieval.ingest import CORPORA_DIR, ingest

    ingest(store, corpus, [CORPORA_DIR / corpus / "docs"], chunk_size=160, chunk_overlap=20)
    chunks = store.chunks(corpus)
    facts = generate_facts(chunks)
    reference = read_reference(sorted((CORPORA_DIR / corpus / "qa").glob("*.jsonl")))
    figures = quality(facts, chunks, reference)
    assert figures["answer_in_source"] >= 0.95 and figures["no_copy_6"] >= 0.80
    assert figures["facts"] >= 60 and figures["questions"] >= 2 * figures["facts"]
    train, test = split_by_fact(facts)
    assert len(test) >= 0.1 * len(facts)
