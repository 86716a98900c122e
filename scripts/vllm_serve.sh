#!/usr/bin/env bash
# Start a vLLM server for the workbench in the foreground (Ctrl-C stops it): installs .venv-vllm once, writes the
# base model as a safetensors folder once, and serves it with every shipped adapter by name on 127.0.0.1:8000/v1.
# Overrides: VLLM_PORT, VLLM_HOST, VLLM_MODEL_DIR, VLLM_DTYPE, VLLM_MAX_MODEL_LEN, VLLM_EXTRA_ARGS, VLLM_VENV,
# WORKBENCH_MODEL (which base to export), APP_PY (the app's python, for the export).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${VLLM_VENV:-.venv-vllm}"
APP_PY="${APP_PY:-.venv/bin/python}"
MODEL_DIR="${VLLM_MODEL_DIR:-models/served/${WORKBENCH_MODEL:-smollm2-135m-instruct}}"
bash scripts/vllm_install.sh
if [ ! -f "$MODEL_DIR/config.json" ]; then
  HF_HUB_OFFLINE=1 "$APP_PY" -m workbench export-model "$MODEL_DIR"
fi
# Every shipped adapter, served under its folder name (the name the app's lora/raft settings use).
LORAS=()
for dir in models/adapters/*/; do
  [ -f "$dir/adapter_config.json" ] && LORAS+=("$(basename "$dir")=$(cd "$dir" && pwd)")
done
# Adapters trained or uploaded in the app are registered at run time (POST /v1/load_lora_adapter).
export VLLM_ALLOW_RUNTIME_LORA_UPDATING=True
# KV cache for CPU serving, GiB (the CPU backend's default is sized for bigger machines).
export VLLM_CPU_KVCACHE_SPACE="${VLLM_CPU_KVCACHE_SPACE:-2}"
export HF_HUB_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1
# shellcheck disable=SC2086
exec "$VENV/bin/python" -m vllm.entrypoints.openai.api_server \
  --model "$MODEL_DIR" --served-model-name "$(basename "$MODEL_DIR")" \
  --host "${VLLM_HOST:-127.0.0.1}" --port "${VLLM_PORT:-8000}" \
  --dtype "${VLLM_DTYPE:-float32}" --max-model-len "${VLLM_MAX_MODEL_LEN:-2048}" \
  --enable-lora --max-lora-rank 16 --max-loras 4 --lora-modules "${LORAS[@]}" \
  --disable-uvicorn-access-log ${VLLM_EXTRA_ARGS:-}
