"""Shared fixtures: a tiny random Llama with a real tokenizer built here, a fake embedder, a temp store.

Nothing here touches the network: HF_HUB_OFFLINE is set before transformers is imported.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
from pathlib import Path

os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["GRADIO_ANALYTICS_ENABLED"] = "False"
os.environ["TOKENIZERS_PARALLELISM"] = "false"

import pytest  # noqa: E402
import torch  # noqa: E402

CHAT_TEMPLATE = (
    "{% for m in messages %}<|im_start|>{{ m['role'] }}\n{{ m['content'] }}<|im_end|>\n{% endfor %}"
    "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)
TRAIN_TEXT = (
    "the per diem for lisbon is 62 euro per day . hotels are capped at 140 euro per night . "
    "what is the answer ? context question source passage the quick brown fox jumps over the lazy dog "
    "badge colour blue green red parking bike storage helpdesk extension 4455 password length 14 characters"
)


class FakeEmbedder:
    """Bag of hashed words, L2-normalised: texts sharing words are close. Deterministic and instant."""

    name = "fake-embedder"
    dim = 64

    def embed(self, texts):
        out = []
        for text in texts:
            vec = [0.0] * self.dim
            for word in re.findall(r"\w+", text.lower()):
                vec[int(hashlib.md5(word.encode()).hexdigest(), 16) % self.dim] += 1.0
            norm = math.sqrt(sum(v * v for v in vec)) or 1.0
            out.append([v / norm for v in vec])
        return out

    def count_tokens(self, text):
        return len(text.split())


def make_tokenizer():
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    tok = Tokenizer(models.BPE(unk_token=None))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(vocab_size=400, special_tokens=["<|endoftext|>", "<|im_start|>", "<|im_end|>"],
                                  initial_alphabet=pre_tokenizers.ByteLevel.alphabet())
    tok.train_from_iterator([TRAIN_TEXT] * 5, trainer)
    fast = PreTrainedTokenizerFast(tokenizer_object=tok, eos_token="<|im_end|>", pad_token="<|im_end|>",
                                   bos_token="<|im_start|>", padding_side="left")
    fast.chat_template = CHAT_TEMPLATE
    return fast


def make_tiny_model(tokenizer, seed: int = 0):
    from transformers import LlamaConfig, LlamaForCausalLM

    torch.manual_seed(seed)
    config = LlamaConfig(vocab_size=len(tokenizer), hidden_size=64, intermediate_size=128, num_hidden_layers=2,
                         num_attention_heads=4, num_key_value_heads=2, max_position_embeddings=1024,
                         eos_token_id=tokenizer.eos_token_id, pad_token_id=tokenizer.pad_token_id,
                         bos_token_id=tokenizer.bos_token_id,
                         initializer_range=0.2)  # larger than default so LoRA alone can move the logits
    model = LlamaForCausalLM(config).eval()
    model.generation_config.eos_token_id = tokenizer.eos_token_id
    return model


def save_random_adapter(model, folder, base_model_id="tiny-llama", seed=1, r=4, targets=("q_proj", "v_proj")):
    """Write a LoRA adapter with non-zero random weights for `model` into `folder` (safetensors)."""
    import copy

    from peft import LoraConfig, get_peft_model

    torch.manual_seed(seed)
    peft_model = get_peft_model(copy.deepcopy(model), LoraConfig(r=r, lora_alpha=2 * r, target_modules=list(targets),
                                                                 init_lora_weights=False))
    peft_model.peft_config["default"].base_model_name_or_path = base_model_id
    peft_model.save_pretrained(str(folder))
    return folder


def save_decide_run(model, runs_root, name, corpus, methods=("lora", "raft"), kept=None, questions=()):
    """A Decide run folder as the pipeline leaves it: run.json recording the adapters it trained (`kept` overrides
    a method's recorded folder, e.g. the reader it kept), an adapter per method, and qa/test.jsonl."""
    import json

    run = Path(runs_root) / name
    adapters = {m: str(save_random_adapter(model, run / "adapters" / m, seed=3 + i)) for i, m in enumerate(methods)}
    adapters.update(kept or {})
    (run / "qa").mkdir(parents=True, exist_ok=True)
    rows = [json.dumps({"question": q, "answer": "x"}) + "\n" for q in questions]
    (run / "qa" / "test.jsonl").write_text("".join(rows))
    (run / "run.json").write_text(json.dumps({"corpus": corpus, "state": {"adapters": adapters}}))
    return run


@pytest.fixture(scope="session")
def tiny_tokenizer():
    return make_tokenizer()


@pytest.fixture()
def tiny_model(tiny_tokenizer):
    return make_tiny_model(tiny_tokenizer)


@pytest.fixture()
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture()
def settings(tmp_path):
    from workbench.config import Settings

    return Settings(data_dir=str(tmp_path / "data"), lora_adapter="", raft_adapter="", max_new_tokens=8,
                    chunk_size=40, chunk_overlap=5)


@pytest.fixture()
def docs(tmp_path):
    folder = tmp_path / "docs"
    folder.mkdir()
    (folder / "travel.md").write_text(
        "# Travel\n## Per diems\nThe per diem for Lisbon is 62 euro per day.\n\n"
        "## Hotels\nHotels are capped at 140 euro per night in every city.\n"
    )
    (folder / "it.txt").write_text("The helpdesk extension is 4455. Passwords need 14 characters.\n")
    return folder


@pytest.fixture()
def store(settings, fake_embedder):
    from workbench.retrieval.store import VectorStore

    return VectorStore.open(settings, fake_embedder)


@pytest.fixture()
def workbench(settings, tiny_model, tiny_tokenizer, store, docs):
    """A Workbench over the tiny model and a small corpus named 'handbook'."""
    from workbench.engine import Workbench
    from workbench.retrieval.ingest import ingest

    ingest(store, "handbook", [docs], settings.chunk_size, settings.chunk_overlap)
    return Workbench(settings, tiny_model, tiny_tokenizer, store, model_id="tiny-llama")


@pytest.fixture()
def client(workbench):
    """The real app on the tiny workbench, launched on a free port and driven through gradio_client."""
    from gradio_client import Client

    from workbench.ui import build_app

    demo = build_app(workbench.settings, workbench).queue()
    _, url, _ = demo.launch(prevent_thread_lock=True, server_name="127.0.0.1", quiet=True)
    try:
        yield Client(url, verbose=False)
    finally:
        demo.close()


def pytest_configure(config):
    config.addinivalue_line("markers", "slow: loads the real embedded model (tens of seconds)")
    config.addinivalue_line("markers", "ui: launches the Gradio app")
    config.addinivalue_line("markers", "browser: drives the app in headless Chromium (Playwright)")
    config.addinivalue_line("markers", "space: the Hugging Face Space start-up path in a fresh venv (WORKBENCH_TEST_SPACE=1)")
    config.addinivalue_line("markers", "vllm: installs .venv-vllm and starts a real vLLM server (make test-vllm; "
                                       "excluded from make test)")
