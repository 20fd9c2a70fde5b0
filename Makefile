# The two commands of the course (see README.md):
#   make book   build the website into _build/html (SOLUTIONS=no leaves the solutions out)
#   make test   run every test: unit tests, doctests, nbval on every notebook, book sync, book build
# Both create the virtual environment .venv first when it is missing or out of date.

PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
# The CPU build of torch that lies on this project's machines; elsewhere `make TORCH=torch ...`
# (or any torch >= 2.1 already installed in the venv) works as well.
TORCH ?= torch==2.13.0
SOLUTIONS ?= yes

.PHONY: env book test sync notebooks gpu clean

env: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -c "import torch" 2>/dev/null || $(BIN)/python -m pip install --quiet "$(TORCH)"
	$(BIN)/python -m pip install --quiet -e ".[test,book]"
	# torchcfm is the benchmark's peer (development only); --no-deps: its requirements would pull a
	# CUDA torch, and the part we call needs only torch, numpy, scipy and POT, which are installed
	$(BIN)/python -m pip install --quiet --no-deps "torchcfm>=1.0.7"
	touch $@

book: env
	$(BIN)/coursekit book $(if $(filter no,$(SOLUTIONS)),--no-solutions)

test: env
	PATH="$(abspath $(BIN)):$$PATH" $(BIN)/python -m pytest

# Maintainers: regenerate book/ from solutions/, then re-run every notebook to store its outputs.
sync: env
	$(BIN)/coursekit sync

notebooks: sync
	$(BIN)/coursekit execute

# On a CUDA machine (with a CUDA build of torch: `make gpu TORCH=torch` on a fresh checkout): run
# every notebook on the GPU without storing or comparing outputs, report each one's time in
# artifacts/gpu_times.json, then run the CPU-vs-GPU tests of the library.
gpu: env
	$(BIN)/coursekit execute --device cuda --no-store --report artifacts/gpu_times.json
	$(BIN)/python -m pytest -m gpu tests/test_gpu.py

clean:
	rm -rf _build
