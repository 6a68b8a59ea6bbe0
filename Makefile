PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

.PHONY: test demo lint bench soak clean

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

bench: $(STAMP)
	$(BIN)/python bench/run.py

# Minutes: >= 200 fault schedules, >= 30 SIGKILLs, concurrent writers; make test runs `-m soak.run --quick`.
soak: $(STAMP)
	$(BIN)/python -m soak.run

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo.duckdb
