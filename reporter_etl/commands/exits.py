"""Exit codes of the `reporter-etl` command line, and the one mapping from errors to them (used by ``cli.main``)."""

from __future__ import annotations

import duckdb

from reporter_etl.errors import ConfigurationError, ReporterEtlError
from reporter_etl.warehouse.db import write_failure

EXIT_OK = 0
EXIT_ERROR = 1  # the command ran and failed: the API, the warehouse, the sync
EXIT_USAGE = 2  # the command cannot run as given: arguments, a missing token, a bad base URL
EXIT_INTERRUPTED = 130


class UsageError(ReporterEtlError):
    """Arguments that parse but do not make sense together."""


def exit_code_for(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and the one line for stderr for an error a user can act on; None for a bug (re-raised)."""
    if isinstance(exc, UsageError | ConfigurationError):
        return EXIT_USAGE, f"error: {one_line(str(exc))}"
    failure = write_failure(exc)
    if failure is not None:  # out of space outside a window's transaction (a run record, the lock record)
        return EXIT_ERROR, f"error: {failure}"
    if isinstance(exc, duckdb.Error):
        return EXIT_ERROR, f"error: {describe_duckdb_error(exc)}"
    if isinstance(exc, ReporterEtlError):
        return EXIT_ERROR, f"error: {one_line(str(exc))}"
    if isinstance(exc, OSError):  # writing an output file, reading a missing one
        return EXIT_ERROR, f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
    return None


def describe_duckdb_error(exc: duckdb.Error) -> str:
    said = one_line(str(exc))
    if isinstance(exc, duckdb.PermissionException):  # `query` runs with external access off
        return (f"query is read-only: it cannot read or write files outside the warehouse, attach other databases "
                f"or install/load extensions ({said})")  # fmt: skip
    if "read-only" in said.lower():
        return f"query is read-only: the warehouse is changed only by `reporter-etl sync` ({said})"
    if "external access" in said:
        return f"query is read-only: access to other files stays off ({said})"
    return said


def one_line(text: str) -> str:
    """The first line of a message, plus DuckDB's "Did you mean" hint when it gives one (caret lines left out)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    hints = [line for line in lines[1:] if line.lower().startswith("did you mean")]
    return " ".join([lines[0], *hints])
