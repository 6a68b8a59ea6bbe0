"""`reporter-etl query`: run SQL against a warehouse, read-only, and print the result as a table."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import duckdb

from reporter_etl.commands.api_common import EXIT_ERROR, EXIT_OK, print_table
from reporter_etl.warehouse import WarehouseError, open_readonly


def non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{value} is negative; give 0 or more rows")
    return value


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query", help="run a SQL query against a warehouse (read-only) and print the result",
        description="Opens the DuckDB file read-only with access to other files switched off: the SQL can read "
                    "the warehouse and nothing else (no COPY TO, read_csv, ATTACH, INSTALL or LOAD). "
                    "Example: reporter-etl query --db demo.duckdb \"select count(*) from raw.messages\"",
    )  # fmt: skip
    parser.add_argument("--db", required=True, help="the DuckDB warehouse file")
    parser.add_argument("sql", help="the SQL to run")
    parser.add_argument("--limit", type=non_negative_int, default=50, help="print at most this many rows (default 50)")
    parser.set_defaults(handler=query_command)


def query_command(args: argparse.Namespace) -> int:
    if not Path(args.db).is_file():
        print(f"error: no warehouse at {args.db}", file=sys.stderr)
        return EXIT_ERROR
    try:
        con = open_readonly(args.db, sandboxed=True)
    except (WarehouseError, duckdb.Error) as exc:
        print(f"error: cannot open {args.db} as a warehouse: {one_line(str(exc))}", file=sys.stderr)
        return EXIT_ERROR
    try:
        cursor = con.execute(args.sql)
        if cursor.description is None:
            return EXIT_OK
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchmany(args.limit) if args.limit else []
    except duckdb.Error as exc:
        print(f"error: {describe_query_error(exc)}", file=sys.stderr)
        return EXIT_ERROR
    finally:
        con.close()
    print_table(None, columns, rows)
    return EXIT_OK


def describe_query_error(exc: duckdb.Error) -> str:
    said = one_line(str(exc))
    if isinstance(exc, duckdb.PermissionException):
        return (f"query is read-only: it cannot read or write files outside the warehouse, attach other databases "
                f"or install/load extensions ({said})")  # fmt: skip
    if "read-only mode" in said or "read-only" in said.lower():
        return f"query is read-only: the warehouse is changed only by `reporter-etl sync` ({said})"
    if "external access" in said:
        return f"query is read-only: access to other files stays off ({said})"
    return said


def one_line(text: str) -> str:
    """DuckDB's first line, plus its "Did you mean" hint when it gives one (the caret lines are left out)."""
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    if not lines:
        return "unknown error"
    hints = [line for line in lines[1:] if line.lower().startswith("did you mean")]
    return " ".join([lines[0], *hints])
