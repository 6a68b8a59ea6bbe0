"""DDL of the warehouse: the raw tables of the paged entities derived from their descriptions, the rest as numbered
migrations recorded in ``meta.schema_version``.

The raw tables of the paged entities (``raw.messages``, ``raw.sessions``, ``raw.clients``) and their link tables
follow ``reporter_etl.entities`` column for column, plus ``_loaded_at`` and ``_sync_run_id``.  Every open brings
them to the descriptions additively: a missing table is created, a described column the table lacks is added
(``ALTER TABLE ... ADD COLUMN``, nullable: the rows already there have no value for it until their window is read
again).  Nothing is ever renamed, retyped or dropped: a column whose type differs from its description, or a
column no description knows (a newer reporter-etl wrote the file), stops the open with a ``SchemaVersionError``.

Everything else (catalogs, daily stats, meta) is created by numbered migrations; a migration is frozen once
released: change that part of the schema by appending a new one, never by editing an old one.

The big raw tables carry no PRIMARY KEY: the loader keeps keys unique itself (dedupe, then delete+insert in one
transaction), which measured 2-5x faster than keeping an ART index up to date on re-loaded windows, and allows
the clients key to contain a NULL bot_id.  The small catalog and meta tables do carry primary keys as a guard.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

import duckdb
import pyarrow as pa

from reporter_etl import __version__
from reporter_etl.entities import ENTITIES, Entity
from reporter_etl.errors import SchemaVersionError
from reporter_etl.warehouse.db import transaction

log = logging.getLogger(__name__)

Step = str | Callable[[duckdb.DuckDBPyConnection], None]  # a migration step: SQL, or a function of the connection

# Bookkeeping columns every raw table of an entity (and every link table) has after the described ones.
LOAD_COLUMNS: tuple[tuple[str, str], ...] = (
    ("_loaded_at", "TIMESTAMPTZ NOT NULL"),
    ("_sync_run_id", "VARCHAR NOT NULL"),
)
_LOAD_COLUMNS_SQL = ",".join(f"\n    {name} {kind}" for name, kind in LOAD_COLUMNS)  # for the catalogs' DDL


def described_tables(entities: Mapping[str, Entity] = ENTITIES) -> Iterator[tuple[str, pa.Schema]]:
    """Every table the entity descriptions define: (qualified name, Arrow schema of its described columns)."""
    for entity in entities.values():
        yield entity.table, entity.schema
        for link in entity.links:
            yield link.table, entity.link_schema(link)


# DuckDB's mapping of an Arrow schema, asked once per schema and process: every open of the warehouse compares
# each described table with it, and asking costs a few milliseconds per table.
_SQL_TYPES: dict[bytes, tuple[str, ...]] = {}  # keyed by the serialised schema: metadata included
# Empty tables are made with Table.from_batches: Schema.empty_table() imports pandas (~0.5 s per process).


def sql_types(con: duckdb.DuckDBPyConnection, schema: pa.Schema) -> list[str]:
    """DuckDB's type of each field of ``schema``, as DuckDB maps Arrow (the same mapping the loader's inserts use)."""
    key = schema.serialize().to_pybytes()
    kinds = _SQL_TYPES.get(key)
    if kinds is None:
        con.register("_described_types", pa.Table.from_batches([], schema=schema))
        try:
            kinds = tuple(row[1] for row in con.execute("DESCRIBE _described_types").fetchall())
        finally:
            con.unregister("_described_types")
        _SQL_TYPES[key] = kinds
    return list(kinds)


def create_table_sql(con: duckdb.DuckDBPyConnection, table: str, schema: pa.Schema) -> str:
    kinds = sql_types(con, schema)
    columns = [f'"{f.name}" {kind}{"" if f.nullable else " NOT NULL"}' for f, kind in zip(schema, kinds, strict=True)]
    columns += [f"{name} {kind}" for name, kind in LOAD_COLUMNS]
    return f"CREATE TABLE {table} (\n    " + ",\n    ".join(columns) + "\n)"


def ensure_described_tables(con: duckdb.DuckDBPyConnection, entities: Mapping[str, Entity] = ENTITIES) -> list[str]:
    """Create the described tables that are missing and add the described columns a table lacks; returns what it
    did, one text per change.  Call inside a transaction."""
    changes: list[str] = []
    tables = list(described_tables(entities))
    # The columns of every described table in one query (a query of information_schema costs about a millisecond).
    columns: dict[str, dict[str, str]] = {}
    for table_schema, table_name, name, kind in con.execute(
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns "
        "WHERE list_contains(?, table_schema || '.' || table_name) ORDER BY ordinal_position",
        [[table for table, _ in tables]],
    ).fetchall():
        columns.setdefault(f"{table_schema}.{table_name}", {})[name] = kind
    for table, schema in tables:
        present = columns.get(table, {})
        if not present:
            con.execute(create_table_sql(con, table, schema))
            changes.append(f"created {table}")
            continue
        unknown = sorted(present.keys() - set(schema.names) - {name for name, _ in LOAD_COLUMNS})
        if unknown:
            raise SchemaVersionError(
                f"{table} has column(s) {unknown} that this reporter-etl ({__version__}) does not describe: "
                f"the warehouse was written by a newer version; upgrade reporter-etl"
            )
        for f, kind in zip(schema, sql_types(con, schema), strict=True):
            if f.name not in present:
                con.execute(f'ALTER TABLE {table} ADD COLUMN "{f.name}" {kind}')
                changes.append(f"added {table}.{f.name} {kind}")
            elif present[f.name] != kind:
                raise SchemaVersionError(
                    f"{table}.{f.name} is {present[f.name]} in the warehouse but {kind} in the description of "
                    f"this reporter-etl ({__version__}); columns are never retyped"
                )
    return changes


def _create_described_tables(con: duckdb.DuckDBPyConnection) -> None:
    ensure_described_tables(con)


_V1: list[Step] = [
    "CREATE SCHEMA IF NOT EXISTS raw",
    _create_described_tables,  # raw.messages, raw.sessions, raw.clients and their label link tables
    # Catalogs: fully refreshed per project.
    f"""
CREATE TABLE raw.message_labels (
    project_short_name VARCHAR NOT NULL,
    label_id BIGINT NOT NULL,
    "name" VARCHAR NOT NULL,
    priority INTEGER,
    group_id BIGINT,
    group_name VARCHAR,
    group_priority INTEGER,
    extra VARCHAR,{_LOAD_COLUMNS_SQL},
    PRIMARY KEY (project_short_name, label_id)
)""",
    f"""
CREATE TABLE raw.message_label_groups (
    project_short_name VARCHAR NOT NULL,
    group_id BIGINT NOT NULL,
    "name" VARCHAR NOT NULL,
    priority INTEGER,
    extra VARCHAR,{_LOAD_COLUMNS_SQL},
    PRIMARY KEY (project_short_name, group_id)
)""",
    f"""
CREATE TABLE raw.session_labels (
    project_short_name VARCHAR NOT NULL,
    label_id BIGINT NOT NULL,
    "name" VARCHAR NOT NULL,
    priority INTEGER,
    extra VARCHAR,{_LOAD_COLUMNS_SQL},
    PRIMARY KEY (project_short_name, label_id)
)""",
    f"""
CREATE TABLE raw.experiments (
    project_short_name VARCHAR NOT NULL,
    experiment_key VARCHAR NOT NULL,
    description VARCHAR,
    status VARCHAR,
    branches STRUCT("key" VARCHAR, description VARCHAR)[],
    extra VARCHAR,{_LOAD_COLUMNS_SQL},
    PRIMARY KEY (project_short_name, experiment_key)
)""",
    f"""
CREATE TABLE raw.experiment_session_counts (
    project_short_name VARCHAR NOT NULL,
    experiment_key VARCHAR NOT NULL,
    session_count BIGINT NOT NULL,
    extra VARCHAR,{_LOAD_COLUMNS_SQL},
    PRIMARY KEY (project_short_name, experiment_key)
)""",
    # The platform's own counts per local day, kept to reconcile the raw tables against.
    """
CREATE TABLE raw.api_daily_stats (
    project_short_name VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    dimension VARCHAR NOT NULL DEFAULT '',
    day DATE NOT NULL,
    value DOUBLE,
    tz_offset_minutes INTEGER,
    fetched_at TIMESTAMPTZ NOT NULL,
    _sync_run_id VARCHAR NOT NULL,
    PRIMARY KEY (project_short_name, metric, dimension, day)
)""",
    """
CREATE TABLE meta.sync_state (
    project_short_name VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    status VARCHAR NOT NULL,
    row_count BIGINT NOT NULL,
    completed_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR NOT NULL,
    PRIMARY KEY (project_short_name, entity, window_start, window_end)
)""",
    """
CREATE TABLE meta.sync_runs (
    run_id VARCHAR PRIMARY KEY,
    project_short_name VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status VARCHAR NOT NULL,
    requested_start TIMESTAMPTZ,
    requested_end TIMESTAMPTZ,
    rows_per_entity MAP(VARCHAR, BIGINT) NOT NULL,
    request_count BIGINT,
    error_message VARCHAR,
    host VARCHAR,
    pid INTEGER,
    reporter_etl_version VARCHAR
)""",
]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[Step, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "raw entity, link and catalog tables; meta sync state and runs", tuple(_V1)),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The version recorded in the file; 0 for a file reporter-etl has not set up."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return int(con.execute("SELECT coalesce(max(version), 0) FROM meta.schema_version").fetchall()[0][0])


def ensure_schema(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the file up to ``SCHEMA_VERSION`` and its raw tables up to the entity descriptions; running it again
    changes nothing.  Returns the version."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.schema_version ("
        "version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL, "
        "reporter_etl_version VARCHAR)"
    )
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the warehouse has schema version {current}, newer than the {SCHEMA_VERSION} this reporter-etl "
            f"({__version__}) knows: upgrade reporter-etl"
        )
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        with transaction(con):
            for step in migration.statements:
                if callable(step):
                    step(con)
                else:
                    con.execute(step)
            con.execute(
                "INSERT INTO meta.schema_version VALUES (?, ?, now(), ?)",
                [migration.version, migration.description, __version__],
            )
        log.info("warehouse schema migrated to version %d: %s", migration.version, migration.description)
    with transaction(con):
        changes = ensure_described_tables(con)
    for change in changes:
        log.warning("warehouse schema brought to the entity descriptions: %s", change)
    return SCHEMA_VERSION
