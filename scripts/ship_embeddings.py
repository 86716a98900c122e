"""Write each shipped corpus's chunk embeddings to corpora/<name>/embeddings.npz, so a first start looks them up
instead of spending a minute of CPU on them (workbench/retrieval/ingest.py). Run it after changing a shipped
document, the default chunk settings or the embedder:

    python scripts/ship_embeddings.py
"""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from workbench.config import Settings  # noqa: E402
from workbench.retrieval.embedder import Embedder  # noqa: E402
from workbench.retrieval.ingest import SHIPPED_EMBEDDINGS, ensure_shipped, save_embeddings, shipped_corpora  # noqa: E402
from workbench.retrieval.store import VectorStore  # noqa: E402


def main() -> None:
    settings = Settings.from_env()
    store = VectorStore.open(settings, Embedder.load(settings.embedder))
    ensure_shipped(store, settings)  # the stored chunks are those of the current documents and settings
    for name, docs in shipped_corpora().items():
        path = docs.parent / SHIPPED_EMBEDDINGS
        print(f"{path}: {save_embeddings(store, name, path)} chunks")


if __name__ == "__main__":
    main()
