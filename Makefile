# The two commands: `make run` (the demo) and `make test`. Both set up everything
# on a fresh Debian 12 machine: system packages once (stamp file), then the venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMPS := .make

.PHONY: run test bench lint chaos setup clean

run: $(STAMPS)/venv
	$(BIN)/python -m devstack.demo

test: $(STAMPS)/venv
	$(BIN)/python -m pytest --cov --cov-branch --cov-report= -p no:cacheprovider tests --ignore=tests/bench
	$(BIN)/python -m coverage report --include='appliance/domain/*,hw/protocols/*' --fail-under=95

bench: $(STAMPS)/venv
	$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/bench

PACKAGES := $(wildcard appliance hw backoffice devstack)

lint: $(STAMPS)/venv
	$(BIN)/ruff check $(PACKAGES) tests
	$(BIN)/ruff format --check $(PACKAGES) tests
	$(BIN)/mypy $(PACKAGES)

setup: $(STAMPS)/venv

$(STAMPS)/system: scripts/install-system-deps.sh
	@mkdir -p $(STAMPS)
	./scripts/install-system-deps.sh
	@touch $@

$(STAMPS)/venv: pyproject.toml $(STAMPS)/system
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install -q --upgrade pip
	$(BIN)/python -m pip install -q -e '.[dev]'
	@touch $@

clean:
	rm -rf $(VENV) $(STAMPS) .coverage .pytest_cache .mypy_cache .ruff_cache
