"""Uploaded files: each request reads its own private copy, and an upload once used is no longer served.

Gradio stores an upload at `<upload folder>/<hash of its bytes>/<name>` and serves it at `/gradio_api/file=` to
anyone with that URL. Two sessions that upload the same bytes under the same name get the same path, so no request
may delete that file while another session may still send it. `UsedUploads.take(paths)` moves each file it is
given out of Gradio's cache into `used/` (a folder beside the cache, which Gradio does not serve), where a later
request naming the same cache path still finds it, and returns hard links to it in a private folder of the
request's own; `release` deletes that folder. A file in `used/` is deleted `keep_s` seconds after its last use
(Settings.upload_cache_ttl); an upload never used leaves the cache by the app's `delete_cache` schedule.
"""

from __future__ import annotations

import logging
import os
import shutil
import tempfile
import threading
import time
from pathlib import Path

log = logging.getLogger(__name__)


def upload_folder() -> Path:
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def _beside(cache: Path) -> Path:
    """A folder on the cache's file system (so files move by rename) that Gradio does not serve."""
    for base in (cache.parent, Path(tempfile.gettempdir()).resolve()):
        folder = base / "workbench-uploads"
        if folder.is_relative_to(cache):
            continue
        try:
            folder.mkdir(mode=0o700, exist_ok=True)
            return folder
        except OSError:
            continue
    raise RuntimeError(f"no folder outside Gradio's upload cache ({cache}) to keep used uploads in")


def _value(raw) -> str | None:
    raw = getattr(raw, "path", raw)  # gr.FileData or a plain path
    return str(raw) if isinstance(raw, (str, Path)) else None


class UsedUploads:
    """Private copies of uploads for the requests that use them (see the module docstring)."""

    def __init__(self, keep_s: float = 3600.0, root: Path | None = None, clock=time.time):
        self.keep_s = max(1.0, float(keep_s))
        self.cache = upload_folder()
        root = Path(root) if root is not None else _beside(self.cache)
        self.used, self.private = root / "used", root / "private"
        for folder in (self.used, self.private):
            folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.clock = clock
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None

    def take(self, paths):
        """Private copies of uploaded files, in the shape given (a path, a list of paths, or None).

        A file in Gradio's cache is moved to `used/` (no longer served) or, moved there by an earlier request, found
        there; a path outside the cache is returned as it is, and one found nowhere too (reading it then fails
        with the file's name). ValueError for a folder of the cache (or the cache itself): Gradio accepts any path
        inside it, and a folder would be read as every upload in it."""
        if paths is None:
            return None
        single = not isinstance(paths, (list, tuple))
        values = [_value(p) for p in ([paths] if single else paths)]
        for value in values:
            path = Path(value).resolve() if value else None
            if path is not None and path.is_relative_to(self.cache) and path.exists() and not path.is_file():
                raise ValueError(f"{path.name[:80]!r} is not an uploaded file; upload files (or a .zip)")
        folder = None
        out = []
        with self._lock:
            for i, value in enumerate(values):
                kept = self._keep(value) if value else None
                if kept is None:
                    out.append(value)
                    continue
                folder = folder or Path(tempfile.mkdtemp(dir=self.private))
                copy = folder / str(i) / kept.name
                copy.parent.mkdir()
                try:
                    os.link(kept, copy)
                except OSError:
                    shutil.copyfile(kept, copy)
                out.append(str(copy))
        self._arm()
        return out[0] if single else out

    def _keep(self, value: str) -> Path | None:
        """The file in used/ that holds the upload `value` (moved there now or before), or None."""
        path = Path(value).resolve()
        if path == self.cache or not path.is_relative_to(self.cache):
            return None
        kept = self.used / path.relative_to(self.cache)
        expires = self.clock() + self.keep_s  # kept's mtime says when sweep() deletes it
        try:
            kept.parent.mkdir(parents=True, exist_ok=True)
            if kept.is_file():
                path.unlink(missing_ok=True)  # the same folder (a hash of the bytes) and name: the same bytes
                expires = max(expires, kept.stat().st_mtime)  # another app may keep it longer
            elif path.is_file():
                staged = kept.with_name(f".{kept.name}.{os.getpid()}")
                shutil.move(path, staged)  # a rename on one file system; a copy is renamed in place only when whole
                os.replace(staged, kept)
            else:
                return None
            os.utime(kept, (expires, expires))
        except FileNotFoundError:  # another request moved or swept it meanwhile
            return kept if kept.is_file() else None
        except OSError:
            log.warning("could not move the uploaded file %s out of Gradio's cache", path)
            return path if path.is_file() else None
        return kept

    def release(self, paths) -> int:
        """Delete the private copies `take` returned (their folder); other paths are left alone. Returns how many
        folders were deleted."""
        if paths is None:
            return 0
        folders = set()
        for raw in [paths] if not isinstance(paths, (list, tuple)) else paths:
            value = _value(raw)
            path = Path(value).resolve() if value else None
            if path is not None and path != self.private and path.is_relative_to(self.private):
                folders.add(self.private / path.relative_to(self.private).parts[0])
        for folder in folders:
            shutil.rmtree(folder, ignore_errors=True)
        return len(folders)

    def sweep(self) -> int:
        """Delete the files in used/ whose time has come (and the folders they leave empty); returns how many."""
        now, removed = self.clock(), 0
        with self._lock:
            for folder in [p for p in self.used.iterdir() if p.is_dir()]:
                for path in folder.rglob("*"):
                    try:
                        if path.is_file() and path.stat().st_mtime <= now:
                            path.unlink()
                            removed += 1
                    except OSError:
                        continue
                try:
                    folder.rmdir()  # only when empty
                except OSError:
                    pass
        return removed

    def _arm(self) -> None:
        """Sweep once `keep_s` has passed, and again while anything is left in used/."""
        with self._lock:
            if self._timer is not None and self._timer.is_alive():
                return
            self._timer = threading.Timer(self.keep_s + 1, self._tick)
            self._timer.daemon = True
            self._timer.start()

    def _tick(self) -> None:
        self.sweep()
        with self._lock:
            self._timer = None
            left = any(self.used.iterdir())
        if left:
            self._arm()

    def close(self) -> None:
        """Stop the sweep timer (tests, app shutdown)."""
        with self._lock:
            timer, self._timer = self._timer, None
        if timer is not None:
            timer.cancel()
