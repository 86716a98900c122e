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


# --- installing uploaded adapters ---------------------------------------------------------------------
ADAPTER_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$")
ACCEPTED = (CONFIG_FILE, WEIGHTS_FILE, "README.md")
MAX_ADAPTER_BYTES = 2 * 2**30
SETTINGS_FILE = "workbench.json"
"""Written beside an adapter the user chose to 'load anyway' for a foreign base."""


def check_adapter_name(name: str) -> str:
    if not ADAPTER_NAME.match(name or "") or ".." in name:
        raise AdapterError(f"invalid adapter name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    return name


def _copy_upload(files: list[Path], into: Path) -> None:
    """Copy the accepted files of an upload (loose files or one zip) into `into`, refusing pickles."""
    import shutil
    import zipfile

    for f in map(Path, files):
        if f.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(f) as z:
                    for info in z.infolist():
                        base = Path(info.filename).name
                        if info.is_dir() or base not in ACCEPTED:
                            if Path(base).suffix.lower() in PICKLE_SUFFIXES:
                                raise AdapterError(f"{base} is a pickle file, which can run arbitrary code when loaded; "
                                                   f"only {WEIGHTS_FILE} is accepted")
                            continue
                        if info.file_size > MAX_ADAPTER_BYTES:
                            raise AdapterError(f"{base} is larger than {MAX_ADAPTER_BYTES // 2**30} GiB uncompressed")
                        with z.open(info) as src, open(into / base, "wb") as dst:
                            shutil.copyfileobj(src, dst)
            except zipfile.BadZipFile:
                raise AdapterError(f"{f.name} is not a valid zip archive") from None
        elif f.name.endswith(ACCEPTED) or f.suffix.lower() in PICKLE_SUFFIXES:
            target = next((a for a in ACCEPTED if f.name.endswith(a)), f.name)  # Gradio may prefix temp names
            shutil.copyfile(f, into / target)
        else:
            raise AdapterError(f"{f.name}: expected {CONFIG_FILE}, {WEIGHTS_FILE} or a .zip holding them")


def install_adapter(files: list[Path], name: str, root: Path, base_model_id: str,
                    module_shapes: dict[str, tuple[int, int]], allow_foreign: bool = False) -> Path:
    """Validate an uploaded adapter and store it as root/name. A failed upload leaves nothing behind."""
    import shutil
    import tempfile

    check_adapter_name(name)
    target = Path(root) / name
    if target.exists():
        raise AdapterError(f"an adapter named {name!r} already exists; choose another name")
    if not files:
        raise AdapterError("no files were uploaded")
    Path(root).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=root))
    try:
        _copy_upload(files, staging)
        validate(staging, base_model_id, module_shapes, allow_foreign)
        if allow_foreign:
            (staging / SETTINGS_FILE).write_text(json.dumps({"allow_foreign": True}))
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def allows_foreign(folder: Path) -> bool:
    """True when the user chose 'load anyway' for this adapter when uploading it."""
    try:
        return bool(json.loads((Path(folder) / SETTINGS_FILE).read_text()).get("allow_foreign"))
    except (OSError, ValueError):
        return False
