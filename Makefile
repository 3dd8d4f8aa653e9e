# The two commands: `make run` (the demo) and `make test`. Both set up everything
# on a fresh Debian 12 machine: system packages once (stamp file), then the venv.

PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMPS := .make

.PHONY: run test bench lint chaos setup clean image image-test

run: $(STAMPS)/venv
	$(BIN)/python -m devstack.demo

# Test files run in parallel, whole (`--dist loadfile`: a file's module and session
# fixtures stay on one worker): one worker per core, at most 4.
test: $(STAMPS)/venv
	$(BIN)/python -m pytest -n auto --maxprocesses 4 --dist loadfile --cov --cov-branch --cov-report= -p no:cacheprovider tests --ignore=tests/bench
	$(BIN)/python -m coverage report --include='appliance/domain/*,hw/protocols/*' --fail-under=95

bench: $(STAMPS)/venv
	$(BIN)/python -m pytest -q -s -p no:cacheprovider tests/bench

# The long chaos run: 1,000 faults on three registers, a broker and two consumers
# (tests/chaos/harness.py); prints the figures and BENCH lines, fails on any loss.
chaos: $(STAMPS)/venv
	$(BIN)/python -m tests.chaos --faults $(or $(FAULTS),1000) $(if $(SEED),--seed $(SEED))

# The SD image: Raspberry Pi OS Lite (arm64) + image/stages, on a builder with
# qemu-user-static (BASE=raspios-lite-arm64.img.xz); elsewhere it says what it needs.
image: $(STAMPS)/venv
	$(BIN)/python image/build.py image $(if $(BASE),--base $(BASE))

# The same stages for this machine's architecture into a root filesystem, then its
# checks: first boot in a chroot and booted with systemd-nspawn (make test runs them too).
image-test: $(STAMPS)/venv
	$(BIN)/python -m pytest -p no:cacheprovider tests/image

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
