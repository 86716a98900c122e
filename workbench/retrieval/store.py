"""The Chroma vector store: one collection per corpus, chunks keyed by content-derived ids.

Works on an on-disk store (PersistentClient) or a Chroma server (HttpClient) alike. A corpus whose
collection metadata has an owner (a per-session corpus, see sessions.py) is private: it is reached by
its name but never listed by `corpora()` nor named in error messages.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from ..results import Passage
from .chunking import Chunk

_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9._-]*[a-zA-Z0-9]$")
MAX_NAME = 512
"""Longest collection name Chroma accepts."""
OWNER = "owner"
"""Collection metadata key of a private corpus: the id of the session that owns it."""
DOC_CHUNKS = "doc_chunks"
"""Chunk metadata key: how many chunks the document has in all (a document counts as stored only when complete)."""
ADD_BATCH = 128
"""Chunks embedded and added per batch (and per progress step); never above Chroma's own maximum."""


class IngestProgress(Protocol):
    def __call__(self, done: int, total: int, unit: str, desc: str) -> None:
        """`done` of `total` `unit`s ("files", "batches") are finished; `desc` says what is happening."""


class StoreError(ValueError):
    """A corpus that does not exist or a name Chroma would refuse."""


def check_corpus_name(name: str, max_len: int = MAX_NAME) -> str:
    """`name` if it is 3-`max_len` letters, digits, '.', '_' or '-' (no '..'), starting and ending with a letter or
    digit; else StoreError saying so."""
    if len(name or "") > max_len:
        raise StoreError(f"invalid corpus name {name[:20]!r}...: longer than {max_len} characters")
    if len(name or "") < 3 or not _NAME.match(name) or ".." in name:
        raise StoreError(f"invalid corpus name {name!r}: use 3-{max_len} letters, digits, '.', '_' or '-', "
                         "starting and ending with a letter or digit")
    return name


def file_sha(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        while block := f.read(1 << 20):
            digest.update(block)
    return digest.hexdigest()


@dataclass
class DocumentUpdate:
    """The complete new chunk list of one document, and the file hash to record with it."""

    source: str
    chunks: list[Chunk]
    sha: str = ""


def text_key(text: str) -> str:
    """The key of a chunk's text in a table of precomputed embeddings."""
    return hashlib.sha256(text.encode()).hexdigest()


def _kept_metadata(collection, drop: tuple[str, ...]) -> dict:
    # modify() replaces the whole metadata dict, and the hnsw:* keys may not be sent again (they moved
    # into the collection's configuration at creation, where they stay).
    return {k: v for k, v in (collection.metadata or {}).items() if not k.startswith("hnsw:") and k not in drop}


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
    def collections(self) -> dict[str, dict]:
        """Every collection, private ones included: name -> metadata."""
        return {c.name: dict(c.metadata or {}) for c in self.client.list_collections()}

    def corpora(self) -> list[str]:
        """The shared corpora (private per-session ones are left out)."""
        return sorted(name for name, meta in self.collections().items() if OWNER not in meta)

    def exists(self, corpus: str) -> bool:
        return corpus in self.collections()

    def _collection(self, corpus: str, create: bool = False, **metadata):
        from chromadb.errors import NotFoundError

        check_corpus_name(corpus)
        if create:
            return self.client.get_or_create_collection(
                corpus, metadata={"hnsw:space": "cosine", "embedder": self.embedder.name, **metadata}
            )
        try:
            return self.client.get_collection(corpus)
        except (NotFoundError, ValueError):  # older Chroma raised ValueError
            known = ", ".join(self.corpora()) or "none"
            raise StoreError(f"unknown corpus {corpus!r} (known: {known})") from None

    def create(self, corpus: str, **metadata) -> None:
        """Create an empty corpus with extra collection metadata (no-op when it exists)."""
        self._collection(corpus, create=True, **metadata)

    def metadata(self, corpus: str) -> dict:
        return dict(self._collection(corpus).metadata or {})

    def set_metadata(self, corpus: str, drop: tuple[str, ...] = (), **values) -> None:
        """Update collection metadata: `values` set, `drop` keys removed, the rest kept."""
        collection = self._collection(corpus)
        collection.modify(metadata={**_kept_metadata(collection, drop), **values})

    def rename(self, corpus: str, new_name: str, drop: tuple[str, ...] = ()) -> None:
        """Rename a corpus, dropping metadata keys in the same call (so no half-renamed state exists)."""
        check_corpus_name(new_name)
        if self.exists(new_name):
            raise StoreError(f"a corpus named {new_name!r} already exists; choose another name")
        collection = self._collection(corpus)
        collection.modify(name=new_name, metadata=_kept_metadata(collection, drop))

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
    def document_shas(self, corpus: str) -> dict[str, str | None]:
        """source -> recorded file hash, for every document (one query; None when it is not complete).

        A document is complete when all its chunks carry the same hash and as many chunks are stored as
        each of them records (DOC_CHUNKS). It is not after a replacement or a first ingest was killed
        midway (some batches added, others not); such a document is processed again, which finishes the job.
        """
        if not self.exists(corpus):
            return {}
        shas: dict[str, set] = {}
        counts: dict[str, int] = {}
        for meta in self._collection(corpus).get(include=["metadatas"])["metadatas"] or []:
            shas.setdefault(meta["source"], set()).add((meta.get("file_sha"), meta.get(DOC_CHUNKS)))
            counts[meta["source"]] = counts.get(meta["source"], 0) + 1
        out = {}
        for source, seen in shas.items():
            sha, expected = next(iter(seen)) if len(seen) == 1 else (None, None)
            # chunks stored before counts were recorded (expected None) are trusted as they were then
            out[source] = sha if expected is None or expected == counts[source] else None
        return out

    def write_documents(self, corpus: str, updates: list[DocumentUpdate], progress: IngestProgress | None = None,
                        precomputed: dict[str, list[float]] | None = None) -> int:
        """Make each document's stored chunks equal its update's chunks. Returns the number of chunks added.

        New chunks of all documents are embedded and added in batches first; stale chunks are deleted
        only afterwards, so a failure midway never leaves a document with fewer chunks than before.
        `precomputed` (text_key(chunk text) -> embedding by this store's embedder) spares embedding those chunks.
        """
        collection = self._collection(corpus, create=True)
        old_ids = {u.source: set(collection.get(where={"source": u.source}, include=[])["ids"]) for u in updates}
        new = [(c, u.sha, len(u.chunks)) for u in updates for c in u.chunks if c.chunk_id not in old_ids[u.source]]
        size = self._batch_size()
        batches = (len(new) + size - 1) // size
        computed = 0
        for number, start in enumerate(range(0, len(new), size), start=1):
            part = new[start:start + size]
            if progress:
                progress(number - 1, batches, "batches", f"embedding batch {number}/{batches} ({len(part)} chunks)")
            embeddings, fresh = self._embed([c.text for c, _, _ in part], precomputed or {})
            computed += fresh
            collection.add(
                ids=[c.chunk_id for c, _, _ in part],
                documents=[c.text for c, _, _ in part],
                embeddings=embeddings,
                metadatas=[{**c.metadata, "file_sha": sha, DOC_CHUNKS: n} for c, sha, n in part],
            )
        if progress and batches:
            found = len(new) - computed
            progress(batches, batches, "batches", f"embedded {computed} chunks"
                     + (f", looked up {found} precomputed" if found else ""))
        for u in updates:
            wanted = {c.chunk_id for c in u.chunks}
            if stale := old_ids[u.source] - wanted:
                for start in range(0, len(stale), size):
                    collection.delete(ids=sorted(stale)[start:start + size])
            kept = [c for c in u.chunks if c.chunk_id in old_ids[u.source]]
            for start in range(0, len(kept), size):  # positions may have moved and the file hash changed
                part = kept[start:start + size]
                collection.update(ids=[c.chunk_id for c in part],
                                  metadatas=[{**c.metadata, "file_sha": u.sha, DOC_CHUNKS: len(u.chunks)}
                                             for c in part])
        return len(new)

    def _batch_size(self) -> int:
        """Chunks per add/update/delete call: ADD_BATCH, never above what the Chroma client accepts."""
        return max(1, min(ADD_BATCH, self.client.get_max_batch_size()))

    def _embed(self, texts: list[str], precomputed: dict[str, list[float]]) -> tuple[list[list[float]], int]:
        """The texts' embeddings, looked up in `precomputed` where there and computed by the embedder otherwise;
        and how many were computed."""
        keys = [text_key(text) for text in texts]
        missing = [text for text, key in zip(texts, keys) if key not in precomputed]
        fresh = iter(self.embedder.embed(missing) if missing else [])
        return [precomputed[key] if key in precomputed else next(fresh) for key in keys], len(missing)

    def replace_document(self, corpus: str, source: str, chunks: list[Chunk], sha: str = "",
                         progress: IngestProgress | None = None) -> int:
        """Make the stored chunks of `source` equal `chunks` (see write_documents). Returns chunks added."""
        return self.write_documents(corpus, [DocumentUpdate(source, chunks, sha)], progress)

    def copy_corpus(self, corpus: str, new_name: str, edit=None) -> int:
        """A new corpus holding `corpus`'s chunks through `edit(Passage) -> str | None` (the text to keep, None to
        leave the chunk out; all kept as they are without it). Unchanged chunks keep their embeddings; edited ones
        are embedded again. Returns the chunks copied. Decide's temporary corpora (withheld or edited facts)."""
        got = self._collection(corpus).get(include=["documents", "metadatas", "embeddings"])
        target = self._collection(new_name, create=True, **_kept_metadata(self._collection(corpus), ()))
        ids, texts, metas, vectors, stale = [], [], [], [], []
        for cid, doc, meta, vec in zip(got["ids"], got["documents"], got["metadatas"], got["embeddings"]):
            text = edit(Passage(doc, meta["source"], 0.0, cid)) if edit else doc
            if text is None:
                continue
            ids.append(cid), texts.append(text), metas.append(meta), vectors.append(list(map(float, vec)))
            if text != doc:
                stale.append(len(ids) - 1)
        for i, vec in zip(stale, self.embedder.embed([texts[i] for i in stale]) if stale else []):
            vectors[i] = vec
        size = self._batch_size()
        for start in range(0, len(ids), size):
            target.add(ids=ids[start:start + size], documents=texts[start:start + size],
                       metadatas=metas[start:start + size], embeddings=vectors[start:start + size])
        return len(ids)

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

    def embeddings(self, corpus: str) -> dict[str, list[float]]:
        """Every chunk's stored embedding, by text_key of its text."""
        got = self._collection(corpus).get(include=["documents", "embeddings"])
        return {text_key(doc): list(map(float, vec)) for doc, vec in zip(got["documents"], got["embeddings"])}

    def chunks(self, corpus: str) -> list[Passage]:
        """Every chunk of a corpus (for building RAFT training data), score 0."""
        got = self._collection(corpus).get(include=["documents", "metadatas"])
        return [Passage(doc, meta["source"], 0.0, cid) for cid, doc, meta in zip(got["ids"], got["documents"], got["metadatas"])]
