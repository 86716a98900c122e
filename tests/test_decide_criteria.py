"""Decide's criteria beyond accuracy: questions the documents do not answer, facts that change, a verdict per need."""

import json

import pytest

from workbench.decide import run_decide
from workbench.decide.criteria import pick_updates, temporary_corpus, unseen_questions, withheld_questions
from workbench.decide.needs import best_of, needs_table
from workbench.decide.recheck import recheck, recheck_work
from workbench.jobs import Job, JobCancelled
from workbench.retrieval.ingest import ingest
from workbench.results import Passage

from test_decide import facts_corpus, small_plan  # noqa: F401  (fixtures)


def test_a_copy_withholds_and_edits_chunks_and_the_original_is_untouched(workbench, facts_corpus):
    store = workbench.store
    chunks = store.chunks(facts_corpus)
    held = chunks[0].chunk_id
    with temporary_corpus(workbench, facts_corpus,
                          lambda p: None if p.chunk_id == held else p.text.replace("4455", "7788")) as copy:
        texts = [c.text for c in store.chunks(copy)]
        assert store.count(copy) == len(chunks) - 1 and held not in {c.chunk_id for c in store.chunks(copy)}
        assert not any("4455" in t for t in texts) and any("7788" in t for t in texts)
        assert "7788" in " ".join(p.text for p in store.query(copy, "What is the helpdesk extension?", 2))
    assert not store.exists(copy)
    assert [c.text for c in store.chunks(facts_corpus)] == [c.text for c in chunks]


def test_withheld_questions_take_every_chunk_that_holds_the_answer_and_spare_most_of_the_corpus():
    chunks = [Passage(f"Room {i} seats {10 + i} people.", "rooms.md", 0.0, f"c{i}") for i in range(10)]
    chunks.append(Passage("Again: room 3 seats 13 people.", "faq.md", 0.0, "c10"))
    rows = [{"id": str(i), "question": f"How many people does room {i} seat?", "answer": f"{10 + i} people"}
            for i in range(10)]
    chosen, withheld = withheld_questions(rows[3:], chunks, n=12)
    assert [r["id"] for r in chosen] == ["3", "4"] and withheld == {"c3", "c10", "c4"}  # both chunks of room 3
    chosen, withheld = withheld_questions(rows, chunks, n=12)
    assert [r["id"] for r in chosen] == ["0", "1", "2"]  # at most 30 % of the chunks withheld


def test_unseen_questions_swap_a_name_or_number_for_one_the_corpus_never_mentions():
    corpus = "Jonas Berg leads the Madrid office. Room 3 seats 13 people. Room 40 seats 8. Brannoch is a river."
    rows = [{"id": "1", "question": "Who leads the Madrid office?"},
            {"id": "2", "question": "How many people does room 3 seat?"},
            {"id": "3", "question": "what is it?"}]  # nothing to swap: left out
    out = unseen_questions(rows, corpus, n=5)
    assert [r["question"] for r in out] == ["Who leads the Quillsby office?",  # Brannoch is in the corpus
                                            "How many people does room 77 seat?"]  # 40 is too
    assert out[0]["asked_about"] == "Who leads the Madrid office?"


def test_an_updated_fact_gets_another_value_of_its_own_kind_never_one_its_sentence_holds():
    facts = [{"fact_id": "a", "answer": "61 euro", "kind": "money", "sentence": "Madrid is 61 euro.", "source": "x"},
             {"fact_id": "b", "answer": "150 euro", "kind": "money", "sentence": "Berlin is 150 euro.", "source": "x"},
             {"fact_id": "c", "answer": "Jonas Berg", "kind": "person", "sentence": "Jonas Berg leads.", "source": "y"},
             {"fact_id": "d", "answer": "Priya", "kind": "person", "sentence": "Priya leads.", "source": "y"}]
    updates = pick_updates(facts, {"a", "c"}, n=5)
    assert {u["fact_id"]: u["new_answer"] for u in updates} == {"a": "150 euro", "c": "Priya"}
    every = [{"fact_id": "e", "answer": "every 2 years", "kind": "count", "sentence": "Audits run every 2 years.",
              "source": "z"},
             {"fact_id": "f", "answer": "3 days", "kind": "count", "sentence": "Loans last 3 days.", "source": "z"},
             {"fact_id": "g", "answer": "every 18 months", "kind": "count", "sentence": "Lines go every 18 months.",
              "source": "z"}]  # "Audits run 3 days." would be no sentence: a qualified value swaps for its like
    assert [u["new_answer"] for u in pick_updates(every, {"e", "f"}, n=5)] == ["every 18 months"]


def test_the_best_arm_per_need_and_whether_its_lead_is_clear():
    clear = best_of("accuracy", {"rag": [1.0] * 30, "base": [0.0] * 30})
    assert clear.best == "rag" and clear.figure == 1.0 and clear.clear
    close = best_of("accuracy", {"rag": [1, 0] * 15, "raft": [1, 1, 0] * 10})
    assert close.best == "raft" and not close.clear
    cheap = best_of("cost", {"rag": [3.0] * 10, "lora": [1.0] * 10}, "s/day", lower_is_better=True)
    assert cheap.best == "lora" and cheap.clear
    rows = needs_table({"rag": [1.0]}, {"rag": [0.0]}, {}, {}, {"rag": [0.5], "base": [0.1]}, {}, 100)
    assert [r["need"] for r in rows] == ["accuracy on facts", "short exact answers", "lowest cost at 100 queries a day"]
    assert rows[-1]["best"] == "rag" and rows[-1]["figure"] == 50.0  # base is no option for the cost need


def test_decide_reports_unanswerable_updates_and_a_table_per_need(workbench, facts_corpus, tmp_path):
    out = tmp_path / "run"
    result = run_decide(workbench, facts_corpus, out, budget_minutes=30, queries_per_day=500)
    arms = {"base", "rag", "lora", "raft"}
    assert set(result["unanswerable"]) == arms and set(result["updates"]) == arms
    for v in result["unanswerable"].values():
        assert v["n"] > 0 and 0 <= v["abstains"] <= 1
        assert v["withheld"] is not None and v["unseen"] is not None  # both kinds of question were asked
    for v in result["updates"].values():
        assert v["n"] > 0 and 0 <= v["follows"] + v["stale"] <= 1
    needs = {r["need"]: r for r in result["needs"]}
    assert "lowest cost at 500 queries a day" in needs and "admits when the documents do not say" in needs
    for r in result["needs"]:
        assert set(r) >= {"need", "best", "figure", "ci95", "clear"} and r["best"] in arms
        assert r["ci95"][0] <= r["figure"] <= r["ci95"][1]
    changes = json.loads((out / "updates" / "follows.json").read_text())["changes"]
    assert changes and all(c["answer"] != c["new_answer"] for c in changes)
    md = (out / "report.md").read_text()
    assert md.index("## Per need") < md.index("| arm | what it is")
    assert "## Questions the documents do not answer" in md and "## Facts that change after training" in md
    assert not [c for c in workbench.store.corpora() if c.startswith("session--decide")]  # temporary copies gone
    # A new query rate on the finished run rewrites the report, and only the report.
    again = run_decide(workbench, facts_corpus, out, queries_per_day=5)
    assert "lowest cost at 5 queries a day" in {r["need"] for r in again["needs"]}

    # Re-check after a real change: nothing changed yet; then two facts of one file change and it is re-ingested.
    assert "is unchanged since run" in recheck(workbench, out)["line"]
    chapter = tmp_path / "company" / "chapter0.txt"
    chapter.write_text(chapter.read_text().replace("61 euro", "75 euro").replace("4455", "5566"))
    ingest(workbench.store, facts_corpus, [tmp_path / "company"], workbench.settings.chunk_size,
           workbench.settings.chunk_overlap)
    report_before = (out / "report.md").read_text()
    # a re-check is a job: cancelled as it starts, it stops before asking anything and writes nothing
    job = Job(recheck_work(workbench, out), "recheck")
    with pytest.raises(JobCancelled):
        job.run(lambda p: job.cancel())
    assert not (out / "recheck").exists() and "recheck" not in json.loads((out / "run.json").read_text())["state"]
    result = Job(recheck_work(workbench, out), "recheck").run()
    run_folder = str(out.resolve())  # the run's adapters answered the re-check, then left the model
    assert not [key for key in workbench.attached_adapters if key.startswith(run_folder)]
    assert result["changed_documents"] == ["chapter0.txt"], result["line"]
    for f in result["facts"]:  # the new value and the old one (the generator may keep a unit's words with them)
        assert ("75 euro" in f["answer"] and "61 euro" in f["old_answer"]) or (f["answer"], f["old_answer"]) == (
            "5566", "4455")
    assert result["facts"] and set(result["updates"]) == arms
    for v in result["updates"].values():
        assert v["n"] == len(result["facts"]) and 0 <= v["follows"] + v["stale"] <= 1
    assert (out / "recheck" / "report.md").is_file() and (out / "report.md").read_text() == report_before
    assert json.loads((out / "run.json").read_text())["state"]["recheck"]["updates"] == result["updates"]
    workbench.store.delete_corpus(facts_corpus)
    assert "is gone" in recheck(workbench, out)["line"] and (out / "report.json").is_file()


def test_re_ingesting_a_changed_file_replaces_its_chunks_completely(store, settings, tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "a.txt").write_text("The helpdesk extension is 4455. " * 30)
    (folder / "b.txt").write_text("Bike storage holds 80 bicycles.")
    ingest(store, "edited", [folder], settings.chunk_size, settings.chunk_overlap)
    (folder / "a.txt").write_text("The helpdesk extension is 5566.")
    ingest(store, "edited", [folder], settings.chunk_size, settings.chunk_overlap)
    assert not [c for c in store.chunks("edited") if "4455" in c.text]
    assert not [p for p in store.query("edited", "What is the helpdesk extension 4455?", 10) if "4455" in p.text]
    assert store.documents("edited") == {"a.txt": 1, "b.txt": 1}


def test_a_bad_query_rate_is_refused(workbench, facts_corpus, tmp_path):
    from workbench.decide import DecideError

    with pytest.raises(DecideError, match="queries per day"):
        run_decide(workbench, facts_corpus, tmp_path / "run", queries_per_day=0)
