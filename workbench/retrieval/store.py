"""The Chroma vector store: one collection per corpus, chunks keyed by content-derived ids.

Works on an on-disk store (PersistentClient) or a Chroma server (HttpClient) alike.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Callable

from ..results import Passage
from .chunking import Chunk

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]{1,510}[a-zA-Z0-9]$")
Progress = Callable[[float, str], None]


class StoreError(ValueError):
    """A corpus that does not exist or a name Chroma would refuse."""


def check_corpus_name(name: str) -> str:
    if not _NAME.match(name or "") or ".." in name:
        raise StoreError(
            f"invalid corpus name {name!r}: use 3-512 letters, digits, '.', '_' or '-', "
            "starting and ending with a letter or digit"
        )
    return name


def file_sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


class VectorStore:
    def __init__(self, client, embedder):
        self.client = client
        self.embedder = embedder

    @classmethod
    def open(cls, settings, embedder) -> "VectorStore":
        import chromadb
        from chromadb.config import Settings as ChromaSettings

        chroma_settings = ChromaSettings(anonymized_telemetry=False, allow_reset=False)
        if settings.chroma_host:
            client = chromadb.HttpClient(host=settings.chroma_host, port=int(settings.chroma_port), settings=chroma_settings)
        else:
            path = Path(settings.data_dir) / "chroma"
            path.mkdir(parents=True, exist_ok=True)
            client = chromadb.PersistentClient(path=str(path), settings=chroma_settings)
        return cls(client, embedder)

    # --- corpora -------------------------------------------------------------------------------
    def corpora(self) -> list[str]:
        return sorted(c if isinstance(c, str) else c.name for c in self.client.list_collections())

    def _collection(self, corpus: str, create: bool = False):
        check_corpus_name(corpus)
        if create:
            return self.client.get_or_create_collection(
                corpus, metadata={"hnsw:space": "cosine", "embedder": self.embedder.name}
            )
        if corpus not in self.corpora():
            known = ", ".join(self.corpora()) or "none"
            raise StoreError(f"unknown corpus {corpus!r} (known: {known})")
        return self.client.get_collection(corpus)

    def count(self, corpus: str) -> int:
        return self._collection(corpus).count()

    def documents(self, corpus: str) -> dict[str, int]:
        """Chunk counts per source document."""
        metas = self._collection(corpus).get(include=["metadatas"])["metadatas"] or []
        counts: dict[str, int] = {}
        for meta in metas:
            counts[meta["source"]] = counts.get(meta["source"], 0) + 1
        return dict(sorted(counts.items()))

    def delete_corpus(self, corpus: str) -> None:
        self._collection(corpus)
        self.client.delete_collection(corpus)

    def delete_document(self, corpus: str, source: str) -> int:
        collection = self._collection(corpus)
        ids = collection.get(where={"source": source}, include=[])["ids"]
        if not ids:
            raise StoreError(f"corpus {corpus!r} has no document {source!r}")
        collection.delete(ids=ids)
        return len(ids)

    # --- writing ---------------------------------------------------------------------------------
    def stored_sha(self, corpus: str, source: str) -> str | None:
        """The file hash recorded with a document's chunks, to skip unchanged files cheaply."""
        got = self._collection(corpus, create=True).get(where={"source": source}, limit=1, include=["metadatas"])
        return got["metadatas"][0].get("file_sha") if got["ids"] else None

    def replace_document(self, corpus: str, source: str, chunks: list[Chunk], sha: str = "",
                         progress: Progress | None = None) -> int:
        """Make the stored chunks of `source` equal `chunks`: add new ids, drop stale ones. Returns chunks added.

        New chunks are embedded and added before stale ones are deleted, so a failure midway never
        leaves the document with fewer chunks than before.
        """
        collection = self._collection(corpus, create=True)
        old_ids = set(collection.get(where={"source": source}, include=[])["ids"])
        new = [c for c in chunks if c.chunk_id not in old_ids]
        batch = min(256, self.client.get_max_batch_size())
        for start in range(0, len(new), batch):
            part = new[start:start + batch]
            collection.add(
                ids=[c.chunk_id for c in part],
                documents=[c.text for c in part],
                embeddings=self.embedder.embed([c.text for c in part]),
                metadatas=[{**c.metadata, "file_sha": sha} for c in part],
            )
            if progress:
                progress((start + len(part)) / len(new), f"{source}: embedded {start + len(part)}/{len(new)} chunks")
        stale = old_ids - {c.chunk_id for c in chunks}
        if stale:
            collection.delete(ids=sorted(stale))
        kept = [c.chunk_id for c in chunks if c.chunk_id in old_ids]
        if kept and sha:
            collection.update(ids=kept, metadatas=[{**c.metadata, "file_sha": sha} for c in chunks if c.chunk_id in old_ids])
        return len(new)

    # --- reading ---------------------------------------------------------------------------------
    def query(self, corpus: str, question: str, k: int) -> list[Passage]:
        collection = self._collection(corpus)
        if k <= 0 or collection.count() == 0:
            return []
        found = collection.query(
            query_embeddings=self.embedder.embed([question]), n_results=min(k, collection.count()),
            include=["documents", "metadatas", "distances"],
        )
        return [
            Passage(text=doc, source=meta["source"], score=round(1.0 - dist, 4), chunk_id=cid)
            for cid, doc, meta, dist in zip(found["ids"][0], found["documents"][0], found["metadatas"][0], found["distances"][0])
        ]

    def chunks(self, corpus: str) -> list[Passage]:
        """Every chunk of a corpus (for building RAFT training data), score 0."""
        got = self._collection(corpus).get(include=["documents", "metadatas"])
        return [Passage(doc, meta["source"], 0.0, cid) for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])]
