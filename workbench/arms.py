"""The four arms as data, and the one prompt builder that inference and training share.

An arm is (name, uses retrieval?, which adapter setting, how many passages it reads). Adding an arm is adding a
row to ARMS.
"""

from __future__ import annotations

from dataclasses import dataclass

from .results import Passage


@dataclass(frozen=True)
class Arm:
    name: str
    retrieval: bool
    adapter_setting: str | None
    """Name of the Settings field that picks this arm's adapter, or None for the bare base model."""
    label: str
    passages_setting: str | None = None
    """Name of the Settings field that caps how many of the retrieved passages this arm reads (None: all top_k)."""


ARMS: dict[str, Arm] = {
    arm.name: arm
    for arm in [
        Arm("base", retrieval=False, adapter_setting=None, label="Base model, closed book"),
        Arm("rag", retrieval=True, adapter_setting=None, label="Base model + retrieved passages",
            passages_setting="rag_passages"),
        Arm("lora", retrieval=False, adapter_setting="lora_adapter", label="LoRA fine-tune, closed book"),
        Arm("raft", retrieval=True, adapter_setting="raft_adapter", label="LoRA (RAFT) + retrieved passages"),
    ]
}
ALL_ARMS = ",".join(ARMS)
"""Every arm, as the comma-separated list the CLI, the API and the evaluation take ("base,rag,lora,raft")."""


def passages_read(arm: Arm, opts) -> int:
    """How many of the `opts.top_k` retrieved passages `arm` puts in its prompt (0 for a closed-book arm)."""
    if not arm.retrieval:
        return 0
    cap = getattr(opts, arm.passages_setting) if arm.passages_setting else 0
    return min(opts.top_k, cap) if cap else opts.top_k


def parse_arms(spec: str | list[str] | None) -> list[Arm]:
    """'base,rag' or ['base', 'rag'] -> Arm objects; unknown names are refused."""
    names = spec.split(",") if isinstance(spec, str) else (spec or list(ARMS))
    names = [n.strip() for n in names if n.strip()]
    unknown = [n for n in names if n not in ARMS]
    if unknown or not names:
        raise ValueError(f"unknown arm {', '.join(unknown) or '(none given)'}; choose from {', '.join(ARMS)}")
    return [ARMS[n] for n in dict.fromkeys(names)]


ABSTENTION = "The documents do not say."
"""The one phrase with which an arm says its passages do not answer the question (docs/evaluation.md): the
retrieval arms' prompt asks for it, the reader adapter is trained to give it, the evaluation counts it."""


def format_context(passages: list[Passage]) -> str:
    return "\n\n".join(f"[{i}] (source: {p.source})\n{p.text.strip()}" for i, p in enumerate(passages, 1))


def user_message(question: str, passages: list[Passage] | None) -> str:
    """The user turn: the bare question (closed book) or the question after its context (rag, raft)."""
    if passages is None:
        return question.strip()
    return (
        "Answer the question using the context below.\n\n"
        f"Context:\n{format_context(passages)}\n\n"
        f"Question: {question.strip()}"
    )


def build_prompt(tokenizer, question: str, passages: list[Passage] | None, system_prompt: str) -> str:
    """The exact text the model receives. Chat models get their chat template; base models plain text."""
    user = user_message(question, passages)
    if getattr(tokenizer, "chat_template", None):
        messages = [{"role": "system", "content": system_prompt}] if system_prompt else []
        messages.append({"role": "user", "content": user})
        return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    # Base models (e.g. Gemma-3-270M) need their BOS token, which generation does not add (the chat
    # templates of chat models carry their own special tokens).
    bos = tokenizer.bos_token if getattr(tokenizer, "add_bos_token", False) and tokenizer.bos_token else ""
    preamble = f"{system_prompt}\n\n" if system_prompt else ""
    body = user if passages is not None else f"Question: {user}"
    return f"{bos}{preamble}{body}\nAnswer:"


PLAIN_STOP = "\nQuestion:"
"""A base model answering a plain-text prompt goes on to invent the next question; stop there."""


def cut_at_stop(tokenizer, text: str) -> str:
    return text.split(PLAIN_STOP)[0] if not getattr(tokenizer, "chat_template", None) else text
