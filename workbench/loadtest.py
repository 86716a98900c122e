"""Load benchmark: N concurrent users, each one four-arm comparison through the real app (gradio_client).

`python -m workbench loadtest --users 20 --json` starts the app (WORKBENCH_* settings, so WORKBENCH_BACKEND picks
in-process or openai) on a free 127.0.0.1 port, times one comparison alone, then N at once, and reports completed,
errors, p50/p95 seconds per comparison, output tokens/s over the concurrent phase, and the peak resident memory
of the app's and the generation server's process trees (sampled every 0.25 s). Bounded: at most 64 users, one
overall deadline, 127.0.0.1 only.
"""

from __future__ import annotations

import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

from .arms import ALL_ARMS
from .config import REPO_ROOT, Settings

MAX_USERS = 64
LOCAL_HOSTS = ("127.0.0.1", "localhost")


@dataclass
class LoadReport:
    backend: str
    users: int
    max_new_tokens: int
    completed: int = 0
    errors: int = 0
    error_messages: list[str] = field(default_factory=list)
    single_s: float = 0.0
    """One comparison with no other user (after a warm-up one)."""
    p50_s: float = 0.0
    p95_s: float = 0.0
    max_s: float = 0.0
    p95_over_single: float = 0.0
    wall_s: float = 0.0
    """The concurrent phase, first request to last answer."""
    output_tokens: int = 0
    tokens_per_s: float = 0.0
    """Output tokens of all arms of all users / wall_s."""
    app_peak_rss_bytes: int = 0
    server_peak_rss_bytes: int = 0
    """The generation server's process tree (openai backend; 0 when none listens at openai_base_url)."""
    machine: str = ""

    def summary(self) -> str:
        mib = lambda b: f"{b / 2**20:,.0f} MiB" if b else "–"  # noqa: E731
        return "\n".join([
            f"backend {self.backend}, {self.users} users, {self.max_new_tokens} new tokens per arm ({self.machine})",
            f"completed {self.completed}, errors {self.errors}" + "".join(f"\n  {m}" for m in self.error_messages[:5]),
            f"one user alone {self.single_s:.1f} s; under load p50 {self.p50_s:.1f} s, p95 {self.p95_s:.1f} s, "
            f"max {self.max_s:.1f} s (p95 / alone = {self.p95_over_single:.1f})",
            f"{self.output_tokens} output tokens in {self.wall_s:.1f} s = {self.tokens_per_s:.1f} tokens/s",
            f"peak RSS: app {mib(self.app_peak_rss_bytes)}, server {mib(self.server_peak_rss_bytes)}",
        ])


def percentile(values: list[float], q: float) -> float:
    """Nearest-rank percentile (q in 0..100) of a non-empty list."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(q / 100 * len(ordered) + 0.5) - 1))]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def listener_pid(port: int) -> int | None:
    """The process listening on 127.0.0.1:port, if any."""
    import psutil

    for conn in psutil.net_connections(kind="inet"):
        if conn.status == psutil.CONN_LISTEN and conn.laddr and conn.laddr.port == port and conn.pid:
            return conn.pid
    return None


class RssSampler:
    """Peak summed RSS of process trees (a process and its children), sampled in a background thread."""

    def __init__(self, pids: dict[str, int | None], every_s: float = 0.25):
        self.pids, self.every_s = pids, every_s
        self.peak = {name: 0 for name in pids}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _tree_rss(self, pid: int) -> int:
        import psutil

        try:
            root = psutil.Process(pid)
            procs = [root, *root.children(recursive=True)]
        except psutil.Error:
            return 0
        total = 0
        for proc in procs:
            try:
                total += proc.memory_info().rss
            except psutil.Error:
                pass
        return total

    def _run(self):
        while not self._stop.is_set():
            for name, pid in self.pids.items():
                if pid:
                    self.peak[name] = max(self.peak[name], self._tree_rss(pid))
            self._stop.wait(self.every_s)

    def __enter__(self):
        self._thread.start()
        return self

    def __exit__(self, *exc):
        self._stop.set()
        self._thread.join()


def questions(path: Path, n: int) -> list[str]:
    rows = [json.loads(line) for line in Path(path).read_text().splitlines() if line.strip()]
    if not rows:
        raise ValueError(f"{path} holds no questions")
    return [rows[i % len(rows)]["question"] for i in range(n)]


def start_app(settings: Settings, port: int, deadline: float, max_new_tokens: int | None) -> subprocess.Popen:
    """`python app.py` on 127.0.0.1:port with this process's WORKBENCH_* settings; waits until it answers."""
    import httpx

    env = dict(os.environ, WORKBENCH_SERVER_NAME="127.0.0.1", WORKBENCH_SERVER_PORT=str(port),
               GRADIO_ANALYTICS_ENABLED="False", HF_HUB_OFFLINE="1")
    if max_new_tokens:
        env["WORKBENCH_MAX_NEW_TOKENS"] = str(max_new_tokens)
    env.pop("SPACE_ID", None)  # never listen on all interfaces for a load test
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    log = open(Path(settings.data_dir) / "loadtest-app.log", "w")
    app = subprocess.Popen([sys.executable, str(REPO_ROOT / "app.py")], cwd=REPO_ROOT, env=env, stdout=log,
                           stderr=subprocess.STDOUT)
    while time.monotonic() < deadline:
        if app.poll() is not None:
            raise RuntimeError(f"the app exited with code {app.returncode} before answering; see {log.name}")
        try:
            if httpx.get(f"http://127.0.0.1:{port}/", timeout=2).status_code == 200:
                return app
        except httpx.HTTPError:
            pass
        time.sleep(1)
    app.terminate()
    raise TimeoutError("the app did not answer before the load test's deadline; raise --timeout")


def one_comparison(url: str, question: str, timeout_s: float) -> tuple[float, int, str | None]:
    """(seconds, output tokens of all arms, error or None) for one user's four-arm comparison."""
    from gradio_client import Client

    started = time.perf_counter()
    try:
        job = Client(url, verbose=False).submit(question, ALL_ARMS, api_name="/compare")
        result = job.result(timeout=max(1.0, timeout_s))
    except Exception as exc:  # a load test counts failures, whatever they are
        return time.perf_counter() - started, 0, f"{type(exc).__name__}: {str(exc)[:200]}"
    seconds = time.perf_counter() - started
    errors = [f"{a['arm']}: {a['error']}" for a in result["arms"] if a.get("error")]
    tokens = sum(a["metrics"]["output_tokens"] for a in result["arms"])
    return seconds, tokens, "; ".join(errors)[:300] or None


def run_loadtest(settings: Settings, users: int = 20, question_file: str = "corpora/handbook/qa/test.jsonl",
                 timeout_s: float = 1200.0, max_new_tokens: int | None = None, url: str | None = None) -> LoadReport:
    """Start (or use) the app, time one user alone, then `users` at once; see the module docstring."""
    if not 1 <= users <= MAX_USERS:
        raise ValueError(f"--users must be between 1 and {MAX_USERS}")
    if url and urlparse(url).hostname not in LOCAL_HOSTS:
        raise ValueError("the load test only runs against an app on 127.0.0.1")
    deadline = time.monotonic() + timeout_s
    asked = questions(REPO_ROOT / question_file if not Path(question_file).is_absolute() else Path(question_file),
                      users + 2)
    app = None
    if not url:
        port = free_port()
        app = start_app(settings, port, deadline, max_new_tokens)
        url = f"http://127.0.0.1:{port}/"
    server_port = urlparse(settings.openai_base_url).port if settings.backend == "openai" else None
    pids = {"app": app.pid if app else listener_pid(urlparse(url).port or 80),
            "server": listener_pid(server_port) if server_port else None}
    report = LoadReport(settings.backend, users, max_new_tokens or settings.max_new_tokens,
                        machine=f"{platform.machine()}, {os.cpu_count()} CPU cores")
    try:
        with RssSampler(pids) as rss:
            left = lambda: deadline - time.monotonic()  # noqa: E731
            one_comparison(url, asked[0], left())  # warm-up: adapters attached or registered, caches filled
            report.single_s, _, error = one_comparison(url, asked[1], left())
            if error:
                report.error_messages.append(f"alone: {error}")
            started = time.perf_counter()
            with ThreadPoolExecutor(users) as pool:
                runs = list(pool.map(lambda q: one_comparison(url, q, left()), asked[2:]))
            report.wall_s = time.perf_counter() - started
        times = [s for s, _, e in runs if e is None]
        report.completed, report.errors = len(times), len(runs) - len(times)
        report.error_messages += [e for _, _, e in runs if e]
        if times:
            report.p50_s, report.p95_s, report.max_s = statistics.median(times), percentile(times, 95), max(times)
        report.output_tokens = sum(t for _, t, _ in runs)
        report.tokens_per_s = report.output_tokens / report.wall_s if report.wall_s else 0.0
        report.p95_over_single = report.p95_s / report.single_s if report.single_s else 0.0
        report.app_peak_rss_bytes, report.server_peak_rss_bytes = rss.peak["app"], rss.peak["server"]
    finally:
        if app is not None:
            app.terminate()
            try:
                app.wait(timeout=30)
            except subprocess.TimeoutExpired:
                app.kill()
    for name in ("single_s", "p50_s", "p95_s", "max_s", "p95_over_single", "wall_s", "tokens_per_s"):
        setattr(report, name, round(getattr(report, name), 2))
    return report
