"""Decide end to end on the tiny model: questions -> plan -> two adapters -> evaluation -> report, resume, bad input."""

import json

import pytest

from workbench.decide import BudgetError, DecideError, run_decide
from workbench.decide.pipeline import DecideRun
from workbench.decide.stages import LORA_BATCH_SIZE
from workbench.retrieval.ingest import ingest
from workbench.training.trainer import TrainConfig

FACTS = [
    "The Porto office opens at 08:00 and closes at 19:00 on weekdays.",
    "The per diem for Madrid is 61 euro per day.",
    "Hotels in Berlin are capped at 150 euro per night.",
    "Maria Okafor manages the finance team in Leeds.",
    "The helpdesk extension is 4455.",
    "New laptops are replaced every 36 months.",
    "The annual training budget is 1,500 pounds per employee.",
    "Parking permits cost 12 pounds per month.",
    "The fire assembly point is the car park on Mill Lane.",
    "Passwords must contain at least 14 characters.",
    "The company was founded in 2009 by Tomas Reyes.",
    "Expense claims must be filed within 45 days.",
    "The Glasgow warehouse has 120 parking spaces.",
    "Jonas Berg is the head of security.",
    "Visitors must be registered 24 hours in advance.",
    "The summer party takes place in July at Harbour Hall.",
    "Bike storage holds 80 bicycles.",
    "The canteen serves lunch from 12:00 to 14:30.",
    "Sick leave above 7 days needs a doctor's note.",
    "The pension match is 6 percent of salary.",
    "Staff receive 28 days of annual leave.",
    "The VPN client is called Tunnelcraft.",
    "Priya Natarajan leads the data science group.",
    "Mobile phones are refreshed every 30 months.",
    "The quiet room is on the fourth floor.",
    "Taxi rides after 22:00 are reimbursed up to 40 pounds.",
    "The gym discount is 25 percent.",
    "Badge photos are taken at reception on Mondays.",
    "The intranet is called Bobbinet.",
    "Quarterly reviews happen in March, June, September and December.",
]


@pytest.fixture(autouse=True)
def small_plan(monkeypatch):
    """The tiny model trains in milliseconds, so any budget buys the plan's maximum; keep the maximum small."""
    import workbench.decide.plan as plan

    monkeypatch.setattr(plan, "MAX_QA_REPEATS", 2)
    monkeypatch.setattr(plan, "MAX_RAFT_EPOCHS", 1.0)
    monkeypatch.setattr(plan, "MAX_TEST_QUESTIONS", 8)


@pytest.fixture()
def facts_corpus(tmp_path, store, settings):
    folder = tmp_path / "company"
    folder.mkdir()
    for i in range(0, len(FACTS), 5):
        (folder / f"chapter{i // 5}.txt").write_text("\n\n".join(FACTS[i:i + 5]) + "\n")
    ingest(store, "company", [folder], settings.chunk_size, settings.chunk_overlap)
    return "company"


@pytest.fixture()
def vague_corpus(tmp_path, store, settings):
    """A corpus without a single answerable fact."""
    folder = tmp_path / "vague"
    folder.mkdir()
    (folder / "notes.txt").write_text("We like to work together. Good ideas are always welcome here.\n")
    ingest(store, "vague", [folder], settings.chunk_size, settings.chunk_overlap)
    return "vague"


def test_decide_runs_every_stage_and_reports_a_verdict(workbench, facts_corpus, tmp_path):
    out = tmp_path / "run"
    result = run_decide(workbench, facts_corpus, out, budget_minutes=30)
    assert set(result["summary"]) == {"base", "rag", "lora", "raft"}
    for arm, row in result["summary"].items():
        assert set(row) >= {"contains", "f1", "ci95", "total_p50_ms", "prompt_tokens"}
        lo, hi = row["ci95"]
        assert 0 <= lo <= row["contains"] <= hi <= 1
    assert result["qa"]["train"] > 0 and result["qa"]["test"] > 0 and result["qa"]["answer_in_source"] >= 0.95
    assert set(result["training_minutes"]) == {"lora", "raft"}
    assert set(result["break_even_queries"]) == {"lora", "raft"}
    assert result["verdict"] and ("Use " in result["verdict"] or "Best measured" in result["verdict"])
    for method in ("lora", "raft"):
        assert (out / "adapters" / method / "adapter_model.safetensors").is_file()
    report = json.loads((out / "report.json").read_text())
    assert report["plan_notes"] and "queries" in report["cost_curve"]
    assert "Verdict" in (out / "report.md").read_text()
    # Test questions are about facts no training question covers, and are never training text.
    train, test, recall = ([json.loads(x) for x in (out / "qa" / f"{name}.jsonl").read_text().splitlines()]
                           for name in ("train", "test", "recall"))
    assert not {r["fact_id"] for r in train} & {r["fact_id"] for r in test}
    assert not {r["question"] for r in train} & {r["question"] for r in test}
    # Once everything is measured, the lora a user takes learns the held-out facts too (the refit); the measured
    # adapter stays beside it, and the report says which is which.
    assert {r["fact_id"] for r in recall} == {r["fact_id"] for r in test} and result["qa"]["recall"] == len(recall)
    state = json.loads((out / "run.json").read_text())["state"]
    assert state["refit"]["facts"] == len(recall) and state["refit"]["steps"] > 0 and state["refit"]["repeats"] >= 1
    measured = out / "adapters" / "lora-measured" / "adapter_model.safetensors"
    assert measured.read_bytes() != (out / "adapters" / "lora" / "adapter_model.safetensors").read_bytes()
    assert result["training_minutes"]["lora"] >= state["refit"]["minutes"]  # the refit is part of lora's cost
    assert "## The lora adapter to take" in (out / "report.md").read_text()
    for adapter in ("lora-measured", "lora"):  # the lora and its refit take two examples a step (more steps)
        config = json.loads((out / "adapters" / adapter / "training.json").read_text())["config"]
        assert config["batch_size"] == LORA_BATCH_SIZE < TrainConfig.batch_size


def test_raft_continues_the_reader_and_keeps_what_reads_validation_facts_better(workbench, facts_corpus, tmp_path,
                                                                               monkeypatch):
    from conftest import save_random_adapter

    # the shipped reader was trained for SmolLM2, not the tiny model: this test's reader is the only one
    monkeypatch.setattr(type(workbench.settings), "adapter_dirs", property(lambda s: [s.data_path / "adapters"]))

    reader = save_random_adapter(workbench.model, workbench.settings.data_path / "adapters" / "reader")
    (reader / "yes_no.json").write_text('{"threshold": -1.0}')
    out = tmp_path / "run"
    run_decide(workbench, facts_corpus, out, budget_minutes=30)
    state = json.loads((out / "run.json").read_text())["state"]
    assert state["raft_training"]["from"] == str(reader)
    assert (out / "adapters" / "raft" / "yes_no.json").read_text() == '{"threshold": -1.0}'  # the reader's yes/no cut
    choice = state["raft_choice"]
    assert choice["validation_facts"] >= 3 and set(choice["contains"]) == {"reader", "tuned"}
    kept = str(reader) if choice["kept"] == "reader" else str(out / "adapters" / "raft")
    assert state["adapters"]["raft"] == kept
    assert choice["kept"] == ("tuned" if choice["contains"]["tuned"] > choice["contains"]["reader"] else "reader")
    assert "the reader alone vs tuned on this corpus" in (out / "report.md").read_text()
    # raft's time limit leaves room for the validation answers, which come after its training
    from workbench.decide.plan import validation_seconds

    plan = state["plan"]
    limit = json.loads((out / "adapters" / "raft" / "training.json").read_text())["config"]["max_seconds"]
    checking = validation_seconds(choice["validation_facts"], plan["speed"]["eval_s_per_question"])
    assert checking > 0 and limit == pytest.approx(max(plan["raft_seconds"] - checking, plan["raft_seconds"] / 2))
    # validation facts are training facts held out of raft training, never test facts
    from workbench.decide.stages import _validation_split

    trained, held = _validation_split(DecideRun.open(out, facts_corpus))
    tested = {json.loads(x)["answer"] for x in (out / "qa" / "test.jsonl").read_text().splitlines()}
    assert len(held) == choice["validation_facts"]
    assert not {f.answer for f in held} & {f.answer for f in trained} and not {f.answer for f in held} & tested


def test_a_stopped_run_resumes_after_its_last_finished_stage(workbench, facts_corpus, tmp_path, monkeypatch):
    import workbench.decide.pipeline as pipeline

    out = tmp_path / "run"
    stages = list(pipeline.STAGES)

    def crash(run, wb):
        raise RuntimeError("killed")

    monkeypatch.setattr(pipeline, "STAGES", [*stages[:3], ("raft", crash), *stages[4:]])
    with pytest.raises(RuntimeError):
        run_decide(workbench, facts_corpus, out, budget_minutes=30)
    recorded = DecideRun.open(out, facts_corpus)
    assert list(recorded.done) == ["qa", "plan", "lora"]
    qa_written = (out / "qa" / "train.jsonl").stat().st_mtime_ns
    lora_written = (out / "adapters" / "lora" / "adapter_model.safetensors").stat().st_mtime_ns

    monkeypatch.setattr(pipeline, "STAGES", stages)
    result = run_decide(workbench, facts_corpus, out)  # the budget comes from run.json
    assert result["verdict"] and result["budget_minutes"] == 30
    assert (out / "qa" / "train.jsonl").stat().st_mtime_ns == qa_written  # finished stages are not redone
    # the lora stage is not redone: the adapter the evaluation measured is the one it wrote (kept by the refit)
    assert (out / "adapters" / "lora-measured" / "adapter_model.safetensors").stat().st_mtime_ns == lora_written


def test_cancel_stops_the_evaluation_stage_within_a_step_and_a_rerun_finishes(workbench, facts_corpus, tmp_path):
    import threading

    cancel, passes, in_eval = threading.Event(), [], threading.Event()

    def count(*_):
        if in_eval.is_set():
            passes.append(1)
            if len(passes) == 3:  # the evaluation's first prompts prefilled
                cancel.set()

    handle = workbench.model.register_forward_hook(count)
    try:
        with pytest.raises(InterruptedError):
            run_decide(workbench, facts_corpus, tmp_path / "run", budget_minutes=30, cancel=cancel,
                       on_progress=lambda p: in_eval.set() if p.stage == "eval" else None)
    finally:
        handle.remove()
    assert len(passes) == 3  # no forward pass after the one that saw Cancel
    assert list(DecideRun.open(tmp_path / "run", facts_corpus).done) == ["qa", "plan", "lora", "raft"]
    assert run_decide(workbench, facts_corpus, tmp_path / "run")["verdict"]


def test_an_empty_corpus_or_one_without_facts_is_refused_with_what_to_do(workbench, store, settings, tmp_path):
    with pytest.raises(DecideError, match="no documents"):
        run_decide(workbench, "nothing-here", tmp_path / "a", budget_minutes=20)
    folder = tmp_path / "vague"
    folder.mkdir()
    (folder / "notes.txt").write_text("We like to work together. Good ideas are always welcome here.\n")
    ingest(store, "vague", [folder], settings.chunk_size, settings.chunk_overlap)
    with pytest.raises(DecideError, match="add such documents|add documents"):
        run_decide(workbench, "vague", tmp_path / "b", budget_minutes=20)


def test_a_budget_too_small_to_train_says_how_much_is_needed(workbench, facts_corpus, tmp_path, monkeypatch):
    import workbench.decide.stages as stages
    from workbench.decide.plan import Speed

    # The tiny model trains and answers in milliseconds; measure it as a slow machine would, so that three
    # seconds of budget are too few whatever the load on the machine running the test.
    slow = Speed(train_tokens_per_s=50, eval_s_per_question=5)
    monkeypatch.setattr(stages, "measure_speed", lambda wb, sample, *args: slow)
    with pytest.raises(BudgetError, match=r"at least \d+ min"):
        run_decide(workbench, facts_corpus, tmp_path / "run", budget_minutes=0.05)
    # what finished before the plan is kept for a later run with a larger budget
    assert (tmp_path / "run" / "qa" / "train.jsonl").is_file()
    # and the speeds it measured are remembered: the tab's plan uses them before the next run
    from workbench.decide.estimate import latest_measurement

    state = json.loads((tmp_path / "run" / "run.json").read_text())["state"]
    assert state["min_budget_minutes"] > 1
    measured = latest_measurement(tmp_path)
    assert measured.speed == slow and measured.run == "run" and measured.qa_s_per_word > 0


def test_the_speed_probe_times_each_kind_of_example_in_steps_of_its_own(workbench, monkeypatch):
    """Questions, documents and raft's examples train at different speeds on a real machine (a random draw of
    chunks and Q/A together read 15-25 % slow): each kind is drawn, batched longest first and timed apart."""
    from types import SimpleNamespace

    import workbench.decide.stages as stages
    import workbench.training.jobs as jobs
    from workbench.training.data import Example, tokenize

    speeds = {"Q": 400.0, "D": 200.0, "R": 900.0}  # tokens/s of each kind on this pretend machine
    clock = SimpleNamespace(t=0.0)
    steps, layers = [], {}

    def fake_train(wb, examples, config, out_dir, progress=None, cancel=None):
        b = stages.PROBE_BATCH
        assert config.keep_order and config.batch_size == b
        for i in range(0, len(examples), b):
            batch = examples[i:i + b]
            kinds = {ex.segments[0][0][0] for ex in batch}
            steps.append(kinds)
            layers.update(dict.fromkeys(kinds, config.top_layers))
            n = sum(len(tokenize(wb.tokenizer, ex, 1024)["input_ids"]) for ex in batch)
            clock.t += n / speeds[next(iter(kinds))] + (30.0 if i == 0 else 0.0)  # the first step warms up
            progress({})

    monkeypatch.setattr(jobs, "train_examples", fake_train)
    monkeypatch.setattr(stages, "time", SimpleNamespace(perf_counter=lambda: clock.t))

    def made(kind, n, words):
        return [Example([(f"{kind} " + " ".join(["word"] * (words + i)), True)]) for i in range(n)]

    speed = stages.measure_speed(workbench, made("Q", 30, 40), made("D", 30, 10), made("R", 20, 120))
    assert all(len(kinds) == 1 for kinds in steps)  # no step mixes two kinds
    assert steps[0] == {"R"}  # raft's (longest) examples first: the warm-up step is theirs
    # raft's LoRA is in every layer, the lora's in its last ones: each timed as its stage trains it (a run apiece)
    assert layers == {"R": 1.0, "Q": stages.LORA_TOP_LAYERS, "D": stages.LORA_TOP_LAYERS} and stages.LORA_TOP_LAYERS < 1
    assert speed.train_tokens_per_s == pytest.approx(400, rel=0.01)
    assert speed.doc_tokens_per_s == pytest.approx(200, rel=0.01)
    assert speed.raft_tokens_per_s == pytest.approx(900, rel=0.01)


def test_a_run_folder_of_another_corpus_is_not_overwritten(workbench, facts_corpus, tmp_path):
    out = tmp_path / "run"
    out.mkdir()
    (out / "run.json").write_text(json.dumps({"corpus": "handbook", "budget_minutes": 20, "done": {}, "state": {}}))
    with pytest.raises(DecideError, match="holds a Decide run for corpus 'handbook'"):
        run_decide(workbench, facts_corpus, out)


@pytest.mark.ui
def test_decide_tab_runs_reopens_and_refuses_a_corpus_it_may_not_see(facts_corpus, vague_corpus, client, tmp_path):
    from gradio_client.exceptions import AppError

    status, verdict, needs, table, chart, files, past = client.predict(facts_corpus, 30, 250, api_name="/decide")
    assert "finished" in status and ("Use " in verdict or "Best measured" in verdict)
    table, files = table.get("value", table), files.get("value", files)  # shown (visible) with their values
    assert table["headers"] == ["figure", "base", "rag", "lora", "raft"]
    needs = needs.get("value", needs)
    assert needs["headers"] == ["need", "best arm", "figure (95 % CI)", "lead"]
    rows = {row[0]: row for row in needs["data"]}
    assert {"accuracy on facts", "admits when the documents do not say", "short exact answers",
            "follows document updates without retraining", "lowest cost at 250 queries a day"} == set(rows)
    assert all(row[1].split()[0] in ("base", "rag", "lora", "raft") and "(" in row[2] for row in rows.values())
    assert {"report.md", "report.json"} <= {f.rsplit("/", 1)[-1] for f in files}
    run_name = past["value"] if isinstance(past, dict) else past
    again = client.predict(run_name, 250, api_name="/decide_open")
    assert again[1] == verdict  # a finished run is shown again, not recomputed
    cheaper = client.predict(run_name, 2, api_name="/decide_open")  # a new query rate: only the report again
    assert "lowest cost at 2 queries a day" in {row[0] for row in cheaper[2].get("value", cheaper[2])["data"]}
    line, _ = client.predict(run_name, api_name="/decide_recheck")  # the documents did not change since
    assert "is unchanged since run" in line
    with pytest.raises(AppError, match="not in the list of choices"):  # only the listed runs; a path is not
        client.predict("../../etc", api_name="/decide_open")
    with pytest.raises(AppError, match="not in the list of choices"):  # another session's corpus is not offered
        client.predict("session--someone-else--secret", 20, api_name="/decide")
    refused = client.predict("vague", 20, api_name="/decide")  # a refusal is the status line, not an error
    assert refused[0].startswith("**Decide stopped:** no questions could be made")
    assert "add such documents" in refused[0]
    assert "Open / resume" not in refused[0] and ".." not in refused[0]
    assert len(list((tmp_path / "data" / "decide").iterdir())) == 1  # the refused run left no folder to resume


def test_a_failed_run_says_why_in_the_corpus_name_the_person_chose(tmp_path):
    from workbench.ui.decide import failure_line

    corpus = "session--0a1b2c--harbor-lantern"
    line = failure_line(DecideError(f"only 3 answerable facts found in corpus {corpus!r}: add documents."),
                        tmp_path, corpus)
    assert line == "**Decide stopped:** only 3 answerable facts found in corpus 'harbor-lantern': add documents."
    (tmp_path / "run.json").write_text(json.dumps({"done": {"qa": 1.0, "plan": 2.0}}))
    line = failure_line(RuntimeError("CUDA out of memory"), tmp_path, corpus)
    assert "RuntimeError: CUDA out of memory." in line and "(qa, plan) are kept" in line and "Open / resume" in line


def test_three_small_documents_get_a_report_that_says_its_intervals_are_wide(workbench, store, settings, tmp_path):
    folder = tmp_path / "few"
    folder.mkdir()
    for i in range(0, 9, 3):
        (folder / f"policy{i // 3}.txt").write_text("\n\n".join(FACTS[i:i + 3]) + "\n")
    ingest(store, "few", [folder], settings.chunk_size, settings.chunk_overlap)
    result = run_decide(workbench, "few", tmp_path / "run", budget_minutes=30)
    assert result["verdict"] and 3 <= result["qa"]["test"] < 12
    report = (tmp_path / "run" / "report.md").read_text()
    assert f"On {result['qa']['test']} questions, differences under ~" in report
    if result["qa"]["test"] < 6:  # fewer than 6 questions cannot make any lead clear (exact sign test)
        assert result["verdict"].startswith("Best measured") and "not clear" in result["verdict"]


def test_too_few_facts_are_refused_with_the_count_the_minimum_and_what_to_add(workbench, store, settings, tmp_path):
    folder = tmp_path / "two"
    folder.mkdir()
    (folder / "note.txt").write_text("\n\n".join(FACTS[:2]) + "\n")
    ingest(store, "session--0a1b2c--two-notes", [folder], settings.chunk_size, settings.chunk_overlap)
    with pytest.raises(DecideError, match=r"only \d answerable facts found in corpus 'two-notes' \(Decide needs at "
                                          r"least 6\): add documents"):
        run_decide(workbench, "session--0a1b2c--two-notes", tmp_path / "run", budget_minutes=20)


def test_the_report_on_the_tab_reads_at_a_glance():
    from workbench.ui.decide import chart_caption, curve_frame, memory_line, summary_frame

    arm = {"contains": 0.5, "f1": 0.43219, "ci95": [0.3, 0.7], "total_p50_ms": 2345.6, "prompt_tokens": 38.2,
           "peak_memory_mib": 10907.4, "training_minutes": 0.0}
    report = {"summary": {"base": dict(arm), "rag": dict(arm), "lora": {**arm, "total_p50_ms": 1345.6,
                                                                          "training_minutes": 5.0},
                          "raft": {**arm, "total_p50_ms": 2600.0, "training_minutes": 6.0}},
              "break_even_queries": {"lora": 300, "raft": None}, "memory_kind": "cpu_peak_rss"}
    table = summary_frame(report).set_index("figure")
    assert list(table.columns) == ["base", "rag", "lora", "raft"]  # five narrow columns: fits a phone
    assert "peak memory" not in table.index  # the same process figure for every arm is said once
    assert "10,907 MiB" in memory_line(report) and "shared by the four arms" in memory_line(report)
    lora = table["lora"]
    assert (lora["prompt tokens"], lora["F1"], lora["median time per answer"], lora["training"]) == (
        "38", "0.43", "1.3 s", "5.0 min")
    chart = curve_frame(report)
    assert chart["queries"].max() == 500 and 300 in set(chart["queries"])  # the crossing, not 100,000 queries
    assert "lora pays back its 5.0 min of training after ~300 queries" in chart_caption(report)
    report["summary"]["raft"]["peak_memory_mib"] = 900.0
    assert "peak memory" in set(summary_frame(report)["figure"]) and memory_line(report) == ""


def test_the_plan_before_a_run_shows_each_stage_its_questions_minutes_and_the_minimum(workbench, facts_corpus,
                                                                                       vague_corpus, tmp_path):
    from workbench.decide.examples import plan_inputs
    from workbench.decide.preview import describe, make_preview
    from workbench.decide.stages import _recall_facts, _train_facts, stage_qa
    from workbench.ui.decide import DecideTab, runs_root, show_plan

    tab = DecideTab(workbench)
    line, _ = show_plan(tab, facts_corpus, 20)  # no run on this machine yet: the counts, no minutes
    assert "no Decide run on this machine yet" in line
    for stage in ("qa", "plan", "lora", "raft", "eval", "unanswerable", "updates", "refit", "report"):
        assert f"| {stage} |" in line
    # the same facts, split and examples the run's stages make
    figures = tab.figures.get(workbench, facts_corpus)
    run = DecideRun.open(tmp_path / "run", facts_corpus)
    qa = stage_qa(run, workbench)["qa"]
    assert (figures.facts, figures.train_facts, figures.test_questions) == (qa["facts"], qa["train"], qa["test"])
    inputs = plan_inputs(workbench, facts_corpus, _train_facts(run), qa["test"], run.seed, _recall_facts(run))
    assert (figures.qa_tokens, figures.doc_tokens, figures.raft_tokens, figures.recall_tokens) == (
        inputs.qa_tokens, inputs.doc_tokens, inputs.raft_tokens, inputs.recall_tokens)
    assert inputs.recall_tokens > 0
    assert f"{qa['facts']} facts from" in line and f"{qa['test']} held out" in line

    # once a run measured this machine (here: as a slow one), minutes and the minimum budget
    measured_run = runs_root(workbench.settings) / "measured"
    measured_run.mkdir(parents=True)
    (measured_run / "run.json").write_text(json.dumps({
        "corpus": "other", "budget_minutes": 20, "done": {"qa": 2.0, "plan": 10.0},
        "state": {"qa": {"words": 500}, "plan": {"speed": {"train_tokens_per_s": 20, "eval_s_per_question": 10}}}}))
    line, slider = show_plan(tab, facts_corpus, 60)
    assert "Plan for `company` in 60 min" in line and "measured" in line and "| eval | 8 of the" in line
    minimum = int(line.split("the minimum budget for this corpus is **")[1].split(" min")[0])
    assert minimum > 5 and slider["minimum"] == minimum and slider["value"] == 60
    line, slider = show_plan(tab, facts_corpus, 5)  # below the minimum: the slider and the plan move up to it
    assert slider["value"] == minimum and f"in {minimum} min" in line
    too_small = describe(make_preview(figures, 2, tab_measured(tab)), facts_corpus)
    assert too_small.startswith("**Not enough time for `company`**") and f"is **{minimum} min**" in too_small

    line, _ = show_plan(tab, vague_corpus, 20)  # why it cannot run, and what to do
    assert line.startswith("**Decide cannot run on `vague`:** no questions could be made") and "add such" in line
    line, _ = show_plan(tab, "session--someone-else--secret", 20)
    assert line.startswith("**Decide cannot run:** no corpus") and "choose one from the corpus list" in line


def tab_measured(tab):
    from workbench.decide.estimate import latest_measurement
    from workbench.ui.decide import runs_root

    return latest_measurement(runs_root(tab.wb.settings))


def test_a_run_folder_is_named_as_the_person_calls_the_corpus(tmp_path, monkeypatch):
    """The status line says "Run <folder> finished": a session corpus's collection name (with the session id) never
    shows there; two runs in one second get two folders."""
    import time

    from workbench.ui.decide import new_run_folder

    monkeypatch.setattr(time, "strftime", lambda fmt: "20261204-092841")
    first = new_run_folder(tmp_path, f"session--{'a' * 24}--my notes")
    assert first.name == "20261204-092841-my-notes"
    first.mkdir()
    assert new_run_folder(tmp_path, f"session--{'b' * 24}--my notes").name == "20261204-092841-my-notes-2"


def test_the_refit_trains_in_what_the_run_has_left_down_to_half_its_time(tmp_path):
    from workbench.decide.stages import REFIT_MARGIN_S, refit_limit

    def limit(spent_s: float) -> float:
        return refit_limit(DecideRun(tmp_path, "c", 20, state={"plan": {"refit_seconds": 200}}, done={"eval": spent_s}))

    assert limit(900) == 300 - REFIT_MARGIN_S  # the stages before it took less than planned: the refit gets the rest
    assert limit(1000) == 200 - REFIT_MARGIN_S  # on time: about the plan's limit
    assert limit(1190) == 100  # far over: half the plan's time, so the held-out facts are still taught
    # loading and saving the adapter (the lora stage's 310 s held 300 s of training) come on top of the limit
    late = DecideRun(tmp_path, "c", 20, state={"plan": {"refit_seconds": 200}, "training_minutes": {"lora": 5.0}},
                     done={"lora": 310, "eval": 690})
    assert refit_limit(late) == 200 - 10 - REFIT_MARGIN_S


def test_the_lora_learns_each_question_whole_once_then_with_words_left_out(workbench, facts_corpus):
    """A person asks about a fact in fewer and other words than the generator: Decide's lora sees each training
    question whole in its first pass and with some of its words left out in the passes after it."""
    from workbench.decide.examples import lora_examples
    from workbench.training.knowledge import KnowledgeItem

    question = "Within how many working days must the line manager approve a submitted expense claim?"
    fact = KnowledgeItem("within 10 working days", [question])
    examples = lora_examples(workbench, facts_corpus, [fact], seed=0, qa_repeats=8, documents=False)
    asked = [" ".join(text for text, trained in e.segments if not trained) for e in examples]
    assert len(asked) == 8 and all("expense claim?" in text for text in asked)
    assert sum(question in text for text in asked) >= 1  # the first pass, whole
    assert sum(question not in text for text in asked) >= 3  # later passes leave words out


def test_a_facts_other_names_reach_the_lora_of_its_side_of_the_split():
    """A fact's aliased questions ("the flagship" for "MV Marram Queen") travel with its training row, or its
    recall row for the refit, into the lora's items; the test asks the fact as generated."""
    from workbench.decide.examples import knowledge_items, split_rows
    from workbench.qa import Fact

    facts = [Fact(f"f{i}", f"{i + 10} cars", "fleet.md", "c1", f"Ship {i} carries {i + 10} cars.",
                  [f"How many cars does MV Tern {i} carry?"], "count",
                  aliased=[f"How many cars does the ferry number {i} carry?"]) for i in range(12)]
    rows = split_rows(facts, seed=0)
    for side in (rows.train, rows.recall):
        items = knowledge_items(side)
        assert items and all(item.aliased == [item.questions[0].replace("MV Tern", "the ferry number")]
                             for item in items)
    assert rows.test and not any("aliased" in row for row in rows.test)
