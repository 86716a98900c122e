"""Packed (oneDNN) Linear weights: same outputs as the dense model, adapters work on them, training gets dense
weights back, and the dense copies are released."""

import copy

import pytest
import torch
from conftest import make_tiny_model, save_random_adapter
from peft import PeftModel

from workbench import packed
from workbench.generation import Request, generate_stream

pytestmark = pytest.mark.skipif(not torch.backends.mkldnn.is_available(), reason="this torch build has no oneDNN")


def tokens(model, tokenizer, requests, n=8):
    return [row.tokens for row in list(generate_stream(model, tokenizer, requests, n))[-1][0]]


def test_packed_model_computes_what_the_dense_one_does(tiny_model, tiny_tokenizer):
    dense = copy.deepcopy(tiny_model)
    linears = sum(type(m) is torch.nn.Linear for m in tiny_model.modules())
    assert packed.pack(tiny_model) == linears > 0
    assert all(type(m) is not torch.nn.Linear for m in tiny_model.modules())
    ids = torch.randint(0, len(tiny_tokenizer), (3, 7))
    with torch.inference_mode():
        assert torch.allclose(tiny_model(input_ids=ids).logits, dense(input_ids=ids).logits, atol=1e-5)
    prompts = ["the per diem for lisbon is", "hotels are capped at 140 euro per night in lisbon . what is", "bike"]
    requests = [Request(p) for p in prompts]
    assert tokens(tiny_model, tiny_tokenizer, requests) == tokens(dense, tiny_tokenizer, requests)


def test_dense_weights_are_released_except_shared_ones(tiny_tokenizer):
    model = make_tiny_model(tiny_tokenizer)
    model.config.tie_word_embeddings = True
    model.tie_weights()
    assert model.lm_head.weight is model.model.embed_tokens.weight
    q_proj = model.model.layers[0].self_attn.q_proj
    before = q_proj.weight.detach().clone()
    dense_bytes = packed.weight_bytes(model)
    packed.pack(model)
    assert packed.weight_bytes(model) == dense_bytes  # what a decode step reads did not change
    assert q_proj.weight.numel() == 0 and torch.equal(q_proj.dense_weight(), before)
    assert model.lm_head.weight is model.model.embed_tokens.weight  # the embeddings still need it
    state = model.state_dict()
    assert torch.equal(state["model.layers.0.self_attn.q_proj.weight"], before)


def test_deepcopy_gives_a_plain_trainable_model(tiny_model, tiny_tokenizer):
    """Training works on copy.deepcopy of the app's model: it must get plain layers with the dense weights."""
    reference = copy.deepcopy(tiny_model)
    packed.pack(tiny_model)
    copied = copy.deepcopy(tiny_model)
    assert all(type(m) is not packed.PackedLinear for m in copied.modules())
    for (name, a), (_, b) in zip(copied.named_parameters(), reference.named_parameters()):
        assert torch.equal(a, b), name
    ids = torch.randint(0, len(tiny_tokenizer), (2, 5))
    loss = copied(input_ids=ids, labels=ids).loss
    loss.backward()
    assert copied.model.layers[0].self_attn.q_proj.weight.grad is not None


def test_adapters_on_a_packed_base_match_the_dense_base(tiny_model, tiny_tokenizer, tmp_path):
    save_random_adapter(tiny_model, tmp_path / "a1", seed=1)
    save_random_adapter(tiny_model, tmp_path / "a2", seed=2, targets=("q_proj", "v_proj", "o_proj"))
    dense = copy.deepcopy(tiny_model)
    packed.pack(tiny_model)
    models = []
    for base in (dense, tiny_model):
        model = PeftModel.from_pretrained(base, str(tmp_path / "a1"), adapter_name="a1")
        model.load_adapter(str(tmp_path / "a2"), adapter_name="a2")
        models.append(model.eval())
    prompts = ["the per diem for lisbon", "hotels are capped at 140 euro", "what is", "the quick"]
    requests = [Request(prompts[0]), Request(prompts[1], "a1"), Request(prompts[2], "a2"), Request(prompts[3], "a1")]
    assert tokens(models[1], tiny_tokenizer, requests) == tokens(models[0], tiny_tokenizer, requests)


def test_the_in_process_backend_packs_the_model_unless_told_not_to(settings, tiny_model, tiny_tokenizer, store):
    from dataclasses import replace

    from workbench.engine import Workbench

    Workbench(replace(settings, pack_weights="all"), tiny_model, tiny_tokenizer, store, "tiny-llama")
    assert all(type(m) is not torch.nn.Linear for m in tiny_model.modules())
    other = make_tiny_model(tiny_tokenizer)
    Workbench(replace(settings, pack_weights="none"), other, tiny_tokenizer, store, "tiny-llama")
    assert not any(type(m) is packed.PackedLinear for m in other.modules())
    with pytest.raises(ValueError, match="unknown weight layout choice 'yes'.*use auto, all, none"):
        Workbench(replace(settings, pack_weights="yes"), make_tiny_model(tiny_tokenizer), tiny_tokenizer, store, "tiny")


def test_auto_packs_only_the_groups_of_layers_measured_faster(tiny_model, tiny_tokenizer, monkeypatch):
    """'auto' times each group of same-shaped layers both ways; here the timing is replaced by a choice that packs
    only the head, as the measurement chose on an Intel Xeon."""
    dense = copy.deepcopy(tiny_model)
    vocab = tiny_model.lm_head.out_features
    timed = []

    def head_only(weights, packs):
        timed.append(len(weights))
        return weights[0].shape[0] == vocab

    monkeypatch.setattr(packed, "packed_is_faster", head_only)
    assert packed.pack(tiny_model, "auto") == 1
    assert sum(timed) == sum(type(m) is torch.nn.Linear for m in dense.modules())  # every layer was in one group
    assert type(tiny_model.lm_head) is packed.PackedLinear
    assert type(tiny_model.model.layers[0].self_attn.q_proj) is torch.nn.Linear
    requests = [Request("the per diem for lisbon is"), Request("bike")]
    assert tokens(tiny_model, tiny_tokenizer, requests) == tokens(dense, tiny_tokenizer, requests)


def test_auto_on_this_cpu_keeps_the_models_outputs(tiny_model, tiny_tokenizer):
    """Whatever the timing chooses on the machine running the tests, the model computes what the dense one does."""
    dense = copy.deepcopy(tiny_model)
    packed.pack(tiny_model, "auto")
    ids = torch.randint(0, len(tiny_tokenizer), (3, 7))
    with torch.inference_mode():
        assert torch.allclose(tiny_model(input_ids=ids).logits, dense(input_ids=ids).logits, atol=1e-5)
