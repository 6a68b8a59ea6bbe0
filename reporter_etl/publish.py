"""A read-only copy of the staging and mart tables for BI tools, published after each models build.

DuckDB lets one process write a file, and while it does nobody else may open it; BI tools keep their connections
open for hours.  So they read a separate file: every table and view of ``staging`` and ``marts`` copied as a
table (a staging view reads ``raw.*`` and the session's variables, neither of which the copy has), plus
``meta.published`` saying what was copied and when.  The copy is written under a temporary name beside the
target, checkpointed, fsync'd and then ``os.replace``d over the target, so a reader sees the previous copy or the
new one, never a half-written one, and a reader holding the old file open keeps reading it (POSIX rename).

It is written in DuckDB storage version ``PUBLISH_STORAGE_VERSION`` so that DuckDB 1.x, which many BI drivers
bundle, can open it; the warehouse itself stays in the installed DuckDB's default format.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from reporter_etl import __version__
from reporter_etl.errors import WarehouseError
from reporter_etl.models.raw_keys import checked_raw_keys

log = logging.getLogger(__name__)

PUBLISHED_SCHEMAS = ("staging", "marts")
# The oldest storage version DuckDB 2.x can write and DuckDB 1.0 and every later 1.x can read.
PUBLISH_STORAGE_VERSION = "v1.0.0"
PUBLISHED_SUFFIX = ".published.duckdb"
_ALIAS = "reporter_etl_published"


class PublishError(WarehouseError):
    """The published copy could not be written (the models are built); the previous copy, if any, is untouched."""


@dataclass
class PublishResult:
    path: Path
    rows: dict[str, int] = field(default_factory=dict)  # "schema.table" -> rows copied
    seconds: float = 0.0
    bytes: int = 0


def default_publish_path(db_path: str | os.PathLike[str]) -> Path:
    """``<db stem>.published.duckdb`` beside the warehouse."""
    db = Path(db_path)
    return db.with_name(db.stem + PUBLISHED_SUFFIX)


def _quote_identifier(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _quote_literal(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def published_objects(con: duckdb.DuckDBPyConnection, schemas: Sequence[str] = PUBLISHED_SCHEMAS) -> list[tuple]:
    """(schema, name, 'table' | 'view', comment) of the warehouse's objects to publish, in a stable order."""
    return con.execute(
        """
        select schema_name, table_name, 'table', comment from duckdb_tables()
        where database_name = current_database() and list_contains(?, schema_name) and not temporary
        union all
        select schema_name, view_name, 'view', comment from duckdb_views()
        where database_name = current_database() and list_contains(?, schema_name) and not internal
              and not temporary
        order by 1, 2
        """,
        [list(schemas), list(schemas)],
    ).fetchall()


def _column_comments(con: duckdb.DuckDBPyConnection, schema: str, name: str) -> list[tuple[str, str]]:
    return con.execute(
        "select column_name, comment from duckdb_columns() where database_name = current_database() "
        "and schema_name = ? and table_name = ? and comment is not null order by column_index",
        [schema, name],
    ).fetchall()


def _fsync(path: Path, *, directory: bool = False) -> None:
    fd = os.open(path, os.O_RDONLY | (os.O_DIRECTORY if directory else 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _remove(path: Path) -> None:
    for leftover in (path, path.with_name(path.name + ".wal")):
        leftover.unlink(missing_ok=True)


def _copy_objects(
    con: duckdb.DuckDBPyConnection,
    objects: list[tuple],
    descriptions: Mapping[str, tuple[str, Mapping[str, str]]],
    result: PublishResult,
) -> None:
    """Copy each table or view into the attached copy as a table, with its table and column comments."""
    for schema, name, kind, comment in objects:
        source_name = f"{_quote_identifier(schema)}.{_quote_identifier(name)}"
        copy_name = f"{_ALIAS}.{source_name}"
        con.execute(f"CREATE TABLE {copy_name} AS SELECT * FROM {source_name}")
        table_text, column_texts = descriptions.get(f"{schema}.{name}", ("", {}))
        if comment or table_text:
            con.execute(f"COMMENT ON TABLE {copy_name} IS {_quote_literal(comment or table_text)}")
        columns = [r[0] for r in con.execute(f"SELECT * FROM {copy_name} LIMIT 0").description]
        texts = {c: column_texts[c] for c in columns if column_texts.get(c)}
        texts.update(dict(_column_comments(con, schema, name)))
        for column, text in texts.items():
            con.execute(f"COMMENT ON COLUMN {copy_name}.{_quote_identifier(column)} IS {_quote_literal(text)}")
        result.rows[f"{schema}.{name}"] = int(con.execute(f"SELECT count(*) FROM {copy_name}").fetchone()[0])
        log.debug("published %s.%s (%s): %d rows", schema, name, kind, result.rows[f"{schema}.{name}"])


def publish(
    con: duckdb.DuckDBPyConnection,
    target: str | os.PathLike[str],
    *,
    schemas: Sequence[str] = PUBLISHED_SCHEMAS,
    source: str = "",
    descriptions: Mapping[str, tuple[str, Mapping[str, str]]] | None = None,
) -> PublishResult:
    """Copy ``schemas`` of the database ``con`` is attached to into ``target``, atomically.

    ``con`` is the connection that just built the models (so staging views see the same variables, such as the
    project's time zone) and should hold the warehouse's writer lock, so nothing changes while it is copied.
    ``descriptions`` ("schema.table" -> (table text, {column: text})) become the copy's table and column comments,
    which BI tools show beside the names; comments the warehouse has win.
    """
    descriptions = descriptions or {}
    started = time.perf_counter()
    target = Path(target).resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    temporary = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    _remove(temporary)
    objects = published_objects(con, schemas)
    result = PublishResult(target)
    attached = in_transaction = False
    try:
        con.execute(f"ATTACH {_quote_literal(str(temporary))} AS {_ALIAS} "
                    f"(STORAGE_VERSION {_quote_literal(PUBLISH_STORAGE_VERSION)})")  # fmt: skip
        attached = True
        # One transaction for the whole copy: the few hundred COMMENT statements cost about 2 ms each when each
        # commits on its own, a tenth of that inside one (the copy becomes visible by the rename below anyway).
        con.begin()
        in_transaction = True
        for schema in sorted({schema for schema, *_ in objects} | {"meta"}):
            con.execute(f"CREATE SCHEMA IF NOT EXISTS {_ALIAS}.{_quote_identifier(schema)}")
        with checked_raw_keys(con):  # the staging views copied whole skip a deduplication with nothing to do
            _copy_objects(con, objects, descriptions, result)
        con.execute(
            f"CREATE TABLE {_ALIAS}.meta.published (table_name VARCHAR, kind_in_warehouse VARCHAR, row_count "
            f"BIGINT, published_at TIMESTAMPTZ, source VARCHAR, reporter_etl_version VARCHAR)"
        )
        now = datetime.now(UTC)
        for schema, name, kind, _ in objects:
            qualified = f"{schema}.{name}"
            con.execute(f"INSERT INTO {_ALIAS}.meta.published VALUES (?, ?, ?, ?, ?, ?)",
                        [qualified, kind, result.rows[qualified], now, source, __version__])  # fmt: skip
        con.commit()
        in_transaction = False
        con.execute(f"CHECKPOINT {_ALIAS}")
        con.execute(f"DETACH {_ALIAS}")
        attached = False
        if temporary.with_name(temporary.name + ".wal").exists():
            raise PublishError(f"{temporary}: a write-ahead log remained after the checkpoint")
        _fsync(temporary)
        result.bytes = temporary.stat().st_size
        os.replace(temporary, target)
        _fsync(target.parent, directory=True)
    except BaseException as exc:
        if in_transaction:
            try:
                con.rollback()
            except duckdb.Error:
                log.debug("rolling back the unfinished copy failed", exc_info=True)
        if attached:
            try:
                con.execute(f"DETACH {_ALIAS}")
            except duckdb.Error:
                log.debug("detaching the unfinished copy failed", exc_info=True)
        _remove(temporary)
        if isinstance(exc, duckdb.Error):
            raise PublishError(f"publishing to {target} failed: {exc}") from exc
        raise
    result.seconds = time.perf_counter() - started
    log.info("published %d tables (%s rows) to %s in %.2f s", len(result.rows), f"{sum(result.rows.values()):,}",
             target, result.seconds)  # fmt: skip
    return result
