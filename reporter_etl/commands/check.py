"""`reporter-etl check`: the SQL checks and the reconciliation with the platform's own counts."""

from __future__ import annotations

import argparse
from dataclasses import replace
from pathlib import Path

import duckdb

from reporter_etl.commands.api_common import print_table
from reporter_etl.commands.exits import EXIT_ERROR, EXIT_OK
from reporter_etl.commands.models import add_config_option, config_from_args
from reporter_etl.models.config import CONFIG_FILE_NAME
from reporter_etl.reconcile import CheckOutcome, check_warehouse
from reporter_etl.warehouse import open_readonly


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "check", help="run sql/checks and reconcile the marts with the platform's own daily counts",
        description="Runs every check in sql/checks (each lists the rows that break it) and compares, day by "
                    "day, the warehouse's messages, sessions, transfers to an operator, calls and unique clients "
                    "with the platform's statistics kept by the sync, and each experiment's sessions with "
                    "count-sessions. Prints every difference; exits 1 when there is one, 0 when there is none.",
    )  # fmt: skip
    parser.add_argument("--db", required=True, help="the DuckDB warehouse file")
    parser.add_argument("--timezone", help="the project's IANA time zone (default: the config file's, else the one "
                                           "the models were last built with)")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="wait this long for a sync writing the warehouse to finish (default: do not wait)")
    add_config_option(parser)
    parser.set_defaults(handler=check_command)


def built_time_zone(con: duckdb.DuckDBPyConnection) -> str | None:
    """The time zone the models were last built with (marts.build_settings), if they were."""
    try:
        row = con.execute("select timezone from marts.build_settings").fetchone()
    except duckdb.CatalogException:
        return None
    return row[0] if row else None


def check_command(args: argparse.Namespace) -> int:
    config = config_from_args(args, timezone=args.timezone)
    con = open_readonly(args.db, timeout=args.wait)
    try:
        if args.timezone is None and args.config is None and not Path(CONFIG_FILE_NAME).is_file():
            config = replace(config, timezone=built_time_zone(con) or config.timezone)
        outcome = check_warehouse(con, config)
    finally:
        con.close()
    print_outcome(outcome)
    return EXIT_OK if outcome.passed else EXIT_ERROR


def _value(number: float) -> str:
    return f"{number:,.0f}" if float(number).is_integer() else f"{number:,.3f}"


def print_outcome(outcome: CheckOutcome) -> None:
    for check in outcome.failed_checks:
        title = f"{check.name} failed: {len(check.rows)} row(s)" + (f" ({check.description})" if check.description
                                                                    else "")  # fmt: skip
        print_table(title, list(check.columns), [list(row) for row in check.rows])
    differences = outcome.differences
    if differences:
        several_projects = len({d.project for d in differences}) > 1
        columns = (["project"] if several_projects else []) + ["day", "metric", "warehouse", "platform"]
        rows = [([d.project] if several_projects else [])
                + [d.day.isoformat() if d.day else "all time", d.metric, _value(d.warehouse), _value(d.platform)]
                for d in differences]  # fmt: skip
        print_table(f"{len(differences)} difference(s) with the platform's own counts", columns, rows)
    days = sorted({d.day for d in differences if d.day})
    verdict = "ok" if outcome.passed else "FAILED"
    print(f"check {verdict}: {outcome.checks_run - len(outcome.failed_checks)} of {outcome.checks_run} SQL checks "
          f"hold; {len(differences)} difference(s) with the platform"
          + (f" on {', '.join(d.isoformat() for d in days)}" if days else ""))  # fmt: skip
