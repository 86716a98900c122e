"""Batched generation over base and adapter rows: streaming, per-row metrics, batch == one by one."""

from conftest import save_random_adapter
from peft import PeftModel

from workbench.generation import Request, generate_stream


def run(model, tokenizer, requests, max_new_tokens=6):
    snapshots = [[row.text for row in rows] for rows, _ in generate_stream(model, tokenizer, requests, max_new_tokens)]
    rows, stats = None, None
    for rows, stats in generate_stream(model, tokenizer, requests, max_new_tokens):
        pass
    return snapshots, rows, stats


def test_batch_of_base_and_adapter_rows_matches_one_by_one(tiny_model, tiny_tokenizer, tmp_path):
    save_random_adapter(tiny_model, tmp_path / "a1", seed=1)
    save_random_adapter(tiny_model, tmp_path / "a2", seed=2)
    model = PeftModel.from_pretrained(tiny_model, str(tmp_path / "a1"), adapter_name="a1")
    model.load_adapter(str(tmp_path / "a2"), adapter_name="a2")
    model.eval()
    prompts = ["the per diem for lisbon", "hotels are capped at 140 euro per night in lisbon", "what is", "the quick"]
    requests = [Request(prompts[0]), Request(prompts[1]), Request(prompts[2], "a1"), Request(prompts[3], "a2")]

    _, batched, stats = run(model, tiny_tokenizer, requests)
    alone = [run(model, tiny_tokenizer, [r])[1][0] for r in requests]

    assert [row.tokens for row in batched] == [row.tokens for row in alone]
    # the adapter changes what the model says for the same prompt
    with_adapter = run(model, tiny_tokenizer, [Request(prompts[0], "a1")])[1][0]
    assert with_adapter.tokens != alone[0].tokens
    assert stats.memory_kind == "cpu_peak_rss" and stats.peak_memory_bytes > 10 * 2**20


def test_streams_tokens_and_times_each_row(tiny_model, tiny_tokenizer):
    requests = [Request("the quick brown fox"), Request("lisbon hotels")]
    snapshots, rows, _ = run(tiny_model, tiny_tokenizer, requests, max_new_tokens=5)
    assert len(snapshots) >= 3  # one snapshot per decoding step, plus the final one
    assert all(row.done for row in rows)
    for row in rows:
        assert 0 < len(row.tokens) <= 5
        assert 0 < row.first_token_s <= row.last_token_s
        assert row.prompt_tokens == len(tiny_tokenizer(requests[rows.index(row)].prompt)["input_ids"])
