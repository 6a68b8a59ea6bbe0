"""How fast the simulator's World builds, queries and renders, and how much memory it holds (no HTTP).

Builds a world of about a million messages (30 days x 33,000), then times: the first full query (which computes
the visibility view), one-day MESSAGE_TIME queries for messages / sessions / clients (each with a filter not seen
before, so the query cache does not answer), rendering 1000 rows of each kind, advancing the clock by a day,
and releasing held-back rows the way the paging-drift fault does.  Prints peak RSS of this process.

    .venv/bin/python bench/world_build.py [--quick] [--days 30] [--messages-per-day 33000] [--seed 42]
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import time
from collections.abc import Callable
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import add_json_option, write_json  # noqa: E402

from reporter_etl.simulator.world import World, WorldConfig  # noqa: E402


def timed(fn: Callable[[], object], repeat: int = 1) -> tuple[float, object]:
    times, result = [], None
    for _ in range(repeat):
        t0 = time.perf_counter()
        result = fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times), result


def day_filter(key: str, day: date, extra: int = 0) -> list[dict]:
    # `extra` varies the filter text so the query cache cannot answer
    return [{"key": key, "type": "DATE_TIME_RANGE", "from": f"{day.isoformat()}T00:00:00.000Z",
             "to": f"{day.isoformat()}T23:59:59.{999 - extra:03d}Z"}]  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 days x 5,000 messages/day: about a second")
    parser.add_argument("--days", type=int, default=None, help="days of history (default 30; 3 with --quick)")
    parser.add_argument("--messages-per-day", type=int, default=None,
                        help="average messages per day (default 33000; 5000 with --quick)")  # fmt: skip
    parser.add_argument("--seed", type=int, default=42)
    add_json_option(parser)
    args = parser.parse_args()
    args.days = args.days or (3 if args.quick else 30)
    args.messages_per_day = args.messages_per_day or (5000 if args.quick else 33_000)
    end = date(2024, 5, 31)
    cfg = WorldConfig(seed=args.seed, days=args.days, end_date=end, messages_per_day=args.messages_per_day,
                      timezone="Europe/Berlin")  # fmt: skip
    build, world = timed(lambda: World(cfg))
    assert isinstance(world, World)
    results: dict[str, Any] = {"days": args.days, "messages_per_day": args.messages_per_day, "build_s": build,
                               "messages": world.message_count(), "sessions": world.session_count()}
    print(f"build: {build:.2f} s, {results['messages']:,} messages, {results['sessions']:,} sessions")
    first, rows = timed(lambda: world.query_messages(None))
    results |= {"first_query_ms": first * 1000, "visible_messages": len(rows), "query_ms": {}, "render_ms": {}}
    print(f"first query (computes the visibility view): {first * 1000:.0f} ms, {len(rows):,} visible messages")
    day = end - timedelta(days=min(10, args.days // 2))
    counter = iter(range(1000))
    for name, key, query in (("messages", "MESSAGE_TIME", world.query_messages),
                             ("sessions", "MESSAGE_TIME", world.query_sessions),
                             ("clients", "CLIENT_LAST_ACTIVITY_TIME", world.query_clients)):  # fmt: skip
        t, result = timed(lambda q=query, k=key: q(day_filter(k, day, next(counter))), repeat=5)
        results["query_ms"][name] = t * 1000
        print(f"one-day query of {name}: {t * 1000:.2f} ms ({len(result):,} rows)")
    msgs = world.query_messages(day_filter("MESSAGE_TIME", day))
    sessions = world.query_sessions(day_filter("MESSAGE_TIME", day))
    clients = world.query_clients(day_filter("CLIENT_LAST_ACTIVITY_TIME", day))
    world.extended_messages(msgs[:1000])
    for name, rows, render in (
        ("ExtendedMessage", len(msgs[1000:2000]), lambda: world.extended_messages(msgs[1000:2000])),
        ("Message", len(msgs[2000:3000]), lambda: world.messages(msgs[2000:3000])),
        ("SessionInfo", len(sessions[:1000]), lambda: world.session_infos(sessions[:1000], True)),
        ("ClientExtendedInfo", len(clients[:1000]), lambda: world.client_infos(clients[:1000])),
    ):
        t, _ = timed(render, repeat=5)
        results["render_ms"][name] = t * 1000
        print(f"render {rows} {name}: {t * 1000:.2f} ms")
    t, _ = timed(lambda: world.series("messages", day_filter("MESSAGE_TIME", day, 500), "HOUR", 1, 180))
    results["hourly_series_ms"] = t * 1000
    print(f"hourly message series for a day: {t * 1000:.2f} ms")
    start = datetime.combine(end, datetime.min.time()).astimezone() - timedelta(days=1)
    t, released = timed(lambda: world.release_delayed(start, start + timedelta(days=2), 5), repeat=3)
    t_after, _ = timed(lambda: world.query_messages(day_filter("MESSAGE_TIME", end, next(counter))))
    results |= {"release_ms": t * 1000, "query_after_release_ms": t_after * 1000}
    print(f"release 5 held-back rows: {t * 1000:.2f} ms; next query {t_after * 1000:.2f} ms")
    t, _ = timed(lambda: world.advance(timedelta(days=1)))
    t_after, _ = timed(lambda: world.query_messages(day_filter("MESSAGE_TIME", end, next(counter))))
    results |= {"advance_ms": t * 1000, "query_after_advance_ms": t_after * 1000}
    print(f"advance one day: {t * 1000:.0f} ms; next query (recomputes the view) {t_after * 1000:.0f} ms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    results["peak_rss_mb"] = peak
    print(f"peak RSS: {peak:.0f} MB")
    write_json(args.json_out, results)


if __name__ == "__main__":
    main()
