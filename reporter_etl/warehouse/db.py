"""Opening the DuckDB file: the settings every connection gets, and read-only access for readers.

DuckDB locks the file per process: one process may hold it read-write, or any number read-only, never both at
once.  A read-only open therefore fails while a sync writes; the error names the sync that holds it.
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pyarrow as pa

from reporter_etl.errors import WarehouseBusyError
from reporter_etl.warehouse.lock import current_writer

log = logging.getLogger(__name__)

# Times are stored as TIMESTAMPTZ; reading them in UTC keeps results independent of the machine's zone.
SESSION_TIME_ZONE = "UTC"


def is_lock_conflict(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


def connect(
    path: str | os.PathLike[str], *, read_only: bool, config: dict[str, str] | None = None
) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect(os.fspath(path), read_only=read_only, config=config or {})
    con.execute(f"SET TimeZone = '{SESSION_TIME_ZONE}'")
    return con


@contextmanager
def transaction(con: duckdb.DuckDBPyConnection, views: Mapping[str, pa.Table] | None = None) -> Iterator[None]:
    """BEGIN ... COMMIT, or ROLLBACK on any exception, with Arrow tables registered as views around it.

    The views are unregistered only after the transaction has ended: a statement in an aborted transaction fails,
    and its error would hide the one that aborted it."""
    views = views or {}
    for name, table in views.items():
        con.register(name, table)
    try:
        con.begin()
        try:
            yield
        except BaseException:
            con.rollback()
            raise
        con.commit()
    finally:
        for name in views:
            con.unregister(name)


def connect_when_free(
    path: str | os.PathLike[str],
    *,
    read_only: bool,
    wait_s: float,
    busy: Callable[[duckdb.IOException], WarehouseBusyError],
) -> duckdb.DuckDBPyConnection:
    """``connect``, retried for up to ``wait_s`` seconds while another process holds the file in a conflicting
    mode; then the error ``busy`` makes of DuckDB's."""
    deadline = time.monotonic() + max(wait_s, 0.0)
    while True:
        try:
            return connect(path, read_only=read_only)
        except duckdb.IOException as exc:
            if not is_lock_conflict(exc):
                raise
            if time.monotonic() >= deadline:
                raise busy(exc) from exc
            time.sleep(0.2)


def open_readonly(path: str | os.PathLike[str], *, timeout: float = 0.0) -> duckdb.DuckDBPyConnection:
    """A read-only connection for BI tools, reports and status; retries up to ``timeout`` seconds while a writer
    holds the file, then raises WarehouseBusyError naming it."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no warehouse at {os.fspath(path)}: run a sync first")

    def busy(exc: duckdb.IOException) -> WarehouseBusyError:
        writer = current_writer(path)
        who = writer.describe() if writer else "another process"
        return WarehouseBusyError(
            f"warehouse {os.fspath(path)} is open for writing by {who}; read it when that run has finished"
        )

    return connect_when_free(path, read_only=True, wait_s=timeout, busy=busy)
