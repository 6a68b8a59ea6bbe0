"""Fixtures shared by many test files (each xdist worker makes its own)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from filelock import FileLock

from reporter_etl.warehouse import Warehouse


@pytest.fixture(scope="session")
def empty_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file with its schema and nothing else, made once: tests that need a fresh warehouse copy it
    (``fresh_warehouse``) instead of running the schema's DDL again.  Creating the schema is tested on its own
    (test_warehouse_schema, test_warehouse_migration)."""
    path = tmp_path_factory.mktemp("empty-warehouse") / "empty.duckdb"
    Warehouse.open(path).close()
    return path


def own_copy(shared: Path, folder: Path, name: str = "w.duckdb") -> Path:
    """A copy of a warehouse made once for many tests, the caller's own to change: ``folder / name``."""
    path = folder / name
    shutil.copy(shared, path)
    return path


@pytest.fixture
def fresh_warehouse(empty_warehouse: Path, tmp_path: Path) -> Path:
    """``w.duckdb`` in the test's folder: a copy of the empty warehouse, the test's own."""
    return own_copy(empty_warehouse, tmp_path)


def made_once(tmp_path_factory: pytest.TempPathFactory, name: str, make: Callable[[Path], None]) -> Path:
    """The folder ``make(folder)`` filled, made once per test run even with xdist: the first worker to ask makes it
    under a lock while the other waits, instead of both making the same files at once.  Read it, never change it:
    copy what a test changes."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base  # the run's folder, shared by workers
    folder = root / f"made-once-{name}"
    with FileLock(f"{folder}.lock"):
        if not folder.is_dir():
            partial = root / f".made-once-{name}.{os.getpid()}"
            shutil.rmtree(partial, ignore_errors=True)
            partial.mkdir()
            make(partial)
            partial.rename(folder)
    return folder


# The modules that take longest (seconds on a quiet 2-core machine, `--durations=0` summed per module), run first:
# with ``--dist loadscope`` a worker runs a whole module, and a long one handed out near the end of a run left the
# other worker idle until it finished. The short modules, in their usual order, fill both workers' ends.
LONGEST_MODULES_FIRST = (
    "test_dagster_assets",  # ~15
    "test_dagster_runs",  # ~15
    "test_dagster_load",  # ~8
    "test_sync",  # ~8
    "test_disk_full",  # ~6
    "test_sync_cli",  # ~5
    "test_bi_outputs",  # ~5
    "test_dagster_log_mask",  # ~4.5
    "test_warehouse_processes",  # ~4.5
    "test_check",  # ~4
    "test_read_ahead",  # ~3.5
    "test_models_runner",  # ~3
    "test_etl_api",  # ~3
)


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    rank = {name: index for index, name in enumerate(LONGEST_MODULES_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.stem, len(rank)))  # stable: a module's tests keep their order
