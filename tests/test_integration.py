"""The real embedded model (SmolLM2-135M-Instruct) and embedder on the shipped handbook corpus.

The model is loaded once for the module (~20 s); each test reuses it.
"""

import json
import os
import subprocess
import sys

import pytest
from conftest import save_random_adapter

from workbench.config import REPO_ROOT, Settings

pytestmark = pytest.mark.slow
TEST_SET = REPO_ROOT / "corpora" / "handbook" / "qa" / "test.jsonl"


def handbook_test_questions():
    return [json.loads(line) for line in TEST_SET.read_text().splitlines() if line.strip()]


@pytest.fixture(scope="module")
def real(tmp_path_factory):
    from workbench.engine import Workbench

    data = tmp_path_factory.mktemp("data")
    wb = Workbench.load(Settings(data_dir=str(data), lora_adapter="", raft_adapter="", max_new_tokens=24))
    adapters = data / "adapters"
    save_random_adapter(wb.model, adapters / "rand-lora", base_model_id=wb.model_id, seed=1)
    save_random_adapter(wb.model, adapters / "rand-raft", base_model_id=wb.model_id, seed=2)
    return wb


def test_all_four_arms_answer(real):
    q = handbook_test_questions()[0]
    result = real.compare(q["question"], lora_adapter="rand-lora", raft_adapter="rand-raft")
    assert result.model == "HuggingFaceTB/SmolLM2-135M-Instruct"
    for arm in result.arms:
        assert arm.error is None and arm.answer.strip(), arm
        assert arm.metrics.output_tokens > 0 and arm.metrics.tokens_per_s > 0
    rag = result.arms[1]
    assert q["source"] in {p.source for p in rag.passages}
    assert "<|im_start|>assistant" in rag.prompt and q["question"] in rag.prompt


def test_rag_top3_contains_the_source_for_most_test_questions(real):
    from workbench.bench import retrieval_hit_rate
    from workbench.evaluation.datasets import load_eval_set

    rate = retrieval_hit_rate(real, load_eval_set(TEST_SET).items, "handbook", 3)
    assert rate >= 0.8, f"top-3 source hit rate {rate:.3f}"


def test_restart_does_not_reindex(real):
    from workbench.retrieval.ingest import ensure_shipped

    reports = ensure_shipped(real.store, real.settings)
    assert [r.chunks_added for r in reports] == [0] * len(reports)
    assert reports[0].chunks_total > 100


def test_compare_endpoint_on_the_real_app(real):
    from gradio_client import Client

    from workbench.ui import build_app

    demo = build_app(real.settings, real).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        out = Client(url, verbose=False).predict("How long is probation at Kestrel Loom?", "base,rag",
                                                 api_name="/compare")
    finally:
        demo.close()
    assert [a["arm"] for a in out["arms"]] == ["base", "rag"]
    assert out["arms"][1]["passages"] and all(a["answer"] for a in out["arms"])


def test_cli_ask_json(real, tmp_path):
    q = handbook_test_questions()[3]
    env = {**os.environ, "WORKBENCH_DATA_DIR": real.settings.data_dir, "HF_HUB_OFFLINE": "1"}
    proc = subprocess.run(
        [sys.executable, "-m", "workbench", "ask", q["question"], "--adapter", "rand-lora", "--max-new-tokens", "16",
         "--json"], capture_output=True, text=True, env=env, cwd=REPO_ROOT, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    out = json.loads(proc.stdout)
    assert set(out) == {"question", "model", "arms"} and [a["arm"] for a in out["arms"]] == ["base", "rag", "lora", "raft"]
    for arm in out["arms"]:
        assert arm["answer"] and set(arm["metrics"]) >= {"retrieval_ms", "ttft_ms", "total_ms", "prompt_tokens",
                                                         "output_tokens", "tokens_per_s", "peak_memory_bytes", "memory_kind"}
        assert (arm["passages"] == []) == (arm["arm"] in ("base", "lora"))


def test_real_model_trains_two_steps(real, tmp_path):
    from workbench.training.jobs import train_adapter
    from workbench.training.trainer import TrainConfig

    train = REPO_ROOT / "corpora" / "handbook" / "qa" / "train.jsonl"
    data = tmp_path / "eight.jsonl"
    data.write_text("".join(train.read_text().splitlines(keepends=True)[:8]))
    result = train_adapter(real, data, TrainConfig(method="lora", epochs=1, batch_size=4), tmp_path / "two-steps")
    assert result.steps == 2 and len(result.losses) == 2 and all(0 < x < 20 for x in result.losses)
    answer = real.compare(handbook_test_questions()[0]["question"], "lora", lora_adapter=str(tmp_path / "two-steps"),
                          max_new_tokens=8).arms[0]
    assert answer.error is None and answer.answer


def test_shipped_embeddings_cover_every_shipped_chunk_as_the_embedder_computes_it(real):
    """A first start looks the shipped corpora's embeddings up instead of computing them (ingest.py)."""
    import numpy as np

    from workbench.retrieval.ingest import SHIPPED_EMBEDDINGS, load_embeddings, shipped_corpora
    from workbench.retrieval.store import text_key

    for name, docs in shipped_corpora().items():
        table = load_embeddings(docs.parent / SHIPPED_EMBEDDINGS, real.store.embedder.name)
        missing = set(real.store.embeddings(name)) - set(table)
        assert not missing, f"{len(missing)} chunks of {name} are not in its {SHIPPED_EMBEDDINGS}: run " \
                            "python scripts/ship_embeddings.py"
        texts = [p.text for p in real.store.chunks(name)[:8]]
        fresh = np.array(real.store.embedder.embed(texts))
        assert np.abs(fresh - np.array([table[text_key(t)] for t in texts])).max() < 1e-4
