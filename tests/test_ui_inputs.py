"""What the UI shows a person, checked without a browser: the question bound, answer and passage formatting,
metrics, the training estimate, start-up state, and refusals through the real HTTP API."""

import io
import json
from dataclasses import dataclass, field

import pytest

from workbench.results import ArmResult, Metrics, Passage
from workbench.ui.format import answer_markdown, metric_rows, passages_markdown
from workbench.validation import check_question


def test_check_question_refuses_empty_and_long_questions(tiny_tokenizer):
    assert check_question(tiny_tokenizer, "  per diem?  ", 16) == "per diem?"
    with pytest.raises(ValueError, match="the question is empty"):
        check_question(tiny_tokenizer, " \n ", 16)
    with pytest.raises(ValueError, match=r"the limit is 16 tokens"):
        check_question(tiny_tokenizer, "the per diem for lisbon " * 10, 16)
    with pytest.raises(ValueError, match="the limit is 16 tokens"):  # a huge paste is refused before tokenizing
        check_question(tiny_tokenizer, "x" * 20_000, 16)
    with pytest.raises(ValueError, match="must be text"):
        check_question(tiny_tokenizer, 42, 16)
    assert check_question(tiny_tokenizer, "word " * 2000, 0)  # 0 = no limit


def test_engine_and_api_refuse_a_question_over_the_limit(client, workbench):
    from gradio_client.exceptions import AppError

    workbench.settings.max_question_tokens = 32
    with pytest.raises(ValueError, match="limit is 32 tokens"):
        workbench.compare("hotels " * 200)
    with pytest.raises(AppError, match="limit is 32 tokens"):
        client.predict("hotels " * 200, "base", api_name="/compare")


def test_answer_says_when_it_was_cut_at_the_token_limit():
    result = ArmResult("base", answer="The per diem is", done=True, metrics=Metrics(output_tokens=8))
    assert answer_markdown(result, 8) == "The per diem is … *(stopped at 8 tokens)*"
    result.metrics.output_tokens = 5  # ended by itself
    assert answer_markdown(result, 8) == "The per diem is"
    assert answer_markdown(ArmResult("lora", error="lora arm unavailable: no adapter"), 8).startswith("⚠️ lora arm")


def test_passages_are_cards_with_score_source_and_folded_long_text():
    long_text = "## Hotels\n" + "Hotels are capped at 140 euro per night. " * 20
    result = ArmResult("rag", passages=[Passage("The per diem for Lisbon is 62 euro.", "travel.md", 0.61234, "abcdef123456"),
                                        Passage(long_text, "travel.md", 0.4, "0123456789ab")])
    text = passages_markdown(result)
    first, second = text.split("\n\n---\n\n")
    assert first.startswith("**#1 of 2 · score 0.612** · `travel.md` · chunk `abcdef12`")  # the count: more follow
    assert "> The per diem for Lisbon is 62 euro." in first and "<details>" not in first
    assert "<details><summary>show the whole passage" in second and "**Hotels**" in second  # headings flattened
    assert passages_markdown(ArmResult("base")) == ""


def test_metrics_show_every_field_including_new_ones():
    @dataclass
    class NewMetrics(Metrics):
        prefill_ms: float = 0.0
        decode_tokens_per_s: float = 0.0

    result = ArmResult("rag", done=True, metrics=NewMetrics(ttft_ms=1234.5, prompt_tokens=300, output_tokens=20,
                                                             prefill_ms=800, decode_tokens_per_s=12.34,
                                                             peak_memory_bytes=3 * 2**30, memory_kind="cpu_peak_rss"))
    rows = dict(metric_rows(result))
    assert rows["time to first token"] == "1,234 ms" or rows["time to first token"] == "1,235 ms"
    assert rows["own prefill"] == "800 ms" and rows["decode tokens/s"] == "12.3"
    assert rows["prompt / output tokens"] == "300 / 20"
    assert rows["peak memory, all columns"] == "3,072 MiB (process RSS)"
    assert not any(label.startswith("peak memory") for label, _ in metric_rows(result, memory=False))


def test_training_estimate_warns_before_a_long_run(tmp_path):
    from workbench.ui.train import estimate_markdown

    run = tmp_path / "old-raft"
    run.mkdir()
    (run / "training.json").write_text(json.dumps({"config": {"method": "raft", "batch_size": 4},
                                                   "result": {"steps": 58, "seconds": 1950.5}}))
    text = estimate_markdown(114, "raft", 3, 4, [tmp_path])
    assert "~87 steps" in text and "about **49 min**" in text and "long run" in text
    assert "long run" not in estimate_markdown(8, "raft", 1, 4, [tmp_path])
    assert "ETA appears after the first step" in estimate_markdown(8, "lora", 1, 4, [tmp_path])  # never measured


def test_startup_prints_progress_and_refuses_questions_until_ready():
    from workbench.ui.startup import Startup

    out = io.StringIO()
    startup = Startup(stream=out)
    startup.progress(1, 4, "files", "handbook")
    with pytest.raises(ValueError, match=r"still starting \(handbook: 1/4 files\)"):
        startup.check_ready()
    startup.run(lambda progress: progress(4, 4, "files", "handbook"))
    startup.check_ready()
    assert "[start-up] handbook: 1/4 files" in out.getvalue() and "are indexed" in out.getvalue()
    failed = Startup(stream=io.StringIO())
    failed.run(lambda progress: 1 / 0)
    assert failed.ready.is_set() and "failed: division by zero" in failed.error


def test_eval_summary_is_one_column_per_arm_in_arm_order():
    from workbench.evaluation.report import ArmSummary, EvalReport
    from workbench.ui.evaluate import summary_table

    def arm(name, hit):
        return ArmSummary(name, 2, 0.5, 0.5, 0.5, 0.5, None, None, 0, None, None, hit, hit, 0.7, 10, 20, 30, 40, 5.0,
                          100.0, 0)

    frame = summary_table(EvalReport([], {"raft": arm("raft", 1.0), "base": arm("base", None)}, []))
    assert list(frame.columns) == ["metric", "base", "raft"]
    rows = {r[0]: r[1:] for r in frame.values.tolist()}
    assert rows["hit@k"] == ["–", "1.000"] and "accuracy" not in rows and rows["questions"] == ["2", "2"]


def test_stop_closes_the_comparison_and_so_the_generation(client, workbench, monkeypatch):
    """Cancelling the streaming event (Stop, or a browser that went away) closes the engine's generator, which
    closes generate_stream: nothing goes on generating for nobody."""
    import threading
    import time

    closed, real = threading.Event(), workbench.compare_stream

    def slow_tracked(*args, **kwargs):
        try:
            for comparison in real(*args, **kwargs):
                time.sleep(0.1)  # slow enough that the cancel arrives mid-run
                yield comparison
        except GeneratorExit:
            closed.set()
            raise

    monkeypatch.setattr(workbench, "compare_stream", slow_tracked)
    job = client.submit("Hotels are capped at what?", "handbook", 3, 512, 0.0, "", "(none)", "(none)",
                        api_name="/compare_stream")
    deadline = time.time() + 30
    while not job.outputs() and time.time() < deadline:
        time.sleep(0.05)
    assert job.outputs(), "the run never streamed"
    job.cancel()
    assert closed.wait(10), "the comparison was not closed when the event was cancelled"
    # generate_stream's worker thread must end too (a torch thread alive at interpreter exit aborts the process)
    def generating():
        return [t for t in threading.enumerate()
                if getattr(getattr(t, "_target", None), "__module__", "") == "workbench.generation" and t.is_alive()]

    deadline = time.time() + 60
    while generating() and time.time() < deadline:
        time.sleep(0.1)
    assert not generating()


def test_user_errors_leave_no_traceback_in_the_server_log(client, capfd, tmp_path):
    from gradio_client import handle_file
    from gradio_client.exceptions import AppError

    bad = tmp_path / "bad.jsonl"
    bad.write_text("not json\n")
    with pytest.raises(AppError, match="unknown arm"):
        client.predict("q?", "base,nope", api_name="/compare")
    with pytest.raises(AppError, match="not valid JSON"):
        client.predict(None, handle_file(str(bad)), ["base"], 1, "(the set's own corpus)", 3, 8, 0.0, "(none)",
                       "(none)", True, api_name="/evaluate")
    with pytest.raises(AppError, match="choose one of your corpora first"):
        client.predict("", "", api_name="/save_corpus")
    out, err = capfd.readouterr()
    assert "Traceback" not in out + err


def test_a_two_token_answer_gets_no_decode_rate_and_every_figure_is_explained():
    from workbench.ui.format import METRIC_HELP

    rows = dict(metric_rows(ArmResult("lora", done=True, metrics=Metrics(output_tokens=2, tokens_per_s=2.7,
                                                                         compute_ms=900))))
    assert rows["decode tokens/s (after the first)"] == "— (too few tokens)" and rows["own compute"] == "900 ms"
    shown = {label.split(",")[0] for label in rows}
    assert shown <= set(METRIC_HELP), shown - set(METRIC_HELP)  # no figure without its one-line definition
