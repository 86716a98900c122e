"""Linear layers in oneDNN's packed weight layout, for inference on a CPU.

Decoding reads every weight once per step, so on a CPU its speed is the speed of reading the weights. torch's
default CPU matmul (MKL) reads a row-major fp32 weight at ~17 GB/s when it multiplies one or a few rows, on one
thread, and slows further with 4 rows; oneDNN's linear on a weight reordered into its blocked layout reads it at
~50 GB/s on both cores and costs the same for 1 or 4 rows (docs/benchmarks.md). This is what torch.compile's
CPU backend does to Linear layers when it freezes a model (weight prepacking, ``mkldnn._linear_pointwise``); here
it is done without compiling, so nothing is traced and start-up stays fast. The arithmetic stays fp32 (or the
model's bf16): only the order of the sums differs, as it does between batch sizes in MKL.

The dense weight of a packed layer is released (one copy of the weights), except where another module shares it
(a head tied to the embeddings). A packed layer still behaves like an nn.Linear for everything else: peft wraps it
as a LoRA base layer, ``copy.deepcopy`` (training's copy of the base) returns a plain nn.Linear with the dense
weight back, and ``state_dict`` holds the dense weight.
"""

from __future__ import annotations

import copy

import torch

PACKABLE_DTYPES = (torch.float32, torch.bfloat16)


class PackedLinear(torch.nn.Linear):
    """An nn.Linear whose weight lives in oneDNN's packed layout (`self.packed`); made by `pack()`, never directly."""

    packed: torch.Tensor

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.ops.mkldnn._linear_pointwise(x, self.packed, self.bias, "none", [], "")

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


def pack(model: torch.nn.Module) -> int:
    """Pack every plain nn.Linear of a CPU model in place; returns how many. Layers on another device or in
    another dtype are left as they are."""
    shared = _shared_weights(model)
    count = 0
    for module in model.modules():
        if type(module) is not torch.nn.Linear or not can_pack(module.weight.device.type, module.weight.dtype):
            continue
        weight = module.weight
        module.packed = torch.ops.mkldnn._reorder_linear_weight(weight.detach())
        if id(weight) not in shared:
            # The Parameter keeps its dtype and device (peft reads them) and loses its dense storage.
            weight.data = weight.data.new_empty(0)
        module.__class__ = PackedLinear
        count += 1
    if count:
        # Loaded weights are views of the memory-mapped weights file; one view left alive (an embedding, a norm)
        # keeps every page of the file resident. Own copies of the rest let the dense pages go.
        for param in model.parameters():
            if param.numel() and param.device.type == "cpu":
                param.data = param.data.clone()
    return count


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
