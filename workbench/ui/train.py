"""The Train tab: train a lora or raft adapter with live loss and cancel; upload an adapter."""

from __future__ import annotations

import queue
import shutil
import threading
from pathlib import Path

import gradio as gr
import pandas as pd

from .. import adapters as adapter_lib
from ..config import REPO_ROOT
from ..training.jobs import train_adapter
from ..training.trainer import TrainConfig, TrainingCancelled

UPLOADED = "(uploaded file)"


def shipped_training_sets() -> dict[str, Path]:
    """Training splits shipped with the corpora: corpora/<name>/qa/train.jsonl."""
    return {f"{p.parent.parent.name} train split": p for p in sorted((REPO_ROOT / "corpora").glob("*/qa/train.jsonl"))}


def _loss_frame(losses: list[float]) -> pd.DataFrame:
    return pd.DataFrame({"step": list(range(1, len(losses) + 1)), "loss": losses})


def build_train_tab(wb, adapter_dropdowns: list) -> None:
    """`adapter_dropdowns` (the Compare tab's) are refreshed when an adapter is trained or uploaded."""
    defaults = TrainConfig()
    shipped = shipped_training_sets()
    user_root = wb.settings.data_path / "adapters"
    cancels: dict[str, threading.Event] = {}

    with gr.Row():
        with gr.Column():
            data = gr.Dropdown(list(shipped) + [UPLOADED], value=next(iter(shipped), UPLOADED), label="Training data")
            upload = gr.File(label="…or upload: chat JSONL (messages) or Q/A JSONL/CSV (question, answer, source)",
                             file_types=[".jsonl", ".csv"], elem_id="train-upload")
            method = gr.Radio(["lora", "raft"], value="raft", label="Method",
                              info="lora: closed-book Q/A; raft: trained on the rag prompt with distractor passages")
            corpus = gr.Dropdown(wb.store.corpora(), value=wb.settings.corpus, label="Corpus (raft distractors)")
            name = gr.Textbox("my-adapter", label="Adapter name", elem_id="train-name")
            with gr.Accordion("Hyperparameters", open=False):
                with gr.Row():
                    epochs = gr.Number(defaults.epochs, label="Epochs", minimum=0.1)
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
                stop = gr.Button("Cancel", variant="stop")
        with gr.Column():
            status = gr.Markdown(elem_id="train-status")
            plot = gr.LinePlot(_loss_frame([]), x="step", y="loss", title="Training loss", elem_id="train-loss")
            download = gr.File(label="Trained adapter (zip)", interactive=False)

    def run(data_, upload_, method_, corpus_, name_, epochs_, lr_, batch_, max_len_, r_, alpha_, dropout_, k_, p_,
            request: gr.Request, progress=gr.Progress()):
        path = Path(upload_) if upload_ else shipped.get(data_)
        if path is None:
            raise gr.Error("choose a shipped training set or upload a file")
        try:
            adapter_lib.check_adapter_name(name_)
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        out = user_root / name_
        if out.exists():
            raise gr.Error(f"an adapter named {name_!r} already exists; choose another name")
        config = TrainConfig(method=method_, epochs=float(epochs_), learning_rate=float(lr_), batch_size=int(batch_),
                             max_length=int(max_len_), r=int(r_), alpha=int(alpha_), dropout=float(dropout_),
                             raft_k=int(k_), raft_p=float(p_))
        events: queue.Queue = queue.Queue()
        cancel = cancels.setdefault(request.session_hash, threading.Event())
        cancel.clear()

        def work():
            try:
                events.put(("done", train_adapter(wb, path, config, out, corpus_, events.put, cancel)))
            except BaseException as exc:  # reported to the user below
                shutil.rmtree(out, ignore_errors=True)  # a failed run leaves no half-written adapter
                events.put(("error", exc))

        threading.Thread(target=work, daemon=True).start()
        losses: list[float] = []
        yield f"Preparing {method_} training on `{path.name}`…", _loss_frame(losses), None
        while True:
            event = events.get()
            if isinstance(event, dict):
                losses.append(event["loss"])
                progress(event["step"] / event["total"], desc=f"step {event['step']}/{event['total']}, "
                                                            f"ETA {event['eta_s']:.0f} s")
                yield (f"Step {event['step']}/{event['total']} · loss {event['loss']:.3f} · "
                       f"ETA {event['eta_s']:.0f} s", _loss_frame(losses), None)
            elif event[0] == "error":
                exc = event[1]
                if isinstance(exc, TrainingCancelled):
                    yield "Training cancelled; no adapter was saved.", _loss_frame(losses), None
                    return
                raise gr.Error(str(exc)) from None
            else:
                result = event[1]
                archive = shutil.make_archive(str(out), "zip", root_dir=out)
                yield (f"Saved adapter **{name_}**: {result.steps} steps, loss {result.first_loss} → "
                       f"{result.train_loss}, {result.seconds} s ({result.tokens_per_s} tokens/s). "
                       "It is now selectable in the Compare tab.", _loss_frame(result.losses), archive)
                return

    def cancel_run(request: gr.Request):
        if request.session_hash in cancels:
            cancels[request.session_hash].set()
        return "Cancelling after the current step…"

    def refresh():
        choices = ["(none)"] + wb.adapter_names()
        return [gr.update(choices=choices) for _ in adapter_dropdowns]

    inputs = [data, upload, method, corpus, name, epochs, lr, batch, max_length, r, alpha, dropout, raft_k, raft_p]
    job = start.click(run, inputs, [status, plot, download], api_name="train", concurrency_id="train",
                      concurrency_limit=1)
    job.then(refresh, None, adapter_dropdowns, queue=False)
    stop.click(cancel_run, None, status, queue=False)

    with gr.Accordion("Upload an adapter", open=False):
        gr.Markdown(f"A peft LoRA adapter for **{wb.model_id}**: a .zip, or `adapter_config.json` + "
                    "`adapter_model.safetensors`. Pickle files (`.bin`) are refused, never opened.")
        files = gr.File(file_count="multiple", label="Adapter files", elem_id="adapter-upload")
        with gr.Row():
            up_name = gr.Textbox(label="Name", elem_id="adapter-name")
            anyway = gr.Checkbox(label="Load anyway if trained for another base model (shapes must still match)")
        up_button = gr.Button("Upload adapter")
        up_status = gr.Markdown(elem_id="adapter-status")

    def install(files_, name_, anyway_):
        try:
            folder = adapter_lib.install_adapter([Path(f) for f in files_ or []], (name_ or "").strip(), user_root,
                                                 wb.model_id, wb.module_shapes, bool(anyway_))
        except ValueError as exc:
            raise gr.Error(str(exc)) from None
        note = wb.announce_adapter(str(folder))  # registers it with a generation server, if the app uses one
        return f"Installed adapter **{folder.name}**; choose it in the Compare tab. {note}".strip()

    up_button.click(install, [files, up_name, anyway], up_status, api_name="upload_adapter").success(
        refresh, None, adapter_dropdowns, queue=False)
