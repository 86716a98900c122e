"""Settings for the workbench: one dataclass, a docstring under each field, env overrides.

Every field can be overridden with an environment variable named ``WORKBENCH_<FIELD>``
(e.g. ``WORKBENCH_MODEL``, ``WORKBENCH_DATA_DIR``, ``WORKBENCH_CHROMA_HOST``).
"""

from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass, field
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent


def _default_data_dir() -> str:
    # On a Hugging Face Space with persistent storage, /data survives restarts.
    return "/data/workbench" if Path("/data").is_dir() and os.access("/data", os.W_OK) else str(REPO_ROOT / "data")


def _parse_bool(raw: str) -> bool:
    # bool("false") is True, so booleans from the environment are spelled out.
    value = raw.strip().lower()
    if value in ("1", "true", "yes", "on"):
        return True
    if value in ("0", "false", "no", "off", ""):
        return False
    raise ValueError(raw)


@dataclass
class Settings:
    model: str = "smollm2-135m-instruct"
    """Base model: a name from models/catalog.json (embedded in a pip package), a local folder, or a hub id."""

    embedder: str = "all-minilm-l6-v2"
    """Sentence-transformers embedder: a catalog name, a local folder, or a hub id."""

    data_dir: str = field(default_factory=_default_data_dir)
    """Where the Chroma store, uploaded adapters and other state live."""

    corpus: str = "handbook"
    """Corpus the retrieval arms use by default (a shipped one under corpora/, or an ingested one)."""

    lora_adapter: str = "handbook-lora"
    """Adapter the lora column uses (a name in the adapter directories, or a folder path)."""

    raft_adapter: str = "auto"
    """Adapter the raft column uses; "auto": the corpus's own `<corpus>-raft` where one exists, else the general
    reader (models/adapters/reader)."""

    top_k: int = 3
    """Passages retrieved for the rag and raft arms."""

    rag_passages: int = 1
    """How many of them the rag arm reads, best first (0: all top_k). The embedded 135M model answers from one
    passage far better than from three (docs/fine-tuning-recipes.md, the rag prompt); raft's reader was trained to
    pick the right passage among distractors and reads all top_k."""

    max_new_tokens: int = 64
    """Maximum tokens generated per arm."""

    eval_batch: int = 8
    """Questions an evaluation (and Decide's) generates together: all their arms' rows decode in one batch, so each
    step reads the weights once for them all, with the same greedy answers; each question adds its rows' KV cache to
    the peak memory. 1: one question at a time. Measured: docs/benchmarks.md."""

    temperature: float = 0.0
    """0 means greedy decoding; above 0 samples with this temperature."""

    system_prompt: str = "You are a helpful assistant. Answer the question briefly and precisely."
    """System prompt given to every arm (used only when the model has a chat template)."""

    chunk_size: int = 200
    """Chunk size in embedder tokens when indexing a corpus."""

    chunk_overlap: int = 30
    """Overlap between consecutive chunks, in embedder tokens."""

    chroma_host: str = ""
    """When set, use a Chroma server at this host (HttpClient) instead of the on-disk store."""

    chroma_port: int = 8000
    """Port of the Chroma server (with chroma_host)."""

    max_upload_size: str = "100mb"
    """Largest file a browser may upload (Gradio's launch max_file_size): bytes, or e.g. '100mb'; '' for no limit."""

    zip_max_files: int = 2000
    """Most files one uploaded zip may hold (nested zips included)."""

    zip_max_bytes: int = 512 * 2**20
    """Most bytes one zip may unpack to (nested zips included)."""

    zip_max_ratio: float = 200.0
    """Highest uncompressed/compressed ratio of a zip or one of its entries (zip-bomb guard, judged above 1 MiB)."""

    zip_max_depth: int = 1
    """Levels of zip that are opened: 1 opens an uploaded zip but refuses zips inside it."""

    session_corpus_ttl: float = 3600.0
    """Seconds an uploaded corpus outlives its browser session before it is deleted (unless saved to the library)."""

    shared_library: bool = True
    """Let UI users save their corpora to the shared library (visible to all sessions, kept across restarts) and
    delete shared corpora there. Switch off on a public Space; the CLI can always write shared corpora."""

    shared_adapters: bool = False
    """Adapters uploaded or trained in the app go to the shared library (every session lists them, kept across
    restarts). Off (a public Space): each belongs to the session that made it, listed only there and removed with
    its corpora. The CLI always writes to the shared library."""

    max_new_tokens_cap: int = 512
    """Largest max_new_tokens any request (UI, API, evaluation) may ask for."""

    max_top_k: int = 20
    """Most passages any request may retrieve (top_k is refused above this)."""

    max_question_tokens: int = 512
    """Longest question, in tokens of the base model's tokenizer (0 = no limit); a longer one is refused before
    generation (16 characters per token are allowed before tokenising, so a huge question is refused without
    being tokenised)."""

    queue_max_size: int = 64
    """Most requests waiting in the app's queue; beyond it a user is told the app is busy and to try again."""

    ingest_concurrency: int = 2
    """Uploads ingested at the same time (each parses its files in its own worker process)."""

    ingest_waiting: int = 2
    """Large uploads that may wait for an ingest slot; one more is refused at once with "try again"."""

    ingest_small_bytes: int = 64 * 1024
    """Uploads up to this size are small: besides the ingest slots they have one of their own, so a crowd of large
    uploads never makes them wait long."""

    parse_timeout_s: float = 60.0
    """Seconds one uploaded file may take to parse before it is refused (the worker is killed)."""

    upload_parse_s: float = 120.0
    """Seconds all files of one upload may take to parse together; files left when they are spent are refused."""

    small_upload_parse_s: float = 10.0
    """The same for a small upload (ingest_small_bytes): its slot is never held longer."""

    qa_timeout_s: float = 300.0
    """Seconds Generate questions may run (in a parsing worker, under parse_memory_bytes) before it is stopped."""

    session_parse_s: float = 600.0
    """Seconds of parsing one browser session may use in an hour (0: no limit)."""

    client_parse_s: float = 1800.0
    """Seconds of parsing all the sessions from one client address may use in an hour, besides each session's own
    session_parse_s (0: no limit). What a client address is: trusted_proxies."""

    client_votes_per_minute: int = 30
    """Votes all the sessions from one client address may cast in a minute, besides each session's 10 (0: no
    limit)."""

    session_corpora: int = 10
    """Corpora one session may hold at once (0: no limit)."""

    client_corpora: int = 30
    """Session corpora all the sessions from one client address may hold at once, closed sessions' corpora included
    until they expire (0: no limit)."""

    session_adapters: int = 4
    """Adapters one session may upload or train and hold at once (0: no limit); with shared_adapters on, adapters go
    to the shared library and are not counted."""

    client_adapters: int = 12
    """Session adapters all the sessions from one client address may hold at once (0: no limit)."""

    trusted_proxies: int = 0
    """Reverse proxies in front of the app that each append the address they were reached from to X-Forwarded-For.
    0: a client is the address that connected (uvicorn already replaces a proxy's on this machine, 127.0.0.1, by the
    address it saw; FORWARDED_ALLOW_IPS), and X-Forwarded-For is ignored otherwise, as any client can send one; N:
    the N-th address from the end of X-Forwarded-For. The per-client limits count by this address (an IPv6 one by
    its /64)."""

    parse_memory_bytes: int = 2 * 2**30
    """Address-space limit of the parsing worker process (a file that needs more is refused)."""

    max_document_chars: int = 2_000_000
    """Most characters of text one uploaded file may yield (about 800 pages, ~2,200 chunks of 200 tokens, a few
    minutes of embedding on 2 CPU cores); larger files are refused with a message to split them."""

    upload_cache_ttl: int = 3600
    """Seconds Gradio keeps an uploaded file in its cache before deleting it (checked as often)."""

    adapter_max_rank: int = 256
    """Highest LoRA rank (r, and every rank_pattern value) an adapter may use."""

    adapter_max_bytes: int = 1 * 2**30
    """Most bytes an uploaded adapter may unpack to (config, weights and model card together)."""

    device: str = "auto"
    """'auto' (CUDA when present, else CPU), 'cpu' or 'cuda'."""

    dtype: str = "auto"
    """Weights' dtype: 'auto' (float16 on CUDA, float32 on CPU), 'float32', 'bfloat16' or 'float16'. On a CPU with
    native bf16 (AVX512-BF16/AMX) 'bfloat16' halves the bytes read per token but may change greedy answers."""

    threads: int = 0
    """CPU threads torch uses (torch.set_num_threads); 0 keeps torch's default (one per core)."""

    draft_tokens: int = 4
    """Greedy decoding on the in-process engine: how many tokens prompt lookup may draft per answer and step, all
    checked in one forward pass (workbench/generation.py); the answers stay the greedy ones. 0 turns it off."""

    yes_no_calibration: str = ""
    """Retrieval arms (comma-separated) whose answer to a yes/no question is weighed against the same prompt with a
    content-free passage, so the passages, not the model's lean, decide between yes and no (workbench/polar.py;
    in-process engine only), e.g. "raft". Off ("") by default: on the held-out corpora it did not reliably help
    (docs/fine-tuning-recipes.md, scripts/yes_no_goal.py). Without it, an adapter that carries a threshold
    (yes_no.json, the shipped reader) answers by that."""

    pack_weights: str = "auto"
    """On a CPU, which Linear layers keep their weights in oneDNN's packed layout (workbench/packed.py), in the
    same dtype: 'auto' each group of same-shaped layers where that layout multiplied faster when timed at load,
    'all', or 'none' (plain nn.Linear layers). Which layers gain on which CPUs: docs/benchmarks.md."""

    server_name: str = "127.0.0.1"
    """Address the Gradio app listens on (0.0.0.0 on a Space)."""

    server_port: int = 7860
    """Port the Gradio app listens on."""

    backend: str = "in-process"
    """Who generates: 'in-process' (this process, transformers + peft) or 'openai' (an OpenAI-compatible server,
    e.g. vLLM with --enable-lora; the base weights are then not loaded here for generation)."""

    openai_base_url: str = "http://127.0.0.1:8000/v1"
    """Base URL of the OpenAI-compatible server (backend 'openai'); `make vllm` starts one here."""

    openai_api_key: str = ""
    """Bearer token for that server, if it wants one (vLLM --api-key)."""

    openai_model: str = ""
    """Served name of the base model; empty: the one model the server lists without a parent."""

    openai_timeout: float = 600.0
    """Seconds to wait for the server's next streamed token before the column reports an error."""

    concurrency: int = 0
    """Comparisons and evaluations the app runs at once; 0: per backend (1 in-process, where one batch already
    holds the four arms; 16 openai, where the server batches many users' requests together)."""

    train_in_worker: bool = True
    """Train in a worker process that loads its own copy of the base and exits when done, so the memory a training
    takes goes back to the operating system (workbench/training/worker.py); False trains in the app's process."""

    max_eval_rows: int = 1000
    """Most questions one evaluation request (UI or API) may run; a larger set is refused with a message to set a
    limit or split the file (the CLI has no bound)."""

    @property
    def data_path(self) -> Path:
        return Path(self.data_dir)

    @property
    def adapter_dirs(self) -> list[Path]:
        """Shipped adapters first, then adapters saved or uploaded by users."""
        return [REPO_ROOT / "models" / "adapters", self.data_path / "adapters"]

    @classmethod
    def from_env(cls, environ: dict[str, str] | None = None, **overrides) -> "Settings":
        """Defaults, then WORKBENCH_* environment variables, then explicit keyword overrides."""
        environ = os.environ if environ is None else environ
        values = {}
        for f in dataclasses.fields(cls):
            raw = environ.get(f"WORKBENCH_{f.name.upper()}")
            if raw is None:
                continue
            kind = type(f.default) if f.default is not dataclasses.MISSING else str
            try:
                values[f.name] = _parse_bool(raw) if kind is bool else kind(raw)
            except ValueError:
                raise ValueError(f"WORKBENCH_{f.name.upper()}={raw!r} is not a valid {kind.__name__}") from None
        values.update({k: v for k, v in overrides.items() if v is not None})
        return cls(**values)
