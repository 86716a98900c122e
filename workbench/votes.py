"""Votes from the Compare tab: which arm gave the best answer, or "all bad", kept in SQLite in the data directory.

Each vote keeps the question, the answers shown, the model and the browser session, so the votes can later be
read as a small preference data set.
"""

from __future__ import annotations

import json
import sqlite3
import time
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .arms import ARMS

ALL_BAD = "all bad"
CHOICES = (*ARMS, ALL_BAD)


@dataclass
class TallyRow:
    choice: str
    session: int
    """Votes for this choice in the given session."""
    all_time: int


class VoteStore:
    """One SQLite table of votes; a connection per call, so Gradio's worker threads can share the store."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with closing(sqlite3.connect(self.path)) as db, db:
            db.execute("CREATE TABLE IF NOT EXISTS votes (id INTEGER PRIMARY KEY, created REAL, session TEXT, "
                       "model TEXT, question TEXT, choice TEXT, answers TEXT)")

    @classmethod
    def in_data_dir(cls, settings) -> "VoteStore":
        return cls(settings.data_path / "votes.sqlite")

    def add(self, choice: str, question: str, answers: dict[str, str], model: str, session: str = "") -> None:
        """Record one vote; refuses an unknown choice or a vote with no question and no answer to judge."""
        if choice not in CHOICES:
            raise ValueError(f"unknown vote {choice!r}; choose one of {', '.join(CHOICES)}")
        if not (question or "").strip() or not any((a or "").strip() for a in answers.values()):
            raise ValueError("ask a question first, then vote on the answers")
        with closing(sqlite3.connect(self.path)) as db, db:
            db.execute("INSERT INTO votes (created, session, model, question, choice, answers) VALUES (?, ?, ?, ?, ?, ?)",
                       (time.time(), session, model, question.strip(), choice, json.dumps(answers)))

    def tally(self, session: str | None = None) -> list[TallyRow]:
        """Votes per choice, in the given session and in all time (every choice listed, zeros included)."""
        with closing(sqlite3.connect(self.path)) as db:
            counts = db.execute("SELECT choice, SUM(session = ?), COUNT(*) FROM votes GROUP BY choice",
                                (session or "",)).fetchall()
        found = {choice: (mine or 0, total) for choice, mine, total in counts}
        rows = []
        for choice in CHOICES:
            mine, total = found.get(choice, (0, 0))
            rows.append(TallyRow(choice, mine if session else 0, total))
        return rows
