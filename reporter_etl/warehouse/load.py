"""Merging windows of paged entities (messages, sessions, clients) into the raw tables.

A window's batches are staged in memory as Arrow (the extractor holds them there anyway), then merged in one
DuckDB transaction together with the window's ``meta.sync_state`` rows: dedupe inside the staged rows (last one
wins), delete the rows with those keys, insert the staged rows, and replace the label links of those keys.
Delete+insert without a primary key measured fastest (see ``bench/warehouse_load.py``): INSERT OR REPLACE on a
primary key was 2x slower on fresh rows and 5x slower on re-loaded ones.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import duckdb
import pyarrow as pa
import pyarrow.compute as pc

from reporter_etl.entities import ENTITIES, Entity, LinkTable
from reporter_etl.errors import BatchSchemaError, LoadError
from reporter_etl.keys import dedupe_last
from reporter_etl.warehouse import state
from reporter_etl.warehouse.db import transaction

log = logging.getLogger(__name__)

BatchLike = pa.Table | pa.RecordBatch | pa.RecordBatchReader | Iterable[pa.RecordBatch]


WINDOW_ENTITIES: tuple[str, ...] = tuple(ENTITIES)


@dataclass
class WindowLoaded:
    """A window's rows as committed into the raw tables, with its meta.sync_state rows."""

    project: str
    window_start: datetime
    window_end: datetime
    run_id: str
    rows: dict[str, int] = field(default_factory=dict)  # rows merged per entity, after dedupe
    duplicates_dropped: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0


def as_utc(value: datetime, what: str) -> datetime:
    if value.tzinfo is None or value.utcoffset() is None:
        raise ValueError(f"{what} must be an aware datetime (got naive {value.isoformat()})")
    return value.astimezone(UTC)


def entity_description(entity: str) -> Entity:
    try:
        return ENTITIES[entity]
    except KeyError:
        raise LoadError(f"unknown entity {entity!r}; windowed entities are {', '.join(WINDOW_ENTITIES)}") from None


def to_table(data: BatchLike) -> pa.Table:
    if isinstance(data, pa.Table):
        return data
    if isinstance(data, pa.RecordBatch):
        return pa.Table.from_batches([data])
    if isinstance(data, pa.RecordBatchReader):
        return data.read_all()
    batches = list(data)
    if not batches:
        raise BatchSchemaError("an empty iterable of batches has no schema; pass an empty pa.Table instead")
    return pa.Table.from_batches(batches)


def conform_to(expected: pa.Schema, name: str, data: BatchLike) -> pa.Table:
    """The data with exactly the expected columns, order and types, or a BatchSchemaError naming the fields."""
    table = to_table(data)
    names = set(table.column_names)
    missing = [n for n in expected.names if n not in names]
    unexpected = [n for n in table.column_names if n not in expected.names]
    if missing or unexpected:
        raise BatchSchemaError(
            f"{name} batch does not follow the column contract: "
            f"missing {missing or 'none'}, unexpected {unexpected or 'none'}"
        )
    if len(names) != len(table.column_names):
        raise BatchSchemaError(f"{name} batch repeats a column name: {table.column_names}")
    table = table.select(expected.names)
    if all(table.schema.field(f.name).type.equals(f.type) for f in expected):
        return table if table.schema.equals(expected) else pa.Table.from_arrays(table.columns, schema=expected)
    columns = []
    for expected_field, column in zip(expected, table.columns, strict=True):
        if column.type.equals(expected_field.type):
            columns.append(column)
            continue
        try:
            columns.append(column.cast(expected_field.type, safe=True))
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError) as exc:
            raise BatchSchemaError(
                f"{name}.{expected_field.name}: got type {column.type}, the contract says "
                f"{expected_field.type}, and it does not convert ({exc})"
            ) from None
    return pa.Table.from_arrays(columns, schema=expected)


def check_project(table: pa.Table, contract: Entity, project: str) -> None:
    column = table.column("project_short_name")
    if table.num_rows == 0 or pc.all(pc.equal(column, project), skip_nulls=False).as_py():
        return
    others = sorted({p for p in pc.unique(column).to_pylist() if p != project}, key=str)
    raise LoadError(f"{contract.name} rows of project(s) {others} handed to a window of project {project!r}")


def _key_match(spec: Entity, left: str, right: str) -> str:
    nullable = {c.name for c in spec.columns if c.nullable}
    return " AND ".join(
        f"{left}.{k} IS NOT DISTINCT FROM {right}.{k}" if k in nullable else f"{left}.{k} = {right}.{k}"
        for k in spec.key
    )


def stage_view(spec: Entity) -> str:
    return f"_stage_{spec.name}"


def keys_view(spec: Entity) -> str:
    return f"_keys_{spec.name}"


def staged_views(spec: Entity, rows: pa.Table) -> dict[str, pa.Table]:
    """The views ``merge_entity`` reads: the staged rows, and their key columns alone (no copy).

    The deletes join on the key view: DuckDB (2.0) reads every column of the table in ``DELETE ... USING``
    into the join's hash table, so a join on the whole staged window held all of it in DuckDB's memory
    (a 64MB memory limit ran out there); on the keys alone a 16MB limit is enough, and it is faster."""
    return {stage_view(spec): rows, keys_view(spec): rows.select(list(spec.key))}


def merge_entity(con: duckdb.DuckDBPyConnection, spec: Entity, view: str, run_id: str, keys: str | None = None
                 ) -> None:  # fmt: skip
    """Replace the rows (and label links) of the keys in the registered ``view``, whose keys must be unique;
    ``keys``: a registered view of its key columns alone (see ``staged_views``), else ``view`` is joined whole.
    Call inside a transaction: on its own it is not atomic."""
    columns = ", ".join(c.name for c in spec.columns)
    keys = keys or view
    con.execute(f"DELETE FROM {spec.table} t USING {keys} s WHERE {_key_match(spec, 't', 's')}")
    con.execute(
        f"INSERT INTO {spec.table} ({columns}, _loaded_at, _sync_run_id) SELECT {columns}, now(), ? FROM {view}",
        [run_id],
    )
    for links in spec.links:
        _replace_links(con, spec, links, view, keys, run_id)


def _replace_links(con: duckdb.DuckDBPyConnection, spec: Entity, links: LinkTable, view: str, keys: str,
                   run_id: str) -> None:  # fmt: skip
    # The link table holds the owner's key columns under the same names; its first field is the label id.
    owner_columns = ", ".join(spec.key)
    con.execute(f"DELETE FROM {links.table} t USING {keys} s WHERE {_key_match(spec, 't', 's')}")
    id_field = links.fields[0][1]
    values = ", ".join([f"item.{id_field}"] + [f"any_value(item.{name})" for _, name in links.fields[1:]])
    link_columns = ", ".join(column for column, _ in links.fields)
    con.execute(
        f"""
        INSERT INTO {links.table} ({owner_columns}, {link_columns}, _loaded_at, _sync_run_id)
        SELECT {owner_columns}, {values}, now(), ?
        FROM (SELECT {owner_columns}, unnest({links.list_column}) AS item FROM {view})
        WHERE item.{id_field} IS NOT NULL
        GROUP BY {owner_columns}, item.{id_field}
        """,
        [run_id],
    )


class WindowTransaction:
    """Stages the batches of one window; ``Warehouse.window_load`` commits them with the window's state, in one
    transaction, and leaves the counts in ``loaded``."""

    def __init__(
        self,
        con: duckdb.DuckDBPyConnection,
        project: str,
        entities: Iterable[str],
        window_start: datetime,
        window_end: datetime,
        run_id: str,
    ) -> None:
        self._con = con
        self.project = project
        self.entities = tuple(dict.fromkeys(entities))
        if not self.entities:
            raise LoadError("a window load needs at least one entity")
        for entity in self.entities:
            entity_description(entity)
        self.window_start = as_utc(window_start, "window_start")
        self.window_end = as_utc(window_end, "window_end")
        if self.window_end <= self.window_start:
            raise LoadError(f"window end {self.window_end.isoformat()} is not after its start")
        self.run_id = run_id
        state.require_run(con, run_id, project)
        self._staged: dict[str, list[pa.Table]] = {entity: [] for entity in self.entities}
        self._unique: dict[str, bool] = dict.fromkeys(self.entities, True)  # keys known distinct, per entity
        self._daily_stats: pa.Table | None = None
        self.loaded: WindowLoaded | None = None

    @property
    def staged_rows(self) -> dict[str, int]:
        return {entity: sum(t.num_rows for t in tables) for entity, tables in self._staged.items()}

    def add(self, entity: str, data: BatchLike, *, distinct_keys: bool = False) -> int:
        """Stage rows of ``entity`` (any number of calls per entity); returns the number of rows staged.
        ``distinct_keys``: the caller vouches that no two of these rows share a key (the sync's extraction
        checks it), which spares the commit a grouping of a lone batch."""
        if entity not in self._staged:
            raise LoadError(f"{entity!r} is not one of this window's entities {list(self.entities)}")
        if self.loaded is not None:
            raise LoadError("this window is already committed")
        spec = entity_description(entity)
        table = conform_to(spec.schema, spec.name, data)
        check_project(table, spec, self.project)
        self._staged[entity].append(table)
        self._unique[entity] = distinct_keys and len(self._staged[entity]) == 1
        return table.num_rows

    def add_daily_stats(self, rows: Iterable[Mapping[str, Any]] | pa.Table) -> None:
        """The platform's daily counts for this window, committed in the window's transaction."""
        from reporter_etl.warehouse import catalogs  # catalogs imports this module

        if self.loaded is not None:
            raise LoadError("this window is already committed")
        self._daily_stats = catalogs.daily_stats_table(rows)

    def commit(self) -> WindowLoaded:
        if self.loaded is not None:
            raise LoadError("this window is already committed")
        started = time.perf_counter()
        loaded = WindowLoaded(self.project, self.window_start, self.window_end, self.run_id)
        prepared: list[tuple[Entity, pa.Table]] = []
        for entity in self.entities:
            spec = entity_description(entity)
            tables = self._staged[entity]
            staged = pa.concat_tables(tables) if tables else pa.Table.from_batches([], schema=spec.schema)
            rows = staged if self._unique[entity] else dedupe_last(staged, spec.key)
            loaded.rows[entity] = rows.num_rows
            loaded.duplicates_dropped[entity] = staged.num_rows - rows.num_rows
            prepared.append((spec, rows))
        con = self._con
        # An entity without rows has nothing to delete or insert: merging it would only cost the commit its
        # statements (an empty window paid about 40 ms for them); its state row is written all the same.
        prepared = [(spec, rows) for spec, rows in prepared if rows.num_rows]
        views = {name: table for spec, rows in prepared for name, table in staged_views(spec, rows).items()}
        if self._daily_stats is not None:
            views["_stage_daily_stats"] = self._daily_stats
        with transaction(con, views):
            for spec, _ in prepared:
                merge_entity(con, spec, stage_view(spec), self.run_id, keys_view(spec))
            state.record_windows(con, self.project, self.window_start, self.window_end, loaded.rows, self.run_id)
            run_rows = dict(loaded.rows)
            if self._daily_stats is not None:
                from reporter_etl.warehouse import catalogs

                catalogs.merge_daily_stats(con, self.project, self.run_id, "_stage_daily_stats")
                run_rows["api_daily_stats"] = self._daily_stats.num_rows
            state.add_run_rows(con, self.run_id, run_rows)  # one read and one update of the run's row
            log.debug("window %s [%s, %s): merged, committing", self.project, self.window_start, self.window_end)
        self._staged.clear()
        loaded.seconds = time.perf_counter() - started
        self.loaded = loaded
        log.info(
            "window %s [%s, %s) loaded in %.2f s: %s",
            self.project, self.window_start.isoformat(), self.window_end.isoformat(), loaded.seconds,
            ", ".join(f"{entity} {count}" for entity, count in loaded.rows.items()),
        )
        return loaded
