"""The Train tab: train a lora or raft adapter with live loss and cancel; upload an adapter.

The handlers are plain functions of the Workbench, the app's corpus sessions, the jobs and the event's values;
`build_train_tab` lays the tab out and binds them to its events.
"""

from __future__ import annotations

import contextlib
import json
import math
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

import gradio as gr
import pandas as pd

from .. import adapters as adapter_lib
from ..config import REPO_ROOT
from ..retrieval.ingest import shipped_corpora
from ..retrieval.sessions import check_access, display_name
from ..training.data import DataError, detect_format, load_chat, load_qa
from ..jobs import JobCancelled, Jobs
from ..training.jobs import STAGES, clear_partial, training_work
from ..training.trainer import TrainConfig, TrainingCancelled
from ..validation import check_number, check_text
from .compare import adapter_choices
from .errors import ok, user_error, verdict
from .jobview import job_buttons
from .uploads import UsedUploads
from .wiring import bind

if TYPE_CHECKING:
    from ..engine import Workbench

UPLOADED = "(uploaded file)"
LONG_RUN_S = 600
"""Estimates above this get a warning before the run starts."""


def shipped_training_sets() -> dict[str, Path]:
    """Training splits shipped with the corpora: corpora/<name>/qa/train.jsonl."""
    return {f"{p.parent.parent.name} train split": p for p in sorted((REPO_ROOT / "corpora").glob("*/qa/train.jsonl"))}


def count_examples(path: Path) -> int:
    """Training examples in a data file (conversations or Q/A pairs)."""
    return len(load_chat(path) if detect_format(path) == "chat" else load_qa(path))


def measured_step_seconds(method: str, adapter_dirs: list[Path]) -> tuple[float, str] | None:
    """(seconds per example, adapter name) from the latest training.json of an adapter trained with `method`."""
    runs = []
    for root in adapter_dirs:
        for record in Path(root).glob("*/training.json"):
            try:
                data = json.loads(record.read_text())
                config, result = data["config"], data["result"]
                if config["method"] == method and result["steps"] > 0:
                    runs.append((record.stat().st_mtime, result["seconds"] / result["steps"] / config["batch_size"],
                                 record.parent.name))
            except (OSError, ValueError, KeyError, TypeError):
                continue  # a hand-made or foreign adapter folder: not a measurement
    if not runs:
        return None
    _, per_example, name = max(runs)
    return per_example, name


def estimate_markdown(n_examples: int, method: str, epochs: float, batch: int, adapter_dirs: list[Path]) -> str:
    """Steps and, from the last measured run of the same method, the expected duration; warns when it is long."""
    batch = max(1, int(batch or 1))
    if method == "knowledge":  # the corpus's chunks and packed Q/A chats, not the file's rows, make the steps
        return (f"**Before you start**: {n_examples} Q/A rows, seen {max(1, round(float(epochs or 0)))}× with the "
                "corpus text once; the steps depend on the corpus size, and the ETA appears after the first step.")
    steps = math.ceil(math.ceil(n_examples / batch) * float(epochs or 0))
    text = f"**Before you start**: {n_examples} examples, {float(epochs or 0):g} epochs, batch {batch} → ~{steps} steps"
    measured = measured_step_seconds(method, adapter_dirs)
    if measured is None:
        return text + "; the ETA appears after the first step."
    per_example, name = measured
    seconds = per_example * batch * steps
    text += f", about **{seconds / 60:.0f} min** (at the speed `{name}` was trained)."
    if seconds > LONG_RUN_S:
        text += " ⚠️ That is a long run: lower the epochs, use the lora method or a GPU; you can cancel at any step."
    return text


def _loss_frame(losses: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"step": list(range(1, len(losses) + 1)), "loss": losses})


def user_adapters(wb: Workbench) -> Path:
    """Where trained and uploaded adapters go (per session below it, or shared)."""
    return wb.settings.data_path / "adapters"


def data_path(shipped: dict[str, Path], data_, upload_) -> Path | None:
    """The chosen source only: an upload counts when "(uploaded file)" is chosen, never otherwise."""
    if data_ == UPLOADED:
        return Path(upload_) if upload_ else None
    return shipped.get(data_)


def owner(wb: Workbench, corpora, request) -> str | None:
    """The session a new adapter belongs to; None: the shared library (Settings.shared_adapters)."""
    return None if wb.settings.shared_adapters or corpora is None else corpora.owner(request)


def uploads_of(wb: Workbench, corpora) -> UsedUploads:
    """Where uploaded files are taken from (the app's, shared by the tabs; ui/uploads.py)."""
    return getattr(corpora, "uploads", None) or UsedUploads(wb.settings.upload_cache_ttl)


def adapter_room(corpora, sid: str | None, request, name: str):
    """The room for session `sid`'s new adapter `name`, held while the block trains or installs it; ValueError when
    the session, or the client address it comes from, holds as many adapters as it may (ui/clients.py)."""
    holdings = getattr(corpora, "holdings", None)
    return holdings.adapter_room(sid, request, name) if holdings is not None else contextlib.nullcontext()


def check_adapter_name(wb: Workbench, name_):
    """A valid adapter name that no shared adapter has."""
    adapter_lib.check_adapter_name(name_, adapter_lib.taken_names(wb.settings.adapter_dirs))


def check_name(wb: Workbench, name_, sid=None):
    """A valid adapter name that neither a shared adapter nor one of the session `sid` has."""
    check_adapter_name(wb, name_)
    if adapter_lib.name_in_use(user_adapters(wb), sid, name_):
        raise ValueError(f"an adapter named {name_!r} already exists; choose another name")


def check_corpus(wb: Workbench, method_, corpus_):
    """raft needs passages and knowledge the text: a corpus that has chunks."""
    if method_ == "lora":
        return
    if not corpus_:
        raise ValueError(f"choose a corpus: {method_} takes its {'passages' if method_ == 'raft' else 'text'} "
                         "from it (or choose the lora method, which needs none)")
    if not wb.store.exists(corpus_) or not wb.store.count(corpus_):
        if corpus_ in shipped_corpora():
            raise ValueError(f"corpus {corpus_!r} is still being indexed (see the banner at the top); press "
                             "Train once it is done, or choose the lora method, which needs no corpus")
        raise ValueError(f"corpus {display_name(corpus_)!r} has no documents; add some in the Corpora tab")


def estimate(wb: Workbench, shipped: dict[str, Path], data_, upload_, method_, epochs_, batch_) -> str:
    """The status line before a run: the chosen data's size, steps and expected duration, or what is missing."""
    path = data_path(shipped, data_, upload_)
    if path is None:
        return "Upload a training file, or choose a shipped training set."
    try:
        n = count_examples(path)
    except (DataError, ValueError, OSError) as exc:
        return f"⚠️ {exc}"
    return estimate_markdown(n, method_, epochs_, batch_, wb.settings.adapter_dirs)


def validate(wb: Workbench, data_, upload_, method_, corpus_, name_, *rest):
    """Checked before the run is queued; each refusal shows under its own input."""
    def has_file(value):
        if data_ == UPLOADED and not value:
            raise ValueError("upload a training file, or choose a shipped training set above")
    return [ok(), verdict(has_file, upload_), ok(), verdict(check_corpus, wb, method_, corpus_),
            verdict(check_adapter_name, wb, name_ or ""), *[ok() for _ in rest]]


def train_config(wb: Workbench, method_, epochs_, lr_, batch_, max_len_, r_, alpha_, dropout_, k_, p_) -> TrainConfig:
    """The run's settings from the form, each checked against its bounds (ValueError says which is off)."""
    s = wb.settings
    return TrainConfig(
        method=method_, epochs=check_number(epochs_, "epochs", 0.01, 100),
        learning_rate=check_number(lr_, "learning rate", 1e-8, 1.0),
        batch_size=check_number(batch_, "batch size", 1, 256, integer=True),
        max_length=check_number(max_len_, "max length", 16, 8192, integer=True),
        r=check_number(r_, "LoRA r", 1, s.adapter_max_rank, integer=True),
        alpha=check_number(alpha_, "LoRA alpha", 1, 4 * s.adapter_max_rank, integer=True),
        dropout=check_number(dropout_, "LoRA dropout", 0.0, 0.9),
        raft_k=check_number(k_, "RAFT passages", 1, s.max_top_k, integer=True),
        raft_p=check_number(p_, "RAFT oracle probability", 0.0, 1.0))


def run(wb: Workbench, corpora, jobs: Jobs, shipped: dict[str, Path], run_id_, data_, upload_, method_, corpus_,
        name_, epochs_, lr_, batch_, max_len_, r_, alpha_, dropout_, k_, p_, request: gr.Request,
        progress=gr.Progress()):
    """Train an adapter: the status line and the loss plot after each step, then the adapter as a zip."""
    path = data_path(shipped, data_, upload_)
    if path is None:
        raise user_error("upload a training file, or choose a shipped training set")
    room = contextlib.ExitStack()
    try:
        sid = owner(wb, corpora, request)
        check_name(wb, check_text(name_, "the adapter name", 64), sid)
        check_access(corpora.session_of(request) if corpora is not None else None, corpus_)
        config = train_config(wb, method_, epochs_, lr_, batch_, max_len_, r_, alpha_, dropout_, k_, p_)
        room.enter_context(adapter_room(corpora, sid, request, name_))  # held until the training ends
    except ValueError as exc:
        raise user_error(str(exc)) from None
    with room:
        yield from _train(wb, jobs, run_id_, path, method_, corpus_, name_, config, sid, corpora, progress)


def _train(wb: Workbench, jobs: Jobs, run_id_, path: Path, method_, corpus_, name_, config: TrainConfig, sid,
           corpora, progress):
    """The checked training as a job, with what `run` yields."""
    out = adapter_lib.adapter_folder(user_adapters(wb), sid, name_)
    uploads = uploads_of(wb, corpora)
    path = Path(uploads.take(path))  # a private copy: the cached file may be another session's upload too
    job = jobs.start(training_work(wb, path, config, out, corpus_), name=f"train {name_}", stages=STAGES,
                     job_id=run_id_ or None)
    losses: list[float] = []
    try:
        yield f"Preparing {method_} training on `{path.name}`…", _loss_frame(losses), None
        for p in job.events():
            if job.cancelled.is_set():
                yield "Cancelling after the current step…", _loss_frame(losses), None
            if p is None or p.stage != "train":
                continue
            losses.append(p.detail)
            progress(p.fraction, desc=f"step {p.done}/{p.total}, ETA {p.eta_s:.0f} s")
            yield p.message, _loss_frame(losses), None
        try:
            result = job.result()
        except (JobCancelled, TrainingCancelled):
            yield "Training cancelled; no adapter was saved.", _loss_frame(losses), None
            return
        except (ValueError, MemoryError, RuntimeError) as exc:
            raise user_error(str(exc)) from None
        archive = shutil.make_archive(str(out), "zip", root_dir=out)
        yield (f"Saved adapter **{name_}**: {result.steps} steps, loss {result.first_loss} → "
               f"{result.train_loss}, {result.seconds} s ({result.tokens_per_s} tokens/s). "
               "It is now selectable in the Compare tab.", _loss_frame(result.losses), archive)
    finally:  # closed before the end (a page or API client gone): stop at the next step, as Cancel does
        job.cancel()
        jobs.forget(job)
        uploads.release(path)  # trained on; Gradio's cache no longer serves it


def refresh(wb: Workbench, corpora, dropdowns: int, request: gr.Request):
    """The adapters this session may choose, for each of the Compare tab's adapter pickers."""
    sid = owner(wb, corpora, request)
    return [gr.update(choices=adapter_choices(wb, sid)) for _ in range(dropdowns)]


def install(wb: Workbench, corpora, files_, name_, anyway_, request: gr.Request):
    """Install an uploaded adapter (a zip, or its config and weights) for this session."""
    uploads = uploads_of(wb, corpora)
    files_ = uploads.take(files_)  # private copies: the cached files may be another session's upload too
    try:
        sid, name = owner(wb, corpora, request), check_text(name_, "the adapter name", 64).strip()
        with adapter_room(corpora, sid, request, name):
            installed = adapter_lib.install_adapter(
                [Path(f) for f in files_ or []], name, user_adapters(wb), wb.model_id, wb.module_shapes,
                bool(anyway_), wb.settings.adapter_max_rank, wb.settings.adapter_max_bytes,
                adapter_lib.taken_names(wb.settings.adapter_dirs), sid)
    except ValueError as exc:
        raise user_error(str(exc)) from None
    finally:
        uploads.release(files_)  # Gradio's cache no longer serves them
    dropped = f" Not installed: {'; '.join(installed.dropped)}." if installed.dropped else ""
    note = wb.announce_adapter(str(installed.path))  # registers it with a generation server, if the app uses one
    return f"Installed adapter **{installed.path.name}**; choose it in the Compare tab.{dropped} {note}".strip()


def build_train_tab(wb: Workbench, adapter_dropdowns: list, corpora=None, jobs: Jobs | None = None) -> None:
    """The tab's layout and events. `adapter_dropdowns` (the Compare tab's) are refreshed when an adapter is trained
    or uploaded; `corpora` (the app's CorpusSessions) is what the raft corpus is checked against."""
    defaults = TrainConfig()
    shipped = shipped_training_sets()
    clear_partial(user_adapters(wb))  # what trainings or uploads killed in a previous run left behind
    jobs = jobs if jobs is not None else Jobs()

    with gr.Row():
        with gr.Column():
            data = gr.Radio(list(shipped) + [UPLOADED], value=next(iter(shipped), UPLOADED),
                            label="Training data", elem_id="train-data",
                            info="a shipped train split, or your own file (upload it below)")
            upload = gr.File(label="Your file: chat JSONL (messages) or Q/A JSONL/CSV (question, answer, source)",
                             file_types=[".jsonl", ".csv"], elem_id="train-upload", visible=not shipped)
            method = gr.Radio(["lora", "raft", "knowledge"], value="raft", label="Method",
                              info="lora: closed-book Q/A; raft: trained on the rag prompt with distractor passages; "
                                   "knowledge: closed book, the corpus text plus every phrasing of the Q/A, the "
                                   "phrasings repeated once per epoch (learns facts best; docs/fine-tuning-recipes.md)")
            corpus = gr.Dropdown(corpora.offered() if corpora is not None else wb.store.corpora(),
                                 value=wb.settings.corpus, elem_id="train-corpus",
                                 label="Corpus (raft distractors; knowledge: the text trained on)")
            if corpora is not None:
                corpora.follow(corpus)  # the shipped corpora while they index, and this session's uploads
            name = gr.Textbox("my-adapter", label="Adapter name", elem_id="train-name")
            with gr.Accordion("Hyperparameters", open=False):
                with gr.Row():
                    epochs = gr.Number(defaults.epochs, label="Epochs", minimum=0.1, elem_id="train-epochs")
                    lr = gr.Number(defaults.learning_rate, label="Learning rate")
                    batch = gr.Number(defaults.batch_size, label="Batch size", precision=0, minimum=1)
                    max_length = gr.Number(defaults.max_length, label="Max length (tokens)", precision=0, minimum=32)
                with gr.Row():
                    r = gr.Number(defaults.r, label="LoRA r", precision=0, minimum=1)
                    alpha = gr.Number(defaults.alpha, label="LoRA alpha", precision=0, minimum=1)
                    dropout = gr.Number(defaults.dropout, label="LoRA dropout", minimum=0, maximum=0.9)
                    raft_k = gr.Number(defaults.raft_k, label="RAFT passages", precision=0, minimum=1)
                    raft_p = gr.Slider(0, 1, defaults.raft_p, step=0.05, label="RAFT oracle probability")
            with gr.Row():
                start = gr.Button("Train", variant="primary", elem_id="train-start")
                stop = gr.Button("Cancel", variant="stop", elem_id="train-cancel", interactive=False)
        with gr.Column():
            status = gr.Markdown(elem_id="train-status")
            plot = gr.LinePlot(_loss_frame([]), x="step", y="loss", title="Training loss", elem_id="train-loss")
            download = gr.File(label="Trained adapter (zip)", interactive=False)

    inputs = [data, upload, method, corpus, name, epochs, lr, batch, max_length, r, alpha, dropout, raft_k, raft_p]
    data.change(lambda choice: gr.update(visible=choice == UPLOADED), data, upload, queue=False,
                api_visibility="private")
    estimate_inputs = [data, upload, method, epochs, batch]
    for component in estimate_inputs:
        component.change(bind(estimate, wb, shipped), estimate_inputs, status, queue=False, show_progress="hidden",
                         api_visibility="private")
    status.value = estimate(wb, shipped, data.value, None, method.value, epochs.value, batch.value)  # before any click
    # Cancel is clickable only while a run is active: a quick validated step swaps the buttons, the run follows.
    job = job_buttons(jobs, [start], stop).wire(
        start, bind(run, wb, corpora, jobs, shipped), inputs, [status, plot, download], validator=bind(validate, wb),
        api_name="train", concurrency_id="train", concurrency_limit=1, show_progress_on=[status])
    refresh_adapters = bind(refresh, wb, corpora, len(adapter_dropdowns))
    job.then(refresh_adapters, None, adapter_dropdowns, queue=False)

    with gr.Accordion("Upload an adapter", open=False):
        gr.Markdown(f"A peft LoRA adapter for **{wb.model_id}**: a .zip, or `adapter_config.json` + "
                    "`adapter_model.safetensors`. Pickle files (`.bin`) are refused, never opened.")
        files = gr.File(file_count="multiple", label="Adapter files", elem_id="adapter-upload")
        with gr.Row():
            up_name = gr.Textbox(label="Name", elem_id="adapter-name")
            anyway = gr.Checkbox(label="Load anyway if trained for another base model (shapes must still match)")
        up_button = gr.Button("Upload adapter")
        up_status = gr.Markdown(elem_id="adapter-status")

    up_button.click(bind(install, wb, corpora), [files, up_name, anyway], up_status, api_name="upload_adapter",
                    show_progress_on=[up_status]).success(
        refresh_adapters, None, adapter_dropdowns, queue=False)
