# Set-up and checks. `make test` and `make demo` work on a fresh clone: they install what they need first.
PYTHON ?= python3
VENV ?= .venv
TORCH_VERSION ?= 2.13.0
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed-$(TORCH_VERSION)

.PHONY: install test test-slow lint bench demo fmnist clean

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

bench: install
	$(BIN)/invlearn bench ops --output bench-ops.json
	$(BIN)/invlearn bench learners --output bench-learners.json

# The sprites experiment with AugNet and with Augerino, on a CPU in about 10 minutes: the published settings
# on a subset (5,000 training and 1,000 test images, 10 epochs). Writes runs/demo/report.md.
DEMO_SET := --set data.n_train=5000 --set data.n_test=1000 --set trainer.epochs=10

demo: install
	rm -rf runs/demo
	$(BIN)/invlearn train configs/sprites-augnet.yaml --out runs/demo/sprites-augnet $(DEMO_SET)
	$(BIN)/invlearn train configs/sprites-augerino.yaml --out runs/demo/sprites-augerino $(DEMO_SET)
	$(BIN)/invlearn report runs/demo/sprites-augnet runs/demo/sprites-augerino --out runs/demo/report.md
	@echo "report: runs/demo/report.md"

# Fashion-MNIST's idx files from Debian's package (for configs/fmnist-*.yaml), where they are not there yet.
FMNIST_DIR := /usr/share/datasets/fashion-mnist
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

fmnist:
	test -f $(FMNIST_DIR)/train-images-idx3-ubyte.gz || \
	  $(SUDO) apt-get install -y --no-install-recommends dataset-fashion-mnist || \
	  ($(SUDO) apt-get update && $(SUDO) apt-get install -y --no-install-recommends dataset-fashion-mnist)

clean:
	rm -rf $(VENV) .pytest_cache .hypothesis bench-*.json
