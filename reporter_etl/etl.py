"""The public sync API: what the CLI, the demo, Python users and the Dagster code location call.

    settings = Settings.from_env(db_path="warehouse.duckdb")      # REPORTER_TOKEN, REPORTER_BASE_URL
    result = sync_days(settings, date(2026, 11, 1), date(2026, 11, 7))

or, to make several calls with one client, one open warehouse (the writer lock held throughout) and the project
asked of the API once::

    with open_sync(settings) as session:
        for day in days:
            session.sync_days(day, day)            # one run record per call; per-window reports back
        session.reconcile(days[0], days[-1])       # re-read the days whose counts changed since
        session.refresh_catalogs()                 # labels, groups, experiments

Each call that writes is one run in ``meta.sync_runs`` (begun, then finished as succeeded or failed).  A call
of ``sync_days`` reads and commits its day windows only; the end-of-run reconciliation and the catalogs are
asked for with ``reconcile=True`` / ``refresh_catalogs=True`` (what ``reporter-etl sync`` does) or by their own
calls.  Whatever this module and ``reporter_etl/__init__`` do not export is private and may change.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from reporter_etl.api.client import ReporterClient
from reporter_etl.api.config import (
    DEFAULT_BASE_URL,
    MAX_PAGE_SIZE,
    RetryPolicy,
    Timeouts,
    base_url_from_env,
    token_from_env,
)
from reporter_etl.api.redaction import Secret
from reporter_etl.errors import ConfigurationError
from reporter_etl.sync import DEFAULT_LOOKBACK, ProgressCallback, Syncer, SyncResult
from reporter_etl.warehouse import DEFAULT_LOCK_TIMEOUT_S, Warehouse
from reporter_etl.windows import zone

if TYPE_CHECKING:  # the models pull in scipy; a sync that builds none should not pay for it
    from reporter_etl.models import BuildReport
    from reporter_etl.models.config import ModelsConfig


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Everything a sync needs, made once.  The token is held as a ``Secret``: it shows as ``***`` in repr/str."""

    db_path: Path
    token: Secret = field(repr=False)
    base_url: str = DEFAULT_BASE_URL
    timezone: str = "UTC"  # the project's IANA zone: day windows are cut at its midnight
    lookback: timedelta = DEFAULT_LOOKBACK  # re-read before the last synced day when no start is given
    page_size: int = MAX_PAGE_SIZE
    lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S  # seconds to wait for another writer of the warehouse
    project: str | None = None  # the token's project when known; otherwise asked of the API once per session
    read_ahead: bool = True  # read window n+1 while window n commits
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    timeouts: Timeouts = field(default_factory=Timeouts)

    def __post_init__(self) -> None:
        if isinstance(self.token, str):
            object.__setattr__(self, "token", Secret(self.token.strip()))
        if not self.token:
            raise ConfigurationError("the Reporter API token is empty")
        object.__setattr__(self, "db_path", Path(self.db_path))
        try:
            zone(self.timezone)
        except ValueError as exc:
            raise ConfigurationError(str(exc)) from None
        if not 1 <= self.page_size <= MAX_PAGE_SIZE:
            raise ConfigurationError(f"page_size must be between 1 and {MAX_PAGE_SIZE}, not {self.page_size}")
        if self.lookback < timedelta(0):
            raise ConfigurationError(f"lookback must not be negative, not {self.lookback}")

    @classmethod
    def from_env(
        cls, *, db_path: str | os.PathLike[str], environ: Mapping[str, str] | None = None, **options: Any
    ) -> Settings:
        """Settings with the token from ``REPORTER_TOKEN`` and the base URL from ``REPORTER_BASE_URL`` (unless
        ``base_url`` is given; default https://app.jaicp.com); ``options`` are the other fields."""
        base_url = options.pop("base_url", None) or base_url_from_env(environ)
        return cls(db_path=Path(db_path), token=token_from_env(environ), base_url=base_url, **options)


class SyncSession:
    """An open client, an open warehouse (the writer lock held until ``close``) and the project, for many calls.

    Made by ``open_sync``.  ``client`` and ``warehouse`` are there for what this API does not cover; using them
    is using internals.
    """

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.client = ReporterClient(
            settings.base_url, settings.token.reveal(), page_size=settings.page_size, retry=settings.retry,
            timeouts=settings.timeouts,
        )  # fmt: skip
        try:
            self.warehouse = Warehouse.open(settings.db_path, lock_timeout=settings.lock_timeout)
        except BaseException:
            self.client.close()
            raise
        self._syncer = Syncer(
            self.client, self.warehouse, timezone=settings.timezone, read_ahead=settings.read_ahead,
            project=settings.project,
        )  # fmt: skip

    @property
    def project(self) -> str:
        """The token's project (asked of the API on first use unless the settings name it)."""
        return self._syncer.project

    def sync_days(
        self,
        start: date | None = None,
        end: date | None = None,
        *,
        progress: ProgressCallback | None = None,
        reconcile: bool = False,
        refresh_catalogs: bool = False,
        now: datetime | None = None,
    ) -> SyncResult:
        """Read and commit the day windows from ``start`` to ``end`` (both included) in one run.

        Without ``start``: from the saved state (days not done yet, and ``settings.lookback`` before the last
        done one), or the last 30 days on a new warehouse.  Without ``end``: up to the last complete day.  With
        ``reconcile``, windows whose platform counts changed during the run are read again; with
        ``refresh_catalogs``, the catalogs are replaced; both in the same run.  ``result.windows`` holds one
        ``WindowReport`` per window committed (rows, requests, time, new API fields).
        """
        self._syncer.progress = progress or (lambda event: None)
        return self._syncer.run(
            start=start, end=end, lookback=self.settings.lookback, now=now, reconcile=reconcile,
            refresh_catalogs=refresh_catalogs,
        )  # fmt: skip

    def reconcile(self, start: date, end: date, *, resync: bool = True) -> SyncResult:
        """Compare the warehouse's message count of each day from ``start`` to ``end`` with the platform's count
        now, and (``resync``) read the days that differ again; ``result.stale`` lists the days still differing."""
        return self._syncer.reconcile(start, end, resync=resync)

    def refresh_catalogs(self) -> SyncResult:
        """Replace the catalogs (message and session labels, label groups, experiments and their session counts);
        the rows per catalog are in ``result.catalog_rows``."""
        return self._syncer.refresh_catalogs()

    def build_models(
        self,
        after: SyncResult | None = None,
        *,
        config: ModelsConfig | None = None,
        start: date | None = None,
        end: date | None = None,
        select: Sequence[str] | None = None,
    ) -> BuildReport | None:
        """Build the SQL models on this session's warehouse, under the writer lock it already holds.

        ``after=result`` rebuilds the daily marts for the local days that sync changed (None when it changed
        nothing); ``start``/``end`` for a day range; neither: everything whole.  ``config`` defaults to the
        models' defaults in the settings' time zone.
        """
        from reporter_etl.models import ModelsConfig, build, load_models, select_models, touched_range

        config = config or ModelsConfig(timezone=self.settings.timezone)
        con = self.warehouse.con
        if after is not None:
            days = touched_range(con, after.run_id, [report.window.day for report in after.windows], config.timezone)
            if days is None:
                return None
            start, end = days
        return build(con, select_models(load_models(), select), config=config, start=start, end=end)

    def close(self) -> None:
        try:
            self.warehouse.close()
        finally:
            self.client.close()

    def __enter__(self) -> SyncSession:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.close()


def open_sync(settings: Settings) -> SyncSession:
    """Open the client and the warehouse (taking the writer lock, waiting up to ``settings.lock_timeout``)."""
    return SyncSession(settings)


def sync_days(
    settings: Settings,
    start: date | None = None,
    end: date | None = None,
    *,
    progress: ProgressCallback | None = None,
    reconcile: bool = False,
    refresh_catalogs: bool = False,
) -> SyncResult:
    """``SyncSession.sync_days`` in a session of its own."""
    with open_sync(settings) as session:
        return session.sync_days(start, end, progress=progress, reconcile=reconcile, refresh_catalogs=refresh_catalogs)


def reconcile(settings: Settings, start: date, end: date, *, resync: bool = True) -> SyncResult:
    """``SyncSession.reconcile`` in a session of its own."""
    with open_sync(settings) as session:
        return session.reconcile(start, end, resync=resync)


def refresh_catalogs(settings: Settings) -> SyncResult:
    """``SyncSession.refresh_catalogs`` in a session of its own."""
    with open_sync(settings) as session:
        return session.refresh_catalogs()
