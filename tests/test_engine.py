"""The four-arm comparison on the tiny model: adapters by name, shared retrieval, metrics, missing adapters."""

import pytest
from conftest import save_decide_run, save_random_adapter

from workbench.adapters import AdapterError


def test_four_arms_with_adapters(workbench, tmp_path):
    lora = save_random_adapter(workbench.model, tmp_path / "my-lora", seed=1)
    raft = save_random_adapter(workbench.model, tmp_path / "my-raft", seed=2)
    result = workbench.compare("What is the per diem for Lisbon?", lora_adapter=str(lora), raft_adapter=str(raft))

    by_arm = {a.arm: a for a in result.arms}
    assert list(by_arm) == ["base", "rag", "lora", "raft"]
    assert by_arm["base"].passages == [] and by_arm["lora"].passages == []
    assert len(by_arm["raft"].passages) == 3  # top_k; rag reads the best of them (Settings.rag_passages)
    assert by_arm["rag"].passages == by_arm["raft"].passages[:1]
    assert by_arm["rag"].passages[0].source == "travel.md"
    assert "per diem for Lisbon is 62" in by_arm["rag"].prompt and "Context" not in by_arm["base"].prompt
    assert by_arm["lora"].prompt == by_arm["base"].prompt and "[3]" in by_arm["raft"].prompt
    assert "[2]" not in by_arm["rag"].prompt
    every = workbench.compare("What is the per diem for Lisbon?", "rag,raft", rag_passages=0, raft_adapter=str(raft))
    assert every.arms[0].prompt == every.arms[1].prompt  # 0: rag reads all top_k, as raft does
    for arm in result.arms:
        m = arm.metrics
        assert arm.error is None and arm.done and arm.answer
        assert m.output_tokens > 0 and m.prompt_tokens > 0 and m.tokens_per_s > 0
        assert 0 < m.ttft_ms <= m.total_ms and m.memory_kind == "cpu_peak_rss" and m.peak_memory_bytes > 0
        assert (m.retrieval_ms > 0) == (arm.arm in ("rag", "raft"))
    # one base model serves all arms: both adapters hang off the same PeftModel
    assert sorted(workbench.model.peft_config) == sorted(workbench.attached_adapters.values())
    # the same adapter is attached once
    workbench.compare("again?", "lora", lora_adapter=str(lora))
    assert len(workbench.attached_adapters) == 2


def test_missing_adapter_is_said_plainly_and_other_arms_run(workbench):
    result = workbench.compare("Hotel cap?", lora_adapter="no-such-adapter", raft_adapter="")
    by_arm = {a.arm: a for a in result.arms}
    assert "no adapter 'no-such-adapter'" in by_arm["lora"].error
    assert "no adapter selected" in by_arm["raft"].error
    assert by_arm["base"].answer and by_arm["rag"].answer and by_arm["rag"].error is None


def test_stream_grows_then_completes(workbench):
    snapshots = [[a.answer for a in c.arms] for c in workbench.compare_stream("Hotel cap?", "base,rag", max_new_tokens=6)]
    assert snapshots[0] == ["", ""]  # prompts and passages come first, before any token
    assert len(snapshots) > 3 and all(snapshots[-1])


def test_empty_question_and_unknown_corpus(workbench):
    with pytest.raises(ValueError, match="the question is empty"):
        workbench.compare("  ")
    with pytest.raises(ValueError, match="unknown corpus 'other'"):
        workbench.compare("x?", "rag", corpus="other")


def test_adapter_loaded_by_name_from_adapter_dirs(workbench):
    save_random_adapter(workbench.model, workbench.settings.data_path / "adapters" / "team-lora")
    assert "team-lora" in workbench.adapter_names()
    assert workbench.compare("x?", "lora", lora_adapter="team-lora").arms[0].error is None


def test_foreign_adapter_refused_unless_allowed(workbench, tmp_path):
    folder = save_random_adapter(workbench.model, tmp_path / "foreign", base_model_id="HuggingFaceTB/SmolLM2-360M")
    with pytest.raises(AdapterError, match="trained for HuggingFaceTB/SmolLM2-360M, the loaded base is tiny-llama"):
        workbench.attach_adapter(str(folder))
    assert workbench.attach_adapter(str(folder), allow_foreign=True)


def test_adapter_retrained_in_place_is_reloaded(workbench, tmp_path):
    import os

    folder = save_random_adapter(workbench.model, tmp_path / "again", seed=1)
    first = workbench.compare("What is the per diem?", "lora", lora_adapter=str(folder), max_new_tokens=6).arms[0]
    save_random_adapter(workbench.model, folder, seed=7)  # retrained under the same folder
    weights = folder / "adapter_model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))
    second = workbench.compare("What is the per diem?", "lora", lora_adapter=str(folder), max_new_tokens=6).arms[0]
    assert len(workbench.attached_adapters) == 1 and list(workbench.model.peft_config) == list(workbench.attached_adapters.values())
    assert second.answer != first.answer


def test_stopping_a_comparison_frees_the_model(workbench):
    """A UI that stops reading (Stop button, client gone) ends the generation: no forward pass after close()."""
    calls = []
    handle = workbench.model.register_forward_hook(lambda *_: calls.append(1))
    stream = workbench.compare_stream("What is the per diem for Lisbon?", "base,rag", max_new_tokens=40)
    for step, _ in enumerate(stream):
        if step == 3:  # the prompts, two prefills, one decode step
            break
    stream.close()
    seen = len(calls)
    result = workbench.compare("Hotel cap?", "base", max_new_tokens=2)
    handle.remove()
    assert seen == 3 and result.arms[0].done and len(calls) > seen


def test_auto_adapter_is_the_corpus_own_else_the_reader(workbench):
    adapters = workbench.settings.data_path / "adapters"
    auto = dict(lora_adapter="auto", raft_adapter="auto")
    if "reader" not in workbench.adapter_names():  # the shipped reader, or one saved here
        save_random_adapter(workbench.model, adapters / "reader")
    opts = workbench.options(corpus="notes", **auto)
    assert (opts.lora_adapter, opts.raft_adapter) == ("auto", "reader")  # no lora fits another corpus's notes
    lora = workbench.compare("x?", "lora", corpus="notes", max_new_tokens=2, **auto).arms[0]
    assert lora.error == "lora arm unavailable: no lora adapter trained on 'notes' yet. Train or upload an adapter."

    save_random_adapter(workbench.model, adapters / "notes-raft", seed=3)
    save_random_adapter(workbench.model, adapters / "notes-lora", seed=4)
    opts = workbench.options(corpus="notes", **auto)
    assert (opts.lora_adapter, opts.raft_adapter) == ("notes-lora", "notes-raft")
    raft = workbench.compare("x?", "raft", raft_adapter="auto", max_new_tokens=2).arms[0]
    assert raft.adapter == "handbook-raft"  # the fixture's corpus is the handbook: the shipped adapter is its own


def test_auto_uses_the_adapters_a_decide_run_trained_on_the_corpus(workbench, docs):
    from workbench.retrieval.ingest import ingest

    ingest(workbench.store, "harbor", [docs], 40, 5)
    save_decide_run(workbench.model, workbench.settings.data_path / "decide", "20260101-090000-harbor", "harbor")
    result = workbench.compare("x?", "lora,raft", corpus="harbor", lora_adapter="auto", raft_adapter="auto",
                               max_new_tokens=2)
    assert [(arm.adapter, arm.error) for arm in result.arms] == [
        ("harbor-lora@20260101-090000", None), ("harbor-raft@20260101-090000", None)]
    assert all(arm.answer for arm in result.arms)
