"""Small catalogs (labels, label groups, experiments, experiment session counts) and the platform's daily stats.

Catalogs are refreshed whole: every catalog handed to ``replace_catalogs`` replaces that project's rows of it, all
of them in one transaction.  Items come as the API returns them (lists of JSON objects) or as Arrow tables with the
schemas below; fields the warehouse does not know are kept in an ``extra`` JSON column, never dropped.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb
import orjson
import pyarrow as pa

from reporter_etl.errors import BatchSchemaError, LoadError
from reporter_etl.keys import dedupe_last
from reporter_etl.warehouse import state
from reporter_etl.warehouse.db import transaction
from reporter_etl.warehouse.load import conform_to

log = logging.getLogger(__name__)

CatalogRows = Sequence[Mapping[str, Any]] | pa.Table


@dataclass(frozen=True)
class CatalogSpec:
    name: str
    table: str
    key: tuple[str, ...]
    schema: pa.Schema  # the columns besides project_short_name, _loaded_at and _sync_run_id
    from_api: Callable[[Mapping[str, Any]], dict[str, Any]]


def _required(item: Mapping[str, Any], name: str, catalog: str) -> Any:
    value = item.get(name)
    if value is None:
        raise BatchSchemaError(f"{catalog}: an item lacks the required field {name!r}: {sorted(item)}")
    return value


def _extra(item: Mapping[str, Any], known: frozenset[str]) -> str | None:
    unknown = {k: v for k, v in item.items() if k not in known}
    return orjson.dumps(unknown, option=orjson.OPT_SORT_KEYS).decode() if unknown else None


_LABEL_FIELDS = frozenset({"id", "name", "priority"})
_MESSAGE_LABEL_FIELDS = frozenset({"id", "name", "priority", "group"})


def _message_label(item: Mapping[str, Any]) -> dict[str, Any]:
    group = item.get("group") or {}
    return {
        "label_id": _required(item, "id", "message_labels"),
        "name": _required(item, "name", "message_labels"),
        "priority": item.get("priority"),
        "group_id": group.get("id"),
        "group_name": group.get("name"),
        "group_priority": group.get("priority"),
        "extra": _extra(item, _MESSAGE_LABEL_FIELDS),
    }


def _flat_label(catalog: str, id_column: str) -> Callable[[Mapping[str, Any]], dict[str, Any]]:
    def convert(item: Mapping[str, Any]) -> dict[str, Any]:
        return {
            id_column: _required(item, "id", catalog),
            "name": _required(item, "name", catalog),
            "priority": item.get("priority"),
            "extra": _extra(item, _LABEL_FIELDS),
        }

    return convert


_EXPERIMENT_FIELDS = frozenset({"key", "description", "status", "branches"})


def _experiment(item: Mapping[str, Any]) -> dict[str, Any]:
    branches = item.get("branches")
    return {
        "experiment_key": _required(item, "key", "experiments"),
        "description": item.get("description"),
        "status": item.get("status"),
        "branches": None
        if branches is None
        else [{"key": b.get("key"), "description": b.get("description")} for b in branches],
        "extra": _extra(item, _EXPERIMENT_FIELDS),
    }


def _experiment_count(item: Mapping[str, Any]) -> dict[str, Any]:
    return {
        "experiment_key": _required(item, "key", "experiment_session_counts"),
        "session_count": _required(item, "count", "experiment_session_counts"),
        "extra": _extra(item, frozenset({"key", "count"})),
    }


CATALOGS: dict[str, CatalogSpec] = {
    spec.name: spec
    for spec in (
        CatalogSpec(
            "message_labels",
            "raw.message_labels",
            ("label_id",),
            pa.schema(
                [
                    ("label_id", pa.int64()),
                    ("name", pa.string()),
                    ("priority", pa.int32()),
                    ("group_id", pa.int64()),
                    ("group_name", pa.string()),
                    ("group_priority", pa.int32()),
                    ("extra", pa.string()),
                ]
            ),
            _message_label,
        ),
        CatalogSpec(
            "label_groups",
            "raw.message_label_groups",
            ("group_id",),
            pa.schema(
                [("group_id", pa.int64()), ("name", pa.string()), ("priority", pa.int32()), ("extra", pa.string())]
            ),
            _flat_label("label_groups", "group_id"),
        ),
        CatalogSpec(
            "session_labels",
            "raw.session_labels",
            ("label_id",),
            pa.schema(
                [("label_id", pa.int64()), ("name", pa.string()), ("priority", pa.int32()), ("extra", pa.string())]
            ),
            _flat_label("session_labels", "label_id"),
        ),
        CatalogSpec(
            "experiments",
            "raw.experiments",
            ("experiment_key",),
            pa.schema(
                [
                    ("experiment_key", pa.string()),
                    ("description", pa.string()),
                    ("status", pa.string()),
                    ("branches", pa.list_(pa.struct([("key", pa.string()), ("description", pa.string())]))),
                    ("extra", pa.string()),
                ]
            ),
            _experiment,
        ),
        CatalogSpec(
            "experiment_session_counts",
            "raw.experiment_session_counts",
            ("experiment_key",),
            pa.schema([("experiment_key", pa.string()), ("session_count", pa.int64()), ("extra", pa.string())]),
            _experiment_count,
        ),
    )
}


def catalog_table(name: str, rows: CatalogRows) -> pa.Table:
    """Rows of catalog ``name`` as an Arrow table of its schema, one row per key (the last one wins)."""
    try:
        spec = CATALOGS[name]
    except KeyError:
        raise LoadError(f"unknown catalog {name!r}; catalogs are {', '.join(CATALOGS)}") from None
    if isinstance(rows, pa.Table):
        table = conform_to(spec.schema, name, rows)
    else:
        try:
            table = pa.Table.from_pylist([spec.from_api(item) for item in rows], schema=spec.schema)
        except (pa.ArrowInvalid, pa.ArrowTypeError) as exc:
            raise BatchSchemaError(f"{name}: an item has a field of an unexpected type ({exc})") from None
    return dedupe_last(table, spec.key)


def replace_catalogs(
    con: duckdb.DuckDBPyConnection, project: str, run_id: str, catalogs: Mapping[str, CatalogRows]
) -> dict[str, int]:
    """Replace the project's rows of every catalog given, in one transaction.  Returns rows per catalog."""
    state.require_run(con, run_id, project)
    prepared = {name: catalog_table(name, rows) for name, rows in catalogs.items()}
    views = {f"_catalog_{name}": table for name, table in prepared.items()}
    with transaction(con, views):
        for name in prepared:
            spec = CATALOGS[name]
            columns = ", ".join(f'"{c}"' for c in spec.schema.names)
            con.execute(f"DELETE FROM {spec.table} WHERE project_short_name = ?", [project])
            con.execute(
                f"INSERT INTO {spec.table} (project_short_name, {columns}, _loaded_at, _sync_run_id) "
                f"SELECT ?, {columns}, now(), ? FROM _catalog_{name}",
                [project, run_id],
            )
        counts = {name: table.num_rows for name, table in prepared.items()}
        state.add_run_rows(con, run_id, counts)
        log.debug("catalogs of %s replaced, committing", project)
    log.info("catalogs of %s replaced: %s", project, ", ".join(f"{k} {v}" for k, v in counts.items()))
    return counts


DAILY_STATS_SCHEMA = pa.schema(
    [
        ("metric", pa.string()),
        ("dimension", pa.string()),
        ("day", pa.date32()),
        ("value", pa.float64()),
        ("tz_offset_minutes", pa.int32()),
    ]
)


def _stat_row(item: Mapping[str, Any]) -> dict[str, Any]:
    day = _required(item, "day", "api_daily_stats")
    if isinstance(day, str):
        day = date.fromisoformat(day)
    elif isinstance(day, datetime):
        raise BatchSchemaError(f"api_daily_stats: 'day' must be a date, not the datetime {day.isoformat()}")
    return {
        "metric": _required(item, "metric", "api_daily_stats"),
        "dimension": item.get("dimension") or "",
        "day": day,
        "value": item.get("value"),
        "tz_offset_minutes": item.get("tz_offset_minutes"),
    }


def upsert_daily_stats(
    con: duckdb.DuckDBPyConnection,
    project: str,
    run_id: str,
    rows: CatalogRows,
    fetched_at: datetime | None = None,
) -> int:
    """Insert or replace the platform's daily counts keyed by (metric, dimension, day), in a transaction."""
    state.require_run(con, run_id, project)
    table = daily_stats_table(rows)
    with transaction(con, {"_daily_stats": table}):
        merge_daily_stats(con, project, run_id, "_daily_stats", fetched_at)
        state.add_run_rows(con, run_id, {"api_daily_stats": table.num_rows})
    return table.num_rows


def daily_stats_table(rows: CatalogRows) -> pa.Table:
    """The platform's daily counts as a table of DAILY_STATS_SCHEMA, one row per (metric, dimension, day)."""
    if isinstance(rows, pa.Table):
        table = conform_to(DAILY_STATS_SCHEMA, "api_daily_stats", rows)
        table = table.set_column(1, "dimension", table.column("dimension").fill_null(""))
    else:
        table = pa.Table.from_pylist([_stat_row(item) for item in rows], schema=DAILY_STATS_SCHEMA)
    return dedupe_last(table, ("metric", "dimension", "day"))


def merge_daily_stats(con: duckdb.DuckDBPyConnection, project: str, run_id: str, view: str,
                      fetched_at: datetime | None = None) -> None:  # fmt: skip
    """Replace the daily counts in the registered ``view`` (a ``daily_stats_table``).  Call inside a transaction
    (a window's, or ``upsert_daily_stats``'s): on its own it is not atomic.  The caller adds the rows to the run's
    counts (a window with its entities', in one update)."""
    moment = (fetched_at or datetime.now(UTC)).astimezone(UTC)
    con.execute(
        f"DELETE FROM raw.api_daily_stats t USING {view} s WHERE t.project_short_name = ? "
        "AND t.metric = s.metric AND t.dimension = s.dimension AND t.day = s.day",
        [project],
    )
    con.execute(
        "INSERT INTO raw.api_daily_stats (project_short_name, metric, dimension, day, value, "
        "tz_offset_minutes, fetched_at, _sync_run_id) "
        f"SELECT ?, metric, dimension, day, value, tz_offset_minutes, ?, ? FROM {view}",
        [project, moment, run_id],
    )
