"""`reporter-etl sync`: the main job, from the command line."""

from __future__ import annotations

import argparse
import sys
from contextlib import nullcontext
from typing import Any

from reporter_etl.commands.api_common import connection_parent, day
from reporter_etl.commands.exits import EXIT_OK, UsageError
from reporter_etl.commands.models import add_config_option, build_summary, config_from_args
from reporter_etl.commands.publish_options import add_publish_options, publish_after_build
from reporter_etl.errors import ReporterEtlError
from reporter_etl.etl import Settings, open_sync
from reporter_etl.sync import DEFAULT_LOOKBACK, SyncEvent, SyncResult
from reporter_etl.warehouse import DEFAULT_LOCK_TIMEOUT_S
from reporter_etl.windows import parse_lookback, zone


def lookback(text: str):  # noqa: ANN201 - argparse type
    try:
        return parse_lookback(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def timezone_name(text: str) -> str:
    try:
        zone(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def add_sync_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--db", required=True, help="the DuckDB warehouse file (created when missing)")
    parser.add_argument("--start", type=day, help="first day to sync, YYYY-MM-DD (default: from the saved state; "
                        "on a new warehouse the last 30 days)")
    parser.add_argument("--end", type=day, help="last day to sync, included (default: the last complete day)")
    parser.add_argument("--lookback", type=lookback, default=DEFAULT_LOOKBACK, metavar="DURATION",
                        help="re-read this much before the last synced day for late data: '2d' (days) or "
                             "'36h' (default 2d)")
    parser.add_argument("--timezone", type=timezone_name, default="UTC",
                        help="the project's IANA time zone; days are cut at its midnight (default UTC)")
    parser.add_argument("--lock-timeout", type=float, default=DEFAULT_LOCK_TIMEOUT_S, metavar="SECONDS",
                        help="how long to wait for another sync holding the warehouse (default 60)")


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "sync", parents=[connection_parent(json_output=False)],
        help="copy the project's messages, sessions, clients and catalogs into the warehouse",
        description="Incremental, idempotent copy of the Reporter API into a DuckDB file, one day window of "
                    "MESSAGE_TIME at a time. The token is read from $REPORTER_TOKEN.",
    )  # fmt: skip
    add_sync_options(parser)
    parser.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    parser.add_argument("--no-models", action="store_true", help="do not rebuild the SQL models for the synced days")
    add_config_option(parser)
    add_publish_options(parser)
    parser.set_defaults(handler=sync_command)


def sync_command(args: argparse.Namespace) -> int:
    settings = Settings.from_env(
        db_path=args.db, base_url=args.base_url, timezone=args.timezone, lookback=args.lookback,
        lock_timeout=args.lock_timeout,
    )  # fmt: skip
    if args.start and args.end and args.end < args.start:
        raise UsageError("--end is before --start")
    config = None if args.no_models else config_from_args(args, timezone=args.timezone)  # a bad file fails early
    with open_sync(settings) as session:
        with progress_bar(sys.stderr.isatty() and not args.no_progress) as bar:
            result = session.sync_days(args.start, args.end, progress=bar, reconcile=True, refresh_catalogs=True)
        print(summary_line(result, args.db))
        if config is None:
            return EXIT_OK
        try:
            report = session.build_models(result, config=config)
        except ReporterEtlError as exc:
            raise ModelsNotBuiltError(f"the sync committed, but the models were not built: {exc}") from exc
        if report is None:
            return EXIT_OK
        print(build_summary(report, args.db))
        try:
            published = publish_after_build(session.warehouse.con, args)
        except ReporterEtlError as exc:
            raise ModelsNotBuiltError(f"the sync committed and the models were built, but not published: {exc}") \
                from exc
    if published:
        print(published)
    return EXIT_OK


class ModelsNotBuiltError(ReporterEtlError):
    """The sync's days are committed; building the models on them failed."""


def summary_line(result: SyncResult, db: str) -> str:
    rows = result.rows
    days = len(result.windows)
    span = f"{result.windows[0].window.day}..{result.windows[-1].window.day}" if days else "nothing to do"
    list_pages = sum(report.pages for report in result.windows)
    line = (
        f"synced {result.project} into {db}: {days} day(s) {span}, "
        f"{rows.get('messages', 0):,} messages, {rows.get('sessions', 0):,} sessions, "
        f"{rows.get('clients', 0):,} clients in {result.elapsed_s:.1f} s; "
        f"{result.request_count} requests ({list_pages} list pages, minimum {result.minimum_requests}; "
        f"{result.request_count - list_pages} for counts and catalogs); run {result.run_id}"
    )
    for entity, names in result.new_fields.items():
        line += f"\nnote: the API sends {entity} fields this version does not know (kept in raw.{entity}.extra): "
        line += ", ".join(names)
    return line


class _RichProgress:
    def __init__(self) -> None:
        from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

        self._progress = Progress(
            TextColumn("[bold]sync[/bold] {task.description}"), BarColumn(), MofNCompleteColumn(),
            TimeRemainingColumn(), transient=True,
        )  # fmt: skip
        self._task: Any = None

    def __enter__(self) -> _RichProgress:
        self._progress.__enter__()
        return self

    def __exit__(self, *exc: object) -> None:
        self._progress.__exit__(*exc)

    def __call__(self, event: SyncEvent) -> None:
        if event.kind == "planned":
            self._task = self._progress.add_task("days", total=event.total)
        elif event.kind == "window_done" and event.report is not None:
            self._progress.update(
                self._task, completed=event.done,
                description=f"{event.window} ({event.report.rows.get('messages', 0):,} messages)",
            )  # fmt: skip
        elif event.kind == "catalogs_done":
            self._progress.update(self._task, description="catalogs")


def progress_bar(enabled: bool):  # noqa: ANN201 - a context manager yielding a callback or None
    return _RichProgress() if enabled else nullcontext(None)
