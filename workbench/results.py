"""Result objects: small dataclasses that the UI, CLI and evaluation only format.

The CLI's ``--json`` output and the ``compare`` API endpoint are ``dataclasses.asdict`` of these.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field


@dataclass
class Passage:
    """One retrieved chunk."""

    text: str
    source: str
    score: float
    """Cosine similarity between question and chunk embeddings (higher is closer)."""
    chunk_id: str


@dataclass
class Metrics:
    """Latency and memory of one arm. Times are wall-clock milliseconds."""

    retrieval_ms: float = 0.0
    ttft_ms: float = 0.0
    """Time to first token: retrieval plus the time from the start of generation to this arm's first new token
    (the prefills of shorter prompts run before this arm's own)."""
    prefill_ms: float = 0.0
    """This arm's own prefill: the forward pass over its prompt that yields its first token."""
    total_ms: float = 0.0
    """Retrieval plus generation until this arm's last token."""
    compute_ms: float = 0.0
    """This arm's own cost: retrieval, its own prefill and its share of the batched decode steps (each step's time
    split evenly among the rows in it). What the arm costs per query however many rows share the batch; the
    evaluation reports this rather than the batch's wall-clock times. 0 when the backend cannot tell (a server)."""
    prompt_tokens: int = 0
    output_tokens: int = 0
    tokens_per_s: float = 0.0
    """Decode rate: (output_tokens - 1) / (time of the last token - time of the first token); 0 with < 2 tokens.
    The prefill is not in it (see ttft_ms and prefill_ms)."""
    peak_memory_bytes: int = 0
    memory_kind: str = ""
    """'cuda_peak_allocated' (torch.cuda.max_memory_allocated) or 'cpu_peak_rss' (process peak RSS)."""


@dataclass
class ArmResult:
    arm: str
    answer: str = ""
    passages: list[Passage] = field(default_factory=list)
    prompt: str = ""
    metrics: Metrics = field(default_factory=Metrics)
    adapter: str | None = None
    error: str | None = None
    """Set when the arm could not run (e.g. no adapter available); the other arms still run."""
    done: bool = False


@dataclass
class Comparison:
    question: str
    model: str
    arms: list[ArmResult]

    def to_dict(self) -> dict:
        return asdict(self)
