# The two commands a new user runs: `make run` and `make test`.
# Both create .venv on first use (or when pyproject.toml changes) and install the project.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: run test lint install clean

$(STAMP): pyproject.toml
	@test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	@touch $(STAMP)

install: $(STAMP)

# Opens the app on the built-in `reviews` dataset with tiny-bert and starts training it.
run: $(STAMP)
	$(BIN)/densexp --launch examples/quickstart.toml

# Lint, types and the import rules of DESIGN.md (contracts in pyproject.toml).
lint: $(STAMP)
	$(BIN)/python -m ruff check densexp_tui tests bench
	$(BIN)/python -m mypy
	$(BIN)/lint-imports

# Lint first, then every test, spread over one pytest-xdist worker per core, at most
# PYTEST_MAX_WORKERS (each worker is a TensorFlow process of 1-2 GB). Work several workers
# need once (the cpu:2 training process, the apt installs) is shared: tests/session_once.py.
# Each test has a timeout (pyproject.toml), so a hang fails with a traceback instead of
# blocking CI. The 25 slowest are listed at the end: where the suite's time goes.
# --dist loadgroup keeps tests marked with one xdist_group on one worker (the cpu:2 ones).
# `make test PYTEST_ARGS="-n 0"` runs it in one process.
PYTEST_MAX_WORKERS ?= 4
test: lint
	$(BIN)/python -m pytest -q -n auto --maxprocesses $(PYTEST_MAX_WORKERS) --dist loadgroup \
		--durations=25 \
		$(PYTEST_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache
