"""A long run in its own thread, handed to a Gradio generator item by item, and stopped when that generator is.

Gradio runs a sync generator one `next()` at a time. It stops a run (Cancel, a client that went away) by asking
for no further item, and closes the generator once the `next()` in flight has returned. Work done inside `next()`
can therefore stop only between items: an evaluation batch of a minute runs to its end. `in_background` runs the
work in a thread instead: each `next()` returns within `wait_s` (an item, or WAITING), and closing the generator
sets the `stop` event the work checks at each step.
"""

from __future__ import annotations

import queue
import threading
from contextlib import closing
from typing import Callable, Generator, Iterator

WAITING = object()
"""What `in_background` yields when no item came within `wait_s`: time for a progress line."""


def in_background(produce: Callable[[threading.Event], Generator], wait_s: float = 1.0) -> Iterator:
    """Yield the items of the generator `produce(stop)`, iterated in a thread; WAITING whenever none came within
    `wait_s`.

    The thread is at most one item ahead: a consumer that stops asking stops the run at its next item. Closing
    this generator sets `stop`; an exception raised by the work is raised here."""
    handed: queue.Queue = queue.Queue(maxsize=1)
    stop = threading.Event()

    def hand_over(kind: str, value=None) -> bool:
        while not stop.is_set():
            try:
                handed.put((kind, value), timeout=wait_s)
                return True
            except queue.Full:
                continue
        return False

    def work():
        try:
            with closing(produce(stop)) as items:  # closed when stopped: the work's own cleanup runs now
                for item in items:
                    if not hand_over("item", item):
                        return
            hand_over("end")
        except BaseException as exc:  # raised in the consumer's thread
            hand_over("error", exc)

    threading.Thread(target=work, daemon=True).start()
    try:
        while True:
            try:
                kind, value = handed.get(timeout=wait_s)
            except queue.Empty:
                yield WAITING
                continue
            if kind == "end":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
