"""`reporter-etl stats`: the platform's own summary numbers for a period."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta
from typing import Any

from reporter_etl.api import ReporterClient, message_time
from reporter_etl.commands.api_common import (
    api_command,
    command_group,
    connection_parent,
    day,
    print_json,
    print_table,
)
from reporter_etl.commands.exits import UsageError

INTERVALS = ("HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR")


def register(subparsers: argparse._SubParsersAction) -> None:
    common = connection_parent()
    commands = command_group(subparsers, "stats", help="the platform's summary statistics for a period")
    summary = commands.add_parser(
        "summary", parents=[common], help="messages, sessions, transfers and calls per day (or other interval)",
        description="Messages and sessions per interval (by MESSAGE_TIME), sessions transferred to an operator, "
                    "calls, and the project's unique clients and session count, as the platform computes them.",
    )  # fmt: skip
    summary.add_argument("--from", dest="start", type=day, required=True, help="first day, YYYY-MM-DD")
    summary.add_argument("--to", dest="end", type=day, required=True, help="last day (included), YYYY-MM-DD")
    summary.add_argument("--interval", choices=INTERVALS, default="DAY", help="bucket size (default DAY)")
    summary.add_argument("--timezone-offset", type=int, default=0, metavar="MINUTES",
                         help="days start at local midnight at this offset, minutes east of UTC "
                              "(default 0)")  # fmt: skip
    summary.set_defaults(handler=summary_command)


def _ts_text(ts: int, offset_minutes: int) -> str:
    local = datetime.fromtimestamp(ts / 1000, UTC) + timedelta(minutes=offset_minutes)
    return local.strftime("%Y-%m-%d %H:%M")


@api_command
def summary_command(args: argparse.Namespace, client: ReporterClient) -> int:
    if args.end < args.start:
        raise UsageError("--to is before --from")
    offset = timedelta(minutes=args.timezone_offset)
    start = datetime(args.start.year, args.start.month, args.start.day, tzinfo=UTC) - offset
    end = datetime(args.end.year, args.end.month, args.end.day, tzinfo=UTC) + timedelta(days=1) - offset
    window = [message_time(start, end)]
    tz = args.timezone_offset
    messages = client.message_stats(window, interval_type=args.interval, timezone_offset=tz)
    sessions = client.session_stats(window, interval_type=args.interval, timezone_offset=tz)
    switched = client.switched_sessions_stats(args.start, args.end, "SWITCH", timezone_offset=tz)
    telephony = client.telephony_stats(args.start, args.end, timezone_offset=tz)
    result: dict[str, Any] = {
        "from": args.start.isoformat(), "to": args.end.isoformat(), "interval": args.interval,
        "messages": messages, "sessions": sessions, "switchedSessions": switched, "telephony": telephony,
        "uniqueClients": client.unique_clients_stats(), "projectSessions": client.count_sessions_per_project(),
    }  # fmt: skip
    if args.json:
        print_json(result)
        return 0
    buckets: dict[int, dict[str, float]] = {}
    for name, dto in (("messages", messages), ("sessions", sessions), ("switched", switched)):
        for point in dto.get("stats", []):
            buckets.setdefault(point["ts"], {})[name] = point["value"]
    print_table(f"{args.start} .. {args.end} per {args.interval.lower()} (UTC{tz:+d} min)",
                ["bucket", "messages", "sessions", "switched to operator"],
                [(_ts_text(ts, tz), _num(b.get("messages")), _num(b.get("sessions")), _num(b.get("switched")))
                 for ts, b in sorted(buckets.items())])  # fmt: skip
    calls = sum(p["value"] for key in ("incomingCount", "outgoingCount") for p in telephony.get(key, []))
    print_table("totals", ["what", "value"], [
        ("messages", _num(messages.get("totalCount"))),
        ("sessions", _num(sessions.get("totalCount"))),
        ("sessions switched to an operator", _num(switched.get("totalCount"))),
        ("calls (incoming + outgoing)", _num(calls)),
        ("average call duration, s", telephony.get("averageCallDurationInSeconds")),
        ("unique clients (project, all time)", ", ".join(str(u.get("totalCount")) for u in result["uniqueClients"])),
        ("sessions (project, all time)", ", ".join(str(p.get("amount")) for p in result["projectSessions"])),
    ])  # fmt: skip
    return 0


def _num(value: float | None) -> str:
    if value is None:
        return "0"
    return str(int(value)) if float(value).is_integer() else f"{value:.2f}"
