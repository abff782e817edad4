# Set-up and checks. `make test` and `make demo` work on a fresh clone: they install what they need first.
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(TORCH_VERSION)

.PHONY: install test bench clean

install: $(STAMP)

# torch is pinned in the same pip call as the extras so nothing can pull a different (CUDA) build.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)" -e ".[all]"
	touch $(STAMP)

test: install
	$(BIN)/python -m pytest -q

bench: install
	$(BIN)/invlearn bench ops --output bench-ops.json
	$(BIN)/invlearn bench learners --output bench-learners.json

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis bench-*.json
