"""`reporter-etl query`: run SQL against a warehouse, read-only, and print the result as a table."""

from __future__ import annotations

import argparse

from reporter_etl.commands.api_common import print_table
from reporter_etl.commands.exits import EXIT_OK
from reporter_etl.warehouse import open_readonly


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "query", help="run a SQL query against a warehouse (read-only) and print the result",
        description="Opens the DuckDB file read-only, so it never disturbs the warehouse. "
                    "Example: reporter-etl query --db demo.duckdb \"select count(*) from raw.messages\"",
    )  # fmt: skip
    parser.add_argument("--db", required=True, help="the DuckDB warehouse file")
    parser.add_argument("sql", help="the SQL to run")
    parser.add_argument("--limit", type=int, default=50, help="print at most this many rows (default 50)")
    parser.set_defaults(handler=query_command)


def query_command(args: argparse.Namespace) -> int:
    # A missing file or a DuckDB error (opening or in the query) is an exit 1 through cli.main.
    con = open_readonly(args.db)
    try:
        cursor = con.execute(args.sql)
        if cursor.description is None:
            return EXIT_OK
        columns = [d[0] for d in cursor.description]
        rows = cursor.fetchmany(args.limit)
    finally:
        con.close()
    print_table(None, columns, rows)
    return EXIT_OK
