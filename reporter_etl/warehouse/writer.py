"""The writer's handle on a warehouse: lock, connection, schema, and every write the sync makes.

Not thread-safe: one Warehouse belongs to one thread of one process (and, through the lock, is the only writer).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from types import TracebackType

import duckdb

from reporter_etl.errors import ForeignFileError, WarehouseBusyError, WarehouseWriteError
from reporter_etl.warehouse import catalogs, state
from reporter_etl.warehouse.db import connect_when_free, open_readonly
from reporter_etl.warehouse.files import check_is_ours, check_path
from reporter_etl.warehouse.load import WINDOW_ENTITIES, WindowTransaction, as_utc
from reporter_etl.warehouse.lock import WriterLock, current_writer, lock_path
from reporter_etl.warehouse.schema import ensure_schema

log = logging.getLogger(__name__)

DEFAULT_LOCK_TIMEOUT_S = 60.0
# DuckDB checkpoints when the WAL passes this size.  Its default (16MB) made nearly every 30k-row window commit
# checkpoint, which tripled load time; the writer checkpoints once more on close so readers find a tidy file.
DEFAULT_CHECKPOINT_THRESHOLD = "256MB"
# What a sync lets DuckDB use (Warehouse.limits).  Left alone, DuckDB keeps what it wrote in its buffer pool up to
# 80% of RAM: a long sync grew to 600-800 MiB that way.  Within a limit it evicts (the data is in the file, the WAL
# or the temp directory).  24MB holds a bench window's merge (35,000 messages) since the deletes join on the
# staged keys alone (load.staged_views; 16MB ran out); 20 days then peak within 4% of 10 days.  One thread: a
# window's merge is small, and the sync's page readers and parsers want the other core.
SYNC_MEMORY_LIMIT = "24MB"
SYNC_THREADS = 1
# A window whose merge needs more than the limit anyway (a day much larger than the bench's 35,000 messages) is
# rolled back and committed again with the limit this many times higher, up to this many times: the limit keeps
# an ordinary sync small without making a large day fail.
OUT_OF_MEMORY_GROWTH = 4
OUT_OF_MEMORY_RETRIES = 3


class Warehouse:
    """Open with ``Warehouse.open(path)`` (a context manager); see the package docstring for a full example."""

    def __init__(self, path: Path, con: duckdb.DuckDBPyConnection, lock: WriterLock) -> None:
        self.path = path
        self.con = con
        self._lock = lock
        # The limit an out-of-memory retry raised DuckDB's from, until setting it back succeeds (see below).
        self._memory_limit_to_restore: str | None = None

    @classmethod
    def open(
        cls,
        path: str | os.PathLike[str],
        *,
        lock_timeout: float = DEFAULT_LOCK_TIMEOUT_S,
        run_id: str | None = None,
        checkpoint_threshold: str = DEFAULT_CHECKPOINT_THRESHOLD,
    ) -> Warehouse:
        """Take the writer lock (waiting up to ``lock_timeout`` s), open the file read-write (creating it) and
        bring its schema up to date.  ``run_id`` only labels the lock for waiting writers; see ``begin_run``."""
        # A path that cannot be a warehouse, or a file that is not ours, is refused before anything is written.
        db_path = check_path(path)
        db_path.parent.mkdir(parents=True, exist_ok=True)
        started = time.monotonic()
        lock = WriterLock(db_path, timeout=lock_timeout)
        lock_was_there = lock_path(db_path).exists()
        try:
            lock.acquire(run_id)
        except OSError as exc:
            raise ForeignFileError(
                f"cannot take the writer lock {lock_path(db_path)}: {exc.strerror or exc}; check that its folder is "
                f"writable"
            ) from None
        try:
            con = cls._connect_writer(db_path, lock_timeout - (time.monotonic() - started))
            try:
                check_is_ours(con, db_path)
                con.execute(f"SET checkpoint_threshold = '{checkpoint_threshold}'")
                ensure_schema(con)
                interrupted = state.mark_interrupted_runs(con, found_by=f"pid {os.getpid()}")
                if interrupted:
                    log.warning("%d earlier run(s) had ended without finishing; marked interrupted", interrupted)
            except BaseException:
                con.close()
                raise
        except BaseException:
            lock.release()
            if not lock_was_there:  # leave no stray lock file beside a file we refused or could not open
                lock_path(db_path).unlink(missing_ok=True)
            raise
        return cls(db_path, con, lock)

    @staticmethod
    def _connect_writer(path: Path, wait_s: float) -> duckdb.DuckDBPyConnection:
        # A reader (BI tool) holding the file blocks writers; wait for it within the same bound as the lock.
        def busy(exc: duckdb.IOException) -> WarehouseBusyError:
            return WarehouseBusyError(
                f"warehouse {path} is open in another process (a BI tool or another DuckDB client?); "
                f"close it and run again. DuckDB said: {exc}"
            )

        return connect_when_free(path, read_only=False, wait_s=wait_s, busy=busy)

    # ------------------------------------------------------------ lifetime

    def close(self, *, checkpoint: bool = True) -> None:
        if self.con is None:
            return
        try:
            if checkpoint:
                with self.limits():  # a checkpoint's memory is bounded like a sync's
                    self.con.execute("CHECKPOINT")
        except duckdb.Error as exc:
            log.warning("checkpoint on close failed (the WAL is replayed on next open): %s", exc)
        finally:
            self.con.close()
            self.con = None  # type: ignore[assignment]
            self._lock.release()

    def __enter__(self) -> Warehouse:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        # Out of space, a checkpoint would only fail again (and say so); the WAL is replayed on the next open.
        self.close(checkpoint=not isinstance(exc, WarehouseWriteError))

    @contextmanager
    def limits(self, *, memory_limit: str | None = SYNC_MEMORY_LIMIT, threads: int | None = SYNC_THREADS
               ) -> Iterator[None]:  # fmt: skip
        """DuckDB's ``memory_limit`` and ``threads`` for the block, then back to what they were."""
        wanted = {"memory_limit": memory_limit, "threads": threads}
        before = {}
        for name, value in wanted.items():
            if value is not None:
                before[name] = self._setting(name)
                self.con.execute(f"SET {name} = '{value}'")
        try:
            yield
        finally:
            self._memory_limit_to_restore = None  # what the block began with is set back below
            for name, value in before.items():
                if self.con is not None:
                    self.con.execute(f"SET {name} = '{value}'")

    def _setting(self, name: str) -> str:
        return self.con.execute(f"SELECT current_setting('{name}')").fetchall()[0][0]

    def _commit_with_headroom(self, transaction: WindowTransaction) -> None:
        """``transaction.commit()``; when DuckDB runs out of its memory limit, again (the failed attempt was rolled
        back whole) with the limit ``OUT_OF_MEMORY_GROWTH`` times higher, then back to the limit it had."""
        # The limit before a retry raised it is read only then, as it is seldom needed and every window's commit
        # paid a statement for it; setting it back can itself run out (DuckDB still holds more than the limit),
        # so it stays pending on the warehouse and every later commit tries again.
        try:
            for attempt in range(OUT_OF_MEMORY_RETRIES + 1):
                try:
                    transaction.commit()
                    return
                except duckdb.OutOfMemoryException as exc:
                    if attempt == OUT_OF_MEMORY_RETRIES:
                        raise
                    if self._memory_limit_to_restore is None:
                        self._memory_limit_to_restore = self._setting("memory_limit")
                    now = self._memory_limit_bytes()
                    log.info("a window's merge ran out of DuckDB's memory limit (%s); again with %d MiB: %s",
                             self._setting("memory_limit"), now * OUT_OF_MEMORY_GROWTH >> 20,
                             str(exc).splitlines()[0])  # fmt: skip
                    self.con.execute(f"SET memory_limit = '{now * OUT_OF_MEMORY_GROWTH}B'")
        finally:
            self._restore_memory_limit()

    def _restore_memory_limit(self) -> None:
        if self._memory_limit_to_restore is None:
            return
        try:
            self.con.execute(f"SET memory_limit = '{self._memory_limit_to_restore}'")
            self._memory_limit_to_restore = None
        except duckdb.OutOfMemoryException:  # still holding more than that: the next commit tries again
            log.info("DuckDB's memory limit stays at %s for now", self._setting("memory_limit"))

    def _memory_limit_bytes(self) -> int:
        """DuckDB shows the limit as text ("22.8 MiB", "18.8 GiB", "512 bytes")."""
        number, _, unit = self._setting("memory_limit").partition(" ")
        scale = {"bytes": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "TiB": 1 << 40}.get(unit, 1 << 20)
        return int(float(number) * scale)

    # ------------------------------------------------------------ runs

    def begin_run(
        self,
        project: str,
        *,
        requested_start: datetime | None = None,
        requested_end: datetime | None = None,
        run_id: str | None = None,
    ) -> str:
        """Record a new run of ``project`` as running and return its id (generated unless given)."""
        run_id = run_id or state.new_run_id()
        state.begin_run(
            self.con,
            project,
            run_id,
            None if requested_start is None else as_utc(requested_start, "requested_start"),
            None if requested_end is None else as_utc(requested_end, "requested_end"),
        )
        self._lock.set_run_id(run_id)
        return run_id

    def finish_run(
        self,
        run_id: str,
        *,
        status: str = state.RUN_SUCCEEDED,
        error_message: str | None = None,
        request_count: int | None = None,
    ) -> None:
        """Close a run as 'succeeded' or 'failed' (with the error message, which must not hold the token)."""
        state.finish_run(self.con, run_id, status, error_message, request_count)

    def set_request_count(self, run_id: str, request_count: int) -> None:
        state.set_request_count(self.con, run_id, request_count)

    # ------------------------------------------------------------ loads

    @contextmanager
    def window_load(
        self,
        project: str,
        entities: Iterable[str],
        window_start: datetime,
        window_end: datetime,
        run_id: str,
    ) -> Iterator[WindowTransaction]:
        """Stage a window's batches with ``transaction.add(entity, batch)``; on leaving the block without an
        exception, its rows and its ``meta.sync_state`` rows (one per entity, zero rows included) commit in one
        transaction.  An exception inside the block writes nothing.  ``transaction.loaded`` holds the counts."""
        transaction = WindowTransaction(self.con, project, entities, window_start, window_end, run_id)
        yield transaction
        self._commit_with_headroom(transaction)

    def replace_catalogs(
        self,
        project: str,
        run_id: str,
        *,
        message_labels: catalogs.CatalogRows | None = None,
        label_groups: catalogs.CatalogRows | None = None,
        session_labels: catalogs.CatalogRows | None = None,
        experiments: catalogs.CatalogRows | None = None,
        experiment_session_counts: catalogs.CatalogRows | None = None,
    ) -> dict[str, int]:
        """Replace every catalog given (None = leave as is) for ``project``, all in one transaction."""
        given = {
            "message_labels": message_labels,
            "label_groups": label_groups,
            "session_labels": session_labels,
            "experiments": experiments,
            "experiment_session_counts": experiment_session_counts,
        }
        return catalogs.replace_catalogs(
            self.con, project, run_id, {name: rows for name, rows in given.items() if rows is not None}
        )

    def upsert_daily_stats(
        self, project: str, run_id: str, rows: catalogs.CatalogRows, *, fetched_at: datetime | None = None
    ) -> int:
        """Store the platform's own daily counts: items {metric, day, value, dimension?, tz_offset_minutes?}."""
        return catalogs.upsert_daily_stats(self.con, project, run_id, rows, fetched_at)

    # ------------------------------------------------------------ state

    def done_windows(
        self, project: str, entities: Iterable[str] = WINDOW_ENTITIES
    ) -> list[tuple[datetime, datetime]]:
        return state.done_windows(self.con, project, entities)

    def latest_done_end(self, project: str, entities: Iterable[str] = WINDOW_ENTITIES) -> datetime | None:
        return state.latest_done_end(self.con, project, entities)

    def message_counts(
        self, project: str, windows: Iterable[tuple[datetime, datetime]]
    ) -> dict[tuple[datetime, datetime], int]:
        """Messages held per MESSAGE_TIME window ``[start, end)``, to reconcile with the platform's counts."""
        bounds = [(as_utc(s, "window start"), as_utc(e, "window end")) for s, e in windows]
        if not bounds:
            return {}
        rows = self.con.execute(
            "SELECT w.s, w.e, count(m.question_id) FROM (SELECT unnest($starts) AS s, unnest($ends) AS e) w "
            "LEFT JOIN raw.messages m ON m.project_short_name = $project "
            "AND m.message_time >= w.s AND m.message_time < w.e GROUP BY w.s, w.e",
            {"starts": [s for s, _ in bounds], "ends": [e for _, e in bounds], "project": project},
        ).fetchall()
        return {(as_utc(s, "start"), as_utc(e, "end")): int(n) for s, e, n in rows}

    def window_states(self, project: str, entity: str | None = None) -> list[state.WindowState]:
        return state.window_states(self.con, project, entity)

    def runs(self, project: str | None = None, limit: int = 20) -> list[state.RunRecord]:
        return state.runs(self.con, project, limit)

    def status(self, project: str | None = None, now: datetime | None = None) -> state.WarehouseStatus:
        summary = state.status(self.con, project, now)
        holder = self._lock.holder
        return state.WarehouseStatus(
            summary.schema_version, summary.projects, None if holder is None else asdict(holder)
        )


def warehouse_status(
    path: str | os.PathLike[str], project: str | None = None, now: datetime | None = None
) -> state.WarehouseStatus:
    """Status for the CLI.  While a sync writes, DuckDB keeps readers out: then only the writer is reported
    (``schema_version`` None, no projects)."""
    writer = current_writer(path)
    if writer is not None:
        return state.WarehouseStatus(schema_version=None, projects=[], writer=asdict(writer))
    con = open_readonly(path)
    try:
        return state.status(con, project, now)
    finally:
        con.close()
