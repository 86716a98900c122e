"""LoRA training through transformers' Trainer, on a copy of the loaded base (the app's model is untouched).

train() returns a TrainResult and writes an adapter folder: adapter_model.safetensors, adapter_config.json
and a README.md model card. QLoRA (4-bit base via bitsandbytes) is used when CUDA is present and asked for.
"""

from __future__ import annotations

import copy
import json
import math
import shutil
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import torch

from .data import Example, has_target, tokenize


@dataclass
class TrainConfig:
    method: str = "lora"
    """One of training.jobs.METHODS: 'lora' (closed-book Q/A or chat data), 'raft' (Q/A with retrieved passages in
    the prompt), 'docs' (the corpus text alone) or 'knowledge' (the corpus text plus every phrasing of the Q/A)."""
    epochs: float = 3.0
    """Passes over the training data."""
    learning_rate: float = 1e-3
    """Peak learning rate (linear decay). LoRA on a small model tolerates a high rate."""
    batch_size: int = 4
    """Examples per optimiser step (padded to the longest in the batch)."""
    max_length: int = 1024
    """Longest example in tokens; longer ones lose the start of their prompt."""
    r: int = 16
    """LoRA rank."""
    alpha: int = 32
    """LoRA scaling numerator (scale = alpha / r)."""
    dropout: float = 0.0
    """Dropout on the LoRA input. Off by default: on a CPU, drawing a fresh mask for each of the 210 LoRA layers was
    over a third of a bf16 training step, and adapters trained without it scored the same as with 0.05 (the earlier
    default) on the handbook's test and independent questions, within the spread between seeds
    (docs/fine-tuning-recipes.md)."""
    target_modules: list[str] = field(default_factory=lambda: ["q_proj", "k_proj", "v_proj", "o_proj",
                                                               "gate_proj", "up_proj", "down_proj"])
    """Linear layers that get LoRA matrices."""
    top_layers: float = 1.0
    """Share of the transformer layers, counted from the output end, that get LoRA matrices: 1.0 every layer, 0.5
    the last half (backward then stops halfway down: on SmolLM2-135M's 30 layers the lora trained 1.2-1.6x the
    tokens a second on a 2-core CPU and recalled as much, docs/decide.md). The layers below stay as the base has
    them."""
    raft_k: int = 3
    """raft: passages per prompt (oracle + distractors); match the top-k used at inference."""
    raft_p: float = 0.8
    """raft: probability that the oracle passage is among them."""
    seed: int = 0
    """Seed for shuffling, RAFT sampling and LoRA initialisation."""
    qlora: bool = True
    """On CUDA, load the frozen base in 4-bit (bitsandbytes) when it is installed."""
    doc_repeats: int = 1
    """knowledge method: times the documents are seen in the whole run (the Q/A phrasings are seen `epochs`
    times; the docs method sees the documents `epochs` times)."""
    max_seconds: float = 0.0
    """Stop after this many seconds of training and save what was learned (0: no limit). Decide uses it to keep
    its budget when a speed estimate was wrong."""
    group_by_length: bool = True
    """Batch examples of similar length, so batches pad less (RAFT prompts run from ~300 to ~900 tokens); False
    draws batches at random (the benchmark's 'before')."""
    keep_order: bool = False
    """Train the examples in the order given (the knowledge recipe's Q/A-first pass); overrides group_by_length."""
    init_adapter: str = ""
    """Continue training this adapter (a folder) instead of a fresh LoRA; its rank and targets apply (r, alpha and
    target_modules here are then unused). Decide's raft continues the shipped reader this way."""
    bf16_autocast: bool | None = None
    """bf16 autocast for forward and backward (the LoRA weights and the optimiser stay fp32). None: on where the
    hardware runs bf16 natively (CUDA that supports it, CPUs with AVX512-BF16 or AMX), off elsewhere."""

    def __post_init__(self):
        if not 0.0 < self.top_layers <= 1.0:  # refused before a model is loaded
            raise ValueError(f"top_layers must be a share of the layers above 0 and at most 1, not {self.top_layers}")


@dataclass
class TrainResult:
    adapter_dir: str
    steps: int
    train_loss: float
    """Mean training loss over the last epoch's steps."""
    seconds: float
    tokens_per_s: float
    """Trained-on tokens (prompt + target) per second of training."""
    losses: list[float] = field(default_factory=list)
    """Loss at each logged step."""
    first_loss: float = 0.0


class TrainingCancelled(RuntimeError):
    pass


def _collate(pad_id: int):
    """Left padding, so every row's target ends at the last column (see TargetLossTrainer)."""

    def collate(batch: list[dict]) -> dict:
        width = max(len(b["input_ids"]) for b in batch)
        ids = torch.full((len(batch), width), pad_id, dtype=torch.long)
        labels = torch.full((len(batch), width), -100, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        for i, b in enumerate(batch):
            n = len(b["input_ids"])
            ids[i, width - n:], labels[i, width - n:], mask[i, width - n:] = (
                torch.tensor(b["input_ids"]), torch.tensor(b["labels"]), 1)
        return {"input_ids": ids, "labels": labels, "attention_mask": mask}

    return collate


def _target_loss_trainer():
    from transformers import Trainer

    class TargetLossTrainer(Trainer):
        """Runs the LM head only over the last columns that hold targets.

        RAFT prompts are ~700 tokens with ~30 target tokens: projecting every position onto the 49k-token
        vocabulary would cost about a quarter of each step and most of its memory. With left padding the
        targets of every row sit in the last `keep` columns. (RoPE is relative, so left padding does not
        change attention scores.)
        """

        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs["labels"]
            labelled = (labels != -100).any(dim=0).nonzero()
            # +1: the column before the first target predicts it. A target in column 0 (a document example) has
            # no such column and cannot be predicted, so at most the whole width is kept.
            keep = min(labels.shape[1] - int(labelled[0]) + 1, labels.shape[1]) if len(labelled) else 2
            out = model(input_ids=inputs["input_ids"], attention_mask=inputs["attention_mask"], logits_to_keep=keep)
            logits = out.logits[:, :-1, :].float()  # position t predicts token t + 1
            targets = labels[:, labels.shape[1] - keep + 1:]
            loss = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.shape[-1]), targets.reshape(-1),
                                                     ignore_index=-100)
            return (loss, out) if return_outputs else loss

    return TargetLossTrainer


def fresh_base(model):
    """A trainable copy of the bare base: other adapters the app attached are removed from the copy."""
    from peft import PeftModel

    base = copy.deepcopy(model)
    base = base.unload() if isinstance(base, PeftModel) else base
    quantizer = getattr(base, "hf_quantizer", None)
    if quantizer is not None and quantizer.quantization_config.quant_method == "gguf":
        # GGUF weights were dequantized to plain tensors at load; only the marker blocks Trainer.
        base.hf_quantizer, base.is_quantized = None, False
        base.config.__dict__.pop("quantization_config", None)
    return base


def _qlora_base(model_source, device: str):
    """Reload the base in 4-bit for QLoRA; None when CUDA or bitsandbytes is missing."""
    if device != "cuda" or model_source is None:
        return None
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        return None
    from peft import prepare_model_for_kbit_training
    from transformers import AutoModelForCausalLM, BitsAndBytesConfig

    quant = BitsAndBytesConfig(load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16)
    kwargs = {"gguf_file": model_source.gguf_file} if model_source.gguf_file else {}
    model = AutoModelForCausalLM.from_pretrained(model_source.path, quantization_config=quant, **kwargs)
    return prepare_model_for_kbit_training(model)


def _trainable(model, config: TrainConfig, model_source, device: str):
    """The peft model to train: a fresh LoRA (or config.init_adapter, trainable) on a copy of the base, in 4-bit
    for QLoRA where asked and possible."""
    from peft import LoraConfig, get_peft_model

    base = (config.qlora and _qlora_base(model_source, device)) or fresh_base(model)
    if device != "cuda":
        # The app's copy may be bf16 (fast inference); trained under bf16 autocast, an fp32 copy is faster still
        # (measured: a fwd+bwd step 2.1x faster than fp32 without autocast, 1.4x with bf16 weights) and keeps
        # fp32 master weights.
        base = base.to(torch.float32)
    base.train()
    lora = LoraConfig(r=config.r, lora_alpha=config.alpha, lora_dropout=config.dropout,
                      target_modules=list(config.target_modules), task_type="CAUSAL_LM",
                      layers_to_transform=top_layers(base, config.top_layers))
    if config.init_adapter:
        from peft import PeftModel

        return PeftModel.from_pretrained(base, config.init_adapter, is_trainable=True)
    return get_peft_model(base, lora)


def top_layers(model, share: float) -> list[int] | None:
    """Indices of the last `share` of the model's transformer layers (at least one), None for every layer."""
    if share == 1.0:
        return None
    count = model.config.num_hidden_layers
    return list(range(count - max(1, round(count * share)), count))


def _report(losses: list[float], started: float, total: int, config: TrainConfig,
            progress: Callable[[dict], None] | None, cancel: threading.Event | None):
    """A Trainer callback: each logged loss goes into `losses` and to `progress` ({step, total, loss, eta_s, lr});
    the run stops when `cancel` is set or config.max_seconds have passed since `started`, and `total` counts the
    steps the time limit leaves where it ends the run first.

    Under a time limit the rate is also the linear decay's over the time left, where that is lower than over the
    steps left: a run its limit stops (a speed estimate that read high) still ends near a rate of zero, as a run
    that trains its every step does."""
    from transformers import TrainerCallback

    class Report(TrainerCallback):
        lr = None
        """The rate of the step that ends next."""

        def on_step_begin(self, args, state, control, optimizer=None, **kw):
            if optimizer is None:
                return
            if config.max_seconds:
                left = max(0.0, 1.0 - (time.perf_counter() - started) / config.max_seconds)
                for group in optimizer.param_groups:
                    group["lr"] = min(group["lr"], group["initial_lr"] * left)
            self.lr = optimizer.param_groups[0]["lr"]

        def on_log(self, args, state, control, logs=None, **kw):
            if logs and "loss" in logs:
                losses.append(float(logs["loss"]))
                step, elapsed = state.global_step, time.perf_counter() - started
                per_step = elapsed / max(step, 1)
                eta = per_step * (total - step)
                if config.max_seconds:  # the limit ends the run first: count the steps it leaves
                    eta = min(eta, max(0.0, config.max_seconds - elapsed))
                if progress:
                    progress({"step": step, "total": min(total, step + math.ceil(eta / max(per_step, 1e-9))),
                              "loss": losses[-1], "eta_s": eta, "lr": self.lr})

        def on_step_end(self, args, state, control, **kw):
            if cancel is not None and cancel.is_set():
                control.should_training_stop = True
            if config.max_seconds and time.perf_counter() - started > config.max_seconds:
                control.should_training_stop = True

    return Report()


def _training_args(config: TrainConfig, out_dir: Path, total: int, device: str):
    """Trainer arguments for `total` steps: linear decay, a loss logged each step, nothing saved by the Trainer."""
    from transformers import TrainingArguments

    from ..models import cpu_has_bf16

    # bf16 autocast: on CUDA when supported, on CPUs with native bf16 instructions (AVX512-BF16/AMX) too, where it
    # roughly halves a step; the LoRA weights and the optimiser stay fp32 (peft upcasts adapters of a bf16 base).
    bf16 = config.bf16_autocast
    if bf16 is None:
        bf16 = torch.cuda.is_bf16_supported() if device == "cuda" else cpu_has_bf16()
    return TrainingArguments(
        output_dir=str(Path(out_dir) / ".trainer"), num_train_epochs=config.epochs, learning_rate=config.learning_rate,
        per_device_train_batch_size=config.batch_size, lr_scheduler_type="linear", warmup_steps=min(10, total // 10),
        logging_steps=1, save_strategy="no", report_to=[], seed=config.seed, use_cpu=device != "cuda",
        bf16=bf16, dataloader_num_workers=0,
        train_sampling_strategy=("sequential" if config.keep_order else
                                 "group_by_length" if config.group_by_length else "random"),
        remove_unused_columns=False, disable_tqdm=True,
    )


def train(model, tokenizer, examples: list[Example], config: TrainConfig, out_dir: Path, base_model_id: str,
          progress: Callable[[dict], None] | None = None, cancel: threading.Event | None = None,
          model_source=None, device: str = "cpu") -> TrainResult:
    """Train a LoRA adapter on `examples` and save it to out_dir. progress receives {step, total, loss, eta_s}."""
    from transformers import PrinterCallback, set_seed

    if not examples:
        raise ValueError("no training examples")
    set_seed(config.seed)
    data = [tokenize(tokenizer, ex, config.max_length) for ex in examples]
    data = [d for d in data if has_target(d)]
    if not data:
        raise ValueError(f"every example lost its target to max_length={config.max_length}; raise it")
    trained_tokens = sum(len(d["input_ids"]) for d in data) * config.epochs

    peft_model = _trainable(model, config, model_source, device)
    steps_per_epoch = math.ceil(len(data) / config.batch_size)
    total = math.ceil(steps_per_epoch * config.epochs)
    losses: list[float] = []
    started = time.perf_counter()
    report = _report(losses, started, total, config, progress, cancel)
    trainer = _target_loss_trainer()(model=peft_model, args=_training_args(config, out_dir, total, device),
                                     train_dataset=data, data_collator=_collate(tokenizer.pad_token_id),
                                     callbacks=[report])
    trainer.remove_callback(PrinterCallback)  # progress goes through `progress`, not stdout
    try:
        trainer.train()
    finally:
        shutil.rmtree(Path(out_dir) / ".trainer", ignore_errors=True)
    if cancel is not None and cancel.is_set():
        raise TrainingCancelled("training was cancelled; no adapter was saved")
    seconds = time.perf_counter() - started

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    peft_model.peft_config["default"].base_model_name_or_path = base_model_id
    peft_model.save_pretrained(str(out_dir), safe_serialization=True)
    last_epoch = losses[-steps_per_epoch:] or [float("nan")]
    steps = trainer.state.global_step  # fewer than planned when max_seconds stopped the run
    trained_tokens *= steps / max(total, 1)
    result = TrainResult(str(out_dir), steps, round(sum(last_epoch) / len(last_epoch), 4), round(seconds, 1),
                         round(trained_tokens / seconds, 1), [round(x, 4) for x in losses],
                         round(losses[0], 4) if losses else float("nan"))
    (out_dir / "training.json").write_text(json.dumps({"config": asdict(config), "result": asdict(result)}, indent=2))
    return result
