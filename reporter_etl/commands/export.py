"""`reporter-etl export`: every mart as Parquet or CSV files, daily marts one folder per day."""

from __future__ import annotations

import argparse
from pathlib import Path

from reporter_etl.commands.exits import EXIT_OK
from reporter_etl.errors import WarehouseError
from reporter_etl.export import FORMATS, export_marts
from reporter_etl.warehouse import open_readonly


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "export", help="write every mart as Parquet or CSV files (daily marts partitioned by day)",
        description="Reads the warehouse (or its published copy) read-only and writes each mart under --out: "
                    "a mart with a day column as <mart>/day=YYYY-MM-DD/ folders (hive style), the others as "
                    "one <mart>.<format> file. Each mart replaces its previous export as a whole.",
    )  # fmt: skip
    parser.add_argument("--db", required=True, help="the DuckDB warehouse file, or its published copy")
    parser.add_argument("--format", choices=FORMATS, default="parquet", help="file format (default parquet)")
    parser.add_argument("--out", required=True, type=Path, help="the folder to write into (created when missing)")
    parser.add_argument("--wait", type=float, default=0.0, metavar="SECONDS",
                        help="wait this long for a sync writing the warehouse to finish (default: do not wait)")
    parser.set_defaults(handler=export_command)


def export_command(args: argparse.Namespace) -> int:
    con = open_readonly(args.db, timeout=args.wait)
    try:
        result = export_marts(con, args.out, args.format)
    finally:
        con.close()
    if not result.rows:
        raise WarehouseError(f"{args.db} has no marts; build them first (reporter-etl models build --db {args.db})")
    print(f"exported {len(result.rows)} marts ({sum(result.rows.values()):,} rows) as {args.format} to {result.out} "
          f"in {result.seconds:.1f} s; by day: {', '.join(result.partitioned) or 'none'}")  # fmt: skip
    return EXIT_OK
