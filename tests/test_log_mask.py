"""The token is masked at the log handler: every record from every logger, including loggers the code has never
heard of, child loggers of reporter_etl, exception tracebacks and stack traces; for the CLI's handler and for a
handler a user installs with ``mask_secrets_in_handlers``; at the record's creation for a host whose handlers ignore
filters (as Dagster's run log handler does); and in what is written to stdout and stderr."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import pytest

from reporter_etl.api.redaction import (
    MaskingStream,
    mask_secrets_in_handlers,
    mask_secrets_in_records,
    mask_secrets_in_streams,
    register_secret,
)
from reporter_etl.simulator import Simulator, WorldConfig

REPO = Path(__file__).resolve().parents[1]
TOKEN = "LogMask7f3c:9a1e5b2d8c4f6a0e3b7d1c5f9e2a4b6d"

LOG_EVERYWHERE = """
    import logging, sys, warnings
    from reporter_etl.cli import configure_logging
    from reporter_etl.api.redaction import register_secret
    token = sys.argv[1]
    configure_logging(2)
    register_secret(token)
    logging.getLogger("a.logger.the.code.never.heard.of").warning("url /api/reporter/p/%s/x", token)
    logging.getLogger("reporter_etl.sync").warning("token in args: %s", token)
    logging.getLogger("reporter_etl").info("token in msg " + token)
    logging.getLogger().error("root logger %r", {"token": token})
    try:
        raise ValueError(f"failed at /p/{token}/messages/filter")
    except ValueError:
        logging.getLogger("some.library").exception("with a traceback")
    logging.getLogger("another.unknown").warning("stack", stack_info=True, extra={"t": token})
    logging.getLogger("encoded").warning("encoded %s", token.replace(":", "%3A"))
"""


def test_the_cli_handler_masks_records_of_every_logger() -> None:
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(LOG_EVERYWHERE), TOKEN], cwd=REPO,
                          capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    err = done.stderr
    for expected in ("a.logger.the.code.never.heard.of", "reporter_etl.sync", "root logger", "with a traceback",
                     "ValueError: failed at /p/***/messages/filter", "encoded ***"):  # fmt: skip
        assert expected in err, err
    assert TOKEN not in err and TOKEN.replace(":", "%3A") not in err
    assert err.count("***") >= 6


@contextmanager
def logger_writing_only_to(handler: logging.Handler, name: str) -> Iterator[logging.Logger]:
    """The named logger with ``handler`` as its only way out, for the block."""
    logger = logging.getLogger(name)
    logger.addHandler(handler)
    logger.propagate = False
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        logger.propagate = True


def log_a_failure_carrying_the_token(logger: logging.Logger) -> None:
    try:
        raise RuntimeError(TOKEN)
    except RuntimeError:
        logger.exception("failed")


def test_a_users_own_handler_is_masked_after_installing_the_filter() -> None:
    register_secret(TOKEN)
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logging.Formatter("%(name)s %(message)s"))
    with logger_writing_only_to(handler, "users.own.pipeline") as logger:
        mask_secrets_in_handlers(handler)
        mask_secrets_in_handlers(handler)  # twice is harmless
        assert sum(isinstance(f, logging.Filter) for f in handler.filters) == 1
        logger.warning("calling %s/api/reporter/p/%s/sessions", "http://x", TOKEN)
        log_a_failure_carrying_the_token(logger)
    text = stream.getvalue()
    assert "users.own.pipeline calling http://x/api/reporter/p/***/sessions" in text
    assert "RuntimeError: ***" in text and TOKEN not in text


def test_a_real_sync_at_debug_level_never_prints_the_token(tmp_path: Path) -> None:
    config = WorldConfig(seed=3, days=2, end_date=date(2026, 11, 20), messages_per_day=60)
    with Simulator(config, token=TOKEN) as sim:
        env = {**os.environ, "REPORTER_TOKEN": TOKEN, "REPORTER_BASE_URL": sim.base_url}
        done = subprocess.run(
            [sys.executable, "-m", "reporter_etl.cli", "-vv", "sync", "--db", str(tmp_path / "w.duckdb"),
             "--start", "2026-11-19", "--end", "2026-11-20", "--no-progress",
             "--no-models"],  # the models never see the token; building them would double the child's time
            cwd=REPO, env=env, capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "/api/reporter/p/***/" in done.stderr  # urllib3's request lines are there, masked
    assert TOKEN not in done.stderr and TOKEN not in done.stdout


class CopyingHandler(logging.Handler):
    """Like Dagster's run log handler: ignores the filters added to it and keeps its own copy of each message."""

    def __init__(self) -> None:
        super().__init__()
        self.kept: list[str] = []

    def filter(self, record: logging.LogRecord) -> bool:
        return True

    def emit(self, record: logging.LogRecord) -> None:
        self.kept.append(record.getMessage() + (record.exc_text or ""))


def test_records_are_masked_as_they_are_created_for_handlers_that_ignore_filters() -> None:
    register_secret(TOKEN)
    factory = logging.getLogRecordFactory()
    logging.setLogRecordFactory(logging.LogRecord)  # as before any masking (a Dagster test may have run here)
    handler = CopyingHandler()
    try:
        with logger_writing_only_to(handler, "a.host.that.copies.messages") as logger:
            mask_secrets_in_handlers(handler)  # not enough for this handler: it never calls its filters
            logger.warning("before %s", TOKEN)
            mask_secrets_in_records()
            mask_secrets_in_records()  # twice wraps the factory once
            logger.warning("after %s", TOKEN)
            log_a_failure_carrying_the_token(logger)
    finally:
        logging.setLogRecordFactory(factory)
    assert handler.kept[0] == f"before {TOKEN}"  # the test can tell masked from not
    assert handler.kept[1] == "after ***"
    assert "RuntimeError: ***" in handler.kept[2] and TOKEN not in handler.kept[2]


def test_the_standard_streams_are_masked_once(monkeypatch: pytest.MonkeyPatch) -> None:
    register_secret(TOKEN)
    out, err = io.StringIO(), io.StringIO()
    monkeypatch.setattr(sys, "stdout", out)
    monkeypatch.setattr(sys, "stderr", err)
    mask_secrets_in_streams()
    mask_secrets_in_streams()
    assert isinstance(sys.stdout, MaskingStream) and sys.stdout.wrapped is out
    print("printed", TOKEN)
    print("to stderr", TOKEN.replace(":", "%3A"), file=sys.stderr)
    sys.stderr.writelines([f"lines {TOKEN}\n"])
    assert out.getvalue() == "printed ***\n"
    assert err.getvalue() == "to stderr ***\nlines ***\n"
