"""Building the models into the warehouse: staging as views, marts as tables, daily marts per day range.

    from reporter_etl.models import build_warehouse_models, load_models, load_config

    report = build_warehouse_models("reporter.duckdb", start=date(2026, 3, 1), end=date(2026, 3, 2),
                                    config=load_config("reporter-etl.toml"))

A range build replaces a daily mart's rows for ``start..end`` in one transaction (delete the range, insert the
range) and rebuilds every other mart whole; a full build replaces every table.  A daily mart whose table is missing
or whose columns changed is built whole even in a range build, so a new column never leaves old rows behind.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb

from reporter_etl.models.catalog import BUILT_SCHEMAS, Model, load_models, select_models
from reporter_etl.models.config import ModelsConfig
from reporter_etl.models.raw_keys import KEY_CHECKS, checked_raw_keys
from reporter_etl.warehouse import DEFAULT_LOCK_TIMEOUT_S, Warehouse
from reporter_etl.warehouse.db import transaction

log = logging.getLogger(__name__)

DAY_VARIABLES = ("start_day", "end_day")


@dataclass(frozen=True)
class ModelRun:
    name: str
    action: str  # "view", "table", "range", "python"
    rows: int | None  # rows in the table (range: rows inserted); None for a view
    seconds: float


@dataclass(frozen=True)
class BuildReport:
    runs: tuple[ModelRun, ...]
    start: date | None
    end: date | None
    seconds: float


def set_variables(con: duckdb.DuckDBPyConnection, values: dict[str, Any]) -> None:
    for name, value in values.items():
        if value is None:
            con.execute(f"RESET VARIABLE {name}")
        else:
            con.execute(f"SET VARIABLE {name} = ?", [value])


def _sql(model: Model) -> str:
    return model.file.read_text(encoding="utf-8").strip().rstrip(";")


def _table_exists(con: duckdb.DuckDBPyConnection, model: Model) -> bool:
    return bool(
        con.execute(
            "SELECT count(*) FROM duckdb_tables() WHERE schema_name = ? AND table_name = ? AND database_name = "
            "current_database()",
            [model.schema, model.table],
        ).fetchone()[0]
    )


def _columns_of_table(con: duckdb.DuckDBPyConnection, model: Model) -> list[tuple[str, str]]:
    return [
        (r[0], r[1])
        for r in con.execute(
            "SELECT column_name, data_type FROM duckdb_columns() WHERE schema_name = ? AND table_name = ? "
            "AND database_name = current_database() ORDER BY column_index",
            [model.schema, model.table],
        ).fetchall()
    ]


def _columns_of_query(con: duckdb.DuckDBPyConnection, sql: str) -> list[tuple[str, str]]:
    return [(r[0], r[1]) for r in con.execute(f"DESCRIBE {sql}").fetchall()]


def _count(con: duckdb.DuckDBPyConnection, model: Model) -> int:
    return int(con.execute(f"SELECT count(*) FROM {model.name}").fetchone()[0])


def build_model(
    con: duckdb.DuckDBPyConnection,
    model: Model,
    *,
    config: ModelsConfig,
    start: date | None = None,
    end: date | None = None,
) -> ModelRun:
    """Build one model on a read-write connection whose writer lock the caller holds.

    ``start``/``end`` (both or neither) rebuild a daily mart's rows for that range only; other models ignore them.
    """
    if (start is None) != (end is None):
        raise ValueError("give both start and end, or neither")
    began = time.perf_counter()
    set_variables(con, config.sql_variables())
    set_variables(con, dict.fromkeys(DAY_VARIABLES))
    rows: int | None
    if model.kind == "check":
        raise ValueError(f"{model.name} is a check; run it with run_checks")
    if model.kind == "python":
        module_name, _, function_name = (model.entry_point or "").partition(":")
        function = getattr(importlib.import_module(module_name), function_name)
        with transaction(con):
            rows = int(function(con, config))
        action = "python"
    elif model.kind == "staging":
        with transaction(con):
            con.execute(f"CREATE OR REPLACE VIEW {model.name} AS {_sql(model)}")
        rows, action = None, "view"
    elif model.daily and start is not None and _table_exists(con, model):
        sql = _sql(model)
        set_variables(con, {"start_day": start, "end_day": end})
        if _columns_of_table(con, model) != _columns_of_query(con, sql):
            log.info("%s: columns changed, building it whole", model.name)
            set_variables(con, dict.fromkeys(DAY_VARIABLES))
            rows, action = _replace_table(con, model, sql), "table"
        else:
            with transaction(con):
                con.execute(f"DELETE FROM {model.name} WHERE day BETWEEN ? AND ?", [start, end])
                rows = int(con.execute(f"INSERT INTO {model.name} BY NAME {sql}").fetchone()[0])
            action = "range"
    else:
        rows, action = _replace_table(con, model, _sql(model)), "table"
    run = ModelRun(model.name, action, rows, time.perf_counter() - began)
    log.info("built %s (%s) %s rows in %.2f s", model.name, action, "-" if rows is None else rows, run.seconds)
    return run


def _replace_table(con: duckdb.DuckDBPyConnection, model: Model, sql: str) -> int:
    with transaction(con):
        con.execute(f"CREATE OR REPLACE TABLE {model.name} AS {sql}")
        return _count(con, model)


def build(
    con: duckdb.DuckDBPyConnection,
    models: Sequence[Model],
    *,
    config: ModelsConfig,
    start: date | None = None,
    end: date | None = None,
    on_built: Callable[[ModelRun], None] | None = None,
) -> BuildReport:
    """Build ``models`` (in the order given: use ``load_models``' order) on a connection whose lock the caller holds.

    With ``start``/``end``, daily marts are rebuilt for that day range and everything else whole.  The raw keys
    are counted first (``raw_keys``), so that the staging views skip their deduplication when it has nothing to do:
    a range build leaves the messages' uncounted, as its reads of them are cut to the range already.
    ``on_built`` hears of each model as it is committed, so that a caller knows what was built before a failure."""
    if start is not None and end is not None and end < start:
        raise ValueError(f"end {end} is before start {start}")
    began = time.perf_counter()
    for schema in BUILT_SCHEMAS:
        con.execute(f"CREATE SCHEMA IF NOT EXISTS {schema}")
    checked = [name for name in KEY_CHECKS if start is None or name != "raw_messages_unique"]
    runs: list[ModelRun] = []
    with checked_raw_keys(con, checked):
        for model in models:
            if model.kind == "check":
                continue
            runs.append(build_model(con, model, config=config, start=start, end=end))
            if on_built is not None:
                on_built(runs[-1])
    return BuildReport(tuple(runs), start, end, time.perf_counter() - began)


def build_warehouse_models(
    db_path: str | os.PathLike[str],
    *,
    config: ModelsConfig | None = None,
    start: date | None = None,
    end: date | None = None,
    select: Iterable[str] | None = None,
    models: Sequence[Model] | None = None,
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
    on_built: Callable[[ModelRun], None] | None = None,
) -> BuildReport:
    """Take the warehouse's writer lock, open it and build the (selected) models; see ``build``."""
    chosen = select_models(list(models) if models is not None else load_models(), list(select or []))
    with Warehouse.open(db_path, lock_timeout=lock_timeout) as wh:
        return build(wh.con, chosen, config=config or ModelsConfig(), start=start, end=end, on_built=on_built)


@dataclass(frozen=True)
class CheckResult:
    name: str
    description: str
    columns: tuple[str, ...]
    rows: tuple[tuple, ...]  # the offending rows; none means the check holds

    @property
    def passed(self) -> bool:
        return not self.rows


def run_checks(
    con: duckdb.DuckDBPyConnection, models: Sequence[Model], *, config: ModelsConfig, limit: int = 100
) -> list[CheckResult]:
    """Run every check in ``models``; each returns its offending rows (at most ``limit`` kept)."""
    set_variables(con, config.sql_variables())
    set_variables(con, dict.fromkeys(DAY_VARIABLES))
    results = []
    for model in models:
        if model.kind != "check":
            continue
        cursor = con.execute(_sql(model))
        columns = tuple(d[0] for d in cursor.description)
        results.append(CheckResult(model.name, model.description, columns, tuple(cursor.fetchmany(limit))))
    return results
