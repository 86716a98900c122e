"""Gradio UI: thin tabs that call the Workbench and format its result objects."""

from .app import CSS, build_app
from .startup import Startup

__all__ = ["CSS", "Startup", "build_app"]
