# Two entry points: `make demo` (install, run the example notebooks, say where the runs went)
# and `make test` (lint, type-check and the whole test suite). Both build .venv themselves.
VENV ?= .venv
PY := $(VENV)/bin/python
PIP := $(PY) -m pip -q --disable-pip-version-check
export OMP_NUM_THREADS ?= 1
export OPENBLAS_NUM_THREADS ?= 1
export MKL_NUM_THREADS ?= 1

.PHONY: install demo test lint pytest bench system-deps clean

$(VENV)/.installed: pyproject.toml
	python3 -m venv $(VENV)
	$(PIP) install --upgrade pip
	# The CPU build of torch first, so the `torch` extra never pulls a multi-GB CUDA build.
	$(PIP) install torch==2.13.0
	$(PIP) install -e ".[all,dev]"
	touch $@

install: $(VENV)/.installed

demo: install
	$(PY) example_notebooks/run_all.py

# PostgreSQL for the store tests and Chromium for the browser tests (Debian's packages: the tests start
# their own PostgreSQL server and JupyterLab on loopback, and drive Chromium headless with Playwright).
system-deps:
	@missing=""; \
	if ! command -v pg_ctl >/dev/null 2>&1 && ! ls /usr/lib/postgresql/*/bin/pg_ctl >/dev/null 2>&1; then \
		missing="postgresql"; fi; \
	if ! command -v chromium >/dev/null 2>&1; then missing="$$missing chromium"; fi; \
	if [ -n "$$missing" ]; then \
		SUDO=$$( [ "$$(id -u)" -eq 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && \
		$$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; \
	fi

lint: install
	$(VENV)/bin/ruff check .
	$(VENV)/bin/ruff format --check .
	$(VENV)/bin/mypy

# pytest exits 5 when it collects nothing; that is not a failure of the suite.
pytest: install system-deps
	$(PY) -m pytest; rc=$$?; if [ $$rc -eq 5 ]; then rc=0; fi; exit $$rc

test: lint pytest

bench: install
	$(PIP) install "mlflow>=3" || echo "MLflow not installed: figures without ratios"
	$(PY) benchmarks/run_all.py

clean:
	rm -rf $(VENV) .pytest_cache .mypy_cache .ruff_cache mlops.db* mlops-artifacts
