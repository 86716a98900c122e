"""The openai backend against a fake OpenAI-compatible server in this process (no network): it replays streams
recorded from vLLM 0.32 (same chunk shape: one token per chunk, then a usage chunk, then [DONE])."""

from __future__ import annotations

import json
import os
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from conftest import save_random_adapter

BASE = "served-base"


class FakeVLLM:
    """/v1/models, streamed /v1/completions, runtime LoRA loading and /metrics, like vLLM; records requests."""

    def __init__(self, adapters=(), runtime_lora=True, broken=()):
        self.adapters = {name: f"/srv/{name}" for name in adapters}
        self.runtime_lora, self.broken = runtime_lora, set(broken)
        self.completions: list[dict] = []
        self.posts: list[tuple[str, dict]] = []
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):
                pass

            def _json(self, code, body):
                data = json.dumps(body).encode()
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self):
                if self.path == "/v1/models":
                    data = [{"id": BASE, "object": "model", "parent": None}]
                    data += [{"id": n, "object": "model", "parent": BASE, "root": p} for n, p in fake.adapters.items()]
                    return self._json(200, {"object": "list", "data": data})
                if self.path == "/metrics":
                    text = b"# HELP x\nprocess_virtual_memory_bytes 9e9\nprocess_resident_memory_bytes 8.16324608e+08\n"
                    self.send_response(200)
                    self.send_header("Content-Length", str(len(text)))
                    self.end_headers()
                    return self.wfile.write(text)
                self._json(404, {"detail": "Not Found"})

            def do_POST(self):
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path in ("/v1/load_lora_adapter", "/v1/unload_lora_adapter"):
                    if not fake.runtime_lora:
                        return self._json(404, {"detail": "Not Found"})
                    fake.posts.append((self.path, body))
                    if self.path.startswith("/v1/load"):
                        fake.adapters[body["lora_name"]] = body["lora_path"]
                    else:
                        fake.adapters.pop(body["lora_name"], None)
                    return self._plain("Success")
                if self.path != "/v1/completions":
                    return self._json(404, {"detail": "Not Found"})
                fake.completions.append(body)
                model = body["model"]
                if (model != BASE and model not in fake.adapters) or model in fake.broken:
                    return self._json(404, {"error": {"message": f"The model `{model}` does not exist.",
                                                      "type": "NotFoundError", "code": 404}})
                words = [w + " " for w in f"answer from {model}".split()][: body["max_tokens"]]
                self.send_response(200)
                self.send_header("Content-Type", "text/event-stream")
                self.end_headers()
                for i, word in enumerate(words):
                    choice = {"index": 0, "text": word, "logprobs": None, "token_ids": None,
                              "finish_reason": "length" if i == len(words) - 1 else None}
                    self._event({"id": "cmpl-1", "object": "text_completion", "model": model, "choices": [choice]})
                    time.sleep(0.05)  # a token at a time, as a real server streams
                usage = {"prompt_tokens": len(body["prompt"].split()), "completion_tokens": len(words),
                         "total_tokens": 0}
                self._event({"id": "cmpl-1", "object": "text_completion", "model": model, "choices": [], "usage": usage})
                self.wfile.write(b"data: [DONE]\n\n")
                self.wfile.flush()

            def _event(self, payload):
                self.wfile.write(f"data: {json.dumps(payload)}\n\n".encode())
                self.wfile.flush()

            def _plain(self, text):
                self.send_response(200)
                self.send_header("Content-Length", str(len(text)))
                self.end_headers()
                self.wfile.write(text.encode())

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/v1"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def close(self):
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture()
def served(request):
    fake = FakeVLLM(**getattr(request, "param", {"adapters": ("srv-lora", "srv-raft")}))
    yield fake
    fake.close()


def server_workbench(settings, tiny_model, tiny_tokenizer, store, docs, url, **overrides):
    """A Workbench on the openai backend: no model weights in this process, only the tokenizer and the shapes."""
    import dataclasses

    from workbench.engine import Workbench, linear_shapes
    from workbench.retrieval.ingest import ingest

    ingest(store, "handbook", [docs], settings.chunk_size, settings.chunk_overlap)
    settings = dataclasses.replace(settings, backend="openai", openai_base_url=url, **overrides)
    return Workbench(settings, None, tiny_tokenizer, store, model_id="tiny-llama", module_shapes=linear_shapes(tiny_model))


def test_four_arms_stream_from_the_server_with_their_models_and_metrics(settings, tiny_model, tiny_tokenizer, store,
                                                                        docs, served):
    wb = server_workbench(settings, tiny_model, tiny_tokenizer, store, docs, served.url,
                          lora_adapter="srv-lora", raft_adapter="srv-raft")
    assert wb.model is None and wb.concurrency == 16
    snapshots, comparison = [], None
    for comparison in wb.compare_stream("What is the per diem for Lisbon?"):
        snapshots.append({a.arm: a.answer for a in comparison.arms})
    result = {a.arm: a for a in comparison.arms}
    assert {a: r.answer for a, r in result.items()} == {
        "base": f"answer from {BASE}", "rag": f"answer from {BASE}",
        "lora": "answer from srv-lora", "raft": "answer from srv-raft"}
    # The server got exactly the prompts the in-process path would build (chat template included), untouched.
    sent = {body["model"] + ("+ctx" if "Context:" in body["prompt"] else ""): body for body in served.completions}
    assert set(sent) == {BASE, BASE + "+ctx", "srv-lora", "srv-raft+ctx"}
    assert sent[BASE]["prompt"] == result["base"].prompt and sent["srv-raft+ctx"]["prompt"] == result["raft"].prompt
    assert all(b["stream"] and b["add_special_tokens"] is False and b["max_tokens"] == 8 for b in sent.values())
    for r in result.values():
        m = r.metrics
        assert r.done and not r.error
        assert m.output_tokens == 3 and m.prompt_tokens == len(r.prompt.split())  # from the usage chunk
        assert 0 < m.ttft_ms <= m.total_ms and m.tokens_per_s > 0
        assert (m.peak_memory_bytes, m.memory_kind) == (816324608, "server_rss")
    assert result["rag"].passages and result["rag"].metrics.retrieval_ms > 0
    assert any(s["base"].strip() == "answer" for s in snapshots)  # it streamed: the UI saw the first word alone


def test_an_adapter_the_server_lacks_is_that_columns_error(settings, tiny_model, tiny_tokenizer, store, docs, served):
    wb = server_workbench(settings, tiny_model, tiny_tokenizer, store, docs, served.url,
                          lora_adapter="srv-lora", raft_adapter="ghost")
    result = {a.arm: a for a in wb.compare("What is the per diem for Lisbon?").arms}
    assert "no adapter 'ghost'" in result["raft"].error and not result["raft"].answer
    assert [result[a].answer for a in ("base", "rag", "lora")] == [f"answer from {BASE}"] * 2 + [
        "answer from srv-lora"]


@pytest.mark.parametrize("served", [{"adapters": ("srv-lora", "srv-raft"), "broken": ("srv-raft",)}],
                         indirect=True)
def test_a_row_the_server_refuses_fails_alone(settings, tiny_model, tiny_tokenizer, store, docs, served):
    wb = server_workbench(settings, tiny_model, tiny_tokenizer, store, docs, served.url,
                          lora_adapter="srv-lora", raft_adapter="srv-raft")
    result = {a.arm: a for a in wb.compare("What is the per diem for Lisbon?").arms}
    assert "does not serve 'srv-raft'" in result["raft"].error and "does not exist" in result["raft"].error
    assert result["lora"].answer == "answer from srv-lora" and not result["lora"].error


def test_a_local_adapter_is_registered_with_the_server_and_listed(settings, tiny_model, tiny_tokenizer, store, docs,
                                                                  served):
    folder = save_random_adapter(tiny_model, settings.data_path / "adapters" / "my-lora")
    wb = server_workbench(settings, tiny_model, tiny_tokenizer, store, docs, served.url,
                          lora_adapter="my-lora", raft_adapter="srv-raft")
    assert {"my-lora", "srv-lora", "srv-raft"} <= set(wb.adapter_names())
    result = {a.arm: a for a in wb.compare("What is the per diem for Lisbon?", "base,lora").arms}
    assert result["lora"].answer == "answer from my-lora"
    assert served.posts == [("/v1/load_lora_adapter", {"lora_name": "my-lora", "lora_path": str(folder.resolve())})]
    wb.compare("again", "lora")
    assert len(served.posts) == 1  # registered once
    weights = folder / "adapter_model.safetensors"
    os.utime(weights, ns=(weights.stat().st_atime_ns, weights.stat().st_mtime_ns + 10**9))  # retrained in place
    assert "Registered with the generation server as **my-lora**" in wb.announce_adapter(str(folder))
    assert [p for p, _ in served.posts[1:]] == ["/v1/unload_lora_adapter", "/v1/load_lora_adapter"]


def test_a_foreign_adapter_is_refused_before_it_reaches_the_server(settings, tiny_model, tiny_tokenizer, store, docs,
                                                                   served):
    save_random_adapter(tiny_model, settings.data_path / "adapters" / "other", base_model_id="google/gemma-3-270m")
    wb = server_workbench(settings, tiny_model, tiny_tokenizer, store, docs, served.url, lora_adapter="other")
    result = wb.compare("q", "lora").arms[0]
    assert "gemma-3-270m" in result.error and served.posts == []


@pytest.mark.parametrize("served", [{"adapters": (), "runtime_lora": False}], indirect=True)
def test_a_server_without_runtime_lora_says_how_to_start_it(settings, tiny_model, tiny_tokenizer, store, docs, served):
    save_random_adapter(tiny_model, settings.data_path / "adapters" / "my-lora")
    wb = server_workbench(settings, tiny_model, tiny_tokenizer, store, docs, served.url, lora_adapter="my-lora")
    result = {a.arm: a for a in wb.compare("q", "base,lora").arms}
    assert "VLLM_ALLOW_RUNTIME_LORA_UPDATING=True" in result["lora"].error
    assert result["base"].answer == f"answer from {BASE}"


def test_a_server_that_is_down_is_reported_in_every_column(settings, tiny_model, tiny_tokenizer, store, docs):
    fake = FakeVLLM()
    url = fake.url
    fake.close()  # nothing listens on that port now
    wb = server_workbench(settings, tiny_model, tiny_tokenizer, store, docs, url)
    assert wb.adapter_names() == ["handbook-lora", "handbook-raft", "reader"]  # the shipped ones; no exception
    arms = wb.compare("q", "base,rag").arms
    assert all("did not answer" in a.error and "make vllm" in a.error for a in arms)


def test_the_app_serves_many_comparisons_at_once_on_the_openai_backend(settings, tiny_model, tiny_tokenizer, store,
                                                                      docs, served):
    from concurrent.futures import ThreadPoolExecutor

    from gradio_client import Client

    from workbench.ui import build_app

    wb = server_workbench(settings, tiny_model, tiny_tokenizer, store, docs, served.url,
                          lora_adapter="srv-lora", raft_adapter="srv-raft")
    demo = build_app(wb.settings, wb).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        with ThreadPoolExecutor(4) as pool:
            results = list(pool.map(lambda q: Client(url, verbose=False).predict(q, "base,rag,lora,raft",
                                                                               api_name="/compare"),
                                    [f"question {i}" for i in range(4)]))
    finally:
        demo.close()
    assert [[a["answer"] for a in r["arms"]] for r in results] == [[f"answer from {BASE}"] * 2 + [
        "answer from srv-lora", "answer from srv-raft"]] * 4
