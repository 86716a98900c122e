"""The embedder interface the store needs: embed texts, count tokens, a name."""

from __future__ import annotations


class Embedder:
    """Wraps a SentenceTransformer: normalised embeddings, so cosine similarity is a dot product."""

    def __init__(self, model, name: str):
        self.model = model
        self.name = name

    def embed(self, texts: list[str]) -> list[list[float]]:
        return self.model.encode(list(texts), normalize_embeddings=True, batch_size=32).tolist()

    def count_tokens(self, text: str) -> int:
        # verbose=False: counting a long section is fine, it is never fed to the model whole
        return len(self.model.tokenizer.encode(text, add_special_tokens=False, verbose=False))

    @classmethod
    def load(cls, name: str, device: str = "auto") -> "Embedder":
        from ..models import load_embedder

        model, source = load_embedder(name, device)
        return cls(model, source.model_id)
