"""Uploaded files in Gradio's cache: removed as soon as they are used, so no other session can fetch them.

Gradio serves its upload cache at `/gradio_api/file=` to anyone who knows a file's URL; an upload that was
ingested (or installed, or trained on) has no further use there. What is never used is removed by the
app's `delete_cache` schedule (Settings.upload_cache_ttl).
"""

from __future__ import annotations

import logging
from pathlib import Path

log = logging.getLogger(__name__)


def upload_folder() -> Path:
    from gradio.utils import get_upload_folder

    return Path(get_upload_folder()).resolve()


def remove_uploads(paths) -> int:
    """Delete uploaded files (and their emptied folders) that lie in Gradio's upload cache; returns how many.

    Anything outside the cache is left alone: the value may come from an API client.
    """
    if not paths:
        return 0
    paths = [paths] if isinstance(paths, (str, Path)) else list(paths)
    root, removed = upload_folder(), 0
    for raw in paths:
        raw = getattr(raw, "path", raw)  # gr.FileData or a plain path
        if not isinstance(raw, (str, Path)):
            continue
        path = Path(raw).resolve()
        if path == root or not path.is_relative_to(root) or not path.is_file():
            continue
        try:
            path.unlink()
            removed += 1
            if path.parent != root and not any(path.parent.iterdir()):
                path.parent.rmdir()  # Gradio puts each upload in a folder named by its hash
        except OSError:
            log.warning("could not remove the uploaded file %s", path)
    return removed
