"""Token-aware chunking with semchunk, counting tokens with the embedder's own tokenizer."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Callable

import semchunk

from .loaders import Section


@dataclass
class Chunk:
    chunk_id: str
    text: str
    source: str
    position: int
    heading: str = ""
    page: int | None = None

    @property
    def metadata(self) -> dict:
        meta = {"source": self.source, "position": self.position, "heading": self.heading}
        if self.page is not None:
            meta["page"] = self.page
        return meta


def chunk_id(source: str, text: str) -> str:
    """Derived from source and content, so re-ingesting the same text yields the same ids."""
    return hashlib.sha256(f"{source}\n{text}".encode()).hexdigest()[:24]


def chunk_sections(sections: list[Section], source: str, count_tokens: Callable[[str], int],
                   chunk_size: int, overlap: int) -> list[Chunk]:
    if not 0 <= overlap < chunk_size:
        raise ValueError(f"chunk overlap ({overlap}) must be at least 0 and smaller than the chunk size ({chunk_size})")
    chunker = semchunk.chunkerify(count_tokens, chunk_size)
    chunks: list[Chunk] = []
    seen: set[str] = set()
    for section in sections:
        for piece in chunker(section.text, overlap=overlap or None):
            piece = piece.strip()
            cid = chunk_id(source, piece)
            if not piece or cid in seen:
                continue
            seen.add(cid)
            chunks.append(Chunk(cid, piece, source, len(chunks), section.heading, section.page))
    return chunks
