"""In-process backend: the base model in this process, adapters attached by name (peft), one batched generate."""

from __future__ import annotations

from typing import Iterator

from .. import adapters as adapter_lib
from .. import attention, packed
from ..generation import Request, generate_stream


class LocalBackend:
    """Generates with wb.model; one comparison at a time, because the batch already holds all four arms."""

    concurrency = 1

    def __init__(self, wb):
        self.wb = wb
        if wb.model is not None:
            packed.pack(wb.model, wb.settings.pack_weights)  # CPU layers only; a no-op on CUDA
            attention.use_grouped_sdpa(wb.model)  # CPU only: drafted steps without copies of the cache

    def adapter_names(self) -> list[str]:
        return list(adapter_lib.list_adapters(self.wb.settings.adapter_dirs))

    def attach(self, name_or_path: str, allow_foreign: bool = False) -> str:
        """Validate and attach an adapter once; return its peft name. The base weights are shared.

        An adapter folder whose weights changed since it was attached (retrained in place) is attached
        again and the stale copy removed.
        """
        from peft import PeftModel

        wb = self.wb
        folder = adapter_lib.find_adapter(name_or_path, wb.settings.adapter_dirs).resolve()
        weights = folder / adapter_lib.WEIGHTS_FILE
        key = f"{folder}@{weights.stat().st_mtime_ns if weights.is_file() else 0}"
        if key in wb.loaded_adapters:
            return wb.loaded_adapters[key]
        adapter_lib.validate(folder, wb.model_id, wb.module_shapes, allow_foreign or adapter_lib.allows_foreign(folder),
                             wb.settings.adapter_max_rank)
        wb._attached += 1
        name = f"a{wb._attached}_" + "".join(ch if ch.isalnum() else "_" for ch in folder.name)
        if isinstance(wb.model, PeftModel):
            wb.model.load_adapter(str(folder), adapter_name=name)
        else:
            wb.model = PeftModel.from_pretrained(wb.model, str(folder), adapter_name=name)
        for stale in [k for k in wb.loaded_adapters if k.rsplit("@", 1)[0] == str(folder)]:
            wb.model.delete_adapter(wb.loaded_adapters.pop(stale))
        wb.model.eval()
        wb.loaded_adapters[key] = name
        return name

    def announce(self, name_or_path: str) -> str:
        """A new adapter needs nothing here: it is attached on first use."""
        return ""

    def stream(self, requests: list[Request], max_new_tokens: int, temperature: float) -> Iterator:
        return generate_stream(self.wb.model, self.wb.tokenizer, requests, max_new_tokens, temperature, self.wb.device,
                               self.wb.settings.draft_tokens)
