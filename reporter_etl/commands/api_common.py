"""What the API command groups share: connection options, building the client, argument types, output."""

from __future__ import annotations

import argparse
import functools
import json
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

from reporter_etl.api import ReporterClient
from reporter_etl.api.config import BASE_URL_ENV, TOKEN_ENV
from reporter_etl.commands.exits import EXIT_OK, EXIT_USAGE, UsageError

Handler = Callable[[argparse.Namespace], int]


def connection_parent(json_output: bool = True) -> argparse.ArgumentParser:
    """Options every API command takes (added to each leaf parser so they may follow the subcommand)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection")
    group.add_argument("--base-url", default=None,
                       help=f"API host (default ${BASE_URL_ENV} or https://app.jaicp.com); the token is read "
                            f"from ${TOKEN_ENV}")  # fmt: skip
    if json_output:
        parent.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    return parent


def client_from_args(args: argparse.Namespace) -> ReporterClient:
    return ReporterClient.from_env(base_url=getattr(args, "base_url", None))


def api_command(handler: Callable[[argparse.Namespace, ReporterClient], int | None]) -> Handler:
    """Wrap a handler: build the client from the environment and the options, close it afterwards.  Errors go to
    ``cli.main``, which maps them to exit codes."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        with client_from_args(args) as client:
            return int(handler(args, client) or EXIT_OK)

    return run


def group_help(parser: argparse.ArgumentParser) -> Handler:
    def show(args: argparse.Namespace) -> int:
        parser.print_help()
        return EXIT_USAGE

    return show


# ---- argument types ---------------------------------------------------------------------------------------


def instant_or_day(text: str) -> datetime | date:
    """``YYYY-MM-DD`` (a whole UTC day) or an ISO date-time; a date-time without a zone is taken as UTC."""
    try:
        if len(text) == 10:
            return date.fromisoformat(text)
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date (YYYY-MM-DD) or date-time (ISO 8601)") from None
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date in the form YYYY-MM-DD") from None


def period(start: datetime | date, end: datetime | date) -> tuple[datetime, datetime]:
    """[start, end) in UTC: a start date means its 00:00; an end date means the whole day is included."""
    begin = start if isinstance(start, datetime) else datetime.combine(start, time(0), UTC)
    stop = end if isinstance(end, datetime) else datetime.combine(end, time(0), UTC) + timedelta(days=1)
    if stop <= begin:
        raise UsageError("--to must be after --from")
    return begin, stop


# ---- output -----------------------------------------------------------------------------------------------


def print_json(value: Any) -> None:
    print(json.dumps(value, ensure_ascii=False, indent=2, default=str))


def print_table(title: str | None, columns: Sequence[str], rows: Sequence[Sequence[Any]]) -> None:
    from rich.console import Console
    from rich.table import Table

    table = Table(title=title, show_lines=False)
    for column in columns:
        table.add_column(column)
    for row in rows:
        table.add_row(*["" if v is None else str(v) for v in row])
    Console(file=sys.stdout, width=max(100, 20 * len(columns))).print(table)
