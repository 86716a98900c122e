"""Evaluation: eval sets, metrics, the batch runner over the arms, and reports (CSV, JSON, tables)."""
