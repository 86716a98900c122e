"""The batch runner end to end on the tiny model, its cache, the report, and the `eval` CLI's files and JSON."""

import csv
import json

import pytest
from conftest import save_random_adapter

from workbench.cli import main
from workbench.evaluation.datasets import load_eval_set
from workbench.evaluation.report import ALL, DISAGREE, build_report, filter_choices, side_by_side
from workbench.evaluation.runner import ResultCache, run_eval

QUESTIONS = [
    {"id": "q1", "question": "What is the per diem for Lisbon?", "answer": ["62 euro", "62 EUR"], "source": "travel.md"},
    {"id": "q2", "question": "What is the helpdesk extension?", "answer": "4455", "source": "it.txt"},
    {"id": "q3", "question": "Hotel cap per night?", "answer": "140 euro"},
]


@pytest.fixture()
def eval_file(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    return path


def count_generations(workbench, monkeypatch) -> list:
    """The arms of every question generated from now on (one entry per question)."""
    calls = []
    original = workbench.compare_many
    monkeypatch.setattr(workbench, "compare_many",
                        lambda qs, arms, **kw: calls.extend([list(arms)] * len(qs)) or original(qs, arms, **kw))
    return calls


def test_runner_scores_every_arm_and_skips_arms_that_cannot_run(workbench, eval_file):
    eval_set = load_eval_set(eval_file)
    records = run_eval(workbench, eval_set, "base,rag,lora", max_new_tokens=4)
    assert len(records) == 9 and {r.result.arm for r in records} == {"base", "rag", "lora"}

    report = build_report(records, eval_set.labels)
    assert list(report.summary) == ["base", "rag"] and len(report.rows) == 6
    assert report.notes == ["lora: skipped, lora arm unavailable: no adapter selected. Train or upload an adapter."]
    rows = {(r.id, r.arm): r for r in report.rows}
    assert rows["q1", "rag"].hit == 1.0 and rows["q1", "rag"].rr == 1.0 and rows["q1", "rag"].retrieved.startswith("travel.md")
    assert rows["q1", "base"].hit is None and rows["q3", "rag"].hit is None  # closed book / no source given
    assert rows["q1", "base"].reference == "62 euro" and json.loads(rows["q1", "base"].references) == ["62 euro", "62 EUR"]
    for r in report.rows:
        assert 0 < r.ttft_ms <= r.total_ms and 0 < r.output_tokens <= 4 and r.memory_kind == "cpu_peak_rss"
    rag = report.summary["rag"]
    assert rag.n == 3 and rag.hit_at_k == 1.0 and rag.mrr == 1.0 and rag.accuracy is None
    assert rag.ttft_p50_ms <= rag.ttft_p95_ms and rag.total_p50_ms <= rag.total_p95_ms and rag.tokens_per_s > 0
    assert "hit_at_k" not in report.summary_json()["base"] and "grounded" in report.summary_json()["base"]


def test_cache_reuses_answers_across_runs_and_larger_runs(workbench, eval_file, monkeypatch):
    eval_set, cache = load_eval_set(eval_file), ResultCache.in_data_dir(workbench.settings)
    first = run_eval(workbench, eval_set, "base,rag", limit=2, cache=cache)
    calls = count_generations(workbench, monkeypatch)

    again = run_eval(workbench, eval_set, "base,rag", cache=cache)  # 2 questions cached, 1 new
    assert calls == [["base", "rag"]] and cache.count() == 6
    assert [r.cached for r in again] == [True] * 4 + [False] * 2
    assert [r.result.answer for r in again[:4]] == [r.result.answer for r in first]
    assert build_report(again).summary["base"].cached == 2

    run_eval(workbench, eval_set, "base,rag", limit=1, cache=cache, max_new_tokens=3)  # another setting: generated
    run_eval(workbench, eval_set, "rag", limit=1, cache=cache, top_k=1)
    run_eval(workbench, eval_set, "rag", limit=1, cache=cache, rag_passages=2)  # rag reads two passages, not one
    assert calls[1:] == [["base", "rag"], ["rag"], ["rag"]]


def test_retrained_adapter_is_not_served_from_the_cache(workbench, eval_file, monkeypatch):
    folder = workbench.settings.data_path / "adapters" / "my-lora"
    save_random_adapter(workbench.model, folder, seed=1)
    eval_set, cache = load_eval_set(eval_file), ResultCache.in_data_dir(workbench.settings)
    run_eval(workbench, eval_set, "lora", limit=1, cache=cache, lora_adapter="my-lora")
    calls = count_generations(workbench, monkeypatch)
    run_eval(workbench, eval_set, "lora", limit=1, cache=cache, lora_adapter="my-lora")
    assert calls == []
    save_random_adapter(workbench.model, folder, seed=2)  # same name, new weights
    run_eval(workbench, eval_set, "lora", limit=1, cache=cache, lora_adapter="my-lora")
    assert calls == [["lora"]]


def test_questions_generated_in_batches_answer_as_one_at_a_time(workbench, eval_file, tmp_path, monkeypatch):
    """eval_batch questions share one generation batch: the same greedy answers as one question at a time, the
    records in question order, and each arm's latency its own cost (its prefill and share of the steps)."""
    save_random_adapter(workbench.model, workbench.settings.data_path / "adapters" / "my-lora", seed=1)
    eval_set = load_eval_set(eval_file)
    arms = dict(arms="base,rag,lora", lora_adapter="my-lora", max_new_tokens=5)
    calls = count_generations(workbench, monkeypatch)
    alone = run_eval(workbench, eval_set, eval_batch=1, **arms)
    assert len(calls) == 3
    batched_calls = []
    monkeypatch.setattr(workbench, "compare_many", lambda qs, *a, **kw: batched_calls.append(len(qs))
                        or type(workbench).compare_many(workbench, qs, *a, **kw))
    batched = run_eval(workbench, eval_set, eval_batch=2, **arms)
    assert batched_calls == [2, 1]
    assert [(r.item.id, r.result.arm, r.result.answer) for r in batched] == \
        [(r.item.id, r.result.arm, r.result.answer) for r in alone]
    for record, row in zip(batched, build_report(batched).rows):
        m = record.result.metrics
        assert row.ttft_ms == pytest.approx(m.retrieval_ms + m.prefill_ms) and row.total_ms == m.compute_ms
        # the batch's wall clock holds the other question's prefills; the arm's own time does not
        assert 0 < m.prefill_ms <= row.ttft_ms <= row.total_ms <= m.total_ms


def test_a_cached_arm_is_not_generated_again_in_a_batch(workbench, eval_file, monkeypatch):
    eval_set, cache = load_eval_set(eval_file), ResultCache.in_data_dir(workbench.settings)
    run_eval(workbench, eval_set, "base", limit=2, cache=cache)
    calls = count_generations(workbench, monkeypatch)
    records = run_eval(workbench, eval_set, "base,rag", cache=cache, eval_batch=3)
    # q1 and q2 need rag only, q3 both arms: two generation calls for one batch of questions
    assert calls == [["rag"], ["rag"], ["base", "rag"]]
    assert [(r.item.id, r.result.arm, r.cached) for r in records] == [
        ("q1", "base", True), ("q1", "rag", False), ("q2", "base", True), ("q2", "rag", False),
        ("q3", "base", False), ("q3", "rag", False)]


def test_a_cancelled_run_stops_within_a_step_and_caches_nothing_of_the_cut_batch(workbench, eval_file):
    import threading

    from workbench.evaluation.runner import iter_eval

    eval_set, cache, cancel, calls = load_eval_set(eval_file), ResultCache.in_data_dir(workbench.settings), \
        threading.Event(), []

    def count_and_cancel(*_):
        calls.append(1)
        if len(calls) == 5:  # the batch's prompts prefilled, a decode step under way
            cancel.set()

    handle = workbench.model.register_forward_hook(count_and_cancel)
    try:
        with pytest.raises(InterruptedError):
            list(iter_eval(workbench, eval_set.items, "base,rag", cache, cancel, max_new_tokens=40, eval_batch=2))
    finally:
        handle.remove()
    assert len(calls) == 5 and cache.count() == 0  # no forward pass after the step that saw it; nothing half done kept


def test_eval_batch_out_of_range_is_refused(workbench, eval_file):
    with pytest.raises(ValueError, match="eval_batch must be"):
        run_eval(workbench, load_eval_set(eval_file), "base", eval_batch=0)


def test_label_sets_get_accuracy_and_macro_f1(workbench, tmp_path):
    path = tmp_path / "labels.jsonl"
    path.write_text("".join(json.dumps({"question": f"Is {i} even?", "answer": a, "type": "label"}) + "\n"
                            for i, a in enumerate(["yes", "no", "maybe"])))
    eval_set = load_eval_set(path)
    report = build_report(run_eval(workbench, eval_set, "base", max_new_tokens=3), eval_set.labels)
    base = report.summary_json()["base"]
    assert 0 <= base["accuracy"] <= 1 and 0 <= base["macro_f1"] <= 1
    assert all(r.correct == float(r.predicted_label == r.reference) for r in report.rows)


def test_side_by_side_filters(workbench, eval_file):
    report = build_report(run_eval(workbench, load_eval_set(eval_file), "base,rag", max_new_tokens=2))
    rows = report.rows
    for r in rows:  # make the verdicts known: rag right on q1 and q2, base right on q2 only
        r.correct = float((r.arm, r.id) in {("rag", "q1"), ("rag", "q2"), ("base", "q2")})
    assert list(side_by_side(rows, ALL)["id"]) == ["q1", "q2", "q3"]
    assert list(side_by_side(rows, DISAGREE)["id"]) == ["q1"]
    assert list(side_by_side(rows, "rag right and base wrong")["id"]) == ["q1"]
    assert list(side_by_side(rows, "base right and rag wrong")["id"]) == []
    assert list(side_by_side(rows, "all arms wrong")["id"]) == ["q3"]
    assert list(side_by_side(rows, ALL).columns) == ["id", "question", "reference", "base", "rag"]
    assert side_by_side(rows, ALL)["rag"][0].startswith("✓ ")
    assert "raft right and rag wrong" in filter_choices(["base", "rag", "lora", "raft"])


# --- the CLI -------------------------------------------------------------------------------------------------
@pytest.fixture()
def cli_env(workbench, monkeypatch):
    """`python -m workbench eval` with the tiny workbench instead of the real model."""
    from workbench.engine import Workbench

    monkeypatch.setenv("WORKBENCH_DATA_DIR", workbench.settings.data_dir)
    monkeypatch.setenv("WORKBENCH_LORA_ADAPTER", "")
    monkeypatch.setattr(Workbench, "load", classmethod(lambda cls, settings, progress=None: workbench))
    return workbench


def read_csv(path):
    with open(path, newline="") as f:
        return list(csv.DictReader(f))


def test_cli_files_and_json_agree(cli_env, eval_file, tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["eval", "--data", str(eval_file), "--corpus", "handbook", "--arms", "base,rag,lora", "--out", str(out),
                 "--max-new-tokens", "4", "--json"]) == 0
    captured = capsys.readouterr()
    printed = json.loads(captured.out)
    assert "note: lora: skipped" in captured.err and list(printed) == ["base", "rag"]
    assert json.loads((out / "summary.json").read_text()) == printed
    assert json.loads((out / "run.json").read_text())["questions"] == 3

    summary = {row["arm"]: row for row in read_csv(out / "summary.csv")}
    per_question = read_csv(out / "per_question.csv")
    required = ["question", "arm", "answer", "reference", "em", "f1", "contains", "rouge_l", "hit", "rr", "grounded",
                "ttft_ms", "total_ms", "output_tokens"]
    assert set(required) <= set(per_question[0]) and len(per_question) == 6
    assert [(r["arm"], r["reference"]) for r in per_question[:2]] == [("base", "62 euro"), ("rag", "62 euro")]
    for arm, stats in printed.items():
        rows = [r for r in per_question if r["arm"] == arm]
        assert stats["n"] == len(rows) == int(summary[arm]["n"]) == 3
        for key, column in [("em", "em"), ("f1", "f1"), ("contains", "contains"), ("rouge_l", "rouge_l"),
                            ("grounded", "grounded"), ("hit_at_k", "hit"), ("mrr", "rr")]:
            values = [float(r[column]) for r in rows if r[column] != ""]
            if key in stats and stats[key] is not None:
                assert stats[key] == pytest.approx(sum(values) / len(values), abs=1e-4), (arm, key)
                assert float(summary[arm][key]) == stats[key]
            else:
                assert values == [] and summary[arm][key] == ""
        ttft = sorted(float(r["ttft_ms"]) for r in rows)
        assert stats["ttft_p50_ms"] == pytest.approx(ttft[1], abs=0.1) and float(summary[arm]["ttft_p95_ms"]) == stats["ttft_p95_ms"]
        assert all(0 <= stats[k] <= 1 for k in ("em", "f1", "contains", "rouge_l"))


def test_cli_refuses_a_malformed_file_before_loading_the_model(cli_env, eval_file, tmp_path, capsys, monkeypatch):
    from workbench.engine import Workbench

    monkeypatch.setattr(Workbench, "load", classmethod(lambda *a, **k: pytest.fail("the model was loaded")))
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"question": "a?", "answer": "b"}\n{"question": "c?"}\n')
    assert main(["eval", "--data", str(bad), "--out", str(tmp_path / "out")]) == 2
    assert capsys.readouterr().err == "error: bad.jsonl line 2: missing 'answer' (every row needs a question and its answer)\n"
    assert not (tmp_path / "out").exists()
    assert main(["eval", "--data", str(bad), "--out", str(tmp_path / "out"), "--arms", "base,nope"]) == 2
    capsys.readouterr()
    assert main(["eval", "--data", str(eval_file), "--out", str(tmp_path / "out"), "--batch", "0"]) == 2
    assert capsys.readouterr().err == "error: --batch must be between 1 and 64 questions, got 0\n"


def test_unanswerable_rows_score_abstention_and_answerable_rows_false_abstention(tmp_path):
    from workbench.arms import ABSTENTION
    from workbench.evaluation.runner import EvalRecord
    from workbench.results import ArmResult

    path = tmp_path / "mixed.jsonl"
    path.write_text(json.dumps({"question": "Per diem in Lisbon?", "answer": "95 euro"}) + "\n"
                    + json.dumps({"question": "Per diem in Oslo?", "answer": "", "type": "unanswerable"}) + "\n")
    answerable, unanswerable = load_eval_set(path).items
    assert unanswerable.type == "unanswerable" and unanswerable.answers == [ABSTENTION]
    said = {"rag": ["It is 95 euro.", "It is 80 euro."],
            "raft": [ABSTENTION, f"Answer: {ABSTENTION}"],
            "base": ["Per diem per diem per diem per diem", "No."]}
    records = [EvalRecord(item, ArmResult(arm, answer), []) for arm, answers in said.items()
               for item, answer in zip([answerable, unanswerable], answers)]
    summary = build_report(records).summary
    assert (summary["rag"].contains, summary["rag"].abstain, summary["rag"].false_abstain) == (1.0, 0.0, 0.0)
    assert (summary["raft"].contains, summary["raft"].abstain, summary["raft"].false_abstain) == (0.0, 1.0, 1.0)
    assert (summary["base"].loops, summary["rag"].loops) == (1, 0)
    assert [r.correct for r in build_report(records).rows if r.arm == "raft"] == [0.0, 1.0]


def test_an_adapters_yes_no_threshold_is_part_of_its_cache_key(workbench, tmp_path):
    from workbench import polar
    from workbench.evaluation.runner import adapter_fingerprint

    folder = save_random_adapter(workbench.model, tmp_path / "keyed-raft", seed=4)
    plain = adapter_fingerprint(str(folder), [])
    (folder / polar.THRESHOLD_FILE).write_text(json.dumps({"threshold": -1.0}))
    cut = adapter_fingerprint(str(folder), [])
    (folder / polar.THRESHOLD_FILE).write_text(json.dumps({"threshold": -0.5}))
    assert len({plain, cut, adapter_fingerprint(str(folder), [])}) == 3 and plain is not None
