"""LoRA adapters: find them by name or path, validate them against the loaded base, list them.

Only ``adapter_model.safetensors`` is accepted. Pickle files (``.bin``, ``.pt``) are refused and never
opened, and no model is ever built from an uploaded config: the adapter is checked tensor by tensor
against the base model that is already loaded. The config is checked before peft sees it: target modules
must be a list of module names of the base (a string would be a regular expression to peft), ranks are
capped (``r``, ``rank_pattern``), and options that make peft run regexes or change the base are refused.
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
MAX_CONFIG_BYTES = 64 * 1024
"""adapter_config.json is a few KiB; a larger one is refused unread."""
REFUSED_OPTIONS = ("layer_replication", "layers_pattern", "target_parameters", "trainable_token_indices",
                   "megatron_config", "use_qalora", "arrow_config", "alora_invocation_tokens")
"""Config options that build new layers, run an uploaded regex, or need code paths the app never uses."""
_PLAIN_NAME = re.compile(r"^[A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*$")
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


def _folders(root: Path) -> list[Path]:
    """Adapter folders directly in `root`. Hidden folders are uploads and trainings still in progress (see
    install_adapter, training.jobs)."""
    if not root.is_dir():
        return []
    return sorted(p for p in root.iterdir() if not p.name.startswith(".") and (p / CONFIG_FILE).is_file())


def list_adapters(dirs: list[Path]) -> dict[str, Path]:
    """Adapter folders by name; an earlier directory wins (the shipped adapters: no upload or training shadows the
    adapter behind everyone's default columns). Sessions' own adapters (in the last directory's sessions/ folder)
    are listed under their owned names, ``session--<id>--<name>``; `visible_to` keeps one session's. The adapters
    Decide runs kept follow, as ``<corpus>-<method>@<run>`` (`decide_adapters`)."""
    found: dict[str, Path] = {}
    for root in dirs:
        for folder in _folders(Path(root)):
            found.setdefault(folder.name, folder)
    if dirs:
        sessions = Path(dirs[-1]) / SESSIONS_DIR
        for sid_folder in sorted(sessions.iterdir()) if sessions.is_dir() else []:
            if _SID.match(sid_folder.name):
                for folder in _folders(sid_folder):
                    found.setdefault(owned_name(sid_folder.name, folder.name), folder)
        for name, folder in decide_adapters(decide_runs(dirs)).items():
            found.setdefault(name, folder)
    return found


# --- adapters owned by a browser session ----------------------------------------------------------------
SESSION_PREFIX = "session--"
"""An adapter uploaded or trained in a session is named ``session--<session id>--<name>`` (as its corpora are);
only that session lists it or may name it, and its folder is removed when the session's corpora are."""
SESSIONS_DIR = "sessions"
"""Folder under the user adapter directory that holds one folder of adapters per session id."""
_SID = re.compile(r"^[0-9a-f]{8,64}$")


def owned_name(sid: str, name: str) -> str:
    return f"{SESSION_PREFIX}{sid}--{name}"


def split_owned(name: str) -> tuple[str, str] | None:
    """(session id, name) of an owned name, else None."""
    if not isinstance(name, str) or not name.startswith(SESSION_PREFIX):
        return None
    sid, _, plain = name[len(SESSION_PREFIX):].partition("--")
    return (sid, plain) if _SID.match(sid) and plain else None


def display_adapter(name: str) -> str:
    """The name a person gave an adapter (an owned name without its session prefix)."""
    owned = split_owned(name)
    return owned[1] if owned else name


def adapter_folder(user_root: Path, sid: str | None, name: str) -> Path:
    """Where the adapter `name` of session `sid` lives (sid None: the shared library, user_root/name)."""
    if not sid:
        return Path(user_root) / name
    if not _SID.match(sid):
        raise AdapterError("invalid session id")
    return Path(user_root) / SESSIONS_DIR / sid / name


def visible_to(names, sid: str | None) -> list[str]:
    """The adapter names a session may see and name: the shared ones and its own (owned names)."""
    mine = owned_name(sid, "") if sid else None
    return [n for n in names if not n.startswith(SESSION_PREFIX) or (mine and n.startswith(mine))]


def for_session(value, names, sid: str | None):
    """A session names its own adapter plainly ("mine") or by its owned name; both give the owned name."""
    if sid and isinstance(value, str) and value and owned_name(sid, value) in names:
        return owned_name(sid, value)
    return value


def taken_names(dirs: list[Path]) -> set[str]:
    """Names no new adapter may take: the shipped ones and the sessions folder."""
    return reserved_names(dirs) | {SESSIONS_DIR}


def name_in_use(user_root: Path, sid: str | None, name: str) -> bool:
    """True when session `sid` already has an adapter `name`, or the shared library has (no upload shadows it)."""
    return adapter_folder(user_root, None, name).exists() or adapter_folder(user_root, sid, name).exists()


def served_name(folder: Path) -> str:
    """The name an adapter folder is listed under: its owned name inside a session's folder, its Decide name inside
    a Decide run (every run's is called lora or raft), else its own."""
    folder = Path(folder)
    sid = folder.parent.name
    if folder.parent.parent.name == SESSIONS_DIR and _SID.match(sid):
        return owned_name(sid, folder.name)
    run = _decide_run(folder.parent.parent / "run.json") if folder.parent.name == "adapters" else None
    return decide_name(run[0], folder.name, folder.parent.parent.name) if run and folder.name in run[1] else folder.name


# --- adapters of Decide runs ------------------------------------------------------------------------------
DECIDE_RUNS = "decide"
"""Decide keeps its runs in the data directory's decide/ folder (ui/decide.py's runs_root), beside the user adapter
directory; a finished lora or raft stage leaves its adapter in <run>/adapters/<method> and records it in run.json."""
DECIDE_MARK = "@"
"""Separates a Decide adapter's `<corpus>-<method>` from its run; no name a user gives may contain it."""
_RUN_STAMP = re.compile(r"^\d{8}-\d{6}")


def decide_runs(dirs: list[Path]) -> Path:
    """The folder of Decide's runs for these adapter directories: the user adapter directory's sibling."""
    return Path(dirs[-1]).parent / DECIDE_RUNS


def decide_name(corpus: str, method: str, run: str) -> str:
    """``<corpus>-<method>@<run's time stamp>`` (the run folder's name when it has no stamp). A session corpus's
    name keeps its session prefix, so only that session sees its Decide adapters (`visible_to`)."""
    stamp = _RUN_STAMP.match(run)
    return f"{corpus}-{method}{DECIDE_MARK}{stamp.group() if stamp else run}"


def _decide_run(record: Path) -> tuple[str, dict[str, str]] | None:
    """(corpus, method -> recorded adapter folder) of a Decide run.json; None for an unreadable record."""
    try:
        data = json.loads(record.read_text())
        adapters = data.get("state", {}).get("adapters", {})
        return str(data["corpus"]), {str(k): str(v) for k, v in adapters.items()}
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return None


def decide_adapters(runs_root: Path) -> dict[str, Path]:
    """The adapters Decide runs under `runs_root` trained and kept, by `decide_name`, oldest run first. A raft
    stage that kept the general reader (it read better) adds none: the reader is listed as itself."""
    found: dict[str, Path] = {}
    root = Path(runs_root)
    for record in sorted(root.glob("*/run.json")) if root.is_dir() else []:
        run = _decide_run(record)
        for method, recorded in (run[1] if run else {}).items():
            folder = record.parent / "adapters" / method
            kept = Path(recorded).parts[-3:] == (record.parent.name, "adapters", method)  # not the reader
            if kept and (folder / CONFIG_FILE).is_file():
                found[decide_name(run[0], method, record.parent.name)] = folder
    return found


def session_folder(user_root: Path, sid: str) -> Path:
    """The folder that holds session `sid`'s adapters (AdapterError for an id the server never makes)."""
    if not _SID.match(sid or ""):
        raise AdapterError("invalid session id")
    return Path(user_root) / SESSIONS_DIR / sid


def session_adapters(user_root: Path, sid: str) -> list[Path]:
    """The adapter folders session `sid` has (none for an id the server never makes)."""
    return _folders(Path(user_root) / SESSIONS_DIR / sid) if _SID.match(sid or "") else []


def remove_session_adapters(user_root: Path, sid: str) -> bool:
    """Delete a session's adapters (when its corpora expire); True when there were any."""
    import shutil

    if not _SID.match(sid or "") or not (folder := session_folder(user_root, sid)).is_dir():
        return False
    shutil.rmtree(folder, ignore_errors=True)
    return True


def session_ids(user_root: Path) -> list[str]:
    """Sessions that have adapters on disk (at start-up: those of a previous run)."""
    sessions = Path(user_root) / SESSIONS_DIR
    return sorted(p.name for p in sessions.iterdir() if _SID.match(p.name)) if sessions.is_dir() else []


AUTO = "auto"
"""An adapter column's setting that follows the corpus: its own adapter (`<corpus>-lora` or `<corpus>-raft` as
named in Train, else the latest Decide run's), else for the raft column the general reader (models/adapters/reader)."""
READER = "reader"
"""The shipped general reader: trained to read passages of any corpus (models/adapters/reader/README.md)."""


def own_adapter(column: str, corpus: str, names: list[str]) -> str:
    """The corpus's own adapter for a column ("lora" or "raft"): `<corpus>-<column>`, else the one of the latest
    Decide run on the corpus; "" when it has none."""
    own = f"{corpus}-{column}"
    if own in names:
        return own
    decided = sorted(n for n in names if n.startswith(own + DECIDE_MARK))
    return decided[-1] if decided else ""


def auto_adapter(column: str, corpus: str, names: list[str]) -> str:
    """The adapter AUTO means for a column on a corpus: its own (`own_adapter`), else for raft the reader; "" when
    none fits (a closed-book lora adapter only fits the corpus it was trained on)."""
    own = own_adapter(column, corpus, names)
    if own:
        return own
    return READER if column == "raft" and READER in names else ""


def trained_on(name: str, folder: Path | None, corpora: list[str]) -> str:
    """The corpus an adapter was trained for, as far as it says: its model card's corpus or its training data's
    corpora/<name>/ folder, else its name (`<corpus>-lora`, `<corpus>-raft`, a Decide name) when that corpus is
    in `corpora`; "" when unknown (e.g. the reader, trained on many)."""
    card = Path(folder) / "README.md" if folder else None
    try:
        text = card.read_text(errors="replace")[:MAX_CONFIG_BYTES] if card and card.is_file() else ""
    except OSError:
        text = ""
    found = re.search(r"^- Method: .*?corpus `([^`]+)`", text, re.M) or re.search(
        r"^- Training data: `corpora/([^/`]+)/", text, re.M)
    if found:
        return found.group(1)
    stem = name.split(DECIDE_MARK, 1)[0]
    for column in ("lora", "raft"):
        if stem.endswith(f"-{column}") and stem.removesuffix(f"-{column}") in corpora:
            return stem.removesuffix(f"-{column}")
    return ""


def find_adapter(name_or_path: str, dirs: list[Path], allow_paths: bool = True) -> Path:
    """The adapter of that name in the adapter directories, else (when `allow_paths`, e.g. the CLI) a folder path.

    Without `allow_paths` (requests from the UI and API) the file system is never consulted with the value,
    and the message is the same for every unknown value, so it tells nothing about the server's folders.
    """
    known = list_adapters(dirs)
    if name_or_path in known:
        return known[name_or_path]
    known = {n: p for n, p in known.items() if not n.startswith(SESSION_PREFIX)}  # never listed to others
    if allow_paths:
        path = Path(name_or_path).expanduser()
        if path.is_dir():
            return path
    names = ", ".join(known) or "none yet"
    what = "not a folder and not a known adapter" if allow_paths else "not an installed adapter"
    raise AdapterError(f"no adapter {str(name_or_path)[:64]!r}: {what} (known: {names})")


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
        if (folder / CONFIG_FILE).stat().st_size > MAX_CONFIG_BYTES:
            raise AdapterError(f"{folder.name}: {CONFIG_FILE} is larger than {MAX_CONFIG_BYTES // 1024} KiB; "
                               "a LoRA config is a few KiB")
        config = json.loads((folder / CONFIG_FILE).read_text())
    except FileNotFoundError:
        raise AdapterError(f"{folder.name}: {CONFIG_FILE} is missing") from None
    except (json.JSONDecodeError, UnicodeDecodeError) as exc:
        raise AdapterError(f"{folder.name}: {CONFIG_FILE} is not valid JSON ({exc})") from None
    if not isinstance(config, dict) or config.get("peft_type", "LORA") != "LORA":
        raise AdapterError(f"{folder.name}: only LoRA adapters are supported (peft_type is {config.get('peft_type')!r})")
    return config


def _plain_names(value, what: str, folder: Path) -> list[str]:
    """A list of plain module names; a string (a regex to peft) or names with regex syntax are refused."""
    if isinstance(value, str):
        raise AdapterError(f"{folder.name}: {what} is a string, which peft treats as a regular expression; "
                           'list the module names instead, e.g. ["q_proj", "v_proj"]')
    if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and _PLAIN_NAME.match(v) for v in value):
        raise AdapterError(f"{folder.name}: {what} must be a list of module names such as \"q_proj\"")
    return list(value)


def _rank(value, what: str, folder: Path, max_rank: int, integer: bool = True) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or value != value or abs(value) == float("inf"):
        raise AdapterError(f"{folder.name}: {what} must be a number, got {value!r}")
    if integer and (value != int(value) or not 1 <= value <= max_rank):
        raise AdapterError(f"{folder.name}: {what} is {value}; ranks from 1 to {max_rank} are accepted")
    if not integer and abs(value) > 1e6:
        raise AdapterError(f"{folder.name}: {what} is {value}; use a value below 1e6")
    return value


def check_config(config: dict, folder: Path, suffixes: set[str], max_rank: int) -> dict[str, int]:
    """Refuse what would make peft run an uploaded regex, allocate unbounded memory or change the base.

    Returns rank_pattern (module name -> rank) after checking it.
    """
    _rank(config.get("r", 8), "r", folder, max_rank)
    _rank(config.get("lora_alpha", 8), "lora_alpha", folder, max_rank, integer=False)
    patterns = {}
    for key in ("rank_pattern", "alpha_pattern"):
        value = config.get(key) or {}
        if not isinstance(value, dict):
            raise AdapterError(f"{folder.name}: {key} must be an object of module name -> number")
        _plain_names(list(value), f"the keys of {key}", folder)
        for name, number in value.items():
            _rank(number, f"{key}[{name!r}]", folder, max_rank, integer=key == "rank_pattern")
        if key == "rank_pattern":
            patterns = {name: int(number) for name, number in value.items()}
    if config.get("exclude_modules"):
        _plain_names(config["exclude_modules"], "exclude_modules", folder)
    for key in REFUSED_OPTIONS:
        if config.get(key) not in (None, [], {}, False):
            raise AdapterError(f"{folder.name}: {key} is not supported for uploaded adapters; retrain without it")
    if config.get("init_lora_weights", True) not in (True, False, "gaussian"):
        raise AdapterError(f"{folder.name}: init_lora_weights={config['init_lora_weights']!r} would change the base "
                           "weights when loaded; only true, false or \"gaussian\" are accepted")
    return patterns


def _rank_for(module: str, rank: int, patterns: dict[str, int]) -> int:
    """The rank peft gives `module`: its rank_pattern entry (matched as a name suffix), else r."""
    for key, value in patterns.items():
        if module == key or module.endswith("." + key):
            return value
    return rank


def validate(folder: Path, base_model_id: str, module_shapes: dict[str, tuple[int, int]],
             allow_foreign: bool = False, max_rank: int = 256) -> AdapterInfo:
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
    suffixes = {name.rsplit(".", 1)[-1] for name in module_shapes}
    targets = _plain_names(config.get("target_modules") or [], "target_modules", folder)
    missing = [t for t in targets if t not in suffixes and t not in module_shapes]
    if missing:
        raise AdapterError(f"{folder.name}: target modules {missing} do not exist in {base_model_id}")
    patterns = check_config(config, folder, suffixes, max_rank)
    try:
        with safe_open(str(folder / WEIGHTS_FILE), framework="pt") as f:
            shapes = {key: tuple(f.get_slice(key).get_shape()) for key in f.keys()}
    except (SafetensorError, OSError, ValueError) as exc:
        raise AdapterError(f"{folder.name}: {WEIGHTS_FILE} is not a readable safetensors file ({exc})") from None
    if not shapes:
        raise AdapterError(f"{folder.name}: {WEIGHTS_FILE} holds no tensors")
    rank = int(config.get("r", 8))
    for key, shape in shapes.items():
        match = _TENSOR_KEY.match(key)
        module = match and match["module"]
        if module not in module_shapes:
            raise AdapterError(f"{folder.name}: tensor {key} maps to no module of {base_model_id}")
        in_f, out_f = module_shapes[module]
        module_rank = _rank_for(module, rank, patterns)
        expected = (module_rank, in_f) if match["part"] == "lora_A" else (out_f, module_rank)
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


def check_adapter_name(name: str, reserved: set[str] | frozenset[str] = frozenset()) -> str:
    """A name for a new adapter: plain, and not `auto` or a shipped adapter's (`reserved`)."""
    if not ADAPTER_NAME.match(name or "") or ".." in name:
        raise AdapterError(f"invalid adapter name {name!r}: use 1-64 letters, digits, '.', '_' or '-'")
    if name == AUTO or name in reserved:
        raise AdapterError(f"the adapter name {name!r} is reserved (a shipped adapter or 'auto'); choose another name")
    return name


def reserved_names(dirs: list[Path]) -> set[str]:
    """Names no upload or training may take: the shipped adapters (the first adapter directory)."""
    return set(list_adapters(dirs[:1]))


@dataclass
class Installed:
    """An installed upload: its folder, and the uploaded files that were not installed (with why)."""

    path: Path
    dropped: list[str]


def _accepted(name: str) -> str | None:
    """The accepted file an uploaded name stands for (Gradio may prefix temp names), or None."""
    return next((a for a in ACCEPTED if name == a or name.endswith(a)), None)


def _drop_reason(name: str) -> str:
    if Path(name).suffix.lower() in PICKLE_SUFFIXES:
        return f"{name} (pickle, never opened)"
    return f"{name} (not part of a LoRA adapter)"


def _copy_upload(files: list[Path], into: Path, max_bytes: int) -> list[str]:
    """Copy the adapter files of an upload (loose files or zips) into `into`; returns what was dropped.

    Only adapter_config.json, adapter_model.safetensors and README.md are written; zips are size- and
    ratio-checked from their directory (like corpus zips) before anything is unpacked.
    """
    import shutil
    import zipfile

    from .retrieval.archive import ArchiveError, ArchiveLimits, check_sizes

    dropped: list[str] = []
    budget = max_bytes

    def take(name: str, size: int) -> str | None:
        nonlocal budget
        target = _accepted(name)
        if target is None:
            dropped.append(_drop_reason(name))
            return None
        if (into / target).exists():
            raise AdapterError(f"the upload holds {target} twice; upload one adapter at a time")
        limit = MAX_CONFIG_BYTES if target == CONFIG_FILE else budget
        if size > limit:
            raise AdapterError(f"{name} is {size / 2**20:.1f} MB; the limit is {limit / 2**20:.2f} MB")
        budget -= size
        return target

    for f in map(Path, files):
        if f.suffix.lower() == ".zip":
            try:
                with zipfile.ZipFile(f) as z:
                    infos = [i for i in z.infolist() if not i.is_dir()]
                    check_sizes(infos, ArchiveLimits(max_files=50, max_bytes=max_bytes))
                    for info in infos:
                        target = take(Path(info.filename).name, info.file_size)
                        if target:  # zipfile never reads past the declared size (and checks the CRC)
                            with z.open(info) as src, open(into / target, "wb") as dst:
                                shutil.copyfileobj(src, dst)
            except AdapterError:
                raise
            except ArchiveError as exc:
                raise AdapterError(f"{f.name}: {exc}") from None
            except (zipfile.BadZipFile, zipfile.LargeZipFile, EOFError, NotImplementedError, ValueError):
                raise AdapterError(f"{f.name} is not a valid zip archive") from None
        else:
            target = take(f.name, f.stat().st_size)
            if target:
                shutil.copyfile(f, into / target)
    if not (into / WEIGHTS_FILE).is_file():
        pickles = [d for d in dropped if "pickle" in d]
        if pickles:
            raise AdapterError(f"{pickles[0].split(' (')[0]} is a pickle file, which can run arbitrary code when "
                               f"loaded; only {WEIGHTS_FILE} is accepted")
        raise AdapterError(f"expected {CONFIG_FILE} and {WEIGHTS_FILE} (loose or in a .zip); "
                           f"got {', '.join(Path(f).name for f in files)}")
    return dropped


def install_adapter(files: list[Path], name: str, root: Path, base_model_id: str,
                    module_shapes: dict[str, tuple[int, int]], allow_foreign: bool = False,
                    max_rank: int = 256, max_bytes: int = MAX_ADAPTER_BYTES,
                    reserved: set[str] | frozenset[str] = frozenset(), sid: str | None = None) -> Installed:
    """Validate an uploaded adapter and store it as root/name (session `sid`'s: see adapter_folder). A failed
    upload leaves nothing behind."""
    import shutil
    import tempfile

    check_adapter_name(name, reserved)
    target = adapter_folder(root, sid, name)
    if name_in_use(root, sid, name):
        raise AdapterError(f"an adapter named {name!r} already exists; choose another name")
    if not files:
        raise AdapterError("no files were uploaded")
    root = target.parent
    Path(root).mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=".upload-", dir=root))
    try:
        dropped = _copy_upload(files, staging, max_bytes)
        validate(staging, base_model_id, module_shapes, allow_foreign, max_rank)
        if allow_foreign:
            (staging / SETTINGS_FILE).write_text(json.dumps({"allow_foreign": True}))
        staging.rename(target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return Installed(target, dropped)


def allows_foreign(folder: Path) -> bool:
    """True when the user chose 'load anyway' for this adapter when uploading it."""
    try:
        return bool(json.loads((Path(folder) / SETTINGS_FILE).read_text()).get("allow_foreign"))
    except (OSError, ValueError):
        return False
