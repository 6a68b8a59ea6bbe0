PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin
STAMP := $(VENV)/.installed

# The tests' and the soak's temporary files (DuckDB files, Dagster's SQLite storage) go on tmpfs when /dev/shm is
# writable with 2 GiB free: both sync every commit to disk, which on this kind of machine costs more than the work
# (profiled: the mid-range Dagster test 15.6 s on disk, 9.7 s on tmpfs). A SIGKILL keeps what a process wrote on
# either. The benchmarks stay on disk: the sync's commits are part of what they measure. tmpfs is memory, so pytest
# keeps the temporary directories of failed tests only (a whole run's are about 600 MB).
FAST_TMPDIR := $(shell [ -d /dev/shm ] && [ -w /dev/shm ] && df -Pk /dev/shm | awk 'NR == 2 && $$4 > 2097152 {print "/dev/shm"}')
WITH_FAST_TMP := $(if $(FAST_TMPDIR),TMPDIR=$(FAST_TMPDIR) )

# The reduced forms of the long runs, each checking its own results (exit status 1 on a problem); make test runs
# them after the test suite, as CI does (.ci/run).
BENCH_QUICK := $(BIN)/python bench/side_by_side.py --quick
BENCH_SMOKE := $(BIN)/python bench/run.py --smoke --check --skip models_build
SOAK_QUICK := $(WITH_FAST_TMP)$(BIN)/python -m soak.run --quick
# The browser test of the Dagster UI (a webserver, its code server and Chromium: 8-15 s, most of it their start-up),
# run on its own after the suite, as issue 9 allows ("under make test, or under a separate target .ci/run calls").
UI_TEST := PYTHONDONTWRITEBYTECODE= $(WITH_FAST_TMP)$(BIN)/python -m pytest -n 0 -q -m browser -o tmp_path_retention_policy=failed

.PHONY: test ui-test demo dagster browser-deps lint bench bench-quick bench-smoke bench-parts soak soak-quick clean

$(BIN)/python:
	$(PYTHON) -m venv $(VENV)

# The bench extra too: make test runs the quick side-by-side bench, which compares the sync with dlt.
# The last step puts a DuckDB 1.x beside the venv, not on its path: a test opens the published copy with it,
# as a BI driver bundling DuckDB 1.x would.
$(STAMP): $(BIN)/python pyproject.toml Makefile
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e '.[test,bench]'
	$(BIN)/python -m pip install --quiet --upgrade --target $(VENV)/duckdb1 'duckdb>=1.1,<2'
	touch $(STAMP)

lint: $(STAMP)
	$(BIN)/ruff check .

# ruff, the test suite in one run (all but the browser test), the browser test, then the quick bench, the smoke
# benchmarks and the quick soak.
# --dist loadscope: a module's tests go to one worker, so a module-scoped fixture (a synced warehouse, a built
# world) is made once, not once per worker (xdist_group marks are lost under pytest 9.2 with xdist 3.8).
test: $(STAMP) browser-deps
	$(BIN)/ruff check .
	PYTHONDONTWRITEBYTECODE= $(WITH_FAST_TMP)$(BIN)/python -m pytest -n 2 --dist loadscope -q -m "not browser" -o tmp_path_retention_policy=failed
	$(UI_TEST)
	$(BENCH_QUICK)
	$(BENCH_SMOKE)
	$(SOAK_QUICK)

demo: $(STAMP)
	$(BIN)/reporter-etl demo

# The simulator, a demo warehouse synced through Dagster, and the Dagster UI on http://127.0.0.1:3000.
dagster: $(STAMP)
	$(BIN)/python -m dagster_defs.demo

# The browser test of the Dagster UI alone (make test runs it after the suite).
ui-test: $(STAMP) browser-deps
	$(UI_TEST)

# Headless Chromium for the browser test of the Dagster UI (Debian's package; needs root or sudo).
browser-deps:
	@command -v chromium >/dev/null 2>&1 || { \
		SUDO=$$( [ "$$(id -u)" = 0 ] || echo sudo ); \
		$$SUDO apt-get update -qq && DEBIAN_FRONTEND=noninteractive $$SUDO apt-get install -y -qq chromium; }

# The side-by-side table (transfer, floor, sync, dlt; simulator and replay): bench/RESULTS.md, bench/results/.
bench: $(STAMP)
	$(BIN)/python bench/side_by_side.py

# Its small form (CI; well under 2 minutes): the same contenders, dlt included, at a small size, 3 rounds, the
# nightly ratio and the models; exits 1 when the contenders' rows differ, a sync's warehouse differs from the
# simulator's ground truth row for row, the sync's requests exceed the minimum, the replay missed a request or a part
# did not run (bench/results/quick.json).
bench-quick: $(STAMP)
	$(BENCH_QUICK)

# The component benchmarks (world build, serving, conversion, load, sync vs download, models, lower bound), one after
# another.
bench-parts: $(STAMP)
	$(BIN)/python bench/run.py

# The same at their smallest sizes, their results checked (the warehouse load exact, the sync exact and at the
# minimum of requests); no timing is judged. The models build is left to bench-quick, which runs and checks it.
bench-smoke: $(STAMP)
	$(BENCH_SMOKE)

# Minutes: >= 200 fault schedules, >= 30 SIGKILLs, concurrent writers.
soak: $(STAMP)
	$(WITH_FAST_TMP)$(BIN)/python -m soak.run

# A few fault schedules, a SIGKILL in each place (window commit, catalog refresh, between requests, models build),
# concurrent writers and a reader; exits 1 on any lost, doubled or wrong row.
soak-quick: $(STAMP)
	$(SOAK_QUICK)

clean:
	rm -rf $(VENV) .pytest_cache .ruff_cache demo.duckdb demo.published.duckdb .dagster-demo
