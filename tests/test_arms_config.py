"""Arms as data, the prompt builder, and settings with environment overrides."""

import pytest

from workbench.arms import ARMS, build_prompt, parse_arms
from workbench.config import Settings
from workbench.results import Passage


def test_parse_arms():
    assert [a.name for a in parse_arms("rag, base")] == ["rag", "base"]
    assert [a.name for a in parse_arms(None)] == ["base", "rag", "lora", "raft"]
    with pytest.raises(ValueError, match="unknown arm bogus; choose from base, rag, lora, raft"):
        parse_arms("base,bogus")


def test_arm_table():
    assert [(a.name, a.retrieval, a.adapter_setting) for a in ARMS.values()] == [
        ("base", False, None), ("rag", True, None), ("lora", False, "lora_adapter"), ("raft", True, "raft_adapter")]


def test_prompt_with_chat_template_and_passages(tiny_tokenizer):
    passages = [Passage("Hotels are capped at 140 euro.", "travel.md", 0.9, "c1")]
    prompt = build_prompt(tiny_tokenizer, "Hotel cap?", passages, "Be brief.")
    assert prompt.startswith("<|im_start|>system\nBe brief.<|im_end|>")
    assert "[1] (source: travel.md)\nHotels are capped at 140 euro." in prompt
    assert prompt.endswith("Question: Hotel cap?<|im_end|>\n<|im_start|>assistant\n")
    closed = build_prompt(tiny_tokenizer, "Hotel cap?", None, "Be brief.")
    assert "Context" not in closed and "<|im_start|>user\nHotel cap?<|im_end|>" in closed


def test_prompt_without_chat_template_is_plain_text(tiny_tokenizer):
    import copy

    plain = copy.deepcopy(tiny_tokenizer)
    plain.chat_template = None
    assert build_prompt(plain, "Hotel cap?", None, "Be brief.") == "Be brief.\n\nQuestion: Hotel cap?\nAnswer:"


def test_settings_env_overrides():
    s = Settings.from_env({"WORKBENCH_MODEL": "/models/x", "WORKBENCH_TOP_K": "5", "WORKBENCH_DATA_DIR": "/tmp/d"})
    assert (s.model, s.top_k, s.data_dir) == ("/models/x", 5, "/tmp/d")
    assert Settings.from_env({}, top_k=7).top_k == 7
    with pytest.raises(ValueError, match="WORKBENCH_TOP_K='many' is not a valid int"):
        Settings.from_env({"WORKBENCH_TOP_K": "many"})


def test_plain_prompt_gets_bos_when_the_tokenizer_adds_one(tiny_tokenizer):
    import copy

    from workbench.arms import cut_at_stop

    plain = copy.deepcopy(tiny_tokenizer)
    plain.chat_template = None
    plain.add_bos_token = True
    assert build_prompt(plain, "q?", None, "") == "<|im_start|>Question: q?\nAnswer:"
    assert cut_at_stop(plain, " 62 euro\n\nQuestion: and then?") == " 62 euro\n"
    assert cut_at_stop(tiny_tokenizer, "a\nQuestion: b") == "a\nQuestion: b"  # chat models are not cut


def test_base_model_without_chat_template_runs_all_arms(workbench, monkeypatch):
    monkeypatch.setattr(workbench.tokenizer, "chat_template", None)
    result = workbench.compare("What is the per diem for Lisbon?", "base,rag", max_new_tokens=6)
    assert all(a.answer is not None and a.error is None and a.metrics.output_tokens > 0 for a in result.arms)
    assert result.arms[1].prompt.endswith("Question: What is the per diem for Lisbon?\nAnswer:")


def test_every_arm_list_is_derived_from_arms():
    """Adding an arm is adding a row to ARMS: the CLI's default arm list follows it."""
    from workbench.arms import ALL_ARMS
    from workbench.cli import build_parser

    assert ALL_ARMS.split(",") == list(ARMS)
    for command in (["ask", "q?"], ["eval", "--data", "x.jsonl", "--out", "o"]):
        assert build_parser().parse_args(command).arms == ALL_ARMS


def test_one_corpus_name_check_with_the_limit_that_applies():
    from workbench.retrieval.sessions import MAX_NAME, check_shared_name
    from workbench.retrieval.store import StoreError, check_corpus_name

    name = "a" * (MAX_NAME + 1)
    assert check_corpus_name(name) == name  # the store's own limit is Chroma's
    with pytest.raises(StoreError, match=f"longer than {MAX_NAME} characters"):
        check_shared_name(name)
    with pytest.raises(StoreError, match=f"invalid corpus name 'ab': use 3-{MAX_NAME} letters"):
        check_shared_name("ab")
