"""The job layer (workbench/jobs.py), the model slot (workbench/slot.py) and training in a worker process."""

import json
import sys
import threading
import time

import pytest

from workbench.jobs import Job, JobCancelled, Jobs, Progress
from workbench.slot import BATCH, INTERACTIVE, ModelSlot


def test_a_job_reports_progress_and_returns_its_result():
    def work(job):
        for i in range(1, 4):
            job.report(Progress("count", i, 3, "items", message=f"{i}/3"))
        return "done"

    seen = []
    assert Job(work, "count").run(seen.append) == "done"
    assert [(p.stage, p.done, p.fraction) for p in seen] == [("count", 1, 1 / 3), ("count", 2, 2 / 3), ("count", 3, 1)]


def test_an_error_of_the_work_is_raised_by_result():
    def work(job):
        raise ValueError("bad input")

    with pytest.raises(ValueError, match="bad input"):
        Job(work).run()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's malloc_trim")
def test_a_finished_job_gives_the_heap_it_freed_back():
    import psutil
    import torch

    def work(job):
        torch.empty(1 << 20).fill_(1)  # glibc now serves 1 MiB blocks from its heap rather than from mmap
        cache = [torch.ones(1 << 18) for _ in range(400)]  # 400 MiB, as an evaluation's KV caches
        kept = [torch.ones(8) for _ in range(400)]  # small results that outlive the job, among the freed blocks
        del cache
        return kept

    me = psutil.Process()
    before = me.memory_info().rss
    Job(work).start().result(60)
    assert me.memory_info().rss - before < 100 * 2**20


def test_cancel_by_id_before_and_while_it_runs():
    jobs = Jobs()
    early = jobs.new_id()
    jobs.cancel(early)  # pressed Cancel while the run still waited in the queue
    ran = []
    with pytest.raises(JobCancelled):
        jobs.start(lambda job: ran.append(1), "early", job_id=early).result(5)
    assert not ran

    def work(job):
        while not job.cancelled.wait(0.01):
            job.report(Progress("spin", 0, 0))
        raise InterruptedError("stopped at its next step")

    job = jobs.start(work, "spin")
    assert next(u for u in job.events(0.1) if u is not None).stage == "spin"
    jobs.cancel(job.id)
    with pytest.raises(JobCancelled):
        job.result(5)
    assert jobs.running() == []


def test_a_waiting_comparison_goes_before_the_next_batch():
    slot, order = ModelSlot(1), []
    batch_started = threading.Event()

    def batch(name):
        with slot.hold(BATCH):
            order.append(name)
            batch_started.set()
            time.sleep(0.2)

    def interactive():
        with slot.hold(INTERACTIVE):
            order.append("compare")

    first = threading.Thread(target=batch, args=("batch 1",))
    first.start()
    batch_started.wait(5)
    waiters = [threading.Thread(target=batch, args=("batch 2",)), threading.Thread(target=interactive)]
    waiters[0].start()
    time.sleep(0.05)  # the second batch asked first, the comparison after it
    waiters[1].start()
    for t in [first, *waiters]:
        t.join(5)
    assert order == ["batch 1", "compare", "batch 2"]


def test_a_comparison_runs_between_two_steps_of_a_batch_and_a_model_change_waits_for_the_paused_batch():
    slot, order = ModelSlot(1), []
    compare_waits, detach_waits = threading.Event(), threading.Event()

    def batch():
        with slot.hold(BATCH):
            for step in range(6):
                order.append(f"step {step}")
                if step == 1:
                    compare_waits.wait(5)
                    time.sleep(0.05)  # the comparison now waits for the slot
                if slot.let_interactive_in():
                    order.append("resumed")

    def interactive():
        compare_waits.set()
        with slot.hold(INTERACTIVE):
            order.append("compare")
            detach_waits.set()
            time.sleep(0.1)  # a model change asked for meanwhile waits until the paused batch has resumed

    def detach():
        detach_waits.wait(5)
        with slot.hold(exclusive=True):
            order.append("detach")

    threads = [threading.Thread(target=f) for f in (batch, interactive, detach)]
    threads[0].start()
    time.sleep(0.02)
    for t in threads[1:]:
        t.start()
    for t in threads:
        t.join(5)
    assert order == ["step 0", "step 1", "compare", "resumed", "step 2", "step 3", "step 4", "step 5", "detach"]
    assert slot.paused() == 0 and slot.waiting(INTERACTIVE) == 0 and slot.waiting(BATCH) == 0


def test_a_batch_paused_for_a_comparison_gives_the_answers_it_gives_alone(workbench, tmp_path):
    from conftest import save_random_adapter

    lora = str(save_random_adapter(workbench.model, tmp_path / "my-lora"))
    questions = ["What is the per diem for Lisbon?", "What is the hotel cap?", "What is the helpdesk extension?"]
    options = dict(lora_adapter=lora, max_new_tokens=8)
    alone = workbench.compare_many(questions, "base,rag,lora", priority=BATCH, **options)

    stream = workbench.compare_many_stream(questions, "base,rag,lora", BATCH, **options)
    next(stream), next(stream)  # the batch holds the slot and has run its first step
    done = []
    comparer = threading.Thread(target=lambda: done.append(workbench.compare(questions[0], "base,lora", **options)))
    comparer.start()
    while not workbench.slot.waiting(INTERACTIVE):
        time.sleep(0.01)
    next(stream)  # before its next step the batch lets the comparison in
    assert done and done[0].arms[1].answer == alone[0].arms[2].answer
    *_, paused = stream
    comparer.join(5)
    assert [[a.answer for a in c.arms] for c in paused] == [[a.answer for a in c.arms] for c in alone]


def test_a_training_that_would_not_fit_is_refused_before_it_starts(workbench, tmp_path, monkeypatch):
    from workbench.training import worker
    from workbench.training.jobs import train_adapter
    from workbench.training.trainer import TrainConfig

    data = tmp_path / "qa.jsonl"
    data.write_text(json.dumps({"question": "What is the per diem?", "answer": "62 euro", "source": "travel.md"}))
    monkeypatch.setattr(worker, "available_bytes", lambda: 2**29)  # 0.5 GiB free
    with pytest.raises(MemoryError, match=r"needs about 1\.\d GiB of memory and 0\.5 GiB is free"):
        train_adapter(workbench, data, TrainConfig(epochs=1), tmp_path / "adapters" / "big")
    assert not (tmp_path / "adapters" / "big").exists()


def test_training_runs_in_a_worker_process_that_exits_and_cancel_stops_it(workbench, tmp_path):
    import os

    from workbench.training.trainer import TrainConfig, TrainingCancelled
    from workbench.training.worker import base_spec, train_in_worker
    from workbench.training.data import Example

    import psutil

    examples = [Example([("question", False), (" answer 62 euro", True)])] * 8
    pids, steps, nice = [], [], []

    def step(p):
        steps.append(p)
        nice.append(psutil.Process(pids[0]).nice())

    result = train_in_worker(base_spec(workbench), examples, TrainConfig(epochs=1, batch_size=2), tmp_path / "a",
                             "tiny-llama", step, on_start=pids.append)
    assert result.steps == 4 and [s["step"] for s in steps] == [1, 2, 3, 4]
    assert nice[0] > os.nice(0)  # a comparison asked meanwhile gets the cores first
    assert pids[0] != os.getpid() and not _alive(pids[0])  # its memory went back with it

    cancel = threading.Event()

    def step(p):
        cancel.set()  # Cancel pressed during the first step

    with pytest.raises(TrainingCancelled):
        train_in_worker(base_spec(workbench), examples, TrainConfig(epochs=50, batch_size=1), tmp_path / "b",
                        "tiny-llama", step, cancel, on_start=pids.append)
    assert not _alive(pids[1]) and not (tmp_path / "b" / "adapter_model.safetensors").exists()


PARENT = """
import sys
from workbench.training.data import Example
from workbench.training.trainer import TrainConfig
from workbench.training.worker import BaseSpec, train_in_worker

def started(pid):
    print(pid, flush=True)

def step(progress):
    print("step", flush=True)

train_in_worker(BaseSpec(sys.argv[1]), [Example([("question", False), (" answer 62 euro", True)])] * 8,
                TrainConfig(epochs=5000, batch_size=1), sys.argv[2], "tiny-llama", step, on_start=started)
"""


def test_a_training_worker_exits_when_the_process_that_started_it_is_killed(workbench, tmp_path):
    """A Decide run or an app killed outright runs no clean-up: its worker must not train on, holding the cores."""
    import signal
    import subprocess
    import sys
    import time

    from workbench.training.worker import base_spec

    parent = subprocess.Popen([sys.executable, "-c", PARENT, base_spec(workbench).name, str(tmp_path / "a")],
                              stdout=subprocess.PIPE, text=True)
    try:
        worker = int(parent.stdout.readline())
        assert parent.stdout.readline().strip() == "step"  # training
        parent.send_signal(signal.SIGKILL)
        parent.wait(10)
        deadline = time.monotonic() + 20
        while _alive(worker) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _alive(worker)
    finally:
        parent.kill()


def _alive(pid: int) -> bool:
    import psutil

    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


@pytest.mark.ui
def test_an_evaluation_larger_than_the_bound_is_refused_with_a_message(workbench):
    from gradio_client import Client

    from workbench.ui import build_app

    workbench.settings.max_eval_rows = 10
    demo = build_app(workbench.settings, workbench).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        with pytest.raises(Exception, match=r"65 questions are more than one evaluation here may run \(10\)"):
            Client(url, verbose=False).predict("handbook/test", None, ["base"], 0, "(the set's own corpus)", 3, 8,
                                               0.0, "(none)", "(none)", False, api_name="/evaluate")
    finally:
        demo.close()
