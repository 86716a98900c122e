"""Batched generation over base and adapter rows: streaming, per-row metrics, batch == one by one."""

import copy

import pytest
from conftest import save_random_adapter
from peft import PeftModel

from workbench.generation import Request, generate_stream


def run(model, tokenizer, requests, max_new_tokens=6, draft=0):
    snapshots = [[row.text for row in rows] for rows, _ in
                 generate_stream(model, tokenizer, requests, max_new_tokens, draft_tokens=draft)]
    rows, stats = None, None
    for rows, stats in generate_stream(model, tokenizer, requests, max_new_tokens, draft_tokens=draft):
        pass
    return snapshots, rows, stats


@pytest.mark.parametrize("draft", [0, 4])
def test_batch_of_base_and_adapter_rows_matches_one_by_one(tiny_model, tiny_tokenizer, tmp_path, draft):
    save_random_adapter(tiny_model, tmp_path / "a1", seed=1)
    save_random_adapter(tiny_model, tmp_path / "a2", seed=2)
    model = PeftModel.from_pretrained(tiny_model, str(tmp_path / "a1"), adapter_name="a1")
    model.load_adapter(str(tmp_path / "a2"), adapter_name="a2")
    model.eval()
    prompts = ["the per diem for lisbon", "hotels are capped at 140 euro per night in lisbon", "what is", "the quick"]
    requests = [Request(prompts[0]), Request(prompts[1]), Request(prompts[2], "a1"), Request(prompts[3], "a2")]

    _, batched, stats = run(model, tiny_tokenizer, requests, draft=draft)
    alone = [run(model, tiny_tokenizer, [r])[1][0] for r in requests]  # one row, no drafts: plain greedy

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
        # its own compute: the prefill, then a share (at most all) of the steps between its first and last token
        assert row.prefill_s <= row.first_token_s and 0 <= row.decode_share_s <= row.last_token_s - row.first_token_s
        assert (row.decode_share_s > 0) == (len(row.tokens) > 1)


def test_each_step_is_shared_out_among_the_rows_in_it(tiny_model, tiny_tokenizer):
    """Rows that decode together split each step's time: together they account for no more than the decode took,
    and three rows that take the same steps get the same share."""
    _, rows, stats = run(tiny_model, tiny_tokenizer, [Request("the quick brown fox")] * 3, max_new_tokens=6)
    assert [row.tokens for row in rows[1:]] == [rows[0].tokens] * 2 and len(rows[0].tokens) > 1
    decode_wall = rows[0].last_token_s - max(row.first_token_s for row in rows)
    assert sum(row.decode_share_s for row in rows) <= decode_wall
    assert rows[0].decode_share_s == rows[1].decode_share_s == rows[2].decode_share_s > 0


def test_rows_that_finish_early_leave_a_large_batch_without_copying_it_or_changing_an_answer(
        tiny_model, tiny_tokenizer, monkeypatch, tmp_path):
    """In a batch of many rows (an evaluation's), each row leaves the cache as it finishes: rows from the tail move
    into the slots that freed up and the cache is cut, not copied; every row, with or without an adapter, still
    says what it says alone."""
    from workbench import generation

    save_random_adapter(tiny_model, tmp_path / "a1", seed=1)
    model = PeftModel.from_pretrained(tiny_model, str(tmp_path / "a1"), adapter_name="a1")
    model.eval()
    prompts = [f"{w} per diem for lisbon hotels" * (1 + i % 3) for i, w in
               enumerate(["the", "what", "bike", "quick", "is", "capped", "night", "euro"])]
    requests = [Request(p, "a1" if i % 3 == 1 else None) for i, p in enumerate(prompts)]
    free = [run(model, tiny_tokenizer, [r], 10)[1][0].tokens for r in requests]
    # tokens the rows say at different steps become stop tokens, so the rows end at different steps
    stops = {tokens[2 + i] for i, tokens in enumerate(free[:6])}
    original = generation.stop_token_ids
    monkeypatch.setattr(generation, "stop_token_ids", lambda m, t: original(m, t) | stops)
    alone = [run(model, tiny_tokenizer, [r], 10)[1][0].tokens for r in requests]
    assert len({len(tokens) for tokens in alone if len(tokens) < 10}) >= 4, alone

    cuts = []
    keep_rows = generation._keep_rows

    def recorded(cache, keep):
        storage = cache.layers[0].keys.data_ptr()
        order = keep_rows(cache, keep)
        cuts.append((sorted(order) == keep, cache.layers[0].keys.shape[0] == len(keep),
                     cache.layers[0].keys.data_ptr() == storage))
        return order

    monkeypatch.setattr(generation, "_keep_rows", recorded)
    for rows, _ in generate_stream(model, tiny_tokenizer, requests, 10):
        pass
    assert [row.tokens for row in rows] == alone
    assert len(cuts) >= 3 and all(all(cut) for cut in cuts)


@pytest.mark.parametrize("draft", [0, 4])
def test_greedy_rows_match_transformers_generate(tiny_model, tiny_tokenizer, draft):
    """Each row of a mixed-length batch says what transformers' own generate() says for its prompt alone, with
    prompt lookup drafts or without."""
    import torch

    prompts = ["the per diem for lisbon is", "hotels are capped at 140 euro per night in lisbon . what is the", "bike",
               "the quick fox the quick fox the quick fox the quick"]
    _, rows, stats = run(tiny_model, tiny_tokenizer, [Request(p) for p in prompts], max_new_tokens=16, draft=draft)
    assert (stats.drafted_tokens > 0) == (draft > 0)
    for prompt, row in zip(prompts, rows):
        ids = tiny_tokenizer(prompt, return_tensors="pt", add_special_tokens=False)
        with torch.inference_mode():
            out = tiny_model.generate(**ids, max_new_tokens=16, do_sample=False, pad_token_id=tiny_tokenizer.pad_token_id)
        expected = [t for t in out[0, ids["input_ids"].shape[1]:].tolist() if t != tiny_tokenizer.eos_token_id]
        assert row.tokens == expected[:len(row.tokens)] and len(row.tokens) == len(expected)


def test_closing_the_stream_stops_generation_within_a_step(tiny_model, tiny_tokenizer):
    """A consumer that stops (Gradio Stop, client gone) ends the model's work: no forward pass runs after close()."""
    calls = []
    handle = tiny_model.register_forward_hook(lambda *_: calls.append(1))
    stream = generate_stream(tiny_model, tiny_tokenizer, [Request("the quick"), Request("lisbon hotels")], 50)
    for step, _ in enumerate(stream):
        if step == 3:  # two prefills, then two decode steps
            break
    stream.close()
    seen = len(calls)
    assert seen == 4
    # the model is free: a new generation runs to its end, and the closed stream did nothing meanwhile
    rows = list(generate_stream(tiny_model, tiny_tokenizer, [Request("the quick")], 3))[-1][0]
    handle.remove()
    assert rows[0].done and len(calls) > seen


def test_decode_rate_counts_tokens_after_the_first(tiny_model, tiny_tokenizer):
    _, rows, stats = run(tiny_model, tiny_tokenizer, [Request("the quick brown fox")], max_new_tokens=6)
    row = rows[0]
    assert row.prefill_s is not None and 0 < row.prefill_s <= row.first_token_s
    if len(row.tokens) > 1:
        assert abs(row.decode_tokens_per_s - (len(row.tokens) - 1) / (row.last_token_s - row.first_token_s)) < 1e-9
    assert stats.decode_steps in (len(row.tokens) - 1, len(row.tokens))  # the last step may produce EOS


def test_dequantized_weights_are_cached_per_gguf_content(tmp_path):
    """The safetensors copy of a GGUF is keyed by the file's hash: a changed GGUF gets a new copy."""
    from workbench.models import ModelSource, dequantized_cache

    gguf = tmp_path / "m.gguf"
    gguf.write_bytes(b"one")
    source = ModelSource("m", str(tmp_path), "folder", "m", "m.gguf")
    first = dequantized_cache(source, tmp_path / "cache")
    gguf.write_bytes(b"two")
    assert first.parent == tmp_path / "cache" and first != dequantized_cache(source, tmp_path / "cache")
    assert dequantized_cache(ModelSource("m", str(tmp_path), "folder", "m"), tmp_path / "cache") is None


def test_stacked_lora_matches_peft_mixed_batch(tiny_model, tiny_tokenizer, tmp_path):
    """The stacked multi-adapter forward gives peft's adapter_names logits, also after rows leave the batch."""
    import torch

    from workbench import multilora

    save_random_adapter(tiny_model, tmp_path / "a1", seed=1)
    save_random_adapter(tiny_model, tmp_path / "a2", seed=2, targets=("q_proj", "v_proj", "o_proj"))
    model = PeftModel.from_pretrained(tiny_model, str(tmp_path / "a1"), adapter_name="a1")
    model.load_adapter(str(tmp_path / "a2"), adapter_name="a2")
    model.eval()
    names = [multilora.BASE_ADAPTER, "a1", "a2", "a1"]
    ids = torch.randint(0, len(tiny_tokenizer), (4, 5))
    stacked = multilora.stack_adapters(model, names)
    with torch.inference_mode():
        expected = model(input_ids=ids, adapter_names=names).logits
        with stacked.active():
            got = model(input_ids=ids).logits
        stacked.keep([1, 2])
        with stacked.active():
            kept = model(input_ids=ids[[1, 2]]).logits
        after = model(input_ids=ids, adapter_names=names).logits  # the layers are peft's own again
        bare = model(input_ids=ids, adapter_names=[multilora.BASE_ADAPTER] * 4).logits
    assert torch.allclose(got, expected, atol=1e-5) and torch.allclose(kept, expected[[1, 2]], atol=1e-5)
    assert torch.equal(after, expected) and torch.equal(got[0], bare[0])
    assert not torch.allclose(got[1], bare[1], atol=1e-3) and not torch.allclose(got[2], bare[2], atol=1e-3)


def test_stacked_lora_on_a_bf16_base_matches_peft(tiny_model, tiny_tokenizer, tmp_path):
    """A bf16 base keeps peft's fp32 adapters (WORKBENCH_DTYPE=bfloat16): the stacked form casts like peft."""
    import torch

    from workbench import multilora

    save_random_adapter(tiny_model, tmp_path / "a1", seed=1)
    model = PeftModel.from_pretrained(copy.deepcopy(tiny_model).to(torch.bfloat16), str(tmp_path / "a1"),
                                      adapter_name="a1")
    model.eval()
    names = ["a1", multilora.BASE_ADAPTER]
    ids = torch.randint(0, len(tiny_tokenizer), (2, 5))
    stacked = multilora.stack_adapters(model, names)
    assert any(not layer.same_dtype for layer in stacked.layers if layer.a is not None)
    with torch.inference_mode():
        expected = model(input_ids=ids, adapter_names=names).logits.float()
        with stacked.active():
            got = model(input_ids=ids).logits.float()
    assert torch.allclose(got, expected, atol=0.05, rtol=0.02)


def test_a_gguf_file_is_parsed_once_per_load_and_gguf_is_restored_after(tmp_path):
    import gguf
    import numpy as np

    from workbench.models import _gguf_parsed_once

    path = tmp_path / "tiny.gguf"
    writer = gguf.GGUFWriter(str(path), "llama")
    writer.add_block_count(2)
    writer.add_tensor("token_embd.weight", np.ones((4, 8), dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    reader_class, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    with _gguf_parsed_once():
        first = gguf.GGUFReader(path)
        assert gguf.GGUFReader(path) is first and [t.name for t in first.tensors] == ["token_embd.weight"]
        arch = gguf.MODEL_ARCH.LLAMA
        assert gguf.get_tensor_name_map(arch, 2) is gguf.get_tensor_name_map(arch, 2)
    assert (gguf.GGUFReader, gguf.get_tensor_name_map) == (reader_class, name_map)
    assert gguf.GGUFReader(path) is not gguf.GGUFReader(path)


def test_drafted_tokens_are_kept_up_to_the_first_one_greedy_would_not_choose(tiny_model, tiny_tokenizer, tmp_path,
                                                                               monkeypatch):
    """Prompt lookup's drafts, replaced here by drafts known to be right for two tokens and then wrong: each step
    keeps the right ones and the model's own token after them, the refused columns are masked out for the rest of
    the answer, and every row (base and adapter rows in one batch) says what it says without drafts, in fewer steps."""
    from workbench import generation

    save_random_adapter(tiny_model, tmp_path / "a1", seed=1)
    model = PeftModel.from_pretrained(tiny_model, str(tmp_path / "a1"), adapter_name="a1").eval()
    prompts = ["the per diem for lisbon is", "hotels are capped at 140 euro per night in lisbon . what is the", "bike"]
    requests = [Request(prompts[0]), Request(prompts[1], "a1"), Request(prompts[2])]
    _, plain, plain_stats = run(model, tiny_tokenizer, requests, max_new_tokens=16)
    vocab = len(tiny_tokenizer)

    def right_then_wrong(self, i, row, room):
        ahead = plain[i].tokens[len(row.tokens):len(row.tokens) + 3]
        draft = ahead[:2] + [(t + 1) % vocab for t in ahead[2:]]
        return draft[:min(room, self.size)]

    monkeypatch.setattr(generation._Drafts, "__call__", right_then_wrong)
    _, drafted, stats = run(model, tiny_tokenizer, requests, max_new_tokens=16, draft=4)
    assert [row.tokens for row in drafted] == [row.tokens for row in plain]
    assert stats.accepted_tokens > 0 and stats.drafted_tokens > stats.accepted_tokens
    assert stats.decode_steps < plain_stats.decode_steps


def test_sampled_rows_never_draft(tiny_model, tiny_tokenizer):
    """Drafts are checked against the greedy choice, so a sampled answer is decoded one token a step."""
    *_, (rows, stats) = generate_stream(tiny_model, tiny_tokenizer, [Request("the quick fox the quick fox the")], 8,
                                        temperature=0.7, draft_tokens=4)
    assert stats.drafted_tokens == 0 and stats.decode_steps >= len(rows[0].tokens) - 1  # one token a step at most


def test_drafted_steps_hand_the_kernel_grouped_heads_and_say_the_same(tiny_model, tiny_tokenizer, monkeypatch):
    """With the engine's attention (CPU), a step that feeds a row its drafts attends over the cache's own key/value
    heads instead of a copy repeated for each query head; every row still says what it said before."""
    from transformers.integrations import sdpa_attention

    from workbench import attention

    copies = []
    repeat_kv = sdpa_attention.repeat_kv
    monkeypatch.setattr(sdpa_attention, "repeat_kv", lambda *a: copies.append(a[0].shape) or repeat_kv(*a))
    prompts = ["the quick fox the quick fox the quick fox the quick", "hotels are capped at 140 euro per night in",
               "bike"]
    _, before, stats = run(tiny_model, tiny_tokenizer, [Request(p) for p in prompts], max_new_tokens=12, draft=4)
    assert stats.drafted_tokens > 0 and copies  # transformers' sdpa copied the cache for the drafted steps

    assert attention.use_grouped_sdpa(tiny_model)
    copies.clear()
    _, after, stats = run(tiny_model, tiny_tokenizer, [Request(p) for p in prompts], max_new_tokens=12, draft=4)
    assert stats.drafted_tokens > 0 and copies == []
    assert [row.tokens for row in after] == [row.tokens for row in before]


def test_an_answer_that_repeats_a_unit_ends_after_its_first_copy():
    from workbench.loops import repeated_tail

    says = [11, 12, 13, 14, 15]  # 'The context says: "' as five tokens
    assert repeated_tail([1, 2] + says * 3) == 10  # three copies of a 5-token unit: keep one
    assert repeated_tail([7] * 12) == 11  # one token twelve times
    assert repeated_tail([7] * 11) == 0  # ...but not yet at eleven (a unit of 1 needs a span of 12)
    assert repeated_tail([1, 2] + says * 2) == 0  # said twice is not a loop
    assert repeated_tail(list(range(40))) == 0  # a list never repeats a unit
    assert repeated_tail([3, 4, 3, 4, 3, 4, 9]) == 0  # a repetition that ended is left alone


def test_an_answer_that_says_a_phrase_a_third_time_ends_before_its_second_copy():
    from workbench.loops import dropped_tail, repeated_phrase

    phrase = [21, 22, 23, 24, 25, 26]  # "The lab has two autoclaves in"
    listed = [1, 9] + phrase + [30, 2, 9] + phrase + [31, 3, 9] + phrase  # "1. …  2. …  3. …" one sentence thrice
    assert repeated_phrase(listed) == len(listed) - 11  # keeps "1. <phrase> 30 2." and drops from copy two on
    assert dropped_tail(listed) == repeated_phrase(listed)
    quoted = [5] + phrase + [40, 41] + phrase  # evidence quoted, then the answer out of it: said twice is fine
    assert repeated_phrase(quoted) == 0 and dropped_tail(quoted) == 0
    assert repeated_phrase(listed[:-2]) == 0  # "3." and the third copy begun: not said thrice yet
    assert repeated_phrase(list(range(60))) == 0


def test_an_answer_that_says_most_of_a_sentence_a_second_time_ends_before_that_copy():
    from workbench.loops import LOOP_SENTENCE, dropped_tail

    sentence = list(range(100, 100 + LOOP_SENTENCE))  # "The generator starts automatically when a power cut …"
    said_again = [5, 6] + sentence + [40, 41] + sentence
    assert dropped_tail(said_again) == LOOP_SENTENCE  # the first sentence stays, the second copy goes
    assert dropped_tail(said_again[:-1]) == 0  # not all of it said again yet
    half = sentence[:LOOP_SENTENCE // 2]
    assert dropped_tail([5] + half + [40, 41] + half) == 0  # a quoted phrase, then the answer out of it
