"""How fast the simulator serves `messages/filter` pages of 1000, and how much memory the server needs.

Starts `reporter-etl simulator serve` in a child process on a world of about a million messages, pages through
every message of the world with one keep-alive requests.Session, then stops the server and reads the child's
peak RSS from resource.getrusage(RUSAGE_CHILDREN). Acceptance: peak server memory under 1.5 GB.

    .venv/bin/python bench/simulator_serve.py [--quick] [--days 30] [--messages-per-day 35000] [--size 1000]
        [--pages N]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import orjson
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))

from child_server import add_world_options, child_simulator, resolve_world_options  # noqa: E402
from results import add_json_option, write_json  # noqa: E402

TOKEN = "bench-token"
MAX_RSS_BYTES = 1.5 * 1024**3


def page_through(base_url: str, size: int, max_pages: int | None) -> tuple[int, int, float, float]:
    """(messages received, totalCount, seconds, seconds until response headers summed over pages) for paging
    messages/filter over the whole world. Pages are decoded with orjson, as the project's client does."""
    url = f"{base_url}/api/reporter/p/{TOKEN}/messages/filter"
    with requests.Session() as http:
        health = http.get(f"{base_url}/_simulator/health", timeout=60).json()
        body = {"filters": [{"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": health["start"],
                             "to": health["now"]}]}  # fmt: skip
        received, total, page, waited = 0, None, 0, 0.0
        started = time.perf_counter()
        while True:
            response = http.post(url, params={"page": page, "size": size}, json=body, timeout=120)
            response.raise_for_status()
            waited += response.elapsed.total_seconds()  # the server renders and encodes before the headers
            data = orjson.loads(response.content)
            total = data["paging"]["totalCount"]
            received += len(data["messages"])
            page += 1
            if not data["messages"] or page * size >= total or (max_pages and page >= max_pages):
                break
        return received, total or 0, time.perf_counter() - started, waited


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_world_options(parser)
    parser.add_argument("--end-date", type=date.fromisoformat, default=date.today() - timedelta(days=1))
    parser.add_argument("--size", type=int, default=1000)
    parser.add_argument("--pages", type=int, default=None, help="stop after this many pages (default: all)")
    add_json_option(parser)
    args = parser.parse_args()
    resolve_world_options(args)

    with child_simulator(days=args.days, messages_per_day=args.messages_per_day, token=TOKEN, seed=args.seed,
                         end_date=args.end_date) as server:  # fmt: skip
        received, total, seconds, waited = page_through(server.base_url, args.size, args.pages)
    peak_rss = server.peak_rss_bytes
    print(f"world: {total:,} messages over {args.days} days (server ready in {server.ready_s:.1f}s)")
    print(f"served {received:,} messages in {seconds:.1f}s with pages of {args.size}: "
          f"{received / seconds:,.0f} messages/s, {received / args.size / seconds:.1f} pages/s")  # fmt: skip
    pages = -(-received // args.size)
    print(f"time to response headers: {waited / pages * 1000:.1f} ms/page on average "
          f"(server-side bound ~{received / waited:,.0f} messages/s)")  # fmt: skip
    complete = args.pages is not None or received == total
    if not complete:
        print(f"MISMATCH: received {received:,} messages but totalCount is {total:,}")
    verdict = "OK" if peak_rss < MAX_RSS_BYTES else "OVER the 1.5 GB budget"
    print(f"server peak RSS: {peak_rss / 1024**2:,.0f} MiB ({verdict}); cpus: {os.cpu_count()}")
    write_json(args.json_out, {
        "days": args.days, "messages_per_day": args.messages_per_day, "page_size": args.size,
        "server_ready_s": server.ready_s, "total_count": total, "received": received, "seconds": seconds,
        "messages_per_s": received / seconds, "ms_per_page_to_headers": waited / pages * 1000,
        "peak_rss_mib": peak_rss / 1024**2, "within_memory_budget": peak_rss < MAX_RSS_BYTES, "complete": complete,
    })  # fmt: skip
    return 0 if complete and peak_rss < MAX_RSS_BYTES else 1


if __name__ == "__main__":
    sys.exit(main())
