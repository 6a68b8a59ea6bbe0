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

from reporter_etl.errors import WarehouseBusyError, WarehouseWriteError
from reporter_etl.warehouse.files import check_is_ours, check_path
from reporter_etl.warehouse.lock import current_writer

log = logging.getLogger(__name__)

# Times are stored as TIMESTAMPTZ; reading them in UTC keeps results independent of the machine's zone.
SESSION_TIME_ZONE = "UTC"


def is_lock_conflict(exc: duckdb.Error) -> bool:
    return "lock" in str(exc).lower()


# How the OS says "no room" through DuckDB's messages (ENOSPC, EFBIG under `ulimit -f`, EDQUOT).
_OUT_OF_SPACE = ("no space left", "file too large", "quota exceeded")


def out_of_space(exc: BaseException) -> bool:
    return any(words in str(exc).lower() for words in _OUT_OF_SPACE)


def write_failure(exc: BaseException) -> WarehouseWriteError | None:
    """A clear error for a failed write of the warehouse file (or its WAL), or None when ``exc`` is another one."""
    if not isinstance(exc, duckdb.Error | OSError) or not out_of_space(exc):
        return None
    said = " ".join(str(exc).split())
    return WarehouseWriteError(
        f"cannot write the warehouse: the disk is full or a file size limit (ulimit -f) was reached ({said}). "
        f"Free some space (or raise the limit) and run again; the days committed before this one are kept."
    )


# Row groups of the writer.  A window's insert (~35,000 messages a day) then fills whole row groups, which DuckDB
# writes compressed straight into the file ("optimistic writes") instead of into the WAL first and the file again
# at the next checkpoint: about 30% less CPU for a sync's commits and its closing CHECKPOINT (bench/RESULTS.md).
# DuckDB does not store the size in the file, and a checkpoint by a writer with the default (122,880) merges
# small row groups: every writer must open through ``connect``.
WRITER_ROW_GROUP_SIZE = 8192
WRITER_ALIAS = "warehouse"


def connect(
    path: str | os.PathLike[str], *, read_only: bool, config: dict[str, str] | None = None
) -> duckdb.DuckDBPyConnection:
    if read_only:
        con = duckdb.connect(os.fspath(path), read_only=True, config=config or {})
    else:
        con = duckdb.connect(config=config or {})
        try:
            con.execute(f"ATTACH '{_sql_text(os.fspath(path))}' AS {WRITER_ALIAS} "
                        f"(ROW_GROUP_SIZE {WRITER_ROW_GROUP_SIZE})")  # fmt: skip
            con.execute(f"USE {WRITER_ALIAS}")
            con.execute(f"SET temp_directory = '{_sql_text(os.fspath(path))}.tmp'")  # as a file database has it
        except BaseException:
            con.close()
            raise
    con.execute(f"SET TimeZone = '{SESSION_TIME_ZONE}'")
    return con


def _sql_text(text: str) -> str:
    return text.replace("'", "''")


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
        except BaseException as exc:
            con.rollback()
            failure = write_failure(exc)
            if failure is not None:
                raise failure from None
            raise
        try:
            con.commit()
        except duckdb.Error as exc:
            failure = write_failure(exc)
            if failure is not None:
                raise failure from None
            raise
    finally:
        for name in views:
            con.unregister(name)


# For SQL typed by a user (``reporter-etl query``): DuckDB's read_only only protects the warehouse file itself;
# COPY ... TO, read_csv('/etc/passwd'), ATTACH, INSTALL and LOAD would still reach the rest of the machine.
# With external access off they fail with a PermissionException; DuckDB refuses to turn it on again while the
# database is open, so a SET in the user's SQL cannot undo it (other settings, e.g. TimeZone, stay the user's).
SANDBOX_CONFIG = {
    "autoinstall_known_extensions": "false",
    "autoload_known_extensions": "false",
    "enable_external_access": "false",
}


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


def open_readonly(
    path: str | os.PathLike[str], *, timeout: float = 0.0, sandboxed: bool = False
) -> duckdb.DuckDBPyConnection:
    """A read-only connection for BI tools, reports and status; retries up to ``timeout`` seconds while a writer
    holds the file, then raises WarehouseBusyError naming it.  ``sandboxed``: no access to any file other than
    the warehouse, no extensions, no configuration changes (for SQL from a user)."""
    if not Path(path).exists():
        raise FileNotFoundError(f"no warehouse at {os.fspath(path)}: run a sync first")
    check_path(path)  # a text file, random bytes, a directory: refused without opening

    def busy(exc: duckdb.IOException) -> WarehouseBusyError:
        writer = current_writer(path)
        who = writer.describe() if writer else "another process"
        return WarehouseBusyError(
            f"warehouse {os.fspath(path)} is open for writing by {who}; read it when that run has finished"
        )

    con = connect_when_free(path, read_only=True, wait_s=timeout, busy=busy)
    try:
        check_is_ours(con, path)
    except BaseException:
        con.close()
        raise
    if sandboxed:
        # Switched off after connecting: the time zone needs the icu extension, loaded on first use.
        try:
            for name, value in SANDBOX_CONFIG.items():
                con.execute(f"SET {name} = {value}")
        except BaseException:
            con.close()
            raise
    return con
