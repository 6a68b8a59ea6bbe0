"""Exit codes of the `reporter-etl` command line, and the one mapping from errors to them (used by ``cli.main``)."""

from __future__ import annotations

import duckdb

from reporter_etl.errors import ConfigurationError, ReporterEtlError

EXIT_OK = 0
EXIT_ERROR = 1  # the command ran and failed: the API, the warehouse, the sync
EXIT_USAGE = 2  # the command cannot run as given: arguments, a missing token, a bad base URL
EXIT_INTERRUPTED = 130


class UsageError(ReporterEtlError):
    """Arguments that parse but do not make sense together."""


def exit_code_for(exc: BaseException) -> tuple[int, str] | None:
    """The exit code and the one line for stderr for an error a user can act on; None for a bug (re-raised)."""
    if isinstance(exc, UsageError | ConfigurationError):
        return EXIT_USAGE, f"error: {exc}"
    if isinstance(exc, ReporterEtlError | duckdb.Error):
        return EXIT_ERROR, f"error: {exc}"
    if isinstance(exc, OSError):  # writing an output file, reading a missing one
        return EXIT_ERROR, f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": ")
    return None
