"""OpenAI-compatible backend: each arm is one streamed /v1/completions request to a server (vLLM, multi-LoRA).

The base arms (base, rag) name the served base model; the adapter arms (lora, raft) name their adapter, which
vLLM serves by name next to the base (``--enable-lora --lora-modules NAME=PATH``). The app still builds the
prompts itself, with the same tokenizer and chat template as the in-process backend, and sends the finished
text to /v1/completions (not /v1/chat/completions), so both backends give the model exactly the same tokens.
The arms of one comparison are sent concurrently; each arm's answer streams back over SSE.
"""

from __future__ import annotations

import json
import logging
import queue
import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Iterator

import httpx

from .. import adapters as adapter_lib
from ..arms import PLAIN_STOP, cut_at_stop
from ..generation import GenerationStats, Request, RowState
from . import BackendError

if TYPE_CHECKING:
    from ..engine import Workbench

log = logging.getLogger(__name__)
MODELS_TTL_S = 5.0
"""How long the server's model list is reused before it is asked again."""


@dataclass
class ServerRow(RowState):
    error: str | None = None
    """Why this row failed (unknown adapter, server error); the other rows still answer."""


class ServerError(BackendError):
    """The server is unreachable or refused a request; the message says what to do."""


class OpenAIBackend:
    """Streams completions from an OpenAI-compatible server; the base weights are never loaded here."""

    def __init__(self, wb: Workbench):
        s = wb.settings
        self.wb = wb
        self.base_url = s.openai_base_url.rstrip("/")
        self.concurrency = s.concurrency or 16
        headers = {"Authorization": f"Bearer {s.openai_api_key}"} if s.openai_api_key else {}
        # Four streams per comparison, `concurrency` comparisons at once: the pool must hold them all.
        self.client = httpx.Client(base_url=self.base_url, headers=headers,
                                   timeout=httpx.Timeout(s.openai_timeout, connect=10.0),
                                   limits=httpx.Limits(max_connections=8 * self.concurrency + 8))
        self._lock = threading.Lock()
        self._register_lock = threading.Lock()
        self._models: tuple[float, list[dict]] = (0.0, [])
        self._base = s.openai_model or ""
        self._registered: dict[str, str] = {}
        """'<adapter folder>' -> '<weights mtime>' of adapters this app registered or found served."""

    # --- what the server serves ------------------------------------------------------------------
    def _unreachable(self, exc: Exception) -> ServerError:
        return ServerError(f"the generation server at {self.base_url} did not answer ({type(exc).__name__}); "
                           "start it with `make vllm` or set WORKBENCH_OPENAI_BASE_URL")

    def models(self, fresh: bool = False) -> list[dict]:
        """The server's /v1/models entries (cached a few seconds)."""
        with self._lock:
            at, cached = self._models
            if not fresh and cached and time.monotonic() - at < MODELS_TTL_S:
                return cached
        try:
            response = self.client.get("/models")
            response.raise_for_status()
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        data = response.json().get("data") or []
        with self._lock:
            self._models = (time.monotonic(), data)
        return data

    def base_model(self) -> str:
        """The served base model: WORKBENCH_OPENAI_MODEL, else the one entry without a parent (vLLM marks
        LoRA adapters with their base as parent)."""
        if not self._base:
            bases = [m["id"] for m in self.models() if not m.get("parent")]
            if not bases:
                raise ServerError(f"the server at {self.base_url} lists no base model; set WORKBENCH_OPENAI_MODEL")
            self._base = bases[0]
        return self._base

    def served_adapters(self) -> list[str]:
        """Names of the LoRA adapters the server serves now."""
        return [m["id"] for m in self.models() if m.get("parent")]

    def adapter_names(self) -> list[str]:
        """Adapters the user can pick: local ones (registered on first use) and those the server already serves."""
        local = list(adapter_lib.list_adapters(self.wb.settings.adapter_dirs))
        try:
            served = self.served_adapters()
        except ServerError as exc:
            log.warning("%s", exc)
            served = []
        return list(dict.fromkeys(local + served))

    # --- adapters --------------------------------------------------------------------------------
    def attach(self, name_or_path: str, allow_foreign: bool = False) -> str:
        """The served name of an adapter; a local adapter the server lacks is validated and registered with it."""
        try:
            folder = adapter_lib.find_adapter(name_or_path, self.wb.settings.adapter_dirs).resolve()
        except adapter_lib.AdapterError:
            if name_or_path in self.served_adapters():  # served by the server only (e.g. --lora-modules)
                return name_or_path
            raise
        with self._register_lock:  # concurrent comparisons must not register the same adapter twice
            return self._register(folder, allow_foreign)

    def _register(self, folder, allow_foreign: bool) -> str:
        """Validate the folder and load it into the server unless it already serves these weights."""
        name = adapter_lib.served_name(folder)  # sessions' adapters of the same name must not meet on the server
        weights = folder / adapter_lib.WEIGHTS_FILE
        stamp = str(weights.stat().st_mtime_ns if weights.is_file() else 0)
        if self._registered.get(str(folder)) == stamp:
            return name
        self.wb.check_adapter(folder, allow_foreign)
        served = name in self.served_adapters()
        if served and str(folder) not in self._registered:
            # Served since the server started (--lora-modules) or by another app process: trust it.
            self._registered[str(folder)] = stamp
            return name
        if served:  # retrained in place since we registered it: replace the server's copy
            self._post("/unload_lora_adapter", {"lora_name": name}, name)
        self._post("/load_lora_adapter", {"lora_name": name, "lora_path": str(folder)}, name)
        self._registered[str(folder)] = stamp
        self.models(fresh=True)
        return name

    def announce(self, name_or_path: str) -> str:
        """Register a just trained or uploaded adapter with the server now; a sentence for the user either way."""
        try:
            return f"Registered with the generation server as **{self.attach(name_or_path)}**."
        except (adapter_lib.AdapterError, BackendError) as exc:
            return f"Not registered with the generation server yet ({exc}); it is tried again on first use."

    def detach(self, folder: Path) -> list[str]:
        """Unload from the server the adapters this app registered from `folder`; one it cannot unload now (the
        server unreachable) is logged and left there."""
        root, dropped = Path(folder).resolve(), []
        with self._register_lock:
            for registered in [f for f in self._registered if Path(f).resolve().is_relative_to(root)]:
                name = adapter_lib.served_name(Path(registered))
                try:
                    self._post("/unload_lora_adapter", {"lora_name": name}, name)
                except BackendError as exc:
                    log.warning("could not unload adapter %s from the server: %s", name, exc)
                    continue
                del self._registered[registered]
                dropped.append(name)
        if dropped:
            self.models(fresh=True)
        return dropped

    def _post(self, path: str, body: dict, name: str) -> None:
        try:
            response = self.client.post(path, json=body)
        except httpx.HTTPError as exc:
            raise self._unreachable(exc) from exc
        if response.status_code in (404, 405) and _message(response) in ("Not Found", "Method Not Allowed"):
            # No such route: vLLM adds the LoRA routes only with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True.
            raise ServerError(f"the server at {self.base_url} does not serve adapter {name!r} and cannot load "
                              "adapters at run time; start vLLM with VLLM_ALLOW_RUNTIME_LORA_UPDATING=True or "
                              f"--lora-modules {name}=PATH")
        if response.status_code >= 400:
            raise ServerError(f"the server at {self.base_url} refused adapter {name!r}: {_message(response)}")

    # --- generation ------------------------------------------------------------------------------
    def _body(self, request: Request, model: str, max_new_tokens: int, temperature: float) -> dict:
        body = {
            "model": request.adapter or model, "prompt": request.prompt, "max_tokens": max_new_tokens,
            "temperature": temperature, "top_p": 1.0, "stream": True, "stream_options": {"include_usage": True},
            # The prompt already carries the chat template's special tokens, as on the in-process path.
            "add_special_tokens": False,
        }
        if not getattr(self.wb.tokenizer, "chat_template", None):
            body["stop"] = [PLAIN_STOP]
        return body

    def _run(self, row: ServerRow, body: dict, started: float, ticks: queue.Queue) -> None:
        """Read one SSE stream into its row; every new chunk ticks the consumer."""
        try:
            with self.client.stream("POST", "/completions", json=body) as response:
                if response.status_code >= 400:
                    response.read()
                    row.error = _row_error(response, body["model"], self.base_url)
                    return
                for line in response.iter_lines():
                    if not line.startswith("data:"):
                        continue
                    data = line[5:].strip()
                    if data == "[DONE]":
                        break
                    chunk = json.loads(data)
                    if chunk.get("error"):
                        row.error = f"server error: {_text(chunk['error'])}"
                        break
                    for choice in chunk.get("choices") or []:
                        # One chunk per generated token (vLLM); the protocol carries text, not token ids, so
                        # `tokens` counts tokens with 0s and is set to usage.completion_tokens at the end.
                        row.tokens.append(0)
                        now = time.perf_counter() - started
                        row.first_token_s = now if row.first_token_s is None else row.first_token_s
                        row.last_token_s = now
                        row.text += choice.get("text") or ""
                    usage = chunk.get("usage")
                    if usage:
                        row.prompt_tokens = int(usage.get("prompt_tokens") or 0)
                        row.tokens = [0] * int(usage.get("completion_tokens") or len(row.tokens))
                    ticks.put("step")
        except httpx.HTTPError as exc:
            row.error = str(self._unreachable(exc))
        except (ValueError, KeyError) as exc:  # a malformed stream
            row.error = f"unreadable answer from {self.base_url}: {exc}"
        finally:
            row.done = True
            ticks.put("end")

    def pausable(self) -> bool:
        """No: the server goes on generating while a stream waits, so a pause would free nothing; the server
        schedules its own requests (concurrency)."""
        return False

    def stream(self, requests: list[Request], max_new_tokens: int, temperature: float
               ) -> Iterator[tuple[list[ServerRow], GenerationStats | None]]:
        """All rows at once, each on its own connection; yields (rows, None) as they grow, (rows, stats) at the end."""
        rows = [ServerRow() for _ in requests]
        try:
            model = self.base_model()
        except ServerError as exc:
            for row in rows:
                row.error, row.done = str(exc), True
            yield rows, GenerationStats(0, "not_reported")
            return
        ticks: queue.Queue = queue.Queue()
        started = time.perf_counter()
        for row, request in zip(rows, requests):
            body = self._body(request, model, max_new_tokens, temperature)
            threading.Thread(target=self._run, args=(row, body, started, ticks), daemon=True).start()
        ended = 0
        while ended < len(rows):
            ended += ticks.get() == "end"
            while not ticks.empty():  # several rows ticked: one update for all of them
                ended += ticks.get_nowait() == "end"
            yield rows, None
        for row in rows:  # the server stops at PLAIN_STOP already; cut once more as the local path does
            row.text = cut_at_stop(self.wb.tokenizer, row.text).strip()
        yield rows, self.memory()

    def memory(self) -> GenerationStats:
        """The server's resident memory from its Prometheus /metrics, where it reports it."""
        root = self.base_url[: -len("/v1")] if self.base_url.endswith("/v1") else self.base_url
        try:
            text = self.client.get(f"{root}/metrics").text
        except httpx.HTTPError:
            return GenerationStats(0, "not_reported")
        for line in text.splitlines():
            if line.startswith("process_resident_memory_bytes "):
                return GenerationStats(int(float(line.split()[1])), "server_rss")
        return GenerationStats(0, "not_reported")


def _text(error) -> str:
    return error.get("message", str(error)) if isinstance(error, dict) else str(error)


def _message(response: httpx.Response) -> str:
    """The one-line reason from an OpenAI-style error body (or the raw text)."""
    try:
        body = response.json()
    except ValueError:
        return response.text.strip()[:300] or f"HTTP {response.status_code}"
    if isinstance(body, dict):
        body = body.get("error") or body.get("message") or body.get("detail") or body
    return _text(body)[:300]


def _row_error(response: httpx.Response, model: str, base_url: str) -> str:
    message = _message(response)
    if response.status_code == 404 or "does not exist" in message:
        return (f"the server at {base_url} does not serve {model!r} ({message}); "
                "register the adapter or start vLLM with --lora-modules NAME=PATH")
    return f"the server at {base_url} refused the request (HTTP {response.status_code}): {message}"
