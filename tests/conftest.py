"""Fixtures shared by many test files (each xdist worker makes its own)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from reporter_etl.warehouse import Warehouse


@pytest.fixture(scope="session")
def empty_warehouse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A warehouse file with its schema and nothing else, made once: tests that need a fresh warehouse copy it
    (``fresh_warehouse``) instead of running the schema's DDL again.  Creating the schema is tested on its own
    (test_warehouse_schema, test_warehouse_migration)."""
    path = tmp_path_factory.mktemp("empty-warehouse") / "empty.duckdb"
    Warehouse.open(path).close()
    return path


@pytest.fixture
def fresh_warehouse(empty_warehouse: Path, tmp_path: Path) -> Path:
    """``w.duckdb`` in the test's folder: a copy of the empty warehouse, the test's own."""
    path = tmp_path / "w.duckdb"
    shutil.copy(empty_warehouse, path)
    return path
