"""`reporter-etl reports`: have the platform build an XLSX/CSV export, wait for it, download it."""

from __future__ import annotations

import argparse
import contextlib
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from reporter_etl.api import ClientError, ReporterClient, message_time, report_settings
from reporter_etl.commands.api_common import (
    api_command,
    command_group,
    connection_parent,
    instant_or_day,
    period,
    print_json,
    print_table,
    seconds,
)

KINDS = ("sessions", "messages", "clients", "telephony")


def register(subparsers: argparse._SubParsersAction) -> None:
    common = connection_parent()
    plain = connection_parent(json_output=False)
    commands = command_group(
        subparsers, "reports", help="export sessions, messages, clients or calls to XLSX/CSV",
        description="Platform-built exports (report tasks): create, wait, download.",
    )  # fmt: skip

    create = commands.add_parser(
        "create", parents=[plain], help="create a report, wait for it and download the file",
        description="Creates a report task for the period (sessions, messages and clients active in it, by "
                    "MESSAGE_TIME; telephony by call time), polls it until done, downloads the file to --out and "
                    "deletes the task unless --keep-task.",
    )  # fmt: skip
    create.add_argument("kind", choices=KINDS, help="what to export")
    create.add_argument("--from", dest="start", type=instant_or_day, required=True,
                        help="period start: YYYY-MM-DD (00:00 UTC) or an ISO date-time")  # fmt: skip
    create.add_argument("--to", dest="end", type=instant_or_day, required=True,
                        help="period end: YYYY-MM-DD (that whole day included) or an ISO date-time "
                             "(excluded)")  # fmt: skip
    create.add_argument("--format", choices=("xlsx", "csv"), default="xlsx", help="file type (default xlsx)")
    create.add_argument("--out", type=Path, required=True, help="file (or existing folder) to save the report to")
    create.add_argument("--keep-task", action="store_true", help="leave the task (and its file) on the platform")
    create.add_argument("--timezone-offset", type=int, default=None, metavar="MINUTES",
                        help="time zone of dates in the file, minutes east of UTC (Moscow: 180)")  # fmt: skip
    create.add_argument("--poll-interval", type=seconds(allow_zero=False), default=2.0, metavar="SECONDS",
                        help="default 2")  # fmt: skip
    create.add_argument("--timeout", type=seconds(allow_zero=False), default=3600.0, metavar="SECONDS",
                        help="default 3600")  # fmt: skip
    create.set_defaults(handler=create_report)

    commands.add_parser("list", parents=[common], help="report tasks not deleted yet").set_defaults(
        handler=list_reports
    )
    delete = commands.add_parser("delete", parents=[plain], help="delete a report task (or all completed ones)")
    delete.add_argument("task_id", nargs="?", help="task id; without it, every completed task is deleted")
    delete.set_defaults(handler=delete_report)


@contextlib.contextmanager
def _progress(kind: str) -> Iterator[Callable[[dict[str, Any]], None]]:
    """A progress bar on a terminal; silence otherwise (scripts read only the final line)."""
    if not sys.stderr.isatty():
        yield lambda task: None
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    with Progress(TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                  console=Console(file=sys.stderr), transient=True) as bar:  # fmt: skip
        bar_id = bar.add_task(f"{kind} report", total=None)

        def show(task: dict[str, Any]) -> None:
            total = task.get("totalCount")
            bar.update(bar_id, completed=task.get("writeCount") or 0, total=total or None,
                       description=f"{kind} report: {str(task.get('status', '')).lower()}")  # fmt: skip

        yield show


@api_command
def create_report(args: argparse.Namespace, client: ReporterClient) -> int:
    start, end = period(args.start, args.end)
    settings = report_settings(args.format.upper())
    if args.kind == "telephony":
        task = client.create_telephony_report(start, end, timezone_offset=args.timezone_offset)
    else:
        create = {"sessions": client.create_session_report, "messages": client.create_message_report,
                  "clients": client.create_client_report}[args.kind]  # fmt: skip
        task = create([message_time(start, end)], settings, timezone_offset=args.timezone_offset)
    task_id = task["taskId"]
    try:
        with _progress(args.kind) as show:
            done = client.wait_for_report(task_id, poll_interval=args.poll_interval, timeout=args.timeout,
                                          on_progress=show)  # fmt: skip
        saved = client.download_report(done, args.out)
    finally:
        if not args.keep_task:
            with contextlib.suppress(ClientError):  # the outcome above matters more than the clean-up
                client.delete_report_task(task_id)
    rows = done.get("writeCount", done.get("totalCount"))
    print(f"saved {args.kind} report ({rows} rows) to {saved}" + (f"; task {task_id} kept" if args.keep_task else ""))
    return 0


@api_command
def list_reports(args: argparse.Namespace, client: ReporterClient) -> int:
    tasks = client.list_report_tasks().get("tasks", [])
    if args.json:
        print_json(tasks)
    else:
        print_table("report tasks", ["task", "type", "status", "rows", "created", "file"],
                    [(t["taskId"], t.get("reportType"), t.get("status"), t.get("writeCount"), t.get("creationTime"),
                      t.get("fileName")) for t in tasks])  # fmt: skip
    return 0


@api_command
def delete_report(args: argparse.Namespace, client: ReporterClient) -> int:
    if args.task_id:
        client.delete_report_task(args.task_id)
        print(f"deleted report task {args.task_id}")
    else:
        client.delete_completed_report_tasks()
        print("deleted every completed report task")
    return 0
