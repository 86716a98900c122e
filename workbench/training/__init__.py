"""Training: data formats (chat JSONL, Q/A), the RAFT builder, LoRA training through transformers' Trainer."""
