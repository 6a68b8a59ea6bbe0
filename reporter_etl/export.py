"""Every mart as Parquet or CSV files for tools that do not speak DuckDB.

A table with a ``day`` column is written hive-style, one folder per day (``<out>/<mart>/day=2026-03-01/``), so a
reader can prune by day and a daily job can pick up one folder; the others are one file (``<out>/<mart>.parquet``).
Each mart is written to a temporary name beside its target and moved into place, replacing the previous export of
that mart; a reader never sees a half-written one.
"""

from __future__ import annotations

import logging
import os
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path

import duckdb

log = logging.getLogger(__name__)

FORMATS = ("parquet", "csv")
EXPORTED_SCHEMA = "marts"
PARTITION_COLUMN = "day"


@dataclass
class ExportResult:
    out: Path
    format: str
    rows: dict[str, int] = field(default_factory=dict)  # mart -> rows written
    partitioned: list[str] = field(default_factory=list)  # marts written one folder per day
    seconds: float = 0.0


def _literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def _identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _marts(con: duckdb.DuckDBPyConnection) -> list[tuple[str, bool]]:
    """(table, has a DATE ``day`` column) for every table and view in ``marts``."""
    rows = con.execute(
        """
        select t.table_name, bool_or(c.column_name = ? and c.data_type = 'DATE')
        from information_schema.tables t
        join information_schema.columns c using (table_catalog, table_schema, table_name)
        where t.table_schema = ? and t.table_catalog = current_database()
        group by t.table_name order by t.table_name
        """,
        [PARTITION_COLUMN, EXPORTED_SCHEMA],
    ).fetchall()
    return [(name, bool(daily)) for name, daily in rows]


def _replace(temporary: Path, target: Path) -> None:
    if target.is_dir() and not target.is_symlink():
        old = target.with_name(f".{target.name}.{os.getpid()}.old")
        os.replace(target, old)
        os.replace(temporary, target)
        shutil.rmtree(old)
    else:
        os.replace(temporary, target)


def export_marts(
    con: duckdb.DuckDBPyConnection, out: str | os.PathLike[str], file_format: str = "parquet"
) -> ExportResult:
    """Write every mart of the database ``con`` reads to ``out`` in ``file_format`` (parquet or csv)."""
    if file_format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {file_format!r}")
    started = time.perf_counter()
    out_dir = Path(out).resolve()
    out_dir.mkdir(parents=True, exist_ok=True)
    options = "FORMAT parquet, COMPRESSION zstd" if file_format == "parquet" else "FORMAT csv, HEADER true"
    result = ExportResult(out_dir, file_format)
    for name, daily in _marts(con):
        source = f"{EXPORTED_SCHEMA}.{_identifier(name)}"
        rows = int(con.execute(f"SELECT count(*) FROM {source}").fetchone()[0])
        if daily:
            target = out_dir / name
            temporary = out_dir / f".{name}.{os.getpid()}.tmp"
            shutil.rmtree(temporary, ignore_errors=True)
            if rows:
                con.execute(f"COPY (SELECT * FROM {source}) TO {_literal(str(temporary))} "
                            f"({options}, PARTITION_BY ({_identifier(PARTITION_COLUMN)}))")  # fmt: skip
            else:  # no day folders to write: one empty file keeps the columns readable
                temporary.mkdir()
                con.execute(f"COPY (SELECT * FROM {source}) TO "
                            f"{_literal(str(temporary / f'empty.{file_format}'))} ({options})")  # fmt: skip
            result.partitioned.append(name)
        else:
            target = out_dir / f"{name}.{file_format}"
            temporary = out_dir / f".{name}.{os.getpid()}.tmp.{file_format}"
            con.execute(f"COPY (SELECT * FROM {source}) TO {_literal(str(temporary))} ({options})")
        _replace(temporary, target)
        result.rows[name] = rows
        log.debug("exported %s: %d rows to %s", name, rows, target)
    result.seconds = time.perf_counter() - started
    log.info("exported %d marts (%s rows) as %s to %s in %.2f s", len(result.rows),
             f"{sum(result.rows.values()):,}", file_format, out_dir, result.seconds)  # fmt: skip
    return result
