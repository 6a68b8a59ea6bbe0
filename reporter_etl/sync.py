"""The main job: an incremental, exactly-once copy of a project's conversations into the warehouse.

For every day window of MESSAGE_TIME (in the project's time zone) the sync reads, completely and
consistently (``reporter_etl.extract``):
  - messages active in the window (``messages/filter``, ExtendedMessage carries session and client fields),
  - sessions active in the window (``sessions/filter`` with labels; one row per session, newest version wins),
  - clients last active in the window (``clients/filter`` on CLIENT_LAST_ACTIVITY_TIME),
and commits the three with the window's state record in one transaction, window after window in order (the
next window is read in a worker thread while one is committed).  Windows already done are skipped,
except the lookback (late messages, labels and results set after the fact), which is read again and merged.
The small catalogs (labels, groups, experiments and their session counts) are replaced whole once per run.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from reporter_etl.api.client import ReporterClient
from reporter_etl.api.errors import AuthenticationError
from reporter_etl.api.filters import DateTimeRange, message_time
from reporter_etl.api.records import CLIENTS, MESSAGES, SESSIONS, EntityContract, unknown_field_names
from reporter_etl.extract import Extraction, PageLike, extract
from reporter_etl.warehouse import WINDOW_ENTITIES, Warehouse
from reporter_etl.windows import Window, day_windows, last_complete_day, local_day_of, zone

log = logging.getLogger(__name__)

CONTRACTS: dict[str, EntityContract] = {"messages": MESSAGES, "sessions": SESSIONS, "clients": CLIENTS}

DEFAULT_LOOKBACK = timedelta(days=2)
DEFAULT_FIRST_RUN_DAYS = 30


class SyncError(RuntimeError):
    """The sync cannot go on; the message says why (never with the token)."""


class _ReadCancelled(Exception):
    """A read ahead was stopped because the run is ending (a commit failed or the run was interrupted)."""


@dataclass
class WindowReport:
    window: Window
    rows: dict[str, int]
    pages: int
    passes: int
    splits: int
    requests: int
    api_totals: dict[str, int]
    new_fields: dict[str, set[str]] = field(default_factory=dict)  # API fields the contract does not know


@dataclass
class WindowRead:
    """A window's three entities read completely and checked against the platform's counts; not yet committed."""

    window: Window
    extractions: dict[str, Extraction]
    api_totals: dict[str, int]
    pages: int
    passes: int
    splits: int
    requests: int


@dataclass
class SyncResult:
    run_id: str
    project: str
    planned: list[Window]
    windows: list[WindowReport] = field(default_factory=list)
    catalog_rows: dict[str, int] = field(default_factory=dict)
    request_count: int = 0
    minimum_requests: int = 0
    resynced: int = 0  # windows read again because the platform's counts changed after they were committed
    new_fields: dict[str, list[str]] = field(default_factory=dict)  # per entity, fields kept only in `extra`
    elapsed_s: float = 0.0

    @property
    def rows(self) -> dict[str, int]:
        """Rows read per entity, counting a window read again only once (its last read)."""
        latest = {report.window: report for report in self.windows}
        total: dict[str, int] = {}
        for report in latest.values():
            for entity, count in report.rows.items():
                total[entity] = total.get(entity, 0) + count
        return total


@dataclass(frozen=True)
class SyncEvent:
    """Progress, for a CLI bar or Dagster logs: ``kind`` is "planned", "window_done" or "catalogs_done"."""

    kind: str
    done: int
    total: int
    window: Window | None = None
    report: WindowReport | None = None


ProgressCallback = Callable[[SyncEvent], None]


@dataclass(frozen=True)
class SyncPlan:
    windows: list[Window]
    reason: str


def plan_windows(
    wh: Warehouse,
    project: str,
    *,
    tz_name: str,
    start: date | None,
    end: date | None,
    lookback: timedelta,
    now: datetime,
) -> SyncPlan:
    """Which day windows to read.

    With ``start`` given: every day from ``start`` to ``end`` (default: the last complete day), done or not.
    Without it: the days after the last done window, any earlier days in the synced range that are not done
    (a failed window), and the lookback before the last done window; on a new warehouse the last
    ``DEFAULT_FIRST_RUN_DAYS`` days.
    """
    tz = zone(tz_name)
    last_day = end or last_complete_day(now, tz)
    if start is not None:
        if start > last_day:
            raise SyncError(f"--start {start} is after the last day to sync ({last_day})")
        return SyncPlan(day_windows(start, last_day, tz), f"{start} to {last_day} as asked")
    done = set(wh.done_windows(project))
    if not done:
        first_day = last_day - timedelta(days=DEFAULT_FIRST_RUN_DAYS - 1)
        return SyncPlan(
            day_windows(first_day, last_day, tz),
            f"new warehouse: the last {DEFAULT_FIRST_RUN_DAYS} days ({first_day} to {last_day}); "
            f"use --start for more history",
        )
    earliest_start = min(s for s, _ in done)
    latest_end = max(e for _, e in done)
    lookback_from = local_day_of(latest_end - lookback, tz)
    candidates = day_windows(local_day_of(earliest_start, tz), last_day, tz)
    chosen = [w for w in candidates if (w.start, w.end) not in done or w.day >= lookback_from]
    missing = sum(1 for w in chosen if (w.start, w.end) not in done)
    return SyncPlan(
        chosen,
        f"{missing} new or unfinished day(s) and a lookback of {lookback} from {lookback_from}",
    )


class Syncer:
    """Runs one sync of one project into one warehouse.  Not thread-safe; one per run."""

    def __init__(
        self,
        client: ReporterClient,
        warehouse: Warehouse,
        *,
        timezone: str = "UTC",
        progress: ProgressCallback | None = None,
        max_passes: int = 3,
        max_verify_rounds: int = 3,
        max_reconcile_rounds: int = 3,
        read_ahead: bool = True,
    ) -> None:
        zone(timezone)  # fail early on a bad name
        self.client = client
        self.wh = warehouse
        self.tz_name = timezone
        self.progress = progress or (lambda event: None)
        self.max_passes = max_passes
        self.max_verify_rounds = max_verify_rounds
        self.max_reconcile_rounds = max_reconcile_rounds
        # Read window n+1 while window n is merged: the merge runs in DuckDB without the GIL, the read mostly
        # in Python, so the two overlap (about 20% off a long sync; see bench/sync_vs_download.py).  Costs the
        # memory of one more window.
        self.read_ahead = read_ahead
        self._cancel_reads = threading.Event()

    # ---- what the project is -----------------------------------------------------------------------------

    def discover_project(self) -> str:
        """The token implies the project; the platform names it in the per-project session count."""
        rows = self.client.count_sessions_per_project()
        names = sorted({row["projectShortName"] for row in rows or [] if row.get("projectShortName")})
        if len(names) != 1:
            raise SyncError(
                f"the token should give access to exactly one project, the API lists {len(names)}: {names}"
            )
        return names[0]

    # ---- the run -----------------------------------------------------------------------------------------

    def run(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        lookback: timedelta = DEFAULT_LOOKBACK,
        now: datetime | None = None,
    ) -> SyncResult:
        started = datetime.now(UTC)
        now = now or started
        try:
            project = self.discover_project()
        except AuthenticationError as exc:
            raise SyncError(f"the API refused the token: {exc}") from None
        plan = plan_windows(
            self.wh, project, tz_name=self.tz_name, start=start, end=end, lookback=lookback, now=now
        )
        log.info("sync of %s: %d window(s): %s", project, len(plan.windows), plan.reason)
        requested = (plan.windows[0].start, plan.windows[-1].end) if plan.windows else (None, None)
        run_id = self.wh.begin_run(project, requested_start=requested[0], requested_end=requested[1])
        result = SyncResult(run_id=run_id, project=project, planned=plan.windows)
        requests_before = self.client.request_count
        self.progress(SyncEvent("planned", 0, len(plan.windows)))
        try:
            with closing(self._reads_in_order(plan.windows)) as reads:
                for number, read in enumerate(reads, start=1):
                    report = self.commit_window(project, run_id, read)
                    result.windows.append(report)
                    self._note_new_fields(result, report)
                    result.minimum_requests += sum(
                        max(1, -(-rows // self.client.settings.page_size)) for rows in report.rows.values()
                    )
                    self.wh.set_request_count(run_id, self.client.request_count - requests_before)
                    self.progress(SyncEvent("window_done", number, len(plan.windows), read.window, report))
            for _ in range(self.max_reconcile_rounds):
                stale = self.reconcile(project, plan.windows)
                if not stale:
                    break
                for window in stale:
                    report = self.sync_window(project, run_id, window)
                    result.windows.append(report)
                    self._note_new_fields(result, report)
                    result.resynced += 1
            else:
                stale = self.reconcile(project, plan.windows)
                if stale:
                    log.warning("%d window(s) still differ from the platform's counts: %s",
                                len(stale), ", ".join(str(w) for w in stale))  # fmt: skip
            result.catalog_rows = self.refresh_catalogs(project, run_id)
            self.progress(SyncEvent("catalogs_done", len(plan.windows), len(plan.windows)))
        except BaseException as exc:
            result.request_count = self.client.request_count - requests_before
            try:
                self.wh.finish_run(
                    run_id, status="failed", error_message=_one_line(exc), request_count=result.request_count
                )
            except Exception as record_exc:  # e.g. the disk is full: the error that ended the run is the news
                log.info("could not record run %s as failed (the next run marks it interrupted): %s",
                         run_id, record_exc)  # fmt: skip
            raise
        result.request_count = self.client.request_count - requests_before
        self.wh.finish_run(run_id, request_count=result.request_count)
        result.elapsed_s = (datetime.now(UTC) - started).total_seconds()
        return result

    @staticmethod
    def _note_new_fields(result: SyncResult, report: WindowReport) -> None:
        """Warn once per run about each field the API sends that the contract does not know (kept in `extra`)."""
        for entity, names in report.new_fields.items():
            seen = set(result.new_fields.get(entity, ()))
            fresh = names - seen
            if fresh:
                log.warning("the API sends %s field(s) this version does not know: %s; they are kept in "
                            "raw.%s.extra", entity, ", ".join(sorted(fresh)), entity)  # fmt: skip
                result.new_fields[entity] = sorted(seen | fresh)

    def sync_window(self, project: str, run_id: str, window: Window) -> WindowReport:
        """Read the window's three entities until they agree with the platform's own counts, then commit."""
        return self.commit_window(project, run_id, self.read_window(window))

    def _reads_in_order(self, windows: list[Window]) -> Iterator[WindowRead]:
        """``read_window`` of every window, in order; with read-ahead, window n+1 is read in a worker thread
        while the caller commits window n.

        The client is never used by two threads at once: while this generator runs, only its worker uses
        it (the caller only merges into DuckDB), and the worker is idle again before the generator ends, also
        when it is closed early; so the caller's client keeps counting every request.  A read's error is raised
        here in window order, after the windows before it were handed out.
        """
        if not self.read_ahead or len(windows) < 2:
            for window in windows:
                yield self.read_window(window)
            return
        self._cancel_reads.clear()
        worker = ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-read-ahead")
        try:
            pending: Future[WindowRead] = worker.submit(self.read_window, windows[0])
            for following in windows[1:]:
                read = pending.result()
                pending = worker.submit(self.read_window, following)
                yield read
            yield pending.result()
        finally:
            self._cancel_reads.set()  # a read still running stops before its next request
            worker.shutdown(wait=True, cancel_futures=True)
            self._cancel_reads.clear()

    def read_window(self, window: Window) -> WindowRead:
        """The window's three entities, read again while they disagree with the platform's own counts."""
        requests_before = self.client.request_count
        pages = passes = splits = 0
        for attempt in range(1, self.max_verify_rounds + 1):
            extractions: dict[str, Extraction] = {
                "messages": self._extract(MESSAGES, window, self._messages_query),
                "sessions": self._extract(SESSIONS, window, self._sessions_query),
                "clients": self._extract(CLIENTS, window, self._clients_query),
            }
            pages += sum(ex.pages for ex in extractions.values())
            passes += sum(ex.passes for ex in extractions.values())
            splits += sum(ex.splits for ex in extractions.values())
            # Asked after every read: rows that arrived while a later entity was paged show up here.
            api_totals = self._platform_totals(window)
            loaded = {entity: extractions[entity].table.num_rows for entity in api_totals}
            if loaded == api_totals:
                break
            log.info("%s: read %s, the platform now counts %s (round %d of %d)",
                     window, loaded, api_totals, attempt, self.max_verify_rounds)  # fmt: skip
        else:
            # The platform's statistics and its lists may disagree for reasons of their own; the window is
            # still a consistent read, and the end-of-run reconciliation and the next lookback look again.
            log.warning("%s: loaded %s but the platform's statistics say %s", window, loaded, api_totals)
        return WindowRead(window, extractions, api_totals, pages, passes, splits,
                          self.client.request_count - requests_before)  # fmt: skip

    def commit_window(self, project: str, run_id: str, read: WindowRead) -> WindowReport:
        """The read window's rows and its done record in one transaction, then the platform's daily counts."""
        window, extractions, api_totals = read.window, read.extractions, read.api_totals
        with self.wh.window_load(project, WINDOW_ENTITIES, window.start, window.end, run_id) as load:
            for entity, extraction in extractions.items():
                load.add(entity, extraction.table)
        self.wh.upsert_daily_stats(
            project,
            run_id,
            [
                {"metric": metric, "day": window.day, "value": value, "tz_offset_minutes": self._offset(window)}
                for metric, value in api_totals.items()
            ],
        )
        return WindowReport(
            window=window,
            rows={entity: ex.table.num_rows for entity, ex in extractions.items()},
            pages=read.pages,
            passes=read.passes,
            splits=read.splits,
            requests=read.requests,
            api_totals=api_totals,
            new_fields={entity: names for entity, ex in extractions.items()
                        if (names := unknown_field_names(ex.table, CONTRACTS[entity]))},  # fmt: skip
        )

    def reconcile(self, project: str, windows: list[Window]) -> list[Window]:
        """Windows of this run whose message count in the warehouse differs from the platform's count now.

        Rows can arrive in a window after it was committed (late ingestion, or while later windows were
        read).  One statistics request over the run's whole range, in UTC hours, finds them; windows whose
        bounds are not whole UTC hours are asked one by one.
        """
        if not windows:
            return []
        loaded = self.wh.message_counts(project, [(w.start, w.end) for w in windows])
        hourly = all(w.start.minute == 0 == w.end.minute and w.start.second == 0 == w.end.second for w in windows)
        platform: dict[Window, int] = {}
        if hourly:
            body: Any = self.client.message_stats(
                [message_time(windows[0].start, windows[-1].end)], interval_type="HOUR", timezone_offset=0
            )
            buckets = [(datetime.fromtimestamp(item["ts"] / 1000, UTC), int(item["value"])) for item in body["stats"]]
            for w in windows:
                platform[w] = sum(value for ts, value in buckets if w.start <= ts < w.end)
        else:
            for w in windows:
                platform[w] = self._platform_totals(w)["messages"]
        stale = [w for w in windows if platform[w] != loaded.get((w.start, w.end), 0)]
        for w in stale:
            log.info("%s: %d messages in the warehouse, the platform counts %d now",
                     w, loaded.get((w.start, w.end), 0), platform[w])  # fmt: skip
        return stale

    def _extract(
        self,
        contract: EntityContract,
        window: Window,
        query: Callable[[datetime, datetime], Iterator[PageLike]],
    ) -> Extraction:
        extraction = extract(query, window.start, window.end, contract, max_passes=self.max_passes)
        log.debug("%s %s: %d rows in %d pages", window, contract.name, extraction.table.num_rows, extraction.pages)
        return extraction

    def _messages_query(self, start: datetime, end: datetime) -> Iterator[PageLike]:
        return self._unless_cancelled(self.client.iter_messages([message_time(start, end)]))

    def _sessions_query(self, start: datetime, end: datetime) -> Iterator[PageLike]:
        return self._unless_cancelled(self.client.iter_sessions([message_time(start, end)], with_labels=True))

    def _clients_query(self, start: datetime, end: datetime) -> Iterator[PageLike]:
        filters = [DateTimeRange.window("CLIENT_LAST_ACTIVITY_TIME", start, end)]
        return self._unless_cancelled(self.client.iter_clients(filters))

    def _unless_cancelled(self, pages: Iterator[PageLike]) -> Iterator[PageLike]:
        """The pages, but no further request once the run has called off its read-ahead."""
        while True:
            if self._cancel_reads.is_set():
                raise _ReadCancelled
            try:
                page = next(pages)
            except StopIteration:
                return
            yield page

    def _platform_totals(self, window: Window) -> dict[str, int]:
        """The platform's own counts for the window, kept in raw.api_daily_stats to reconcile against."""
        if self._cancel_reads.is_set():
            raise _ReadCancelled
        window_filter = [message_time(window.start, window.end)]
        offset = self._offset(window)
        totals: dict[str, int] = {}
        for metric, call in (("messages", self.client.message_stats), ("sessions", self.client.session_stats)):
            body: Any = call(window_filter, interval_type="DAY", timezone_offset=offset)
            totals[metric] = int(body["totalCount"])
        return totals

    def _offset(self, window: Window) -> int:
        """Minutes east of UTC at the window's local midnight, as the API's Timezone header wants them."""
        offset = window.start.astimezone(zone(self.tz_name)).utcoffset() or timedelta(0)
        return int(offset.total_seconds() // 60)

    def refresh_catalogs(self, project: str, run_id: str) -> dict[str, int]:
        return self.wh.replace_catalogs(
            project,
            run_id,
            message_labels=self.client.list_message_labels(),
            label_groups=self.client.list_message_label_groups(),
            session_labels=self.client.list_session_labels(),
            experiments=self.client.list_experiments(),
            experiment_session_counts=self.client.count_experiment_sessions(),
        )


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]
