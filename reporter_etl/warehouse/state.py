"""Sync state (``meta.sync_state``: which windows are done) and run history (``meta.sync_runs``).

Reads take any connection, read-only ones included; writes are called by the writer inside its transactions.
Every time is returned as an aware UTC datetime.
"""

from __future__ import annotations

import os
import socket
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

import duckdb

from reporter_etl import __version__
from reporter_etl.errors import LoadError
from reporter_etl.warehouse.schema import schema_version

STATUS_DONE = "done"
RUN_RUNNING = "running"
RUN_SUCCEEDED = "succeeded"
RUN_FAILED = "failed"
RUN_INTERRUPTED = "interrupted"  # the process ended without finishing the run (found by the next writer)
RUN_STATUSES = (RUN_RUNNING, RUN_SUCCEEDED, RUN_FAILED, RUN_INTERRUPTED)

# Tables counted per project in the status summary.
COUNTED_TABLES = (
    "raw.messages",
    "raw.sessions",
    "raw.clients",
    "raw.message_label_links",
    "raw.session_label_links",
    "raw.message_labels",
    "raw.message_label_groups",
    "raw.session_labels",
    "raw.experiments",
    "raw.experiment_session_counts",
    "raw.api_daily_stats",
)


def new_run_id(now: datetime | None = None) -> str:
    """Sortable and unique: ``20250101T120000Z-1a2b3c4d``."""
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    return f"{moment:%Y%m%dT%H%M%SZ}-{uuid.uuid4().hex[:8]}"


def _utc(value: datetime | None) -> datetime | None:
    return None if value is None else value.astimezone(UTC)


@dataclass(frozen=True)
class WindowState:
    """A row of meta.sync_state: one entity of one window, done."""

    project: str
    entity: str
    window_start: datetime
    window_end: datetime
    status: str
    row_count: int
    completed_at: datetime
    run_id: str


@dataclass(frozen=True)
class RunRecord:
    run_id: str
    project: str
    started_at: datetime
    finished_at: datetime | None
    status: str
    requested_start: datetime | None
    requested_end: datetime | None
    rows_per_entity: dict[str, int]
    request_count: int | None
    error_message: str | None
    host: str | None
    pid: int | None


@dataclass(frozen=True)
class EntityProgress:
    entity: str
    windows_done: int
    first_window_start: datetime | None
    last_window_end: datetime | None
    rows_in_windows: int


@dataclass(frozen=True)
class ProjectStatus:
    project: str
    table_rows: dict[str, int]
    progress: dict[str, EntityProgress]
    latest_done_end: datetime | None  # of the messages windows
    behind: timedelta | None  # now - latest_done_end
    last_run: RunRecord | None


@dataclass(frozen=True)
class WarehouseStatus:
    schema_version: int | None  # None while a writer keeps readers out of the file
    projects: list[ProjectStatus] = field(default_factory=list)
    writer: dict[str, Any] | None = None  # the lock holder (pid, host, started_at, run_id) while a sync writes

    def as_plain(self) -> dict[str, Any]:
        """JSON-ready: datetimes as ISO strings, durations as seconds."""
        return _plain(asdict(self))


def _plain(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, timedelta):
        return value.total_seconds()
    return value


# ---------------------------------------------------------------- runs (writer)


def begin_run(
    con: duckdb.DuckDBPyConnection,
    project: str,
    run_id: str,
    requested_start: datetime | None = None,
    requested_end: datetime | None = None,
) -> None:
    con.execute(
        "INSERT INTO meta.sync_runs (run_id, project_short_name, started_at, status, requested_start, requested_end, "
        "rows_per_entity, host, pid, reporter_etl_version) VALUES (?, ?, now(), ?, ?, ?, MAP {}, ?, ?, ?)",
        [
            run_id, project, RUN_RUNNING, _utc(requested_start), _utc(requested_end),
            socket.gethostname(), os.getpid(), __version__,
        ],
    )


def finish_run(
    con: duckdb.DuckDBPyConnection,
    run_id: str,
    status: str,
    error_message: str | None = None,
    request_count: int | None = None,
) -> None:
    if status not in RUN_STATUSES or status == RUN_RUNNING:
        raise ValueError(f"a run finishes as {RUN_SUCCEEDED!r}, {RUN_FAILED!r} or {RUN_INTERRUPTED!r}, not {status!r}")
    _require_run_row(con, run_id)
    con.execute(
        "UPDATE meta.sync_runs SET finished_at = now(), status = ?, error_message = ?, "
        "request_count = coalesce(?, request_count) WHERE run_id = ?",
        [status, error_message, request_count, run_id],
    )


def set_request_count(con: duckdb.DuckDBPyConnection, run_id: str, request_count: int) -> None:
    _require_run_row(con, run_id)
    con.execute("UPDATE meta.sync_runs SET request_count = ? WHERE run_id = ?", [request_count, run_id])


def mark_interrupted_runs(con: duckdb.DuckDBPyConnection, found_by: str) -> int:
    """Runs still 'running' when a new writer takes the lock were cut off (the lock proves nobody runs them)."""
    stale = con.execute("SELECT count(*) FROM meta.sync_runs WHERE status = ?", [RUN_RUNNING]).fetchall()[0][0]
    if stale:
        con.execute(
            "UPDATE meta.sync_runs SET status = ?, error_message = coalesce(error_message, ?) WHERE status = ?",
            [RUN_INTERRUPTED, f"the process ended before finishing the run (found by {found_by})", RUN_RUNNING],
        )
    return int(stale)


def _require_run_row(con: duckdb.DuckDBPyConnection, run_id: str) -> str:
    rows = con.execute("SELECT project_short_name FROM meta.sync_runs WHERE run_id = ?", [run_id]).fetchall()
    if not rows:
        raise LoadError(f"run {run_id!r} is unknown: call begin_run first")
    return rows[0][0]


def require_run(con: duckdb.DuckDBPyConnection, run_id: str, project: str) -> None:
    run_project = _require_run_row(con, run_id)
    if run_project != project:
        raise LoadError(f"run {run_id!r} belongs to project {run_project!r}, not {project!r}")


def add_run_rows(con: duckdb.DuckDBPyConnection, run_id: str, counts: Mapping[str, int]) -> None:
    rows = con.execute("SELECT rows_per_entity FROM meta.sync_runs WHERE run_id = ?", [run_id]).fetchall()
    if not rows:
        raise LoadError(f"run {run_id!r} is unknown: call begin_run first")
    merged = dict(rows[0][0] or {})
    for entity, count in counts.items():
        merged[entity] = int(merged.get(entity, 0)) + int(count)
    con.execute("UPDATE meta.sync_runs SET rows_per_entity = ? WHERE run_id = ?", [merged, run_id])


# ---------------------------------------------------------------- windows (writer)


def record_windows(
    con: duckdb.DuckDBPyConnection,
    project: str,
    window_start: datetime,
    window_end: datetime,
    rows: Mapping[str, int],
    run_id: str,
) -> None:
    """Mark the window done for each entity of ``rows`` (entity: its row count), in one statement."""
    if not rows:
        return
    values = ", ".join(["(?, ?, ?, ?, ?, ?, now(), ?)"] * len(rows))
    params: list[Any] = []
    for entity, row_count in rows.items():
        params += [project, entity, window_start, window_end, STATUS_DONE, row_count, run_id]
    con.execute(f"INSERT OR REPLACE INTO meta.sync_state VALUES {values}", params)


# ---------------------------------------------------------------- reads


def window_states(
    con: duckdb.DuckDBPyConnection, project: str, entity: str | None = None
) -> list[WindowState]:
    sql = "SELECT * FROM meta.sync_state WHERE project_short_name = ?"
    params: list[Any] = [project]
    if entity is not None:
        sql += " AND entity = ?"
        params.append(entity)
    rows = con.execute(sql + " ORDER BY window_start, window_end, entity", params).fetchall()
    return [
        WindowState(p, e, _utc(s), _utc(en), st, int(n), _utc(c), r)  # type: ignore[arg-type]
        for p, e, s, en, st, n, c, r in rows
    ]


def done_windows(
    con: duckdb.DuckDBPyConnection, project: str, entities: Iterable[str] = ("messages", "sessions", "clients")
) -> list[tuple[datetime, datetime]]:
    """Windows ``(start, end)`` done for every one of ``entities``, in time order."""
    wanted = sorted(set(entities))
    if not wanted:
        return []
    rows = con.execute(
        "SELECT window_start, window_end FROM meta.sync_state "
        "WHERE project_short_name = ? AND status = ? AND list_contains(?, entity) "
        "GROUP BY window_start, window_end HAVING count(DISTINCT entity) = ? ORDER BY window_start, window_end",
        [project, STATUS_DONE, wanted, len(wanted)],
    ).fetchall()
    return [(_utc(s), _utc(e)) for s, e in rows]  # type: ignore[misc]


def latest_done_end(
    con: duckdb.DuckDBPyConnection, project: str, entities: Iterable[str] = ("messages", "sessions", "clients")
) -> datetime | None:
    windows = done_windows(con, project, entities)
    return max((end for _, end in windows), default=None)


def _run_from_row(row: tuple[Any, ...]) -> RunRecord:
    (run_id, project, started, finished, status, req_start, req_end, rows, requests, error, host, pid) = row
    return RunRecord(
        run_id=run_id,
        project=project,
        started_at=_utc(started),  # type: ignore[arg-type]
        finished_at=_utc(finished),
        status=status,
        requested_start=_utc(req_start),
        requested_end=_utc(req_end),
        rows_per_entity={k: int(v) for k, v in (rows or {}).items()},
        request_count=requests,
        error_message=error,
        host=host,
        pid=pid,
    )


_RUN_COLUMNS = (
    "run_id, project_short_name, started_at, finished_at, status, requested_start, requested_end, "
    "rows_per_entity, request_count, error_message, host, pid"
)


def runs(con: duckdb.DuckDBPyConnection, project: str | None = None, limit: int = 20) -> list[RunRecord]:
    """Newest first."""
    sql = f"SELECT {_RUN_COLUMNS} FROM meta.sync_runs"
    params: list[Any] = []
    if project is not None:
        sql += " WHERE project_short_name = ?"
        params.append(project)
    sql += " ORDER BY started_at DESC, run_id DESC LIMIT ?"
    params.append(limit)
    return [_run_from_row(row) for row in con.execute(sql, params).fetchall()]


def get_run(con: duckdb.DuckDBPyConnection, run_id: str) -> RunRecord | None:
    rows = con.execute(f"SELECT {_RUN_COLUMNS} FROM meta.sync_runs WHERE run_id = ?", [run_id]).fetchall()
    return _run_from_row(rows[0]) if rows else None


def projects(con: duckdb.DuckDBPyConnection) -> list[str]:
    rows = con.execute(
        "SELECT project_short_name FROM meta.sync_runs UNION SELECT project_short_name FROM meta.sync_state "
        "ORDER BY 1"
    ).fetchall()
    return [r[0] for r in rows]


def project_status(con: duckdb.DuckDBPyConnection, project: str, now: datetime | None = None) -> ProjectStatus:
    counts = " UNION ALL ".join(
        f"SELECT '{table}', count(*) FROM {table} WHERE project_short_name = $project" for table in COUNTED_TABLES
    )
    table_rows = {t: int(n) for t, n in con.execute(counts, {"project": project}).fetchall()}
    progress = {
        entity: EntityProgress(entity, int(n), _utc(first), _utc(last), int(total))
        for entity, n, first, last, total in con.execute(
            "SELECT entity, count(*), min(window_start), max(window_end), sum(row_count) FROM meta.sync_state "
            "WHERE project_short_name = ? AND status = ? GROUP BY entity ORDER BY entity",
            [project, STATUS_DONE],
        ).fetchall()
    }
    latest = latest_done_end(con, project, ("messages",))
    moment = (now or datetime.now(UTC)).astimezone(UTC)
    last_runs = runs(con, project, limit=1)
    return ProjectStatus(
        project=project,
        table_rows=table_rows,
        progress=progress,
        latest_done_end=latest,
        behind=None if latest is None else max(moment - latest, timedelta(0)),
        last_run=last_runs[0] if last_runs else None,
    )


def status(
    con: duckdb.DuckDBPyConnection, project: str | None = None, now: datetime | None = None
) -> WarehouseStatus:
    version = schema_version(con)
    if version == 0:
        return WarehouseStatus(schema_version=0)
    names = [project] if project is not None else projects(con)
    return WarehouseStatus(schema_version=version, projects=[project_status(con, p, now) for p in names])
