"""Event handlers with their dependencies given: `bind(fn, wb, ...)` for a tab's wiring.

A tab's handlers are module-level functions whose first parameters are what they work on (the Workbench, the
session state, the jobs); the rest are the event's inputs, a `request: gr.Request` and a `progress=gr.Progress()`.
functools.partial would hide the `gr.Request` annotation from Gradio (it reads the type hints of plain functions
only), so Gradio would pass no request; `bind` returns a plain function Gradio reads exactly like the rest of the
signature, and a generator function when `fn` is one (so the event streams).
"""

from __future__ import annotations

import functools
import inspect
from typing import Callable


def bind(fn: Callable, *args) -> Callable:
    """`fn` with its first parameters given as `args`, for an event: Gradio sees the remaining parameters, their
    annotations and defaults, and `fn`'s name (the default name of a private endpoint)."""
    if inspect.isgeneratorfunction(fn):
        def handler(*rest, **kwargs):
            yield from fn(*args, *rest, **kwargs)
    else:
        def handler(*rest, **kwargs):
            return fn(*args, *rest, **kwargs)
    functools.update_wrapper(handler, fn)  # its __wrapped__ is where typing resolves the hints (fn's module)
    signature = inspect.signature(functools.partial(fn, *args))
    handler.__signature__ = signature.replace(return_annotation=inspect.Signature.empty)
    # Only the remaining parameters' hints: the bound ones may name types imported for type checking only, and
    # one hint that cannot be resolved makes Gradio ignore them all (the gr.Request one included).
    handler.__annotations__ = {name: hint for name, hint in fn.__annotations__.items() if name in signature.parameters}
    return handler
