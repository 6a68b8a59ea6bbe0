"""The full sync against merely downloading the same JSON, on one simulator, for the same day windows.

Starts `reporter-etl simulator serve` in a child process (its CPU is not in our GIL) on a world of about a million
messages (30 days x 35,000), then, for every day window of the world:
  1. download only, cold server: pages messages/filter, sessions/filter (with labels) and clients/filter at size
     1000 with a plain requests.Session and reads the bytes, nothing more (the first pass also warms the
     simulator's own caches, so it is reported but not compared);
  2. the sync: ``Syncer.run`` into a fresh DuckDB file in a temporary folder (open, run and close timed);
  3. download only again, on the warm server: the floor the sync is compared with.
Prints the times, rows/s, the ratio sync / download, the CPU seconds of this process and of the server during
the sync, and the requests the sync made per operation against the minimum (per entity and window:
ceil(rows / 1000), at least 1).  Exits 1 when the sync loaded other row counts
than the server holds, or called messages/by-session.

    .venv/bin/python bench/sync_vs_download.py [--quick] [--days 30] [--messages-per-day 35000]
        [--json-out results.json] [--profile sync-profile.html] [--no-read-ahead]
"""

from __future__ import annotations

import argparse
import logging
import math
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from child_server import add_world_options, child_simulator, resolve_world_options  # noqa: E402
from results import add_json_option, write_json  # noqa: E402

from reporter_etl.api import ReporterClient  # noqa: E402
from reporter_etl.api.filters import DateTimeRange, message_time, serialize_filters  # noqa: E402
from reporter_etl.platform_stats import COUNT_REQUESTS_PER_WINDOW  # noqa: E402
from reporter_etl.sync import Syncer  # noqa: E402
from reporter_etl.warehouse import Warehouse  # noqa: E402
from reporter_etl.windows import Window, day_windows, zone  # noqa: E402

TOKEN = "bench-token"
PAGE_SIZE = 1000
END_DATE = date(2024, 5, 31)  # fixed, so every run serves the same world
# entity -> (path under the project, extra query parameters, the client's operation name)
ENTITIES: dict[str, tuple[str, dict[str, str], str]] = {
    "messages": ("messages/filter", {}, "filter_messages"),
    "sessions": ("sessions/filter", {"needToReturnSessionLabels": "true"}, "filter_sessions"),
    "clients": ("clients/filter", {}, "filter_clients"),
}
BY_SESSION = "session_messages"  # messages/by-session: N+1 requests, never in the bulk path
TOTAL_COUNT = re.compile(rb'"totalCount"\s*:\s*(\d+)')


@dataclass
class Download:
    seconds: float = 0.0
    rows: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTITIES, 0))
    requests: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTITIES, 0))
    minimum: dict[str, int] = field(default_factory=lambda: dict.fromkeys(ENTITIES, 0))
    bytes: int = 0


def window_filter(entity: str, window: Window) -> bytes:
    if entity == "clients":
        chosen = DateTimeRange.window("CLIENT_LAST_ACTIVITY_TIME", window.start, window.end)
    else:
        chosen = message_time(window.start, window.end)
    return orjson.dumps({"filters": serialize_filters([chosen])})


def download_only(base_url: str, windows: list[Window]) -> Download:
    """Every page of the three entities of every window, read as bytes; only the first page of each query is
    looked at (for totalCount, with a regular expression, not a JSON parse)."""
    result = Download()
    bodies = {(entity, w): window_filter(entity, w) for entity in ENTITIES for w in windows}
    headers = {"Content-Type": "application/json", "Accept": "application/json"}
    with requests.Session() as http:
        started = time.perf_counter()
        for window in windows:
            for entity, (path, extra, _) in ENTITIES.items():
                url = f"{base_url}/api/reporter/p/{TOKEN}/{path}"
                page, pages = 0, 1
                while page < pages:
                    params = {"page": str(page), "size": str(PAGE_SIZE), **extra}
                    response = http.post(url, params=params, data=bodies[entity, window], headers=headers, timeout=120)
                    response.raise_for_status()
                    content = response.content
                    result.bytes += len(content)
                    if page == 0:
                        match = TOTAL_COUNT.search(content)
                        if match is None:
                            raise SystemExit(f"{path}: no totalCount in the first page")
                        total = int(match.group(1))
                        pages = max(1, math.ceil(total / PAGE_SIZE))
                        result.rows[entity] += total
                        result.minimum[entity] += pages
                    page += 1
                result.requests[entity] += pages
        result.seconds = time.perf_counter() - started
    return result


def cpu_seconds(pid: int) -> float | None:
    """User + system CPU time of a process so far (Linux /proc; None elsewhere)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@dataclass
class SyncRun:
    seconds: float  # open + run + close of the warehouse
    run_seconds: float  # Syncer.run alone
    our_cpu_s: float  # this process, all threads (DuckDB's included)
    server_cpu_s: float | None
    rows: dict[str, int]
    warehouse_rows: dict[str, int]
    requests_by_operation: dict[str, int]
    minimum: dict[str, int]
    request_count: int


def sync_once(base_url: str, server_pid: int, first: date, last: date, directory: Path, *, read_ahead: bool,
              profile: Path | None) -> SyncRun:  # fmt: skip
    path = directory / "bench.duckdb"
    profiler = _profiler(profile)
    started, cpu_started, server_started = time.perf_counter(), time.process_time(), cpu_seconds(server_pid)
    with ReporterClient(base_url, TOKEN) as client:
        with Warehouse.open(path) as wh:
            run_started = time.perf_counter()
            if profiler is not None:
                profiler.start()
            options = {} if read_ahead else {"read_ahead": False}
            result = Syncer(client, wh, timezone="UTC", **options).run(start=first, end=last)
            if profiler is not None:
                profiler.stop()
            run_seconds = time.perf_counter() - run_started
        seconds = time.perf_counter() - started
        our_cpu = time.process_time() - cpu_started
        server_now = cpu_seconds(server_pid)
        server_cpu = None if server_now is None or server_started is None else server_now - server_started
        by_operation = client.requests_by_operation
    if profiler is not None and profile is not None:
        _write_profile(profiler, profile)
    minimum = dict.fromkeys(ENTITIES, 0)
    for report in result.windows:
        for entity, rows in report.rows.items():
            minimum[entity] += max(1, math.ceil(rows / PAGE_SIZE))
    con = duckdb.connect(str(path), read_only=True)
    try:
        warehouse_rows = {e: con.execute(f"SELECT count(*) FROM raw.{e}").fetchone()[0] for e in ENTITIES}
    finally:
        con.close()
    return SyncRun(seconds, run_seconds, our_cpu, server_cpu, result.rows, warehouse_rows, by_operation, minimum,
                   sum(by_operation.values()))  # fmt: skip


def _profiler(profile: Path | None) -> Any:
    if profile is None:
        return None
    try:
        from pyinstrument import Profiler
    except ImportError:
        raise SystemExit("--profile needs pyinstrument: pip install -e '.[bench]'") from None
    return Profiler(interval=0.002)


def _write_profile(profiler: Any, profile: Path) -> None:
    if profile.suffix == ".html":
        profile.write_text(profiler.output_html())
    else:
        profile.write_text(profiler.output_text(unicode=True, show_all=False))
    print(f"profile of Syncer.run written to {profile}")


def rate(rows: int, seconds: float) -> str:
    return f"{rows / seconds:,.0f}" if seconds > 0 else "-"


def report(args: argparse.Namespace, windows: list[Window], ready_s: float, cold: Download, warm: Download,
           sync: SyncRun) -> tuple[dict[str, Any], list[str]]:  # fmt: skip
    """The results as a JSON-ready dict, and the problems found (empty when all is well)."""
    ops = sync.requests_by_operation
    # The platform-statistics step asks a paged operation for one row per window, for its totalCount only.
    counts_only = {op: n * len(windows) for op, n in COUNT_REQUESTS_PER_WINDOW.items()}
    paged = {entity: ops.get(op, 0) - counts_only.get(op, 0) for entity, (_, _, op) in ENTITIES.items()}
    other = {op: n for op, n in sorted(ops.items()) if op not in {o for _, _, o in ENTITIES.values()}}
    other |= {f"{op} (count only)": n for op, n in counts_only.items() if n}
    problems = []
    # A session active on both sides of midnight is read in both windows and held once, so the warehouse has
    # at most as many sessions as the windows' sum.
    held = sync.warehouse_rows
    if (sync.rows != warm.rows or held["messages"] != warm.rows["messages"] or held["clients"] != warm.rows["clients"]
            or not 0 < held["sessions"] <= warm.rows["sessions"]):  # fmt: skip
        problems.append(f"row counts differ: server {warm.rows}, sync {sync.rows}, warehouse {held}")
    if ops.get(BY_SESSION, 0):
        problems.append(f"messages/by-session was called {ops[BY_SESSION]} times")
    total_rows = sum(warm.rows.values())
    results = {
        "world": {"days": args.days, "messages_per_day": args.messages_per_day, "seed": args.seed,
                  "end_date": END_DATE.isoformat(), "windows": len(windows), "server_ready_s": round(ready_s, 2)},
        "read_ahead": not args.no_read_ahead, "cpus": os.cpu_count(),
        "rows": warm.rows,
        "download_cold": {"seconds": cold.seconds, "rows_per_s": total_rows / cold.seconds, "bytes": cold.bytes},
        "download": {"seconds": warm.seconds, "rows_per_s": total_rows / warm.seconds, "bytes": warm.bytes,
                     "requests": warm.requests},
        "sync": {"seconds": sync.seconds, "run_seconds": sync.run_seconds, "rows_per_s": total_rows / sync.seconds,
                 "our_cpu_s": sync.our_cpu_s, "server_cpu_s": sync.server_cpu_s,
                 "rows": sync.rows, "warehouse_rows": sync.warehouse_rows, "request_count": sync.request_count},
        "ratio_sync_to_download": sync.seconds / warm.seconds,
        "requests": {
            "paged": {e: {"operation": ENTITIES[e][2], "made": paged[e], "minimum": sync.minimum[e]} for e in ENTITIES},
            "other": other,
            BY_SESSION: ops.get(BY_SESSION, 0),
        },
        "problems": problems,
    }  # fmt: skip
    return results, problems


def print_report(results: dict[str, Any]) -> None:
    world, rows = results["world"], results["rows"]
    total = sum(rows.values())
    print(f"world: {world['days']} days x ~{world['messages_per_day']:,} messages/day, {world['windows']} day windows; "
          f"{rows['messages']:,} messages, {rows['sessions']:,} sessions, {rows['clients']:,} clients "
          f"({total:,} rows); server ready in {world['server_ready_s']:.1f} s")  # fmt: skip
    cold, warm, sync = results["download_cold"], results["download"], results["sync"]
    print(f"{'':36s} {'seconds':>8s} {'rows/s':>10s} {'messages/s':>11s}")
    mode = "read-ahead" if results["read_ahead"] else "no read-ahead"
    for label, part in (("download only, cold server", cold), ("download only (the floor)", warm),
                        (f"sync, {mode} (open+run+close)", sync)):  # fmt: skip
        print(f"{label:36s} {part['seconds']:8.2f} {rate(total, part['seconds']):>10s} "
              f"{rate(rows['messages'], part['seconds']):>11s}")  # fmt: skip
    print(f"{'  of which Syncer.run':36s} {sync['run_seconds']:8.2f}")
    server_cpu = "?" if sync["server_cpu_s"] is None else f"{sync['server_cpu_s']:.1f}"
    print(f"CPU during the sync: this process {sync['our_cpu_s']:.1f} s (all threads), server {server_cpu} s; "
          f"{results['cpus']} cpus")  # fmt: skip
    print(f"ratio sync / download: {results['ratio_sync_to_download']:.2f}  "
          f"({warm['bytes'] / 1e6:,.0f} MB of JSON per pass)")  # fmt: skip
    requests_ = results["requests"]
    print(f"\nsync requests: {sync['request_count']:,} in all (project discovery included)")
    print(f"{'operation':40s} {'made':>7s} {'minimum':>8s} {'extra':>6s}")
    for entity, part in requests_["paged"].items():
        print(f"{part['operation'] + ' (' + entity + ')':40s} {part['made']:7,d} {part['minimum']:8,d} "
              f"{part['made'] - part['minimum']:6,d}")  # fmt: skip
    for op, made in requests_["other"].items():
        print(f"{op:40s} {made:7,d}  (not paged: per window or per run)")
    print(f"{BY_SESSION + ' (messages/by-session)':40s} {requests_[BY_SESSION]:7,d}")
    for problem in results["problems"]:
        print(f"PROBLEM: {problem}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_world_options(parser)
    add_json_option(parser)
    parser.add_argument("--profile", type=Path, default=None,
                        help="profile Syncer.run with pyinstrument into this file (.html, else text); it sees the "
                             "main thread only, so add --no-read-ahead for the whole picture (or use py-spy)")
    parser.add_argument("--no-read-ahead", action="store_true",
                        help="sync with Syncer(read_ahead=False): each window read, then committed")  # fmt: skip
    args = parser.parse_args()
    resolve_world_options(args)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")

    first = END_DATE - timedelta(days=args.days - 1)
    windows = day_windows(first, END_DATE, zone("UTC"))
    with child_simulator(days=args.days, messages_per_day=args.messages_per_day, token=TOKEN, seed=args.seed,
                         end_date=END_DATE) as server:  # fmt: skip
        cold = download_only(server.base_url, windows)
        with tempfile.TemporaryDirectory(prefix="sync-bench-") as directory:
            sync = sync_once(server.base_url, server.process.pid, first, END_DATE, Path(directory),
                             read_ahead=not args.no_read_ahead, profile=args.profile)  # fmt: skip
        warm = download_only(server.base_url, windows)
    results, problems = report(args, windows, server.ready_s, cold, warm, sync)
    print_report(results)
    write_json(args.json_out, results)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
