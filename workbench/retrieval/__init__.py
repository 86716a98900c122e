"""Retrieval: file loaders, token-aware chunking, the Chroma store and ingestion."""
