"""RAG vs fine-tuning workbench: one question, four arms (base, rag, lora, raft) of one model, measured."""

__version__ = "0.1.0"
