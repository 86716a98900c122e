"""The app's per-session corpus state: a server-generated session id in a gr.State, the session's corpora
(retrieval/sessions.py), and their lifetime: when a browser session ends, its corpora, adapters and the Decide
runs on them are deleted `session_corpus_ttl` seconds later (unless it comes back first).

`corpus_session(demo, wb)` sets it up once per app; the tabs share the `CorpusSessions` it returns.
`CorpusSessions.follow(dropdown)` makes another tab's corpus dropdown offer the session's corpora next to the
shared ones, and select the corpus chosen in the Corpora tab.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Callable

import gradio as gr

from .. import adapters as adapter_lib
from ..retrieval.ingest import shipped_corpora
from ..retrieval.sessions import CorpusInfo, CorpusSession, SessionCorpora
from .clients import Holdings
from .decide_runs import remove_session_runs, run_sessions, runs_root
from .uploads import UsedUploads

if TYPE_CHECKING:
    from ..engine import Workbench

SCOPE_LABELS = {"session": "this session", "shared": "shared library", "shipped": "demo"}


def corpus_label(info: CorpusInfo) -> str:
    return f"{info.name} ({SCOPE_LABELS[info.scope]})"


@dataclass
class CorpusSessions:
    """The per-session corpus state of the app, shared by the tabs that need it."""

    manager: SessionCorpora
    state: gr.State
    demo: gr.Blocks
    default: str
    """Corpus the retrieval arms use when the session has chosen none."""
    followers: list = field(default_factory=list)
    """Dropdowns in other tabs that offer this session's corpora (values are collection names)."""
    hashes: dict[str, str] = field(default_factory=dict)
    """Gradio session hash -> our session id; only used to learn which session's browser went away."""
    indexing: Callable[[], bool] = lambda: False
    """True while start-up still indexes the shipped corpora (ui/startup.py): they are offered meanwhile."""
    extras: dict = field(default_factory=dict)
    """Follower id -> choices offered before the corpora (Evaluate's "the set's own corpus")."""
    uploads: UsedUploads | None = None
    """Where the tabs take their private copies of uploaded files (ui/uploads.py)."""
    holdings: Holdings | None = None
    """The corpora and adapters each session and client address holds, against their limits (ui/clients.py)."""

    def enter(self, value, request: gr.Request | None) -> CorpusSession:
        """The session's state at the start of an event (created on first use), marked active."""
        if not isinstance(value, CorpusSession):  # an id given to this browser session before (owner()) is kept
            known = self.hashes.get(request.session_hash) if request is not None and request.session_hash else None
            value = CorpusSession(known) if known else CorpusSession.new()
        if request is not None and request.session_hash:
            self.hashes[request.session_hash] = value.id
        self.manager.touch(value.id)
        return value

    def session_of(self, request: gr.Request | None) -> str | None:
        """Our session id for a request that carries no gr.State (a gr.api endpoint), or None."""
        return self.hashes.get(request.session_hash) if request is not None and request.session_hash else None

    def owner(self, request: gr.Request | None) -> str | None:
        """Our session id for a request, created on first use (what its uploaded or trained adapters belong to)."""
        if request is None or not request.session_hash:
            return None
        sid = self.hashes.setdefault(request.session_hash, CorpusSession.new().id)
        self.manager.touch(sid)
        return sid

    def on_unload(self, request: gr.Request) -> None:
        sid = self.hashes.pop(request.session_hash, None) if request is not None else None
        if sid:
            self.manager.end(sid)

    def pending(self, infos: list[CorpusInfo]) -> list[str]:
        """Shipped corpora that start-up is still indexing (listed from their folders, not yet in the store)."""
        if not self.indexing():
            return []
        listed = {info.collection for info in infos}
        return [name for name in self.manager.shipped if name not in listed]

    def choices(self, infos: list[CorpusInfo], extra=()) -> list[tuple[str, str]]:
        """(label, collection) of every corpus a tab may offer: extras, the session's, the shared, those indexing."""
        return ([(str(e), e) for e in extra] + [(corpus_label(info), info.collection) for info in infos]
                + [(f"{name} ({SCOPE_LABELS['shipped']}, indexing…)", name) for name in self.pending(infos)])

    def follower_update(self, value: CorpusSession | None, infos: list[CorpusInfo], reset: bool = False,
                        extra=()) -> dict:
        """Choices (label, collection) for a follower; with `reset`, also its value (the chosen corpus)."""
        collections = [info.collection for info in infos]
        update = {"choices": self.choices(infos, extra)}
        if reset and not extra:  # a dropdown with its own first choice (Evaluate's) keeps it
            chosen = value.selected if value and value.selected in collections else self.default
            update["value"] = chosen if chosen in collections else None
        return gr.update(**update)

    def offered(self, extra=()) -> list[str]:
        """The corpora a follower offers before the page loads (no session yet): its first choices."""
        return [value for _, value in self.choices(self.manager.list(None), extra)]

    def follow(self, dropdown: gr.Dropdown, extra=()) -> None:
        """Keep `dropdown` offering this session's corpora plus the shared ones (on load and on every change),
        after the choices `extra`."""
        self.followers.append(dropdown)
        self.extras[dropdown._id] = tuple(extra)
        dropdown.choices = self.choices(self.manager.list(None), extra)  # what the page shows before it loads
        if dropdown.value not in [value for _, value in dropdown.choices]:
            dropdown.value = None

        def refresh(value):
            return self.refresh(dropdown, value)

        gr.on(None, refresh, inputs=[self.state], outputs=[dropdown], queue=False, show_progress="hidden",
              api_visibility="private")

    def refresh(self, dropdown: gr.Dropdown, value) -> dict:
        """A follower's update for the session `value` (a CorpusSession or None)."""
        infos = self.manager.list(value.id if isinstance(value, CorpusSession) else None)
        return self.follower_update(value, infos, bool(value and value.selected), self.extras.get(dropdown._id, ()))


def corpus_session(demo: gr.Blocks, wb: Workbench, startup=None) -> CorpusSessions:
    """Create the per-session corpus state and hook its lifetime to the browser session; while `startup` (a
    ui.startup.Startup) indexes, the shipped corpora are offered from their folders."""
    s = wb.settings
    manager = SessionCorpora(wb.store, s.session_corpus_ttl, s.shared_library, tuple(shipped_corpora()))
    adapters_root = s.data_path / "adapters"
    # an expired session's adapters leave the model (or the generation server), then the disk
    manager.on_expire.append(lambda sid: wb.detach_adapters(adapter_lib.session_folder(adapters_root, sid)))
    manager.on_expire.append(lambda sid: adapter_lib.remove_session_adapters(adapters_root, sid))
    manager.on_expire.append(lambda sid: remove_session_runs(wb, runs_root(s), sid))  # Decide runs on its corpora
    if not s.chroma_host:
        manager.expire_orphans()  # sessions of a previous run are gone; their corpora now count down
    # and their adapters and Decide runs
    manager.expire_later(sorted(set(adapter_lib.session_ids(adapters_root)) | run_sessions(runs_root(s))))
    manager.sweep()
    # The delete callback is a backstop: Gradio drops a closed session's state an hour later.
    state = gr.State(None, delete_callback=lambda value: manager.end(value.id) if value else None)
    sessions = CorpusSessions(manager, state, demo, s.corpus, uploads=UsedUploads(s.upload_cache_ttl),
                              holdings=Holdings(manager, adapters_root, s))
    sessions.uploads.sweep()  # what a previous run left in used/ whose time has come
    if startup is not None:
        sessions.indexing = lambda: not startup.ready.is_set()
    demo.unload(sessions.on_unload)
    return sessions
