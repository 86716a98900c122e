"""Votes from the Compare tab: which arm gave the best answer, or "all bad", kept in SQLite in the data directory.

Each vote keeps the question, the answers shown, the model and the browser session, so the votes can later be
read as a small preference data set.
"""

from __future__ import annotations

import hashlib
import inspect
import json
import sqlite3
import threading
import time
from collections import OrderedDict, deque
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from .arms import ARMS

ALL_BAD = "all bad"
CHOICES = (*ARMS, ALL_BAD)
MAX_QUESTION_CHARS = 8_192
"""Longest question a vote may carry (the question limit: 512 tokens of at most 16 characters)."""
MAX_ANSWER_CHARS = 32_768
"""Longest answer a vote may carry (512 new tokens, shown as Markdown with its notes)."""


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
        """Record one vote; refuses an unknown choice, a vote with nothing to judge, or fields beyond the bounds."""
        self.check(choice, question, answers)
        with closing(sqlite3.connect(self.path)) as db, db:
            db.execute("INSERT INTO votes (created, session, model, question, choice, answers) VALUES (?, ?, ?, ?, ?, ?)",
                       (time.time(), session, model, question.strip(), choice, json.dumps(answers)))

    @staticmethod
    def check(choice: str, question: str, answers: dict[str, str]) -> None:
        """ValueError (one line) for a vote `add` would refuse."""
        if choice not in CHOICES:
            raise ValueError(f"unknown vote {choice!r}; choose one of {', '.join(CHOICES)}")
        if not isinstance(question, str) or not isinstance(answers, dict) or \
                not all(isinstance(a, str) or a is None for a in answers.values()):
            raise ValueError("a vote carries the question and the answers as text")
        if not (question or "").strip() or not any((a or "").strip() for a in answers.values()):
            raise ValueError("ask a question first, then vote on the answers")
        if len(question) > MAX_QUESTION_CHARS or any(len(a or "") > MAX_ANSWER_CHARS for a in answers.values()):
            raise ValueError(f"a vote's question may be {MAX_QUESTION_CHARS:,} characters and each answer "
                             f"{MAX_ANSWER_CHARS:,}; vote on answers the app gave")

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


def _key(question: str, answers) -> str:
    """The same for an answer as produced and as sent back by the browser (gr.Markdown dedents what it shows)."""
    shown = [inspect.cleandoc(a or "") for a in answers]
    return hashlib.sha256(json.dumps([(question or "").strip(), shown]).encode("utf-8", "surrogatepass")).hexdigest()


class VoteGate:
    """Which votes a session may cast: one per comparison the app answered in that session, at most
    `per_minute` a minute, and at most `per_client_minute` a minute from all the sessions of one client address
    (0: no limit). The answers the app produced are remembered by hash (the last `per_session` comparisons of the
    last `sessions` sessions), so a vote cannot carry text the app never showed."""

    def __init__(self, per_minute: int = 10, per_session: int = 16, sessions: int = 4096, clock=time.monotonic,
                 per_client_minute: int = 0):
        self.per_minute, self.per_session, self.sessions, self.clock = per_minute, per_session, sessions, clock
        self.per_client_minute = per_client_minute
        self._produced: OrderedDict[str, OrderedDict[str, None]] = OrderedDict()
        self._recent: dict[str, deque] = {}
        self._clients: dict[str, deque] = {}
        self._lock = threading.Lock()

    def produced(self, session: str, question: str, answers) -> None:
        """The app showed these answers to this question in `session` (answers in the order of ARMS)."""
        with self._lock:
            mine = self._produced.setdefault(session or "", OrderedDict())
            self._produced.move_to_end(session or "")
            mine[_key(question, answers)] = None
            while len(mine) > self.per_session:
                mine.popitem(last=False)
            while len(self._produced) > self.sessions:
                gone, _ = self._produced.popitem(last=False)
                self._recent.pop(gone, None)

    def claim(self, session: str, question: str, answers, client: str = "") -> None:
        """Allow one vote on these answers (then forgotten: one vote per answer), else ValueError. `client` is the
        address the vote comes from ("": unknown, not counted)."""
        now = self.clock()
        with self._lock:
            recent = self._minute(self._recent, session or "", now)
            if len(recent) >= self.per_minute:
                raise ValueError(f"at most {self.per_minute} votes a minute; wait a little and vote again")
            from_client = self._minute(self._clients, client, now) if client and self.per_client_minute else None
            if from_client is not None and len(from_client) >= self.per_client_minute:
                raise ValueError(f"at most {self.per_client_minute} votes a minute from one address; wait a little "
                                 "and vote again")
            mine = self._produced.get(session or "", {})
            key = _key(question, answers)
            if key not in mine:
                raise ValueError("vote on answers the app just gave in this session (each once): ask a question, "
                                 "then vote")
            del mine[key]
            recent.append(now)
            if from_client is not None:
                from_client.append(now)

    @staticmethod
    def _minute(times: dict[str, deque], key: str, now: float) -> deque:
        """The times of `key`'s votes in the last minute (keys with none are forgotten once there are many)."""
        recent = times.setdefault(key, deque())
        while recent and recent[0] <= now - 60:
            recent.popleft()
        if len(times) > 10_000:
            for gone in [k for k, v in times.items() if not v and k != key]:
                del times[gone]
        return recent
