"""What the API command groups share: connection options, building the client, argument types, output."""

from __future__ import annotations

import argparse
import functools
import json
import math
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, NoReturn

from reporter_etl.api import ReporterClient
from reporter_etl.api.config import BASE_URL_ENV, TOKEN_ENV, Timeouts
from reporter_etl.commands.exits import EXIT_OK, EXIT_USAGE, UsageError

Handler = Callable[[argparse.Namespace], int]


class OneLineParser(argparse.ArgumentParser):
    """argparse, but a bad argument is one line on stderr (and exit 2), like every other error of the CLI."""

    def error(self, message: str) -> NoReturn:
        self.exit(EXIT_USAGE, f"error: {message} (see `{self.prog} --help`)\n")


# Options whose value may start with "-": argparse would take "--lookback -1d" for two options and say "expected
# one argument"; cli.main joins them ("--lookback=-1d") so the option's own check names the problem.
VALUE_OPTIONS = frozenset({"--lookback", "--lock-timeout", "--poll-interval", "--timeout", "--limit", "--start",
                           "--end", "--from", "--to", "--request-timeout", "--timezone-offset"})  # fmt: skip


def join_negative_values(argv: Sequence[str]) -> list[str]:
    joined: list[str] = []
    items = list(argv)
    i = 0
    while i < len(items):
        item = items[i]
        following = items[i + 1] if i + 1 < len(items) else None
        if item in VALUE_OPTIONS and following is not None and following[:1] == "-" and following[1:2].isdigit():
            joined.append(f"{item}={following}")
            i += 2
            continue
        joined.append(item)
        i += 1
    return joined


def seconds(allow_zero: bool = True) -> Callable[[str], float]:
    """An argparse type: a finite number of seconds, not negative (and not 0 unless ``allow_zero``)."""

    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds") from None
        if not math.isfinite(value):
            raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds; give a finite number")
        if value < 0 or (value == 0 and not allow_zero):
            raise argparse.ArgumentTypeError(f"{text} is {'negative' if value < 0 else 'zero'}; give a number of "
                                             f"seconds above {'or equal to ' if allow_zero else ''}0")  # fmt: skip
        return value

    return parse


def db_file(text: str) -> str:
    """An argparse type for ``--db``: a path that can be a file (checked again, in full, when it is opened)."""
    if not text.strip():
        raise argparse.ArgumentTypeError("is empty; give the warehouse file's path, e.g. --db warehouse.duckdb")
    if os.path.isdir(text):
        raise argparse.ArgumentTypeError(f"{text} is a directory; give a file path, e.g. "
                                         f"--db {os.path.join(text, 'warehouse.duckdb')}")  # fmt: skip
    return text


def connection_parent(json_output: bool = True) -> argparse.ArgumentParser:
    """Options every API command takes (added to each leaf parser so they may follow the subcommand)."""
    parent = argparse.ArgumentParser(add_help=False)
    group = parent.add_argument_group("connection")
    group.add_argument("--base-url", default=None,
                       help=f"API host (default ${BASE_URL_ENV} or https://app.jaicp.com); the token is read "
                            f"from ${TOKEN_ENV}")  # fmt: skip
    group.add_argument("--request-timeout", type=seconds(allow_zero=False), default=Timeouts.request,
                       metavar="SECONDS", help="give up on one API request after this long, its retries and waits "
                       f"included (default {Timeouts.request:g}); a server that stops answering is retried until then "
                       "and the wait is logged")  # fmt: skip
    if json_output:
        parent.add_argument("--json", action="store_true", help="print the API's answer as JSON")
    return parent


def client_from_args(args: argparse.Namespace) -> ReporterClient:
    return ReporterClient.from_env(base_url=getattr(args, "base_url", None), timeouts=timeouts_from_args(args))


def timeouts_from_args(args: argparse.Namespace) -> Timeouts:
    return Timeouts(request=getattr(args, "request_timeout", Timeouts.request))


def api_command(handler: Callable[[argparse.Namespace, ReporterClient], int | None]) -> Handler:
    """Wrap a handler: build the client from the environment and the options, close it afterwards.  Errors go to
    ``cli.main``, which maps them to exit codes."""

    @functools.wraps(handler)
    def run(args: argparse.Namespace) -> int:
        with client_from_args(args) as client:
            return int(handler(args, client) or EXIT_OK)

    return run


def command_group(
    subparsers: argparse._SubParsersAction, name: str, **parser_options: Any
) -> argparse._SubParsersAction:
    """A command with subcommands (``reporter-etl NAME COMMAND``); without a COMMAND it prints its help."""
    parser = subparsers.add_parser(name, **parser_options)
    commands = parser.add_subparsers(dest=f"{name}_command", metavar="COMMAND")
    parser.set_defaults(handler=group_help(parser))
    return commands


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
