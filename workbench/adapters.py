"""LoRA adapters: find them by name or path, validate them against the loaded base, list them.

Only ``adapter_model.safetensors`` is accepted. Pickle files (``.bin``, ``.pt``) are refused and never
opened, and no model is ever built from an uploaded config: the adapter is checked tensor by tensor
against the base model that is already loaded.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path

from .models import ModelError

CONFIG_FILE = "adapter_config.json"
WEIGHTS_FILE = "adapter_model.safetensors"
PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".pkl", ".ckpt")
_TENSOR_KEY = re.compile(r"^(?:base_model\.model\.)?(?P<module>.+?)\.(?P<part>lora_[AB]|lora_embedding_[AB])(?:\.[^.]+)?\.weight$")


class AdapterError(ModelError):
    """An adapter that cannot be loaded; the message says why and what to do."""


@dataclass
class AdapterInfo:
    name: str
    path: Path
    base_model: str
    rank: int
    target_modules: list[str]


def list_adapters(dirs: list[Path]) -> dict[str, Path]:
    """Adapter folders by name; later directories (user adapters) override earlier ones (shipped)."""
    found: dict[str, Path] = {}
    for root in dirs:
        if root.is_dir():
            for folder in sorted(p for p in root.iterdir() if (p / CONFIG_FILE).is_file()):
                found[folder.name] = folder
    return found


def find_adapter(name_or_path: str, dirs: list[Path]) -> Path:
    """A folder path, or the name of an adapter in one of the adapter directories."""
    path = Path(name_or_path).expanduser()
    if path.is_dir():
        return path
    known = list_adapters(dirs)
    if name_or_path in known:
        return known[name_or_path]
    names = ", ".join(known) or "none yet"
    raise AdapterError(f"no adapter {name_or_path!r}: not a folder and not a known adapter (known: {names})")


def same_model(a: str, b: str) -> bool:
    """Compare model ids loosely: 'HuggingFaceTB/SmolLM2-135M-Instruct' == '.../smollm2-135m-instruct'."""
    norm = lambda s: Path(str(s).rstrip("/")).name.lower()  # noqa: E731
    return norm(a) == norm(b)


def read_config(folder: Path) -> dict:
    """adapter_config.json, after refusing folders that only hold pickle weights."""
    if not (folder / WEIGHTS_FILE).is_file():
        pickles = [p.name for p in folder.iterdir() if p.suffix in PICKLE_SUFFIXES] if folder.is_dir() else []
        if pickles:
            raise AdapterError(
                f"{folder.name}: {pickles[0]} is a pickle file, which can run arbitrary code when loaded; "
                f"only {WEIGHTS_FILE} is accepted (convert with peft: save_pretrained(..., safe_serialization=True))"
            )
        raise AdapterError(f"{folder.name}: {WEIGHTS_FILE} is missing")
    try:
        config = json.loads((folder / CONFIG_FILE).read_text())
    except FileNotFoundError:
        raise AdapterError(f"{folder.name}: {CONFIG_FILE} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AdapterError(f"{folder.name}: {CONFIG_FILE} is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("peft_type", "LORA") != "LORA":
        raise AdapterError(f"{folder.name}: only LoRA adapters are supported (peft_type is {config.get('peft_type')!r})")
    return config


def validate(folder: Path, base_model_id: str, module_shapes: dict[str, tuple[int, int]],
             allow_foreign: bool = False) -> AdapterInfo:
    """Check an adapter against the loaded base without loading it into the model.

    module_shapes maps each nn.Linear of the base to (in_features, out_features).
    """
    from safetensors import SafetensorError, safe_open

    config = read_config(folder)
    base = config.get("base_model_name_or_path") or ""
    if base and not same_model(base, base_model_id) and not allow_foreign:
        raise AdapterError(
            f"{folder.name} was trained for {base}, the loaded base is {base_model_id}; "
            "choose 'load anyway' to try it (shapes must still match)"
        )
    targets = config.get("target_modules") or []
    targets = [targets] if isinstance(targets, str) else list(targets)
    suffixes = {name.rsplit(".", 1)[-1] for name in module_shapes}
    missing = [t for t in targets if t not in suffixes and not any(n.endswith("." + t) for n in module_shapes)]
    if missing and not isinstance(config.get("target_modules"), str):
        raise AdapterError(f"{folder.name}: target modules {missing} do not exist in {base_model_id}")
    try:
        with safe_open(str(folder / WEIGHTS_FILE), framework="pt") as f:
            shapes = {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise AdapterError(f"{folder.name}: {WEIGHTS_FILE} is not a readable safetensors file ({exc})") from None
    if not shapes:
        raise AdapterError(f"{folder.name}: {WEIGHTS_FILE} holds no tensors")
    rank = int(config.get("r", 0))
    for key, shape in shapes.items():
        match = _TENSOR_KEY.match(key)
        module = match and match["module"]
        if module not in module_shapes:
            raise AdapterError(f"{folder.name}: tensor {key} maps to no module of {base_model_id}")
        in_f, out_f = module_shapes[module]
        expected = (rank, in_f) if match["part"] == "lora_A" else (out_f, rank)
        if match["part"].startswith("lora_") and "embedding" not in match["part"] and tuple(shape) != expected:
            raise AdapterError(
                f"{folder.name}: tensor {key} has shape {list(shape)}, the base needs {list(expected)} "
                "(the adapter was trained for a model of another size)"
            )
    return AdapterInfo(folder.name, folder, base, rank, targets)
