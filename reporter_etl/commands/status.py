"""`reporter-etl status`: what the warehouse holds and how far behind it is."""

from __future__ import annotations

import argparse
import json
from datetime import timedelta

from reporter_etl.commands.exits import EXIT_OK
from reporter_etl.warehouse import WarehouseStatus, warehouse_status


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "status", help="windows done, rows per table, last run and lag of a warehouse",
        description="Reads the warehouse read-only; needs no token.",
    )  # fmt: skip
    parser.add_argument("--db", required=True, help="the DuckDB warehouse file")
    parser.add_argument("--project", help="only this projectShortName")
    parser.add_argument("--json", action="store_true", help="print the status as JSON")
    parser.set_defaults(handler=status_command)


def status_command(args: argparse.Namespace) -> int:
    status = warehouse_status(args.db, args.project)
    if args.json:
        print(json.dumps(status.as_plain(), indent=2, default=str))
    else:
        print(render_status(status, args.db))
    return EXIT_OK


def _duration(delta: timedelta | None) -> str:
    if delta is None:
        return "n/a"
    hours = delta.total_seconds() / 3600
    return f"{hours:.1f} h" if hours < 48 else f"{hours / 24:.1f} days"


def render_status(status: WarehouseStatus, db: str) -> str:
    lines = [f"warehouse {db}"]
    if status.writer:
        writer = status.writer
        lines.append(
            f"  a sync is writing now: run {writer.get('run_id')} (pid {writer.get('pid')} on {writer.get('host')}, "
            f"since {writer.get('started_at')}); details are readable when it finishes"
        )
        return "\n".join(lines)
    if not status.projects:
        lines.append("  empty: no sync has run yet")
        return "\n".join(lines)
    for project in status.projects:
        lines.append(f"project {project.project}")
        for entity, progress in sorted(project.progress.items()):
            lines.append(
                f"  {entity:<9} {progress.windows_done:>4} day window(s) done, "
                f"{progress.first_window_start:%Y-%m-%d %H:%M} .. {progress.last_window_end:%Y-%m-%d %H:%M} UTC"
            )
        lines.append(f"  behind now by {_duration(project.behind)} (last complete window ends "
                     f"{project.latest_done_end:%Y-%m-%d %H:%M} UTC)" if project.latest_done_end else
                     "  no window done yet")  # fmt: skip
        lines.append("  rows: " + ", ".join(f"{table} {count:,}" for table, count in project.table_rows.items()))
        run = project.last_run
        if run is not None:
            requests = "" if run.request_count is None else f", {run.request_count} requests"
            error = f" — {run.error_message}" if run.error_message else ""
            lines.append(
                f"  last run {run.run_id}: {run.status}, started {run.started_at:%Y-%m-%d %H:%M:%S} UTC"
                f"{requests}{error}"
            )
    return "\n".join(lines)
