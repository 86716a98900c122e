"""A tab's job buttons (workbench/jobs.py), the same in Train, Evaluate, Decide and the Corpora tab's ingest and
question generation.

A quick step locks the tab's start buttons, unlocks Cancel and gives the run a new job id (a gr.State, not part of
the API). The handler then starts its job under that id (`follow` for one that returns a value; Evaluate, Train and
Decide stream their own views of the job's Progress). However the event ends (done, refused, failed, cancelled, a
connection lost), the buttons come back. Cancel names the id: the job stops at its next step, Cancel locks at once
and the start buttons come back when the job has stopped. API clients stop a run by cancelling their request
(`cancel_for_api_clients`), which closes the handler; its `finally` cancels the job the same way.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import gradio as gr

from ..jobs import Jobs
from .stopping import cancel_for_api_clients
from .wiring import bind


def running(jobs: Jobs, buttons: int, *_inputs) -> tuple:
    """The start buttons locked, Cancel unlocked, and a new id for the job (what Cancel names)."""
    return *[gr.update(interactive=False)] * buttons, gr.update(interactive=True), jobs.new_id()


def idle(buttons: int) -> tuple:
    """The start buttons unlocked, Cancel locked."""
    return *[gr.update(interactive=True)] * buttons, gr.update(interactive=False)


def cancel_job(jobs: Jobs, run_id: str):
    """Cancel the job `run_id` (it stops at its next step); Cancel locks until the next run."""
    jobs.cancel(run_id)
    return gr.update(interactive=False)


def follow(jobs: Jobs, work: Callable, name: str, run_id: str, progress: gr.Progress) -> Any:
    """Run `work` as a job under `run_id`, Gradio's progress bar following its Progress; its result
    (jobs.JobCancelled when Cancel stopped it). The job is cancelled if the handler is left early."""
    job = jobs.start(work, name=name, job_id=run_id or None)
    try:
        for p in job.events():
            if p is not None:
                progress((p.done, p.total), desc=p.message, unit=p.unit or "steps")
        return job.result()
    finally:
        job.cancel()
        jobs.forget(job)


@dataclass
class JobButtons:
    """One tab's start buttons (locked together while any of their jobs runs), its Cancel and the job id."""

    jobs: Jobs
    starts: list
    cancel: gr.Button
    run_id: gr.State

    def wire(self, button: gr.Button, handler: Callable, inputs: list, outputs: list, validator=None, **event):
        """`button` runs `handler(run_id, *inputs)` as a job event (Gradio's `event` keywords: api_name,
        concurrency_id, show_progress_on, ...); `validator` checks `inputs` before anything locks."""
        n = len(self.starts)
        lock = button.click(bind(running, self.jobs, n), inputs if validator else None,
                            [*self.starts, self.cancel, self.run_id], validator=validator, show_progress="hidden",
                            api_visibility="private")
        job_event = lock.success(handler, [self.run_id, *inputs], outputs, **event)
        # The page runs a .then() only after an event that did not fail; .failure() covers one that did (an
        # unexpected error, a lost connection), so the buttons always come back.
        for after in (job_event.then, job_event.failure):
            after(bind(idle, n), None, [*self.starts, self.cancel], queue=False, show_progress="hidden",
                  api_visibility="private")
        cancel_for_api_clients(job_event)
        return job_event

    def wire_cancel(self) -> None:
        self.cancel.click(bind(cancel_job, self.jobs), self.run_id, self.cancel, queue=False,
                          api_visibility="private")


def job_buttons(jobs: Jobs, starts: list, cancel: gr.Button, run_id: gr.State | None = None) -> JobButtons:
    """JobButtons with Cancel wired (and a new job id State unless the layout made one); a tab then wires each
    start button."""
    buttons = JobButtons(jobs, list(starts), cancel, run_id if run_id is not None else gr.State(""))
    buttons.wire_cancel()
    return buttons
