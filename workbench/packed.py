"""Linear layers in oneDNN's packed layout, for inference on a CPU.

Decoding reads every weight once per step, so on a CPU its speed is the speed of reading the weights. Which
layout reads them faster depends on the CPU. On the AMD EPYCs we measured (Zen 3, Zen 4), torch's default CPU
matmul (MKL) read a row-major fp32 weight at ~17 GB/s for one or a few rows, and oneDNN's linear on a weight
reordered into its blocked layout at ~50 GB/s. On an Intel Xeon with AVX-512 and AMX, MKL read the attention and
MLP weights faster than the packed layout for one row, and the packed head twice as fast for four rows
(docs/benchmarks.md). So by default (`pack(model, "auto")`) each group of same-shaped layers is timed both ways at
load, with 1 and 4 rows, and packed only where that is faster here. Packing is what torch.compile's CPU backend
does to Linear layers when it freezes a model (weight prepacking, ``mkldnn._linear_pointwise``); here it is done
without compiling, so nothing is traced and start-up stays fast. The arithmetic stays fp32 (or the model's bf16):
only the order of the sums differs, as it does between batch sizes in MKL.

The dense weight of a packed layer is released (one copy of the weights), except where another module shares it
(a head tied to the embeddings). A packed layer still behaves like an nn.Linear for everything else: peft wraps it
as a LoRA base layer, ``copy.deepcopy`` (training's copy of the base) returns a plain nn.Linear with the dense
weight back, and ``state_dict`` holds the dense weight.
"""

from __future__ import annotations

import copy
import logging
import time

import torch

log = logging.getLogger(__name__)

PACKABLE_DTYPES = (torch.float32, torch.bfloat16)
CHOICES = ("auto", "all", "none")
"""What `pack` packs: each group of same-shaped layers where it measured faster here, every layer, or none."""


def packed_linear(x: torch.Tensor, packed: torch.Tensor, bias: torch.Tensor | None = None) -> torch.Tensor:
    """x @ W^T + bias, from W in oneDNN's packed layout (torch.ops.mkldnn._reorder_linear_weight)."""
    return torch.ops.mkldnn._linear_pointwise(x, packed, bias, "none", [], "")


class PackedLinear(torch.nn.Linear):
    """An nn.Linear whose weight lives in oneDNN's packed layout (`self.packed`); made by `pack()`, never directly."""

    packed: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return packed_linear(x, self.packed, self.bias)

    def dense_weight(self) -> torch.Tensor:
        """The weight as a plain (out, in) tensor: the kept one where it is shared, else unpacked."""
        return self.weight if self.weight.numel() else self.packed.to_dense()

    def _save_to_state_dict(self, destination, prefix, keep_vars):
        super()._save_to_state_dict(destination, prefix, keep_vars)
        destination[prefix + "weight"] = self.dense_weight() if keep_vars else self.dense_weight().detach()

    def __deepcopy__(self, memo):
        plain = torch.nn.Linear.__new__(torch.nn.Linear)
        memo[id(self)] = plain
        plain.__dict__.update(copy.deepcopy({k: v for k, v in self.__dict__.items() if k != "packed"}, memo))
        if not self.weight.numel():  # a released weight comes back from the packed copy (a shared one was copied)
            plain.weight = torch.nn.Parameter(self.packed.to_dense(), requires_grad=self.weight.requires_grad)
        return plain


def can_pack(device: str, dtype: torch.dtype) -> bool:
    return device == "cpu" and dtype in PACKABLE_DTYPES and torch.backends.mkldnn.is_available()


def pack(model: torch.nn.Module, which: str = "all") -> int:
    """Pack the plain nn.Linear layers of a CPU model in place; returns how many. `which` is one of CHOICES:
    'auto' packs a group of layers of one shape only where `packed_is_faster` says so. Layers on another device
    or in another dtype are left as they are."""
    if which not in CHOICES:
        raise ValueError(f"unknown weight layout choice {which!r} (WORKBENCH_PACK_WEIGHTS); use {', '.join(CHOICES)}")
    if which == "none":
        return 0
    groups: dict[tuple, list[torch.nn.Linear]] = {}
    for module in model.modules():
        if type(module) is torch.nn.Linear and can_pack(module.weight.device.type, module.weight.dtype):
            groups.setdefault((module.in_features, module.out_features, module.weight.dtype), []).append(module)
    shared = _shared_weights(model)
    count = 0
    for (n_in, n_out, _), modules in groups.items():
        packs = [torch.ops.mkldnn._reorder_linear_weight(m.weight.detach()) for m in modules]
        if which == "auto" and not packed_is_faster([m.weight.detach() for m in modules], packs):
            log.info("kept %d Linear layers of %d -> %d in the dense layout (faster on this CPU)", len(modules), n_in, n_out)
            continue
        for module, packed_weight in zip(modules, packs):
            weight = module.weight
            module.packed = packed_weight
            if id(weight) not in shared:
                # The Parameter keeps its dtype and device (peft reads them) and loses its dense storage.
                weight.data = weight.data.new_empty(0)
            module.__class__ = PackedLinear
        count += len(modules)
    if count:
        # Loaded weights are views of the memory-mapped weights file; one view left alive (an embedding, a norm)
        # keeps every page of the file resident. Own copies of the rest let the dense pages go.
        for param in model.parameters():
            if param.numel() and param.device.type == "cpu":
                param.data = param.data.clone()
    return count


def packed_is_faster(weights: list[torch.Tensor], packs: list[torch.Tensor], rounds: int = 3) -> bool:
    """Whether multiplying 1 row and then 4 rows by each of these weights in turn is faster from their packed
    copies than from the dense ones (best of `rounds`, the two layouts alternating). One row is a one-arm decode
    step, four a four-arm one; going through all the weights of the group, as a step does, times reading them
    from memory rather than from a cache."""
    rows = [torch.randn(n, weights[0].shape[1], dtype=weights[0].dtype) for n in (1, 4)]
    layouts = {
        "dense": lambda x: [torch.nn.functional.linear(x, w) for w in weights],
        "packed": lambda x: [packed_linear(x, p) for p in packs],
    }
    best = dict.fromkeys(layouts, float("inf"))
    with torch.inference_mode():
        for round_ in range(rounds + 1):
            for name, run in layouts.items():
                started = time.perf_counter()
                for x in rows:
                    run(x)
                if round_:  # round 0 warms up: oneDNN builds its kernels on first use
                    best[name] = min(best[name], time.perf_counter() - started)
    return best["packed"] < best["dense"]


def _shared_weights(model: torch.nn.Module) -> set[int]:
    """ids of parameters held by more than one module (tied embeddings and head)."""
    seen: dict[int, int] = {}
    for module in model.modules():
        for param in module.parameters(recurse=False):
            seen[id(param)] = seen.get(id(param), 0) + 1
    return {key for key, uses in seen.items() if uses > 1}


def weight_bytes(model: torch.nn.Module, skip: str = "lora_") -> int:
    """Bytes of the model's weights at their dense size, each counted once (a packed layer whose dense copy was
    released counts as if it had it); parameters whose name contains `skip` are left out."""
    total = sum(p.numel() * p.element_size() for name, p in model.named_parameters() if skip not in name)
    for module in model.modules():
        if isinstance(module, PackedLinear) and not module.weight.numel():
            total += module.in_features * module.out_features * module.weight.element_size()
    return total
