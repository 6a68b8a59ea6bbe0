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
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import closing, contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import pyarrow as pa

from reporter_etl.api.client import ReporterClient
from reporter_etl.api.filters import DateTimeRange, message_time
from reporter_etl.api.records import unknown_field_names
from reporter_etl.entities import ENTITIES, Entity
from reporter_etl.errors import AuthenticationError, SyncError, UnexpectedResponseError
from reporter_etl.extract import Extraction, PageLike, extract
from reporter_etl.memory import arrow_pool_for_sync
from reporter_etl.pii import PiiPolicy
from reporter_etl.platform_stats import daily_platform_stats
from reporter_etl.warehouse import WINDOW_ENTITIES, Warehouse
from reporter_etl.windows import Window, day_windows, last_complete_day, local_day_of, zone

log = logging.getLogger(__name__)

DEFAULT_LOOKBACK = timedelta(days=2)
DEFAULT_FIRST_RUN_DAYS = 30


def _import_pandas_meanwhile() -> None:
    """pyarrow imports pandas, when it is installed, on its first ``pa.array`` or ``to_numpy``: in a sync that
    was in the first window's read, between two requests, so for about 0.16 s no request was in flight.  The
    caller has nothing to do while the first window is read, and pays for the import there instead.  It goes
    through pyarrow's own first use, not ``import pandas``, so that the threads take pyarrow's lock and the
    import's in the same order."""
    pa.array([0])


class _ReadCancelled(Exception):
    """A read ahead was stopped because the run is ending (a commit failed or the run was interrupted)."""


# A window goes through three stages, each with its own type: ``Window`` (planned: which interval),
# ``WindowRead`` (read from the API and checked against the platform's counts, not yet committed), and
# ``WindowReport`` (committed; what the sync reports about it).  The warehouse's side of the commit is
# ``reporter_etl.warehouse.WindowLoaded``, and the done record it leaves in meta.sync_state a ``WindowState``.


@dataclass
class WindowRead:
    """A window's entities read completely and checked against the platform's counts; not yet committed."""

    window: Window
    extractions: dict[str, Extraction]
    api_totals: dict[str, int]
    pages: int
    passes: int
    splits: int
    requests: int
    seconds: float
    platform_stats: list[dict[str, Any]] = field(default_factory=list)  # transfers, calls, clients (rows)


@dataclass
class WindowReport:
    """One window as a sync reports it, once committed."""

    window: Window
    rows: dict[str, int]  # per entity, as read (one row per key)
    pages: int
    passes: int  # reads of a query; more than one per entity means the source changed while paging
    splits: int
    requests: int  # HTTP requests of this window's read, retries included
    api_totals: dict[str, int]  # the platform's own message and session counts for the window
    new_fields: dict[str, set[str]] = field(default_factory=dict)  # API fields the descriptions do not know
    read_seconds: float = 0.0
    load_seconds: float = 0.0

    @property
    def day(self) -> date:
        return self.window.day

    @property
    def seconds(self) -> float:
        """Reading and committing the window (with read-ahead, the read overlapped the previous commit)."""
        return self.read_seconds + self.load_seconds


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
    stale: list[Window] = field(default_factory=list)  # windows still differing from the platform's counts
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
    """Syncs one project into one warehouse through one client; the engine behind ``reporter_etl.etl``.

    Not thread-safe.  Every public call that writes begins and finishes its own run record in meta.sync_runs.
    ``project`` may be given when the caller knows it; otherwise the token's project is asked once.
    """

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
        project: str | None = None,
        pii: PiiPolicy | None = None,
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
        self._project = project
        self.pii = pii or PiiPolicy()
        self._requests_before_run = 0
        self._cancel_reads = threading.Event()

    # ---- what the project is -----------------------------------------------------------------------------

    @property
    def project(self) -> str:
        """The project the token gives access to; asked of the API once, unless given."""
        if self._project is None:
            self._project = self.discover_project()
        return self._project

    def discover_project(self) -> str:
        return discover_project(self.client)

    # ---- runs --------------------------------------------------------------------------------------------

    @contextmanager
    def _run(self, windows: list[Window]) -> Iterator[SyncResult]:
        """A run record in meta.sync_runs around the block: begun, then finished as succeeded, or as failed with
        the error's first line.  Yields the run's result, whose request count and time are set at the end."""
        started = time.perf_counter()
        project = self.project
        requested = (windows[0].start, windows[-1].end) if windows else (None, None)
        run_id = self.wh.begin_run(project, requested_start=requested[0], requested_end=requested[1])
        result = SyncResult(run_id=run_id, project=project, planned=windows)
        self._requests_before_run = requests_before = self.client.request_count
        try:
            with self.wh.limits(), arrow_pool_for_sync():
                yield result
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
        result.elapsed_s = time.perf_counter() - started

    def run(
        self,
        *,
        start: date | None = None,
        end: date | None = None,
        lookback: timedelta = DEFAULT_LOOKBACK,
        now: datetime | None = None,
        reconcile: bool = True,
        refresh_catalogs: bool = True,
    ) -> SyncResult:
        """Sync the planned day windows (see ``plan_windows``) in one run; then, if asked, reconcile them with the
        platform's counts (re-reading windows that changed) and replace the catalogs."""
        now = now or datetime.now(UTC)
        plan = plan_windows(
            self.wh, self.project, tz_name=self.tz_name, start=start, end=end, lookback=lookback, now=now
        )
        log.info("sync of %s: %d window(s): %s", self.project, len(plan.windows), plan.reason)
        with self._run(plan.windows) as result:
            self.progress(SyncEvent("planned", 0, len(plan.windows)))
            with closing(self._reads_in_order(plan.windows)) as reads:
                for number, read in enumerate(reads, start=1):
                    report = self._commit_into(result, read)
                    read.extractions.clear()  # its Arrow tables go now, not when the next window arrives
                    result.minimum_requests += sum(
                        max(1, -(-rows // self.client.settings.page_size)) for rows in report.rows.values()
                    )
                    self.wh.set_request_count(result.run_id, self.client.request_count - self._requests_before_run)
                    self.progress(SyncEvent("window_done", number, len(plan.windows), read.window, report))
            if reconcile:
                self._reconcile_into(result, plan.windows, resync=True)
            if refresh_catalogs:
                result.catalog_rows = self._replace_catalogs(result.run_id)
                self.progress(SyncEvent("catalogs_done", len(plan.windows), len(plan.windows)))
        return result

    def reconcile(self, start: date, end: date, *, resync: bool = True) -> SyncResult:
        """Compare the warehouse's message counts for the days ``start`` to ``end`` with the platform's counts now,
        in one run; with ``resync``, read the windows that differ again (up to ``max_reconcile_rounds`` times).
        ``result.stale`` lists the windows that still differ."""
        windows = day_windows(start, end, zone(self.tz_name))
        with self._run(windows) as result:
            self._reconcile_into(result, windows, resync=resync)
        return result

    def refresh_catalogs(self) -> SyncResult:
        """Replace the catalogs (labels, groups, experiments and their session counts) whole, in one run."""
        with self._run([]) as result:
            result.catalog_rows = self._replace_catalogs(result.run_id)
        return result

    def _commit_into(self, result: SyncResult, read: WindowRead) -> WindowReport:
        report = self.commit_window(result.run_id, read)
        result.windows.append(report)
        for entity, names in report.new_fields.items():
            # Warn once per run about each field the API sends that the descriptions do not know.
            seen = set(result.new_fields.get(entity, ()))
            fresh = names - seen
            if fresh:
                log.warning("the API sends %s field(s) this version does not know: %s; they are kept in "
                            "raw.%s.extra", entity, ", ".join(sorted(fresh)), entity)  # fmt: skip
                result.new_fields[entity] = sorted(seen | fresh)
        return report

    def _reconcile_into(self, result: SyncResult, windows: list[Window], *, resync: bool) -> None:
        stale = self.stale_windows(windows)
        rounds = self.max_reconcile_rounds if resync else 0
        for _ in range(rounds):
            if not stale:
                break
            for window in stale:
                self._commit_into(result, self.read_window(window))
                result.resynced += 1
            stale = self.stale_windows(windows)
        if stale:
            log.warning("%d window(s) differ from the platform's counts: %s",
                        len(stale), ", ".join(str(w) for w in stale))  # fmt: skip
        result.stale = stale

    # ---- one window ----------------------------------------------------------------------------------------

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
            _import_pandas_meanwhile()
            for following in windows[1:]:
                read = pending.result()
                pending = worker.submit(self.read_window, following)
                yield read
                del read  # not held while the next window is awaited
            yield pending.result()
        finally:
            self._cancel_reads.set()  # a read still running stops before its next request
            worker.shutdown(wait=True, cancel_futures=True)
            self._cancel_reads.clear()

    def read_window(self, window: Window) -> WindowRead:
        """The window's entities, read again while they disagree with the platform's own counts."""
        started = time.perf_counter()
        requests_before = self.client.request_count
        # The platform's daily statistics do not depend on the lists: asked meanwhile, in a thread of their own.
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="sync-platform-stats") as side:
            platform_stats_future = side.submit(self._platform_daily_stats, window)
            try:
                extractions, api_totals, pages, passes, splits = self._read_verified(window)
                platform_stats = platform_stats_future.result()
            except BaseException:
                platform_stats_future.cancel()
                raise
        return WindowRead(window, extractions, api_totals, pages, passes, splits,
                          self.client.request_count - requests_before, time.perf_counter() - started,
                          platform_stats)  # fmt: skip

    def _read_verified(self, window: Window) -> tuple[dict[str, Extraction], dict[str, int], int, int, int]:
        pages = passes = splits = 0
        for attempt in range(1, self.max_verify_rounds + 1):
            # One after the other, in this order: a session (and a client) read after the window's messages
            # already counts every message read.  Read side by side (4% faster against the simulator), a
            # session could be read before messages that then arrived in it, and be kept out of date
            # (tests/test_sync.py::test_rows_arriving_while_paging_are_neither_lost_nor_doubled caught it).
            extractions = {name: self._extract(entity, window) for name, entity in ENTITIES.items()}
            pages += sum(ex.pages for ex in extractions.values())
            passes += sum(ex.passes for ex in extractions.values())
            splits += sum(ex.splits for ex in extractions.values())
            # Asked after every read: rows that arrived while a later entity was paged show up here.
            api_totals = self._platform_totals(window)
            read = {entity: extractions[entity].table.num_rows for entity in api_totals}
            if read == api_totals:
                break
            log.info("%s: read %s, the platform now counts %s (round %d of %d)",
                     window, read, api_totals, attempt, self.max_verify_rounds)  # fmt: skip
        else:
            # The platform's statistics and its lists may disagree for reasons of their own; the window is
            # still a consistent read, and the end-of-run reconciliation and the next lookback look again.
            log.warning("%s: read %s but the platform's statistics say %s", window, read, api_totals)
        return extractions, api_totals, pages, passes, splits

    def commit_window(self, run_id: str, read: WindowRead) -> WindowReport:
        """The read window's rows, its done record and the platform's daily counts, in one transaction."""
        window, extractions, api_totals = read.window, read.extractions, read.api_totals
        started = time.perf_counter()
        with self.wh.window_load(self.project, WINDOW_ENTITIES, window.start, window.end, run_id) as transaction:
            for entity, extraction in extractions.items():
                transaction.add(entity, extraction.table, distinct_keys=True)  # extract() leaves one row per key
            transaction.add_daily_stats([
                {"metric": metric, "day": window.day, "value": value, "tz_offset_minutes": self._offset(window)}
                for metric, value in api_totals.items()
            ] + read.platform_stats)  # fmt: skip
        return WindowReport(
            window=window,
            rows={entity: ex.table.num_rows for entity, ex in extractions.items()},
            pages=read.pages,
            passes=read.passes,
            splits=read.splits,
            requests=read.requests,
            api_totals=api_totals,
            new_fields={entity: names for entity, ex in extractions.items()
                        if (names := unknown_field_names(ex.table, ENTITIES[entity]))},  # fmt: skip
            read_seconds=read.seconds,
            load_seconds=time.perf_counter() - started,
        )

    def stale_windows(self, windows: list[Window]) -> list[Window]:
        """Windows whose message count in the warehouse differs from the platform's count now.

        Rows can arrive in a window after it was committed (late ingestion, or while later windows were
        read).  One statistics request over the whole range, in UTC hours, finds them; windows whose
        bounds are not whole UTC hours are asked one by one.
        """
        if not windows:
            return []
        loaded = self.wh.message_counts(self.project, [(w.start, w.end) for w in windows])
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

    def _extract(self, entity: Entity, window: Window) -> Extraction:
        def query(start: datetime, end: datetime) -> Iterator[PageLike]:
            filters = [DateTimeRange.window(entity.window_filter, start, end)]
            return self._unless_cancelled(self.client.paginate(entity.operation, filters=filters, **entity.params))

        extraction = extract(query, window.start, window.end, entity, max_passes=self.max_passes)
        # The one place rows pass between the API and the warehouse: personal data is kept, hashed or dropped here.
        extraction.table = self.pii.apply(extraction.table, entity.name)
        log.debug("%s %s: %d rows in %d pages", window, entity.name, extraction.table.num_rows, extraction.pages)
        return extraction

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

    def _platform_daily_stats(self, window: Window) -> list[dict[str, Any]]:
        """Transfers, calls and clients as the platform counts them (``reporter_etl.platform_stats``)."""
        if self._cancel_reads.is_set():
            raise _ReadCancelled
        return daily_platform_stats(self.client, window, self._offset(window))

    def _offset(self, window: Window) -> int:
        """Minutes east of UTC at the window's local midnight, as the API's Timezone header wants them."""
        offset = window.start.astimezone(zone(self.tz_name)).utcoffset() or timedelta(0)
        return int(offset.total_seconds() // 60)

    def _replace_catalogs(self, run_id: str) -> dict[str, int]:
        return self.wh.replace_catalogs(
            self.project,
            run_id,
            message_labels=self.client.list_message_labels(),
            label_groups=self.client.list_message_label_groups(),
            session_labels=self.client.list_session_labels(),
            experiments=self.client.list_experiments(),
            experiment_session_counts=self.client.count_experiment_sessions(),
        )


def discover_project(client: ReporterClient) -> str:
    """The token implies the project; the platform names it in the per-project session count.  The first request
    of a sync, so it is also where a base URL that is not the Reporter API shows."""
    try:
        rows = client.count_sessions_per_project()
    except AuthenticationError as exc:
        raise AuthenticationError(f"the API refused the token: {exc}", operation=exc.operation,
                                  status=exc.status, error_code=exc.error_code) from None  # fmt: skip
    if not isinstance(rows, list) or not all(isinstance(row, dict) and isinstance(row.get("projectShortName"), str)
                                             for row in rows):  # fmt: skip
        host = urlsplit(client.settings.base_url).netloc
        raise UnexpectedResponseError(
            f"count_sessions_per_project: {host} answered with JSON that is not the Reporter API's (a list of "
            f"{{projectShortName, amount}} was due, got {_json_shape(rows)}); check the base URL "
            f"($REPORTER_BASE_URL or --base-url)", operation="count_sessions_per_project",
        )  # fmt: skip
    names = sorted({row["projectShortName"] for row in rows if row["projectShortName"]})
    if len(names) != 1:
        raise SyncError(f"the token should give access to exactly one project, the API lists {len(names)}: {names}")
    return names[0]


def _json_shape(value: Any) -> str:
    if isinstance(value, list):
        return f"a list of {len(value)} item(s)" + (f", the first {type(value[0]).__name__}" if value else "")
    if isinstance(value, dict):
        keys = ", ".join(sorted(value)[:4])
        return f"an object with {keys}" if keys else "an empty object"
    return f"a JSON {type(value).__name__}"


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[0] if text else ''}"[:500]
