"""Decide: "RAG or fine-tuning?" answered for one corpus, measured, in one call.

generate questions -> plan the budget -> train lora (knowledge recipe) and raft -> evaluate the four arms on
held-out questions -> report with intervals, costs and a verdict. `run_decide` runs (or resumes) it, and
`decide_work` runs it as a job (workbench/jobs.py); the stages live in stages.py, the numbers behind the verdict in
verdict.py, the report in report.py, and the plan shown before a run in preview.py.
"""

from .pipeline import DEFAULT_BUDGET_MINUTES, DecideRun, decide_work, run_decide, stage_position, summary
from .plan import BudgetError
from .stages import DecideError

__all__ = ["DEFAULT_BUDGET_MINUTES", "BudgetError", "DecideError", "DecideRun", "decide_work", "run_decide",
           "stage_position", "summary"]
