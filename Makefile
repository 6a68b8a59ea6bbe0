PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: test demo dagster browser-deps lint bench bench-quick bench-parts soak clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The last step puts a DuckDB 1.x beside the venv, not on its path: a test opens the published copy with it,
# as a BI driver bundling DuckDB 1.x would.
$(STAMP): $(BIN)/python pyproject.toml Makefile
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	$(BIN)/python -m pip install --quiet --upgrade --target $(VENV)/duckdb1 'duckdb>=1.1,<2'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP) browser-deps
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q -m "not heavy"
	$(BIN)/python -m pytest -n 2 -q -m heavy

demo: $(STAMP)
	$(BIN)/reporter-etl demo

# The simulator, a demo warehouse synced through Dagster, and the Dagster UI on http://127.0.0.1:3000.
dagster: $(STAMP)
	$(BIN)/python -m dagster_defs.demo

# Headless Chromium for the browser test of the Dagster UI (Debian's package; needs root or sudo).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

$(BENCH_STAMP): $(STAMP) pyproject.toml
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	touch $(BENCH_STAMP)

# The side-by-side table (transfer, floor, sync, dlt; simulator and replay): bench/RESULTS.md, bench/results/.
bench: $(BENCH_STAMP)
	$(BIN)/python bench/side_by_side.py

bench-quick: $(BENCH_STAMP)
	$(BIN)/python bench/side_by_side.py --quick

# The component benchmarks (world build, serving, conversion, load, sync vs download), one after another.
bench-parts: $(STAMP)
	$(BIN)/python bench/run.py

# Minutes: >= 200 fault schedules, >= 30 SIGKILLs, concurrent writers; make test runs `-m soak.run --quick`.
soak: $(STAMP)
	$(BIN)/python -m soak.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo.duckdb demo.published.duckdb .dagster-demo
