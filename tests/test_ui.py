"""The app driven through its real HTTP API with gradio_client, on the tiny workbench."""

import pytest
from conftest import save_random_adapter

pytestmark = pytest.mark.ui


def test_compare_endpoint_returns_the_four_arms(client, workbench, tmp_path):
    adapter = save_random_adapter(workbench.model, workbench.settings.data_path / "adapters" / "ui-lora")
    out = client.predict("What is the per diem for Lisbon?", "base,rag,lora,raft", "", 2, 6, 0.0, "", "ui-lora", "",
                         api_name="/compare")
    assert out["model"] == "tiny-llama" and [a["arm"] for a in out["arms"]] == ["base", "rag", "lora", "raft"]
    arms = {a["arm"]: a for a in out["arms"]}
    assert len(arms["rag"]["passages"]) == 1 and arms["rag"]["passages"][0]["source"] == "travel.md"  # the best
    assert set(arms["rag"]["passages"][0]) == {"text", "source", "score", "chunk_id"}
    assert set(arms["base"]["metrics"]) == {"retrieval_ms", "ttft_ms", "prefill_ms", "total_ms", "compute_ms", "prompt_tokens", "output_tokens",
                                            "tokens_per_s", "peak_memory_bytes", "memory_kind"}
    assert arms["lora"]["answer"] and arms["lora"]["adapter"] == "ui-lora" and adapter.is_dir()
    assert "no adapter selected" in arms["raft"]["error"]


def test_compare_endpoint_refuses_bad_arms(client):
    from gradio_client.exceptions import AppError

    with pytest.raises(AppError, match="unknown arm nope"):
        client.predict("q?", "base,nope", api_name="/compare")


def test_streaming_endpoint_fills_all_columns(client):
    job = client.submit("Hotels are capped per night at what?", "handbook", 3, 8, 0.0, "Be brief.", "(none)", "(none)", api_name="/compare_stream")
    final = job.result()
    answers, metrics, passages, prompts = final[0::4], final[1::4], final[2::4], final[3::4]
    assert answers[0] and answers[1]  # base and rag answered
    assert "time to first token" in metrics[0] and "time to first token" in metrics[1]
    assert "| peak memory, all columns | " in metrics[0] and "MiB (process RSS)" in metrics[0]
    assert "peak" not in metrics[1]  # one process's figure: shown once
    assert "Hotels are capped" in prompts[1] and "Be brief." in prompts[0]
    assert "lora arm unavailable" in answers[2]
    assert "**#1 of " in passages[1] and ("`travel.md`" in passages[1] or "`it.txt`" in passages[1])
    assert passages[0] == ""  # base retrieves nothing


def test_example_questions_follow_the_corpus(tmp_path):
    import json

    from workbench.ui.compare import example_questions

    questions, label = example_questions("handbook")
    assert questions and label == "Example questions (handbook test split)"
    assert example_questions("session--0a1b--harbor", runs_root=tmp_path) == ([], "")  # none, not the handbook's
    run = tmp_path / "20260101-harbor"
    (run / "qa").mkdir(parents=True)
    (run / "run.json").write_text(json.dumps({"corpus": "session--0a1b--harbor"}))
    (run / "qa" / "test.jsonl").write_text(json.dumps({"question": "When does the ferry leave?", "answer": "9"}) + "\n")
    assert example_questions("session--0a1b--harbor", runs_root=tmp_path) == (
        ["When does the ferry leave?"], "Example questions (written by Decide for harbor)")


def test_each_adapter_column_says_which_adapter_it_uses_on_the_chosen_corpus(tmp_path):
    from workbench.ui.compare import adapter_line

    shipped = tmp_path / "handbook-lora"
    shipped.mkdir()
    (shipped / "README.md").write_text("- Method: **knowledge** — the text of corpus `handbook` (every token)\n")
    harbor = "session--0a1b2c3d--harbor"
    adapters = {"handbook-lora": shipped, "handbook-raft": None, "reader": None, "team": None}
    corpora = ["handbook", harbor]

    def line(column, choice, corpus, extra=()):
        return adapter_line(column, choice, corpus, {**adapters, **dict.fromkeys(extra)}, corpora)

    assert line("lora", "handbook-lora", harbor) == ("⚠️ Adapter **handbook-lora** was trained on handbook, not on "
                                                     "harbor (none is trained on harbor yet).")
    assert line("lora", "handbook-lora", "handbook") == "Adapter **handbook-lora**, trained on handbook."
    assert line("raft", "handbook-raft", "handbook") == "Adapter **handbook-raft**, trained on handbook."  # its name
    assert line("raft", "auto", harbor) == ("Adapter **reader** (auto): no raft adapter trained on harbor yet, so "
                                            "the general reader.")
    assert line("lora", "auto", harbor).startswith("⚠️ No lora adapter trained on harbor yet (auto)")
    decided = f"{harbor}-lora@20260101-090000"  # a Decide run's, this session's corpus
    assert line("lora", "auto", harbor, [decided]) == "Adapter **harbor-lora@20260101-090000** (auto): harbor's own."
    assert line("lora", "handbook-lora", harbor, [decided]).endswith(
        "not on harbor (choose auto for harbor-lora@20260101-090000).")
    assert line("raft", "auto", "handbook") == "Adapter **handbook-raft** (auto): handbook's own."
    assert line("lora", "team", harbor) == "Adapter **team**."  # it says nothing of its corpus
    assert line("lora", "(none)", harbor).startswith("⚠️ No adapter selected")
    assert line("lora", "gone", harbor).startswith("⚠️ Adapter **gone** is not installed")


def test_a_bound_handler_still_gets_the_request_and_streams():
    """ui.wiring.bind: Gradio fills in gr.Request and gr.Progress of the rest of the signature, and a bound
    generator streams (functools.partial would hide the gr.Request annotation)."""
    import inspect
    from typing import TYPE_CHECKING

    import gradio as gr
    from gradio import helpers

    from workbench.ui.wiring import bind

    if TYPE_CHECKING:  # as in the tabs: a bound parameter's hint that cannot be resolved at run time
        from workbench.engine import Workbench

    def handler(wb: "Workbench", value, request: gr.Request, progress=gr.Progress()):
        yield wb, value, request

    bound = bind(handler, "wb")
    args, progress_index, _, _ = helpers.special_args(bound, ["value"], request="the request")
    assert list(inspect.signature(bound).parameters) == ["value", "request", "progress"]
    assert progress_index == 2 and args[:2] == ["value", "the request"]
    assert inspect.isgeneratorfunction(bound) and list(bound("v", "r")) == [("wb", "v", "r")]
    assert bound.__name__ == "handler"  # the default name of a private endpoint
