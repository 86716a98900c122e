"""Gradio UI: thin tabs that call the Workbench and format its result objects."""

from .app import build_app

__all__ = ["build_app"]
