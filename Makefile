# Set-up and checks. `make test` and `make demo` work on a fresh clone: they install what they need first.
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(TORCH_VERSION)

.PHONY: install test test-slow lint bench demo docs docs-fast package-check fmnist clean

install: $(STAMP)

# torch is pinned in the same pip call as the extras so nothing can pull a different (CUDA) build.
$(STAMP): pyproject.toml Makefile
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)"
	$(BIN)/python -m pip install --quiet "torch==$(TORCH_VERSION)" -e ".[all]"
	touch $(STAMP)

test: install lint
	$(BIN)/python -m pytest -q

# The long end-to-end runs left out of `make test` (each has a fast variant there).
test-slow: install
	$(BIN)/python -m pytest -q -m slow

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

# The documentation site, HTML into docs/_build/html; any warning fails it, and so does an example that raises.
# docs-fast builds every page without running the examples (the test suite's check).
SPHINX := $(BIN)/python -m sphinx -W --keep-going -q -b html docs docs/_build/html

docs: install
	$(SPHINX)
	@echo "docs: docs/_build/html/index.html"

docs-fast: install
	INVLEARN_DOCS_FAST=1 $(SPHINX) -d docs/_build/doctrees-fast

# The wheel and sdist, installed into a fresh environment with no extras and used from outside the source tree.
package-check: install
	PYTHON=$(PYTHON) TORCH_VERSION=$(TORCH_VERSION) scripts/check_package.sh

bench: install
	$(BIN)/invlearn bench ops --output bench-ops.json
	$(BIN)/invlearn bench learners --output bench-learners.json
	$(BIN)/invlearn bench objectives --output bench-objectives.json

# Which invariance do rotated digits have? The marginal likelihood and the held-out likelihood beside the published
# objectives (AugNet, Augerino), no augmentation and the oracle (the true rotation, fixed), over 5 seeds of one
# identification task
# (configs/identification-demo.yaml), in about 4 minutes on 2 CPU cores. Writes runs/demo/study/study.md (recovered in k of 5 seeds) and
# runs/demo/report.md (seed 0 of each method, with each candidate's range per epoch).
DEMO_RUNS := runs/demo/study/mnist-mlp-rotate180

demo: install
	rm -rf runs/demo
	$(BIN)/invlearn study configs/identification-demo.yaml --out runs/demo/study --jobs 2
	$(BIN)/invlearn report $(DEMO_RUNS)/augnet/seed0 $(DEMO_RUNS)/augerino/seed0 $(DEMO_RUNS)/marglik/seed0 \
	  $(DEMO_RUNS)/heldout/seed0 --out runs/demo/report.md
	@echo "study: runs/demo/study/study.md  report: runs/demo/report.md"

# Fashion-MNIST's idx files from Debian's package (for configs/fmnist-*.yaml), where they are not there yet.
FMNIST_DIR := /usr/share/datasets/fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

fmnist:
	test -f $(FMNIST_DIR)/train-images-idx3-ubyte.gz || \
	  $(SUDO) apt-get install -y --no-install-recommends dataset-fashion-mnist || \
	  ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends dataset-fashion-mnist)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis bench-*.json docs/_build docs/api/generated docs/auto_examples dist
