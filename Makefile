# Set-up and everyday commands. Each target bootstraps .venv on a fresh machine.
PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
HOST ?= 127.0.0.1
PORT ?= 5000
ACTIVITY_ARGS ?= --rate 2 --duration 300

.PHONY: demo activity test test-wheel screenshots lint typing docs check bench clean

$(BIN)/python:
	$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || \
		{ echo "Python 3.11 or newer is needed (set PYTHON=...)"; exit 1; }
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.demo: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[sqlalchemy,redis,metrics]'
	touch $@

$(VENV)/.dev: $(BIN)/python setup.cfg pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $@ $(VENV)/.demo

node_modules/.package-lock.json: package.json package-lock.json
	npm ci --no-audit --no-fund
	touch $@

demo: $(VENV)/.demo node_modules/.package-lock.json
	$(BIN)/flask --app example_app seed
	$(BIN)/flask --app example_app run --host $(HOST) --port $(PORT)

activity: $(VENV)/.demo
	$(BIN)/flask --app example_app seed
	$(BIN)/flask --app example_app activity $(ACTIVITY_ARGS)

test: $(VENV)/.dev node_modules/.package-lock.json
	$(BIN)/python -m pytest $(PYTEST_ARGS)

# The suite against a wheel installed (not editable) in a venv of its own.
test-wheel: $(VENV)/.dev node_modules/.package-lock.json
	rm -rf dist
	$(BIN)/python -m pip wheel --quiet --no-deps --wheel-dir dist .
	$(PYTHON) -m venv --clear .venv-wheel
	.venv-wheel/bin/python -m pip install --quiet "$$(ls dist/*.whl)[test,bench]"
	.venv-wheel/bin/python -m pytest -p tests.installed $(PYTEST_ARGS)

screenshots: $(VENV)/.dev node_modules/.package-lock.json
	CONDPOLL_SCREENSHOTS=1 $(BIN)/python -m pytest tests/browser/test_demo.py -k screenshots

lint: $(VENV)/.dev
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

typing: $(VENV)/.dev
	$(BIN)/mypy

docs: $(VENV)/.dev
	$(BIN)/sphinx-build -W --keep-going -b html docs docs/_build/html

check: lint typing docs

bench: $(VENV)/.dev node_modules/.package-lock.json
	$(BIN)/python -m benchmarks.run --mode wallclock $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.run --mode instructions $(BENCH_ARGS)
	$(BIN)/python -m benchmarks.latency $(LATENCY_ARGS)

clean:
	rm -rf $(VENV) .venv-wheel dist node_modules docs/_build .pytest_cache .mypy_cache .ruff_cache .hypothesis
