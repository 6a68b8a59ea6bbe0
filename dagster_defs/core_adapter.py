"""The one place where Dagster code calls the reporter_etl core, through its public API only.

Assets and checks call these functions; nothing here imports Dagster.  The sync calls are the public
``reporter_etl`` API (``Settings``, ``open_sync`` and the session's ``sync_days``, ``reconcile`` and
``refresh_catalogs``); the models are ``reporter_etl.models``' public functions.

Resuming: a day range is one Dagster run (a partition, or a single-run backfill).  When that run is retried or
re-executed from failure, days whose windows were committed since the original run began are not read again:
``resume_since`` is the start of the original run, and only the remaining days are synced.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from reporter_etl import ReporterEtlError, Settings, SyncEvent, SyncSession, open_sync
from reporter_etl.api import RetryPolicy
from reporter_etl.api.filters import message_time
from reporter_etl.models import (
    Model,
    ModelsConfig,
    build_warehouse_models,
    config_from_mapping,
    load_models,
    run_checks,
    set_variables,
)
from reporter_etl.platform_stats import daily_platform_stats
from reporter_etl.reconcile import reconcile as reconcile_with_platform
from reporter_etl.warehouse import WINDOW_ENTITIES, open_readonly
from reporter_etl.windows import Window, day_window, day_windows, zone

log = logging.getLogger(__name__)

# The tables one day window writes, in one transaction: the three entities and the label links derived from them.
DAY_TABLES = ("messages", "sessions", "clients", "message_label_links", "session_label_links")
CATALOG_TABLES = ("message_labels", "message_label_groups", "session_labels", "experiments",
                  "experiment_session_counts")  # fmt: skip


class CoreError(ReporterEtlError):
    """A call into the core cannot go on; the message says why and never holds the token."""


@dataclass(frozen=True)
class CoreSettings:
    """One project's connection and warehouse settings, made once per run from the resources."""

    base_url: str
    token: str = field(repr=False)
    timezone: str
    db_path: str
    project: str  # the platform's projectShortName the token must belong to
    lock_timeout_s: float = 60.0
    max_attempts: int = 6
    retry_base_delay_s: float = 0.5
    retry_max_delay_s: float = 30.0

    def sync_settings(self) -> Settings:
        Path(self.db_path).parent.mkdir(parents=True, exist_ok=True)
        retry = RetryPolicy(
            max_attempts=self.max_attempts,
            base_delay=self.retry_base_delay_s,
            max_delay=self.retry_max_delay_s,
            retry_after_cap=max(self.retry_max_delay_s, 1.0),
        )
        # project stays None: the session asks the API whose token this is, and _open checks it is ours.
        return Settings(db_path=Path(self.db_path), token=self.token, base_url=self.base_url,
                        timezone=self.timezone, lock_timeout=self.lock_timeout_s, retry=retry)  # fmt: skip


def _open(settings: CoreSettings) -> SyncSession:
    session = open_sync(settings.sync_settings())
    try:
        project = session.project
        if project != settings.project:
            raise CoreError(
                f"the token gives access to project {project!r}, but this code location expects "
                f"{settings.project!r}: check the project's token variable and short_name in the projects file"
            )
    except BaseException:
        session.close()
        raise
    return session


@dataclass
class DaysSynced:
    project: str
    first_day: date
    last_day: date
    days_read: list[date]
    days_resumed: list[date]  # committed earlier in this run (before a retry), not read again
    days_resynced: int  # windows read again because the platform's counts changed meanwhile
    days_still_differing: list[date]
    rows_read: dict[str, int]  # per entity, as read from the API
    rows_written: dict[str, int]  # per raw table, rows now carrying this run's load
    requests: int
    seconds: float
    new_fields: dict[str, list[str]]
    platform_counts: dict[str, dict[str, int]]  # day -> metric -> the platform's own count
    core_run_ids: list[str]


@dataclass
class CatalogsRefreshed:
    project: str
    rows: dict[str, int]
    requests: int
    seconds: float


@dataclass
class StatsLoaded:
    project: str
    rows: int
    values: dict[str, dict[str, float]]  # day -> metric[/dimension] -> value
    requests: int
    seconds: float


def days_committed_since(settings: CoreSettings, first: date, last: date, since: datetime) -> list[date]:
    """Days of [first, last] whose windows were all committed at or after ``since``."""
    tz = zone(settings.timezone)
    wanted = {(w.start, w.end): w.day for w in day_windows(first, last, tz)}
    if not Path(settings.db_path).exists():
        return []
    con = open_readonly(settings.db_path, timeout=settings.lock_timeout_s)
    try:
        rows = con.execute(
            "SELECT window_start, window_end, count(DISTINCT entity) FROM meta.sync_state "
            "WHERE project_short_name = ? AND status = 'done' AND completed_at >= ? AND entity IN "
            "(SELECT unnest(?)) GROUP BY ALL",
            [settings.project, since, list(WINDOW_ENTITIES)],
        ).fetchall()
    finally:
        con.close()
    done = []
    for start, end, entities in rows:
        day = wanted.get((start.astimezone(UTC), end.astimezone(UTC)))
        if day is not None and entities == len(WINDOW_ENTITIES):
            done.append(day)
    return sorted(done)


def _runs_of_days(days: list[date]) -> list[tuple[date, date]]:
    """Consecutive days grouped into (first, last) ranges."""
    ranges: list[tuple[date, date]] = []
    for day in days:
        if ranges and ranges[-1][1] + timedelta(days=1) == day:
            ranges[-1] = (ranges[-1][0], day)
        else:
            ranges.append((day, day))
    return ranges


def sync_days(
    settings: CoreSettings,
    first: date,
    last: date,
    *,
    resume_since: datetime | None = None,
    progress: Callable[[str], None] | None = None,
) -> DaysSynced:
    """Sync every local day of [first, last] (both included), then re-read the days whose platform counts
    changed meanwhile; one session (one writer lock) for all of it."""
    if last < first:
        raise CoreError(f"the day range ends ({last}) before it starts ({first})")
    started = time.perf_counter()
    say = progress or (lambda text: None)
    resumed = days_committed_since(settings, first, last, resume_since) if resume_since else []
    remaining = [w.day for w in day_windows(first, last, zone(settings.timezone)) if w.day not in set(resumed)]
    if resumed:
        say(f"resuming: {len(resumed)} day(s) already committed by this run ({resumed[0]}..{resumed[-1]}), "
            f"{len(remaining)} left")  # fmt: skip
    result = DaysSynced(settings.project, first, last, [], resumed, 0, [], {}, {}, 0, 0.0, {}, {}, [])

    def report(event: SyncEvent) -> None:
        if event.kind == "window_done" and event.report is not None:
            rows = event.report.rows
            say(f"day {event.window} committed ({event.done}/{event.total}): "
                f"{rows.get('messages', 0)} messages, {rows.get('sessions', 0)} sessions, "
                f"{rows.get('clients', 0)} clients")  # fmt: skip

    with _open(settings) as session:
        for range_first, range_last in _runs_of_days(remaining):
            run = session.sync_days(range_first, range_last, progress=report)
            result.core_run_ids.append(run.run_id)
            result.days_read.extend(sorted({r.window.day for r in run.windows}))
            for entity, count in run.rows.items():
                result.rows_read[entity] = result.rows_read.get(entity, 0) + count
            _note(result, run)
        checked = session.reconcile(first, last)
        result.core_run_ids.append(checked.run_id)
        result.days_resynced = checked.resynced
        result.days_still_differing = [w.day for w in checked.stale]
        _note(result, checked)
        result.requests = session.client.request_count
    result.rows_written = rows_of_runs(settings.db_path, DAY_TABLES, result.core_run_ids)
    result.seconds = time.perf_counter() - started
    return result


def _note(result: DaysSynced, run: Any) -> None:
    for entity, names in run.new_fields.items():
        result.new_fields[entity] = sorted(set(result.new_fields.get(entity, [])) | set(names))
    for report in run.windows:
        result.platform_counts[report.window.day.isoformat()] = dict(report.api_totals)


def refresh_catalogs(settings: CoreSettings) -> CatalogsRefreshed:
    """Replace the project's catalogs (labels, groups, experiments and their session counts)."""
    started = time.perf_counter()
    with _open(settings) as session:
        refreshed = session.refresh_catalogs()
        requests = session.client.request_count
    rows = {("message_label_groups" if name == "label_groups" else name): count
            for name, count in refreshed.catalog_rows.items()}  # fmt: skip
    return CatalogsRefreshed(settings.project, rows, requests, time.perf_counter() - started)


def _offset_minutes(window: Window, tz_name: str) -> int:
    offset = window.start.astimezone(zone(tz_name)).utcoffset() or timedelta(0)
    return int(offset.total_seconds() // 60)


def load_platform_daily_stats(settings: CoreSettings, first: date, last: date) -> StatsLoaded:
    """The platform's own daily counts of [first, last] into raw.api_daily_stats, one local day at a time
    (a day's UTC offset can differ from the next one's across a DST change).

    The messages and sessions counts the sync verifies with, plus ``reporter_etl.platform_stats`` (sessions
    started, transfers, calls, unique clients).  The public sync API has no call that stores them without syncing,
    so this goes through the session's client and warehouse (the core documents them for what its API does not
    cover); the sync itself stores the same counts per window, this asks the platform again for its numbers now.
    """
    started = time.perf_counter()
    tz = zone(settings.timezone)
    values: dict[str, dict[str, float]] = {}
    rows: list[dict[str, Any]] = []
    with _open(settings) as session:
        client, warehouse = session.client, session.warehouse
        for window in day_windows(first, last, tz):
            offset = _offset_minutes(window, settings.timezone)
            for metric, call in (("messages", client.message_stats), ("sessions", client.session_stats)):
                body: Any = call([message_time(window.start, window.end)], interval_type="DAY", timezone_offset=offset)
                value = int(body["totalCount"])
                values.setdefault(window.day.isoformat(), {})[metric] = value
                rows.append({"metric": metric, "day": window.day, "value": value, "tz_offset_minutes": offset})
            for row in daily_platform_stats(client, window, offset):
                key = row["metric"] if not row["dimension"] else f"{row['metric']}/{row['dimension']}"
                values[window.day.isoformat()][key] = row["value"]
                rows.append(row)
        run_id = warehouse.begin_run(session.project, requested_start=day_window(first, tz).start,
                                     requested_end=day_window(last, tz).end)  # fmt: skip
        try:
            written = warehouse.upsert_daily_stats(session.project, run_id, rows)
        except BaseException as exc:
            warehouse.finish_run(run_id, status="failed", error_message=type(exc).__name__)
            raise
        warehouse.finish_run(run_id, request_count=client.request_count)
        requests = client.request_count
    return StatsLoaded(settings.project, written, values, requests, time.perf_counter() - started)


def rows_of_runs(db_path: str, tables: Iterable[str], run_ids: list[str]) -> dict[str, int]:
    """Rows of each raw table last written by one of the core runs ``run_ids``."""
    if not run_ids:
        return dict.fromkeys(tables, 0)
    con = open_readonly(db_path, timeout=60)
    try:
        return {
            table: int(
                con.execute(
                    f"SELECT count(*) FROM raw.{table} WHERE _sync_run_id IN (SELECT unnest(?))", [run_ids]
                ).fetchone()[0]
            )
            for table in tables
        }
    finally:
        con.close()


# ---- the SQL models (reporter_etl.models) ------------------------------------------------------------------------


def model_list() -> list[Model]:
    """Every model (staging, marts, Python models, checks), dependencies first, as the core lists them."""
    return load_models()


def models_config(section: Mapping[str, Any] | None, default_timezone: str) -> ModelsConfig:
    """The ``[models]`` section of the projects file; local days default to the first project's zone."""
    values = dict(section or {})
    values.setdefault("timezone", default_timezone)
    return config_from_mapping(values, "[models]")


@dataclass
class ModelBuilt:
    name: str
    action: str  # "view", "table", "range", "python"
    rows: int | None
    seconds: float


def build_models(db_path: str, models: list[Model], config: ModelsConfig, *, start: date | None = None,
                 end: date | None = None, lock_timeout_s: float = 60.0
                 ) -> tuple[list[ModelBuilt], Exception | None]:  # fmt: skip
    """Build ``models`` (in build order) under the warehouse's writer lock, in one open of it: daily marts for
    [start, end], anything else whole.  Returns the models built and, when one failed, its error: each model
    commits on its own, so those built before the failure are in the warehouse and must be reported as such."""
    built: list[ModelBuilt] = []
    try:
        build_warehouse_models(db_path, config=config, start=start, end=end, models=models,
                               lock_timeout=lock_timeout_s,
                               on_built=lambda run: built.append(ModelBuilt(run.name, run.action, run.rows,
                                                                            run.seconds)))  # fmt: skip
    except Exception as exc:  # noqa: BLE001 - handed back whole, re-raised by the step once it has reported
        return built, exc
    return built, None


@dataclass
class ModelCheckOutcome:
    name: str
    passed: bool
    offending_rows: int
    columns: tuple[str, ...]
    examples: list[list[Any]]


@dataclass
class PlatformDifference:
    project: str
    day: str
    metric: str
    warehouse: float
    platform: float


def platform_differences(db_path: str, config: ModelsConfig) -> list[PlatformDifference]:
    """Every day and metric where the warehouse (raw, staging and marts) differs from the platform's own counts
    (``reporter_etl.reconcile``, what ``reporter-etl check`` reports)."""
    con = open_readonly(db_path, timeout=60)
    try:
        set_variables(con, config.sql_variables())
        found = reconcile_with_platform(con)
    finally:
        con.close()
    return [PlatformDifference(d.project, str(d.day) if d.day else "-", d.metric, d.warehouse, d.platform)
            for d in found]  # fmt: skip


def run_model_checks(db_path: str, checks: list[Model], config: ModelsConfig) -> list[ModelCheckOutcome]:
    """Each check of ``sql/checks`` on a read-only connection: the rows it returns are what is wrong."""
    con = open_readonly(db_path, timeout=60)
    try:
        results = run_checks(con, checks, config=config)
    finally:
        con.close()
    return [
        ModelCheckOutcome(r.name, r.passed, len(r.rows), r.columns, [[str(v) for v in row] for row in r.rows[:5]])
        for r in results
    ]
