"""`reporter-etl query`: run SQL against a warehouse, read-only, and print the result as a table."""

from __future__ import annotations

import argparse

from reporter_etl.commands.api_common import db_file, print_table
from reporter_etl.commands.exits import EXIT_OK
from reporter_etl.warehouse import open_readonly


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
    parser.add_argument("--db", required=True, type=db_file, help="the DuckDB warehouse file")
    parser.add_argument("sql", help="the SQL to run")
    parser.add_argument("--limit", type=non_negative_int, default=50, help="print at most this many rows (default 50)")
    parser.set_defaults(handler=query_command)


def query_command(args: argparse.Namespace) -> int:
    # A missing file or a DuckDB error (opening, or the query refused) is one line and exit 1 through cli.main.
    con = open_readonly(args.db, sandboxed=True)
    try:
        cursor = con.execute(args.sql)
        if cursor.description is None:
            return EXIT_OK
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchmany(args.limit) if args.limit else []
    finally:
        con.close()
    print_table(None, columns, rows)
    return EXIT_OK
