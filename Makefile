PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed
BENCH_STAMP := $(VENV)/.bench-installed

.PHONY: test demo lint bench bench-quick bench-parts clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

$(STAMP): $(BIN)/python pyproject.toml
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test]'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

test: $(STAMP)
	$(BIN)/ruff check .
	$(BIN)/python -m pytest -n 2 -q

demo: $(STAMP)
	$(BIN)/reporter-etl demo

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

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo.duckdb
