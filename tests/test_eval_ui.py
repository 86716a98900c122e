"""The Evaluate tab and the Compare tab's votes, driven through their HTTP API with gradio_client."""

import csv
import json

import pytest

pytestmark = pytest.mark.ui


def shown(output):
    """An output that the tab also makes visible (hidden before the first run) arrives as an update."""
    return output["value"] if isinstance(output, dict) and output.get("__type__") == "update" else output


def evaluate(client, set_name="handbook/test", upload=None, arms=("base", "rag"), limit=2, corpus="(the set's own corpus)"):
    outputs = client.predict(set_name, upload, list(arms), limit, corpus, 3, 8, 0.0, "(none)", "(none)", True,
                             api_name="/evaluate")
    plots_and_filter = set(range(2, 11)) | {12}  # read as the updates they are (their visibility is checked)
    return [o if i in plots_and_filter else shown(o) for i, o in enumerate(outputs)]


def test_evaluate_a_shipped_set(client):
    status, summary, *rest = evaluate(client, arms=("base", "rag", "raft"))
    plots, latency, show, questions, export = rest[:9], rest[9], rest[10], rest[11], rest[12]
    assert "**handbook/test**: 2/2 questions on corpus `handbook`" in status and "raft: skipped" in status
    metrics = {row[0]: row[1:] for row in summary["data"]}  # one row per metric, one column per arm (fits a phone)
    assert summary["headers"] == ["metric", "base", "rag"] and metrics["hit@k"][0] == "–" and metrics["questions"] == ["2", "2"]
    assert "accuracy" not in metrics  # a short-answer set
    assert len(questions["data"]) == 2 and questions["headers"] == ["id", "question", "reference", "base", "rag"]
    visible = {p["value"]["columns"][1]: p["visible"] for p in plots}  # a bar chart per metric, hidden where n/a
    assert visible == {"em": True, "f1": True, "contains": True, "rouge_l": True, "accuracy": False, "macro_f1": False,
                       "hit_at_k": True, "mrr": True, "grounded": True}
    assert next(p for p in plots if p["value"]["columns"][1] == "hit_at_k")["value"]["data"][0][0] == "rag"
    assert {tuple(point[:2]) for point in latency["data"]} == {(a, m) for a in ("base", "rag") for m in ("ttft", "total")}
    assert [c[0] for c in show["choices"]][-2:] == ["base right and rag wrong", "rag right and base wrong"]
    assert sorted(p.rsplit("/", 1)[-1] for p in export) == ["per_question.csv", "per_question.json", "run.json",
                                                            "summary.csv", "summary.json"]
    summary_json = json.loads(open(next(p for p in export if p.endswith("summary.json"))).read())
    with open(next(p for p in export if p.endswith("per_question.csv")), newline="") as f:
        assert len(list(csv.DictReader(f))) == 4 and summary_json["rag"]["n"] == 2

    filtered = client.predict("all arms right", api_name="/eval_filter")
    assert filtered["headers"] == ["id", "question", "reference", "base", "rag"]


def test_evaluate_an_uploaded_set_and_refuse_a_malformed_one(client, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    good = tmp_path / "mine.csv"
    good.write_text('question,answer,source\nWhat is the helpdesk extension?,4455,it.txt\n')
    status, summary, *_ = evaluate(client, set_name=None, upload=handle_file(str(good)), arms=("rag",), limit=0)
    assert "**mine.csv**: 1/1 questions" in status and summary["headers"] == ["metric", "rag"]

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "a?", "answer": "b"}\nnot json\n')
    with pytest.raises(AppError, match="bad.jsonl line 2: not valid JSON"):
        evaluate(client, upload=handle_file(str(bad)))


def ask(client, question="Probation?") -> list[str]:
    """The four answers the Compare tab shows for `question` (what a vote is cast on)."""
    out = client.predict(question, "handbook", 3, 8, 0.0, "", "(none)", "(none)", api_name="/compare_stream")
    return list(out[0::4])


def test_votes_from_the_compare_tab(client):
    answers = ask(client)
    tally, feedback = client.predict("Probation?", *answers, api_name="/vote_rag")
    assert "Recorded: **rag** gave the best answer" in feedback and tally["headers"] == ["vote", "this session", "all time"]
    assert {row[0]: row[1:] for row in tally["data"]}["rag"] == [1, 1]
    tally, _ = client.predict("Probation?", *ask(client), api_name="/vote_all_bad")
    assert {row[0]: row[1:] for row in tally["data"]}["all bad"] == [1, 1]
    # a vote with nothing to judge is refused in the feedback line, and the tally stays as it was
    unchanged, feedback = client.predict("", "", "", "", "", api_name="/vote_base")
    assert feedback.startswith("⚠️ ask a question first") and unchanged == {"__type__": "update"}  # gr.skip()


def test_cancel_keeps_what_was_computed_for_the_next_run(client, workbench):
    import time

    from workbench.evaluation.runner import ResultCache

    cache = ResultCache.in_data_dir(workbench.settings)
    job = client.submit("handbook/test", None, ["base", "rag"], 0, "(the set's own corpus)", 3, 8, 0.0, "(none)",
                        "(none)", True, api_name="/evaluate")
    deadline = time.time() + 60
    # the first batch answered (its answers are cached together) and the run's status on screen
    while (cache.count() < 4 or not job.outputs()) and time.time() < deadline:
        time.sleep(0.05)
    assert job.cancel()
    time.sleep(1.5)
    done = cache.count()
    assert job.status().code.name == "CANCELLED" and 4 <= done < 130
    time.sleep(1)
    assert cache.count() == done  # the run stopped
    assert "/65 questions" in job.outputs()[-1][0]  # the partial results stay on screen

    _, summary, *_ = evaluate(client, limit=done // 2 + 1)
    row = next(r for r in summary["data"] if r[0] == "cached")
    cached = {arm: int(n) for arm, n in zip(summary["headers"][1:], row[1:])}
    assert cached == {"base": done // 2, "rag": done // 2}


def test_evaluate_handlers_say_what_is_missing(workbench, tmp_path):
    """The Evaluate tab's handlers without an app: what a person sees for missing or bad input."""
    import gradio as gr

    from workbench.jobs import Jobs
    from workbench.ui import evaluate as tab

    no_set, _, no_arms, *rest = tab.validate(None, None, [], 20, "(the set's own corpus)")
    assert no_set == gr.validate(False, "choose a shipped eval set or upload one")
    assert no_arms == gr.validate(False, "choose at least one arm") and all(v["is_valid"] for v in rest)

    def refusal(set_name=None, upload=None, arms=("base",), limit=2, top_k=3) -> str:
        form = ["", set_name, upload, list(arms), limit, tab.SET_CORPUS, top_k, 8, 0.0, "(none)", "(none)", True, None]
        with pytest.raises(gr.Error) as refused:
            next(tab.evaluate(workbench, None, Jobs(), {}, *form))
        return refused.value.message

    assert refusal() == "choose a shipped eval set or upload one"
    good = tmp_path / "mine.csv"
    good.write_text("question,answer,source\nWhat is the helpdesk extension?,4455,it.txt\n")
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "a?", "answer": "b"}\nnot json\n')
    message = refusal(upload=str(bad))
    assert "bad.jsonl line 2: not valid JSON" in message and message.endswith(". Nothing was run.")
    assert refusal(upload=str(good), arms=()) == "choose at least one arm"
    assert refusal(upload=str(good), top_k=0).startswith("top_k must be between 1 and ")
    workbench.settings.max_eval_rows = 0
    assert refusal(upload=str(good)).startswith("1 questions are more than one evaluation here may run (0)")
