"""The openai backend against a real vLLM server that this module starts (make test-vllm).

Installs vLLM into .venv-vllm once (reused when present), exports the embedded base model as safetensors once,
starts `scripts/vllm_serve.sh` on a free 127.0.0.1 port with the shipped adapters, and drives the workbench
with WORKBENCH_BACKEND=openai: no base weights are loaded in the test process.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import subprocess
import sys
import time

import pytest

from workbench.config import REPO_ROOT, Settings
from workbench.loadtest import free_port

pytestmark = [pytest.mark.vllm, pytest.mark.slow]
START_TIMEOUT_S = 900


@pytest.fixture(scope="module")
def vllm_url(tmp_path_factory):
    import httpx

    install = subprocess.run(["bash", "scripts/vllm_install.sh"], cwd=REPO_ROOT, capture_output=True, text=True,
                             timeout=3600)
    if install.returncode != 0:
        tail = " | ".join((install.stdout + install.stderr).strip().splitlines()[-3:])
        pytest.skip(f"vLLM could not be installed into .venv-vllm (scripts/vllm_install.sh): {tail}")
    port = free_port()
    log_path = tmp_path_factory.mktemp("vllm") / "server.log"
    env = dict(os.environ, VLLM_PORT=str(port), APP_PY=sys.executable)
    with open(log_path, "w") as log:
        server = subprocess.Popen(["bash", "scripts/vllm_serve.sh"], cwd=REPO_ROOT, env=env, stdout=log,
                                  stderr=subprocess.STDOUT, start_new_session=True)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"the vLLM server exited with code {server.returncode}:\n"
                            + "\n".join(log_path.read_text().splitlines()[-15:]))
            try:
                if httpx.get(f"{url}/models", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"the vLLM server did not answer within {START_TIMEOUT_S} s; log: {log_path}")
            time.sleep(2)
        yield url
    finally:
        os.killpg(server.pid, signal.SIGINT)  # the server's own process group (start_new_session)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)


@pytest.fixture(scope="module")
def served_wb(vllm_url, tmp_path_factory):
    from workbench.engine import Workbench

    data = tmp_path_factory.mktemp("data")
    # rag reads every passage here, as raft does, so the two columns share one prompt and differ only by the adapter.
    return Workbench.load(Settings(data_dir=str(data), backend="openai", openai_base_url=vllm_url, max_new_tokens=32,
                                   rag_passages=0))


def training_question() -> str:
    """A question the shipped adapters were trained on."""
    rows = [json.loads(line) for line in (REPO_ROOT / "corpora/handbook/qa/train.jsonl").read_text().splitlines()]
    return rows[0]["question"]


def test_four_arms_answer_and_the_adapter_columns_use_their_adapters(served_wb):
    result = served_wb.compare(training_question())
    arms = {a.arm: a for a in result.arms}
    for arm in arms.values():
        assert arm.error is None and arm.answer.strip(), arm
        assert arm.metrics.output_tokens > 0 and arm.metrics.prompt_tokens > 0 and arm.metrics.ttft_ms > 0
        assert arm.metrics.memory_kind == "server_rss" and arm.metrics.peak_memory_bytes > 0
    assert (arms["lora"].adapter, arms["raft"].adapter) == ("handbook-lora", "handbook-raft")
    # Same prompt, different model: the adapters change the answer (lora vs base closed book, raft vs rag).
    assert arms["lora"].answer != arms["base"].answer
    assert arms["raft"].prompt == arms["rag"].prompt and arms["raft"].answer != arms["rag"].answer
    assert served_wb._model is None  # the base weights were never loaded in this process


def test_an_adapter_missing_on_the_server_is_reported_in_its_column(served_wb):
    result = served_wb.compare(training_question(), raft_adapter="nowhere-adapter")
    arms = {a.arm: a for a in result.arms}
    assert "nowhere-adapter" in arms["raft"].error and not arms["raft"].answer
    assert all(arms[a].answer.strip() and arms[a].error is None for a in ("base", "rag", "lora"))


def test_an_adapter_added_in_the_app_is_registered_with_the_server(served_wb):
    copy = served_wb.settings.data_path / "adapters" / "copied-lora"
    shutil.copytree(REPO_ROOT / "models/adapters/handbook-lora", copy)
    assert "copied-lora" not in served_wb.backend.served_adapters()
    question = training_question()
    result = {a.arm: a for a in served_wb.compare(question, "lora,raft", lora_adapter="copied-lora").arms}
    assert "copied-lora" in served_wb.backend.served_adapters() and "copied-lora" in served_wb.adapter_names()
    # Same weights as handbook-lora, greedy decoding: the same answer.
    shipped = served_wb.compare(question, "lora").arms[0]
    assert result["lora"].error is None and result["lora"].answer == shipped.answer
