"""Decide: "RAG or fine-tuning?" answered for one corpus, measured, in one call.

generate questions -> plan the budget -> train lora (knowledge recipe) and raft -> evaluate the four arms on
held-out questions -> report with intervals, costs and a verdict. `run_decide` runs (or resumes) it; the stages
live in stages.py, the numbers behind the verdict in verdict.py, the report in report.py.
"""

from .pipeline import DEFAULT_BUDGET_MINUTES, DecideRun, Progress, run_decide, summary
from .plan import BudgetError
from .stages import DecideError

__all__ = ["DEFAULT_BUDGET_MINUTES", "BudgetError", "DecideError", "DecideRun", "Progress", "run_decide", "summary"]
