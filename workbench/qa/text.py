"""Plain-text helpers: word runs, normalised answers, and overlapping chunks stitched back together."""

from __future__ import annotations

import re
from collections import defaultdict

_WORD = re.compile(r"[a-z0-9]+(?:['’][a-z]+)?")
_ARTICLES = {"a", "an", "the"}


def words(text: str) -> list[str]:
    """Lower-case word tokens; punctuation and markup do not count as words."""
    return _WORD.findall(text.lower().replace("’", "'"))


def runs(text: str, n: int = 6) -> set[tuple[str, ...]]:
    """Every run of `n` consecutive words of `text`."""
    w = words(text)
    return {tuple(w[i:i + n]) for i in range(len(w) - n + 1)}


def copies_run(question: str, source: str, n: int = 6, source_runs: set | None = None) -> bool:
    """Whether `question` repeats `n` or more consecutive words of `source`."""
    return bool(runs(question, n) & (source_runs if source_runs is not None else runs(source, n)))


def one_line(text: str) -> str:
    """`text` with every run of whitespace one space: a PDF or a hard-wrapped text breaks lines inside sentences and
    names ("Ruth\nPenhallow"), so a fact's sentence and answer are matched against its chunk this way."""
    return " ".join(text.split())


def normalise(text: str) -> str:
    """Lower case, words only, articles dropped: equal for "The 27 days." and "27 days"."""
    return " ".join(w for w in words(text) if w not in _ARTICLES)


def join_overlap(a: str, b: str, probe: int = 20) -> str | None:
    """`a` and `b` as one text when `b` starts with the end of `a` (chunk overlap), else None."""
    head = b[:probe]
    if len(head) < 10:
        return None
    p = a.find(head, max(0, len(a) - len(b) - probe))
    while p != -1:
        if b.startswith(a[p:]):
            return a[:p] + b
        p = a.find(head, p + 1)
    return None


def stitch(texts: list[str]) -> list[tuple[str, list[int]]]:
    """Consecutive overlapping chunks of one document joined back: (text, indices of the chunks in it).

    Sentences cut by a chunk boundary are whole again; chunks that do not overlap (other sections) stay apart.
    """
    out: list[tuple[str, list[int]]] = []
    for k, text in enumerate(texts):
        joined = join_overlap(out[-1][0], text) if out else None
        if joined is None:
            out.append((text, [k]))
        else:
            out[-1] = (joined, out[-1][1] + [k])
    return out


def documents(chunks: list) -> list[tuple[list, str]]:
    """A corpus's chunks (Passages) as its documents: (the chunks, their stitched text) for each run of overlapping
    chunks of one source, in order."""
    by_source: dict[str, list] = defaultdict(list)
    for c in chunks:
        by_source[c.source].append(c)
    return [([group[k] for k in members], text) for group in by_source.values()
            for text, members in stitch([c.text for c in group])]
