"""Who a request comes from, and what each client holds: limits per client address beside the per-session ones.

Anyone can open as many sessions as they like (each page load or gradio_client is one), so every per-session limit
has a per-client twin keyed by `client_address`: the parse time an hour (retrieval/admission.py ParseBudget), the
votes a minute (votes.py VoteGate), and the session corpora and adapters one may hold at once (`Holdings`).
"""

from __future__ import annotations

import ipaddress
import threading
from collections import Counter, OrderedDict
from contextlib import contextmanager
from pathlib import Path

from .. import adapters as adapter_lib


def _headers(request, name: str) -> list[str]:
    headers = getattr(request, "headers", None) or {}
    if hasattr(headers, "getlist"):  # starlette: every line of a repeated header
        return headers.getlist(name)
    return [v for k, v in dict(headers).items() if k.lower() == name]


def client_address(request, trusted_proxies: int = 0) -> str:
    """The address a request comes from: the peer that connected, or, behind `trusted_proxies` reverse proxies that
    each append the address they were reached from to X-Forwarded-For, the one the outermost of them saw. An IPv6
    address stands for its /64 (one subscriber's network). "" when unknown (no request: the CLI, tests)."""
    if request is None:
        return ""
    host = ""
    if trusted_proxies > 0:
        hops = [h.strip() for line in _headers(request, "x-forwarded-for") for h in line.split(",") if h.strip()]
        if len(hops) >= trusted_proxies:  # fewer: not through all our proxies, so nothing in it is theirs
            host = hops[-trusted_proxies]
    if not host:
        client = getattr(request, "client", None)
        host = str(getattr(client, "host", "") or "")
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return host[:100]
    if ip.version == 6:
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.ip_network(f"{ip}/64", strict=False))
    return str(ip)


class Holdings:
    """How many session corpora and session adapters each session and each client address holds, against the
    limits in Settings (session_corpora, client_corpora, session_adapters, client_adapters; 0: no limit).

    A client's holdings are those of the sessions it created something from (`check_*` records the session);
    corpora of ended sessions count until they expire, as they still take room, and so do new corpora whose ingest
    is in flight (`corpus_room`) and adapters being trained or installed (`adapter_room`), so requests sent at once
    cannot all take the last place. Sessions holding nothing are forgotten, and so are the least recently seen
    clients beyond `clients`.
    """

    clients = 10_000

    def __init__(self, manager, adapters_root: Path, settings):
        self.manager, self.adapters_root, self.settings = manager, Path(adapters_root), settings
        self._sessions: OrderedDict[str, set[str]] = OrderedDict()
        self._lock = threading.Lock()
        self._pending: Counter = Counter()
        """(session id, corpus name) -> ingests in flight that may create that corpus."""
        self._pending_adapters: set[tuple[str, str]] = set()
        """(session id, adapter name) of trainings and installs in flight."""
        self._checking = threading.Lock()

    def address(self, request) -> str:
        return client_address(request, self.settings.trusted_proxies)

    def _sids(self, sid: str, client: str) -> set[str]:
        """The sessions of `client` seen so far, `sid` now among them."""
        if not client:
            return {sid}
        with self._lock:
            sids = self._sessions.setdefault(client, set())
            self._sessions.move_to_end(client)
            sids.add(sid)
            while len(self._sessions) > self.clients:
                self._sessions.popitem(last=False)
            return set(sids)

    def _forget_empty(self, client: str, counts: Counter, sid: str) -> None:
        """Forget the client's sessions that hold nothing, but `sid`, which is about to hold something."""
        with self._lock:
            if client in self._sessions:
                self._sessions[client] = {s for s in self._sessions[client] if counts[s] or s == sid}

    def corpora(self) -> Counter:
        """Session id -> how many session corpora it has (one listing of the store), new ones being ingested
        included."""
        counts = self.manager.owners()
        with self._lock:
            pending = {key for key, n in self._pending.items() if n}
        for sid, name in pending:
            if name not in self.manager.names(sid):  # not created yet: it takes its room already
                counts[sid] += 1
        return counts

    @contextmanager
    def corpus_room(self, sid: str, request, name: str):
        """`check_corpus`, and the room held for the corpus until the block (its ingest) ends."""
        with self._checking:  # one check at a time, so each sees the rooms held before it
            self.check_corpus(sid, request, name)
            with self._lock:
                self._pending[(sid, name)] += 1
        try:
            yield
        finally:
            with self._lock:
                self._pending[(sid, name)] -= 1
                if self._pending[(sid, name)] <= 0:
                    del self._pending[(sid, name)]

    def adapters(self, sids) -> Counter:
        """Session id -> how many adapters it has on disk, the ones being trained or installed included."""
        counts = Counter({sid: len(adapter_lib.session_adapters(self.adapters_root, sid)) for sid in sids})
        with self._lock:
            pending = [(sid, name) for sid, name in self._pending_adapters if sid in sids]
        for sid, name in pending:
            folder = adapter_lib.adapter_folder(self.adapters_root, sid, name)
            if not (folder / adapter_lib.CONFIG_FILE).is_file():  # not written yet (session_adapters skips it)
                counts[sid] += 1
        return counts

    @contextmanager
    def adapter_room(self, sid: str | None, request, name: str):
        """`check_adapter`, and the room held for the adapter `name` until the block (its training or install)
        ends, so requests sent at once cannot all take the last place; a second one for the same name meanwhile
        is refused (ValueError)."""
        if not sid:  # the shared library is not counted
            yield
            return
        with self._checking:  # one check at a time, so each sees the rooms held before it
            if (sid, name) in self._pending_adapters:
                raise ValueError(f"an adapter named {name!r} is being made in this session already; choose "
                                 "another name")
            self.check_adapter(sid, request)
            with self._lock:
                self._pending_adapters.add((sid, name))
        try:
            yield
        finally:
            with self._lock:
                self._pending_adapters.discard((sid, name))

    def check_corpus(self, sid: str, request, name: str) -> None:
        """ValueError (one line) when session `sid` may not add the corpus `name` (a new one) now."""
        if name in self.manager.names(sid) or self._pending[(sid, name)]:
            return  # adding to a corpus it has (or is creating) takes no new corpus
        client = self.address(request)
        sids = self._sids(sid, client)
        counts = self.corpora()
        s = self.settings
        self._check(counts, sid, s.session_corpora, "this session has {n} corpora, the most one session may have; "
                    "delete one in the Corpora tab first")
        self._check(counts, sids if client else (), s.client_corpora, "the sessions from your address have {n} "
                    "corpora, the most one client may have; delete one, or wait until closed sessions' corpora expire")
        self._forget_empty(client, counts + self.adapters(sids), sid)

    def check_adapter(self, sid: str | None, request) -> None:
        """ValueError (one line) when session `sid` may not add an adapter now (sid None: the shared library, open
        only where the settings allow it, is not counted)."""
        if not sid:
            return
        client = self.address(request)
        sids = self._sids(sid, client)
        counts = self.adapters(sids)
        s = self.settings
        self._check(counts, sid, s.session_adapters, "this session has {n} adapters, the most one session may have "
                    "(they are deleted with its corpora once it ends)")
        self._check(counts, sids if client else (), s.client_adapters, "the sessions from your address have {n} "
                    "adapters, the most one client may have; they are deleted once those sessions end")
        self._forget_empty(client, counts + self.corpora(), sid)

    @staticmethod
    def _check(counts: Counter, sids, limit: int, message: str) -> None:
        held = counts[sids] if isinstance(sids, str) else sum(counts[s] for s in sids)
        if limit > 0 and held >= limit:
            raise ValueError(message.format(n=held))
