"""The backend seam: both backends satisfy one Protocol, and only the engine changes its model and adapters."""

import dataclasses
import os

from conftest import save_random_adapter

from workbench.backends import Backend
from workbench.backends.local import LocalBackend
from workbench.backends.openai import OpenAIBackend
from workbench.engine import Workbench


def test_both_backends_satisfy_the_backend_protocol(workbench):
    served = dataclasses.replace(workbench.settings, backend="openai", openai_base_url="http://127.0.0.1:9/v1")
    server_wb = Workbench(served, None, workbench.tokenizer, workbench.store, model_id="tiny-llama",
                          module_shapes=workbench.module_shapes)
    assert isinstance(workbench.backend, LocalBackend) and isinstance(workbench.backend, Backend)
    assert isinstance(server_wb.backend, OpenAIBackend) and isinstance(server_wb.backend, Backend)
    server_wb.backend.client.close()


def test_the_engine_attaches_an_adapter_once_and_again_when_retrained(workbench):
    folder = save_random_adapter(workbench.model, workbench.settings.data_path / "adapters" / "seam-lora").resolve()
    first = workbench.attach_adapter(str(folder))
    assert workbench.attach_adapter(str(folder)) == first == workbench.attached_name(folder)
    assert first in workbench.model.peft_config
    weights = folder / "adapter_model.safetensors"
    stat = weights.stat()
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 10**9))  # retrained in place
    second = workbench.attach_adapter(str(folder))
    assert second != first and second in workbench.model.peft_config and first not in workbench.model.peft_config
