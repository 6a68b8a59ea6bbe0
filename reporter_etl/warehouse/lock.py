"""One writer per warehouse file.

DuckDB lets one process open a file for writing; a second one fails at once with an I/O error that says little.
Writers therefore take an OS-level lock on ``<db>.lock`` first (released by the OS when the holder dies, even on
SIGKILL), wait a bounded time for it, and record who holds it in ``<db>.lock.json`` so that the waiting side can
name the holder.  The holder record is a sidecar because the lock file itself is truncated by every attempt.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from pathlib import Path

import filelock

from reporter_etl.errors import WarehouseLockedError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class LockHolder:
    pid: int
    host: str
    started_at: str  # ISO 8601, UTC
    run_id: str | None = None

    def describe(self) -> str:
        run = f"run {self.run_id}" if self.run_id else "a writer"
        return f"{run} (pid {self.pid} on {self.host}, since {self.started_at})"


def lock_path(db_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(db_path)}.lock")


def holder_path(db_path: str | os.PathLike[str]) -> Path:
    return Path(f"{os.fspath(db_path)}.lock.json")


def read_holder(db_path: str | os.PathLike[str]) -> LockHolder | None:
    """The last recorded holder; it may be stale when no one holds the lock (see ``current_writer``)."""
    try:
        data = json.loads(holder_path(db_path).read_text(encoding="utf-8"))
        return LockHolder(
            pid=int(data["pid"]), host=str(data["host"]), started_at=str(data["started_at"]), run_id=data.get("run_id")
        )
    except (OSError, ValueError, KeyError, TypeError):
        return None


def current_writer(db_path: str | os.PathLike[str]) -> LockHolder | None:
    """Who writes the warehouse now, or None when nobody holds the writer lock."""
    if not lock_path(db_path).exists():
        return None
    probe = filelock.FileLock(lock_path(db_path), thread_local=False)
    try:
        probe.acquire(timeout=0)
    except filelock.Timeout:
        return read_holder(db_path) or LockHolder(pid=0, host="unknown", started_at="unknown")
    probe.release()
    return None


class WriterLock:
    """The writer lock of one warehouse file; use as a context manager or call acquire/release."""

    def __init__(self, db_path: str | os.PathLike[str], *, timeout: float = 60.0, poll_interval: float = 0.2) -> None:
        self.db_path = Path(db_path)
        self.timeout = timeout
        self.poll_interval = poll_interval
        self._lock = filelock.FileLock(lock_path(db_path), thread_local=False)
        self.holder: LockHolder | None = None

    @property
    def is_held(self) -> bool:
        return self._lock.is_locked

    def acquire(self, run_id: str | None = None) -> LockHolder:
        try:
            self._lock.acquire(timeout=self.timeout, poll_interval=self.poll_interval)
        except filelock.Timeout:
            holder = read_holder(self.db_path)
            who = holder.describe() if holder else "another process (no holder record)"
            raise WarehouseLockedError(
                f"warehouse {self.db_path} is being written by {who}; waited {self.timeout:g} s for it. "
                f"Wait for that run to finish, or raise the lock timeout."
            ) from None
        holder = LockHolder(
            pid=os.getpid(),
            host=socket.gethostname(),
            started_at=datetime.now(UTC).isoformat(timespec="seconds"),
            run_id=run_id,
        )
        self._write_holder(holder)
        log.debug("writer lock on %s taken by %s", self.db_path, holder.describe())
        return holder

    def set_run_id(self, run_id: str) -> None:
        """Name the run now using the lock, so that waiting writers can say which one they wait for."""
        if self.holder is not None and self.holder.run_id != run_id:
            self._write_holder(LockHolder(self.holder.pid, self.holder.host, self.holder.started_at, run_id))

    def release(self) -> None:
        if not self._lock.is_locked:
            return
        # Remove the record before letting go, so that it never describes the next holder.
        try:
            holder_path(self.db_path).unlink(missing_ok=True)
        except OSError:
            log.warning("could not remove %s", holder_path(self.db_path))
        self.holder = None
        self._lock.release()

    def _write_holder(self, holder: LockHolder) -> None:
        target = holder_path(self.db_path)
        temporary = target.with_name(f"{target.name}.{os.getpid()}.tmp")
        temporary.write_text(json.dumps(asdict(holder)), encoding="utf-8")
        os.replace(temporary, target)
        self.holder = holder

    def __enter__(self) -> WriterLock:
        self.acquire()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.release()
