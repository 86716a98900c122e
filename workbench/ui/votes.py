"""The votes under the Compare columns: a "best" button per arm (built with the columns), "All bad", a feedback
line and the tally; each vote is stored with the answers it judges (workbench/votes.py)."""

from __future__ import annotations

from contextlib import contextmanager
from typing import TYPE_CHECKING

import gradio as gr
import pandas as pd

from ..arms import ARMS
from ..votes import ALL_BAD, VoteGate, VoteStore
from .clients import client_address

if TYPE_CHECKING:
    from ..engine import Workbench


@contextmanager
def votable(gate: VoteGate, request, question: str, answers):
    """When a run ends (finished or stopped), the answers it showed may be voted on once in its session."""
    try:
        yield
    finally:
        shown = answers()
        if shown and isinstance(question, str):
            gate.produced(getattr(request, "session_hash", None) or "", question, shown)


def vote_tally(votes: VoteStore, session: str | None) -> pd.DataFrame:
    return pd.DataFrame([(r.choice, r.session, r.all_time) for r in votes.tally(session)],
                        columns=["vote", "this session", "all time"])


def record_vote(wb: Workbench, votes: VoteStore, gate: VoteGate, choice: str, session: str, question, answers,
                client: str = ""):
    """Store one vote from `session` at the address `client`; the tally and a feedback line, or (skip, why) when it
    is refused."""
    try:
        if not isinstance(question, str) or not all(isinstance(a, str) for a in answers):
            raise ValueError("a vote carries the question and the answers as text")
        votes.check(choice, question, dict(zip(ARMS, answers)))
        gate.claim(session, question, answers, client)  # one vote per answer the app gave this session
        votes.add(choice, question, dict(zip(ARMS, answers)), wb.model_id, session)
    except ValueError as exc:
        return gr.skip(), f"⚠️ {exc}"
    mine = sum(r.session for r in votes.tally(session))
    what = "all answers are bad" if choice == ALL_BAD else f"**{choice}** gave the best answer"
    return vote_tally(votes, session), f"✓ Recorded: {what}. Your votes this session: {mine}."


def build_votes(wb: Workbench, question, answers: list, vote_buttons: list, gate: VoteGate) -> gr.Accordion:
    """An "all bad" button, a feedback line and the tally beside the per-arm "best" buttons; returns the tally's
    accordion (folded on a phone).

    Each vote is stored with the answers. A vote with nothing to judge, on answers the app did not just give in
    this session (`gate`), or beyond the session's or its client address's rate is refused in the feedback line
    only.
    """
    votes = VoteStore.in_data_dir(wb.settings)
    with gr.Row(equal_height=False):
        with gr.Column(scale=2, min_width=200):
            all_bad = gr.Button("All bad", size="sm", elem_id="vote-all-bad")
            feedback = gr.Markdown("Vote for the best answer (or *All bad*) once the answers are in.",
                                   elem_id="vote-feedback")
        with gr.Column(scale=3, min_width=200):
            with gr.Accordion("Votes so far", open=True) as fold:
                table = gr.Dataframe(lambda: vote_tally(votes, None), show_label=False, elem_id="vote-tally",
                                     interactive=False)

    def voter(choice: str):
        def vote(request: gr.Request, question_: str, *answers_: str):  # gradio fills a leading Request argument
            session = getattr(request, "session_hash", None) or ""
            return record_vote(wb, votes, gate, choice, session, question_, answers_,
                               client_address(request, wb.settings.trusted_proxies))
        return vote

    for choice, button in [*vote_buttons, (ALL_BAD, all_bad)]:
        button.click(voter(choice), [question, *answers], [table, feedback], show_progress_on=[feedback],
                     api_name=f"vote_{choice.replace(' ', '_')}")
    return fold
