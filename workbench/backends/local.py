"""In-process backend: the base model in this process, adapters attached by name (peft), one batched generate."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Iterator

from .. import adapters as adapter_lib
from .. import attention, packed
from ..generation import GenerationStats, Request, RowState, generate_stream

if TYPE_CHECKING:
    from ..engine import Workbench


class LocalBackend:
    """Generates with wb.model; one comparison at a time, because the batch already holds all four arms."""

    concurrency = 1

    def __init__(self, wb: Workbench):
        self.wb = wb
        if wb.model is not None:
            packed.pack(wb.model, wb.settings.pack_weights)  # CPU layers only; a no-op on CUDA
            attention.use_grouped_sdpa(wb.model)  # CPU only: drafted steps without copies of the cache

    def adapter_names(self) -> list[str]:
        return list(adapter_lib.list_adapters(self.wb.settings.adapter_dirs))

    def attach(self, name_or_path: str, allow_foreign: bool = False) -> str:
        """Check and attach an adapter once (the engine keeps it on its model); return its peft name."""
        folder = adapter_lib.find_adapter(name_or_path, self.wb.settings.adapter_dirs).resolve()
        name = self.wb.attached_name(folder)
        if name is None:
            self.wb.check_adapter(folder, allow_foreign)
            name = self.wb.attach_to_model(folder)
        return name

    def announce(self, name_or_path: str) -> str:
        """A new adapter needs nothing here: it is attached on first use."""
        return ""

    def detach(self, folder: Path) -> list[str]:
        """Delete the folder's adapters from the model (the engine changes its model)."""
        return self.wb.detach_from_model(folder)

    def pausable(self) -> bool:
        """Once the model carries adapters (peft), a comparison run between two steps of a batch leaves the batch's
        rows as they were: each step names its rows' adapters, and attaching another adds one by name. On the
        bare model the first adapter attached would wrap the modules the batch runs through, so a batch there
        runs to its end."""
        return hasattr(self.wb.model, "peft_config")

    def stream(self, requests: list[Request], max_new_tokens: int, temperature: float
               ) -> Iterator[tuple[list[RowState], GenerationStats | None]]:
        return generate_stream(self.wb.model, self.wb.tokenizer, requests, max_new_tokens, temperature, self.wb.device,
                               self.wb.settings.draft_tokens)
