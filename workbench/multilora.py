"""Several LoRA adapters (and bare-base rows) in one decode batch, with three tensor ops per layer.

peft runs a mixed batch (``adapter_names=[...]``) by looping, in every LoRA layer, over the adapters present:
select the rows, run lora_A and lora_B, scatter the result back — about a dozen ops per layer and adapter, plus a
hook registered and removed on every layer for every forward call: a large share of a small model's decode step
(docs/benchmarks.md, stacked multi-LoRA decode).

Here each LoRA layer's adapters are stacked once per generation: A = [A_1; A_2; ...] (ranks x in) and
B = [B_1 | B_2 | ...] (out x ranks), and a per-row scale vector picks each row's own adapter (its `scaling` on
that adapter's rank columns, 0 elsewhere; all 0 for base rows):  y = base(x) + ((x A^T) * scale_row) B^T.
The maths is peft's (vanilla LoRA, dropout off at inference); layers with another LoRA variant (DoRA ...) or a
non-Linear base make `stack_adapters()` return None, and the caller keeps peft's own mixed-batch path.
"""

from __future__ import annotations

import copy
from contextlib import contextmanager

import torch

BASE_ADAPTER = "__base__"
"""peft's adapter name for a row that runs without any adapter (`generate(adapter_names=[...])`)."""


class _Layer:
    """One LoRA Linear: its stacked adapters and the per-row scales for the current batch."""

    def __init__(self, module, adapters: list[str], names: list[str]):
        self.module = module
        used = [a for a in adapters if a in module.lora_A]
        if used:
            dtype = module.lora_A[used[0]].weight.dtype
            # Stored transposed and contiguous, for torch.mm / addmm: a (in, ranks), b (ranks, out).
            self.a = torch.cat([module.lora_A[a].weight.to(dtype) for a in used]).t().contiguous()
            self.b = torch.cat([module.lora_B[a].weight.to(dtype) for a in used], dim=1).t().contiguous()
            self.same_dtype = dtype == module.base_layer.weight.dtype
            spans, start = {}, 0
            for a in used:
                r = module.lora_A[a].weight.shape[0]
                spans[a] = (start, start + r, module.scaling[a])
                start += r
            scale = torch.zeros(len(names), start, dtype=dtype, device=self.a.device)
            for row, name in enumerate(names):
                if name in spans:
                    lo, hi, s = spans[name]
                    scale[row, lo:hi] = s
            self.scale = scale[:, None, :]  # (rows, 1, ranks): broadcast over positions
        else:
            self.a = None

    def rows(self, rows: torch.Tensor) -> "_Layer":
        """This layer for a subset of the batch's rows (the stacked weights are shared, not copied)."""
        part = copy.copy(self)
        part.keep(rows)
        return part

    def keep(self, rows: torch.Tensor) -> None:
        if self.a is not None:
            self.scale = self.scale[rows]
            if not self.scale.any():  # only base rows are left: the LoRA product would be all zeros
                self.a = None

    def forward(self, x: torch.Tensor, *args, **kwargs) -> torch.Tensor:
        result = self.module.base_layer(x, *args, **kwargs)
        if self.a is None:
            return result
        if self.same_dtype and result.is_contiguous():
            # the common case, in as few ops as possible (a decode step runs 210 of these): two plain matrix
            # products on 2-D views, the second adding into the base output in place
            h = torch.matmul(x, self.a).mul_(self.scale)
            result.view(-1, result.shape[-1]).addmm_(h.view(-1, h.shape[-1]), self.b)
            return result
        h = torch.matmul(x.to(self.a.dtype), self.a) * self.scale
        return result + torch.matmul(h, self.b).to(result.dtype)


class StackedAdapters:
    """The stacked adapters of every LoRA layer for one batch; `active()` routes a forward call through them."""

    def __init__(self, layers: list[_Layer]):
        self.layers = layers

    def rows(self, rows: list[int]) -> "StackedAdapters":
        """These stacked adapters for some of their rows, e.g. one row's prefill: the adapters are stacked once per generation,
        not once per forward call (stacking walks every module and copies every adapter's weights)."""
        index = torch.tensor(rows)
        return StackedAdapters([layer.rows(index) for layer in self.layers])

    def keep(self, rows: list[int]) -> None:
        """Rows that left the batch leave the per-row scales too."""
        index = torch.tensor(rows)
        for layer in self.layers:
            layer.keep(index)

    @contextmanager
    def active(self):
        """Within this block the LoRA layers compute the stacked form (set per call, as peft sets its hooks)."""
        for layer in self.layers:
            layer.module.forward = layer.forward
        try:
            yield
        finally:
            for layer in self.layers:
                del layer.module.forward


def stack_adapters(model, names: list[str]) -> StackedAdapters | None:
    """The stacked adapters of a peft model whose rows use `names` (adapter names or '__base__'); None when a layer is not
    vanilla LoRA on a Linear (the caller then uses peft's adapter_names path)."""
    from peft.tuners.lora.layer import LoraLayer
    from peft.tuners.lora.layer import Linear as LoraLinear

    adapters = sorted({n for n in names if n != BASE_ADAPTER})
    layers = []
    for module in model.modules():
        if not isinstance(module, LoraLayer):
            continue
        if type(module) is not LoraLinear or module.merged or any(a in module.lora_variant for a in adapters) \
                or module.disable_adapters:
            return None
        layers.append(_Layer(module, adapters, names))
    return StackedAdapters(layers)
