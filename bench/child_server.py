"""The simulator in a child process, for benchmarks: its CPU work then does not compete for our process's GIL.

    with child_simulator(days=3, messages_per_day=5000, token="bench-token") as server:
        server.base_url          # http://127.0.0.1:<port>
    server.peak_rss_bytes        # the child's peak RSS, once it has stopped

Not a benchmark itself (bench/run.py does not run it).
"""

from __future__ import annotations

import argparse
import re
import resource
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date


@dataclass
class ChildServer:
    process: subprocess.Popen
    base_url: str
    ready_s: float  # from spawning the child to its "serving" line (building the World dominates)
    peak_rss_bytes: int = 0  # filled in when the child has stopped


@contextmanager
def child_simulator(
    *, days: int, messages_per_day: int, token: str, seed: int = 42, end_date: date | None = None
) -> Iterator[ChildServer]:
    command = [sys.executable, "-m", "reporter_etl.cli", "simulator", "serve", "--port", "0", "--token", token,
               "--seed", str(seed), "--days", str(days), "--messages-per-day", str(messages_per_day)]  # fmt: skip
    if end_date is not None:
        command += ["--end-date", end_date.isoformat()]
    started = time.perf_counter()
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=sys.stderr, text=True)
    try:
        server = ChildServer(child, _wait_for_url(child), time.perf_counter() - started)
        yield server
    finally:
        if child.poll() is None:
            child.send_signal(signal.SIGTERM)
            try:
                child.wait(timeout=60)
            except subprocess.TimeoutExpired:
                child.kill()
                child.wait()
        if child.stdout is not None:
            child.stdout.close()
    # RUSAGE_CHILDREN covers every waited-for child; Linux reports KiB.
    server.peak_rss_bytes = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss * 1024


def _wait_for_url(child: subprocess.Popen) -> str:
    assert child.stdout is not None
    for line in child.stdout:
        match = re.search(r"serving (http://[\d.]+:\d+)", line)
        if match:
            return match.group(1)
    raise SystemExit(f"the simulator exited before serving (exit code {child.wait()})")


def add_world_options(parser: argparse.ArgumentParser) -> None:
    """--quick, --days, --messages-per-day and --seed, shared by the benchmarks that serve a child simulator."""
    parser.add_argument("--quick", action="store_true", help="3 days x 5,000 messages/day: a few seconds")
    parser.add_argument("--days", type=int, default=None, help="days of history (default 30; 3 with --quick)")
    parser.add_argument("--messages-per-day", type=int, default=None,
                        help="average messages per day (default 35000; 5000 with --quick)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=42)


def resolve_world_options(args: argparse.Namespace) -> None:
    """Fill in the sizes --quick implies, unless given."""
    args.days = args.days or (3 if args.quick else 30)
    args.messages_per_day = args.messages_per_day or (5000 if args.quick else 35000)
