"""Attention for the in-process engine: transformers' SDPA, with grouped key/value heads handled inside the kernel.

SmolLM2-135M has 9 query heads that share 3 key/value heads. When a step feeds several tokens a row (prompt lookup
drafts) and the batch has a padding mask, transformers' SDPA copies every layer's whole key/value cache three
times over (`repeat_kv`) before it calls the kernel, because CUDA's fused kernels cannot take a mask and grouped
heads together. torch's CPU kernel can (`enable_gqa=True`): the same result, bit for bit, without the copies.
For a four-arm step of 4 rows x 4 tokens over a 511-position cache those copies were ~0.4 ms of each layer's
attention, ~13 ms a step (docs/benchmarks.md). Every other call (one token a row, no mask, training, CUDA) goes
to transformers' own function unchanged.
"""

from __future__ import annotations

import torch
from transformers import AttentionInterface
from transformers.integrations.sdpa_attention import sdpa_attention_forward
from transformers.masking_utils import ALL_MASK_ATTENTION_FUNCTIONS, AttentionMaskInterface

NAME = "workbench_sdpa"


def grouped_sdpa(module, query, key, value, attention_mask, dropout: float = 0.0, scaling: float | None = None,
                 is_causal: bool | None = None, **kwargs):
    """transformers' attention-function signature: query (rows, heads, q, dim), key/value (rows, kv_heads, kv,
    dim); returns (rows, q, heads, dim) and no attention weights. Called by every layer in every forward pass."""
    if (query.device.type == "cpu" and query.shape[2] > 1 and attention_mask is not None and not module.training
            and getattr(module, "num_key_value_groups", 1) > 1
            and all(kwargs.get(k) is None for k in ("position_bias", "cache", "softcap"))):
        out = torch.nn.functional.scaled_dot_product_attention(query, key, value, attn_mask=attention_mask,
                                                               scale=scaling, enable_gqa=True)
        return out.transpose(1, 2).contiguous(), None
    return sdpa_attention_forward(module, query, key, value, attention_mask, dropout=dropout, scaling=scaling,
                                  is_causal=is_causal, **kwargs)


def use_grouped_sdpa(model) -> bool:
    """Route a model that runs transformers' 'sdpa' on the CPU through grouped_sdpa; True if it did. Its masks
    stay SDPA's."""
    config = getattr(model, "config", None)
    if config is None or getattr(config, "_attn_implementation", None) != "sdpa" or model.device.type != "cpu":
        return False
    AttentionInterface.register(NAME, grouped_sdpa)
    AttentionMaskInterface.register(NAME, ALL_MASK_ATTENTION_FUNCTIONS["sdpa"])
    model.set_attn_implementation(NAME)
    return True
