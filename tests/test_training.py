"""Training data, the RAFT builder and LoRA training, on the tiny model and a small corpus."""

import json
import math
import shlex

import pytest

from workbench.adapters import validate
from workbench.training.data import DataError, chat_example, load_chat, load_qa, tokenize
from workbench.training.jobs import train_adapter
from workbench.training.raft import QAPair, build_raft, evidence_quote, find_oracle
from workbench.training.trainer import TrainConfig

FACTS = [
    ("What is the per diem for Lisbon?", "62 euro", "travel.md"),
    ("How much may a hotel cost per night?", "140 euro", "travel.md"),
    ("What is the helpdesk extension?", "4455", "it.txt"),
    ("How many characters must a password have?", "14 characters", "it.txt"),
]


@pytest.fixture()
def qa_file(tmp_path):
    path = tmp_path / "qa.jsonl"
    path.write_text("".join(json.dumps({"question": q, "answer": a, "source": s}) + "\n" for q, a, s in FACTS))
    return path


def test_lora_training_lowers_the_loss_and_saves_a_valid_adapter(workbench, qa_file, tmp_path):
    config = TrainConfig(method="lora", epochs=8, batch_size=2, learning_rate=3e-2, r=4, alpha=8)
    out = tmp_path / "adapters" / "qa-lora"
    result = train_adapter(workbench, qa_file, config, out)
    assert result.steps == 16 and len(result.losses) == 16
    assert result.train_loss < 0.7 * result.first_loss
    assert sorted(p.name for p in out.iterdir()) == ["README.md", "adapter_config.json", "adapter_model.safetensors",
                                                    "training.json"]
    card = (out / "README.md").read_text()
    assert "base_model: tiny-llama" in card and "Method: **lora**" in card and "python -m workbench train" in card
    assert validate(out, "tiny-llama", workbench.module_shapes).rank == 4
    # the app's own model was not touched: no adapter is attached until asked for
    assert not hasattr(workbench.model, "peft_config")


def test_a_run_its_time_limit_stops_ends_at_a_low_rate(workbench, qa_file, tmp_path, monkeypatch):
    """A speed estimate that read high: the time limit stops the run long before its last step, and the rate has
    decayed over the time left, not only over the steps left (a fake clock: each reading is half a second on)."""
    from types import SimpleNamespace

    from workbench.training import trainer

    ticks = iter(range(10**6))
    monkeypatch.setattr(workbench.settings, "train_in_worker", False)  # the clock is this process's
    monkeypatch.setattr(trainer, "time", SimpleNamespace(perf_counter=lambda: next(ticks) * 0.5))
    seen = []
    config = TrainConfig(method="lora", epochs=50, batch_size=2, learning_rate=1e-2, r=4, alpha=8, max_seconds=20)
    result = train_adapter(workbench, qa_file, config, tmp_path / "cut", progress=seen.append)
    rates = [p["lr"] for p in seen]
    assert 5 < result.steps < 50 and len(rates) == result.steps
    assert rates[-1] < 0.2 * config.learning_rate < rates[len(rates) // 3]
    # the progress counts the steps the limit leaves, not 50 epochs' worth
    assert abs(seen[-1]["total"] - result.steps) <= 1 and seen[-1]["eta_s"] <= 1.0
    assert all(p["total"] <= seen[0]["total"] for p in seen) and seen[0]["total"] < 100  # 50 epochs of 2 steps


def test_lora_in_the_top_layers_only_trains_those_layers_and_serves_the_lora_arm(workbench, qa_file, tmp_path):
    """top_layers=0.5: LoRA matrices only in the last half of the layers; the adapter loads and answers, and its
    card's command re-creates the setting. A share outside (0, 1] is refused before any training."""
    from safetensors import safe_open

    from workbench.cli import build_parser

    layers = workbench.model.config.num_hidden_layers
    out = tmp_path / "top-lora"
    train_adapter(workbench, qa_file, TrainConfig(method="lora", epochs=1, batch_size=2, r=4, alpha=8,
                                                  top_layers=0.5), out)
    with safe_open(str(out / "adapter_model.safetensors"), framework="pt") as f:
        trained = {int(key.split(".layers.")[1].split(".")[0]) for key in f.keys()}
    assert trained == set(range(layers - max(1, round(layers * 0.5)), layers)) and len(trained) < layers
    validate(out, "tiny-llama", workbench.module_shapes)
    answer = workbench.compare("What is the per diem for Lisbon?", "lora", lora_adapter=str(out)).arms[0]
    assert answer.error is None and answer.answer
    command = shlex.split((out / "README.md").read_text().split("python -m workbench ")[1].split("```")[0])
    assert build_parser().parse_args(command).top_layers == 0.5
    with pytest.raises(ValueError, match="top_layers must be a share"):
        train_adapter(workbench, qa_file, TrainConfig(method="lora", epochs=1, top_layers=0.0), tmp_path / "none")
    assert not (tmp_path / "none").exists()


def test_raft_training_runs_and_the_adapter_serves_the_raft_arm(workbench, qa_file, tmp_path):
    out = tmp_path / "raft-adapter"
    result = train_adapter(workbench, qa_file, TrainConfig(method="raft", epochs=1, batch_size=2, raft_k=2), out,
                           corpus="handbook")
    assert result.steps == 2 and math.isfinite(result.train_loss) and result.tokens_per_s > 0
    assert "--corpus handbook" in (out / "README.md").read_text()
    answer = workbench.compare("What is the per diem for Lisbon?", "raft", raft_adapter=str(out)).arms[0]
    assert answer.error is None and answer.answer


def test_the_model_cards_command_names_every_setting_off_its_default(tmp_path):
    """An adapter trained with the earlier recipe's dropout (the shipped ones) is re-created only if its card says so."""
    from workbench.training.jobs import command_line

    plain = command_line(tmp_path / "qa.jsonl", TrainConfig(method="raft"), "handbook", tmp_path / "out")
    assert "--dropout" not in plain and "--corpus handbook" in plain
    earlier = command_line(tmp_path / "qa.jsonl", TrainConfig(method="raft", dropout=0.05, epochs=2), "handbook",
                           tmp_path / "out")
    assert "--dropout 0.05" in earlier and "--epochs 2" in earlier


def test_raft_oracle_rate_distractors_and_prompt_match_inference(workbench, monkeypatch):
    pairs = [QAPair(q, a, s) for q, a, s in FACTS] * 50
    examples = build_raft(pairs, workbench.store, "handbook", workbench.tokenizer, "Be brief.", k=2, p_oracle=0.8)
    with_oracle = [e for e in examples if e.oracle is not None]
    assert 0.7 <= len(with_oracle) / len(examples) <= 0.9
    for e in with_oracle:
        assert e.pair.answer.lower() in e.oracle.text.lower() and e.oracle.source == e.pair.source
        others = [p for p in e.passages if p is not e.oracle]
        assert len(e.passages) == 2 and all(p.chunk_id != e.oracle.chunk_id for p in others)
        assert e.target.endswith(f"Answer: {e.pair.answer}") and "The context says:" in e.target
    for e in examples:
        if e.oracle is None:
            assert e.target == f"Answer: {e.pair.answer}"
            assert all(e.pair.answer.lower() not in p.text.lower() or p.source != e.pair.source for p in e.passages)

    # the training prompt is byte for byte what a retrieval arm reading all the passages sends (raft; rag when
    # rag_passages is 0) for the same passages
    e = with_oracle[0]
    monkeypatch.setattr(workbench, "retrieve", lambda q, corpus, k: (e.passages, 1.0))
    rag = workbench.compare(e.pair.question, "rag", system_prompt="Be brief.", max_new_tokens=1, rag_passages=0,
                            top_k=len(e.passages)).arms[0]
    assert rag.prompt == e.prompt


def test_find_oracle_prefers_source_chunk_containing_answer(workbench):
    chunks = workbench.store.chunks("handbook")
    ranked = workbench.store.query("handbook", "hotel per night", 5)
    oracle = find_oracle(QAPair("q", "140 euro", "travel.md"), ranked, chunks)
    assert oracle.source == "travel.md" and "140 euro" in oracle.text
    assert find_oracle(QAPair("q", "not there", "nowhere.md"), ranked, chunks) is None


def test_evidence_quote_is_the_sentence_with_the_answer():
    text = "# Hotels\nFirst sentence. Hotels are capped at **140 euro** per night. Last one."
    assert evidence_quote(text, "140 euro") == "Hotels are capped at 140 euro per night."


def test_chat_loss_only_on_assistant_turns(tiny_tokenizer, tmp_path):
    path = tmp_path / "chat.jsonl"
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "hotel cap?"},
                {"role": "assistant", "content": "140 euro"}, {"role": "user", "content": "lisbon?"},
                {"role": "assistant", "content": "62 euro"}]
    path.write_text(json.dumps({"messages": messages}) + "\n")
    example = chat_example(tiny_tokenizer, load_chat(path)[0])
    assert [t for t, trained in example.segments if trained] == ["140 euro<|im_end|>\n", "62 euro<|im_end|>\n"]
    assert "".join(t for t, _ in example.segments) == tiny_tokenizer.apply_chat_template(messages, tokenize=False)
    tokens = tokenize(tiny_tokenizer, example, 512)
    trained = [i for i, label in zip(tokens["input_ids"], tokens["labels"]) if label != -100]
    assert tiny_tokenizer.decode(trained) == "140 euro<|im_end|>\n62 euro<|im_end|>\n"


@pytest.mark.parametrize("content, message", [
    ("", "the file is empty"),
    ('{"question": "q", "answer": "a"}\n{bad json\n', "line 2: not valid JSON"),
    ('{"question": "q"}\n', "line 1: missing 'answer'"),
])
def test_bad_qa_files_name_the_line(tmp_path, content, message):
    path = tmp_path / "bad.jsonl"
    path.write_text(content)
    with pytest.raises(DataError, match=message):
        load_qa(path)


def test_bad_chat_file(tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "hi"}]}) + "\n")
    with pytest.raises(DataError, match="line 1: no assistant message"):
        load_chat(path)


def test_qa_csv(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text("question,answer,source\nWhat is the cap?,140 euro,travel.md\n,x,y\n")
    with pytest.raises(DataError, match="qa.csv line 3: missing 'question'"):
        load_qa(path)


def test_raft_refuses_chat_data(workbench, tmp_path):
    path = tmp_path / "chat.jsonl"
    path.write_text(json.dumps({"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"}]}))
    with pytest.raises(DataError, match="raft needs Q/A data"):
        train_adapter(workbench, path, TrainConfig(method="raft"), tmp_path / "x")
    assert not (tmp_path / "x").exists()


def test_target_only_loss_equals_the_full_causal_lm_loss(tiny_model, tiny_tokenizer):
    from workbench.training.data import Example
    from workbench.training.trainer import _collate, _target_loss_trainer

    examples = [Example([("a long prompt about hotels in lisbon and the per diem", False), ("62 euro", True)]),
                Example([("short", False), ("140 euro per night", True)])]
    batch = _collate(tiny_tokenizer.pad_token_id)([tokenize(tiny_tokenizer, e, 128) for e in examples])
    full = tiny_model(**batch).loss  # transformers' own shifted loss over every position
    trainer = _target_loss_trainer().__new__(_target_loss_trainer())  # compute_loss needs no trainer state
    assert abs(float(trainer.compute_loss(tiny_model, batch)) - float(full)) < 1e-5


def test_batches_of_similar_length_pad_less_than_random_ones(workbench, monkeypatch, tmp_path):
    """group_by_length (the default) against random batches (the benchmark's 'before'): same examples, less padding."""
    from workbench.training import trainer

    examples = [chat_example(workbench.tokenizer, [{"role": "user", "content": "word " * n},
                                                   {"role": "assistant", "content": "ok"}])
                for n in [2, 60, 3, 62, 4, 64, 5, 66] * 4]  # transformers groups within 4+ megabatches: 32 rows
    padded = []
    collate = trainer._collate

    def counting(pad_id):
        inner = collate(pad_id)

        def run(batch):
            out = inner(batch)
            padded.append(int((out["attention_mask"] == 0).sum()))
            return out
        return run

    monkeypatch.setattr(trainer, "_collate", counting)
    pads = {}
    for grouped in (True, False):
        padded.clear()
        config = TrainConfig(epochs=1, batch_size=2, r=4, alpha=8, group_by_length=grouped, seed=1)
        trainer.train(workbench.model, workbench.tokenizer, examples, config, tmp_path / str(grouped), "tiny-llama")
        pads[grouped] = sum(padded)
    assert pads[True] < pads[False]
