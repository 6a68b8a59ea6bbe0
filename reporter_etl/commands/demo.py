"""`reporter-etl demo`: the main job against the bundled simulator, from nothing to numbers in one command.

Starts the simulator in this process on a free 127.0.0.1 port (a real HTTP server), runs the same sync a
user runs against Tovie Platform into a DuckDB file, and prints what arrived and what to try next.
"""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from reporter_etl.commands.api_common import print_table
from reporter_etl.commands.exits import EXIT_OK
from reporter_etl.commands.models import build_summary, show_demo_marts, simulator_config
from reporter_etl.commands.sync import progress_bar, summary_line
from reporter_etl.etl import Settings, open_sync
from reporter_etl.warehouse import open_readonly

# Not a secret: the simulator accepts whatever token it is started with.
DEMO_TOKEN = "demo-token"

PER_DAY_SQL = """
select date_trunc('day', m.message_time)::date as day,
       count(*)                            as messages,
       count(distinct m.session_id)        as sessions,
       count(distinct m.client_id)         as clients,
       any_value(s.value)::bigint          as platform_messages
from raw.messages m
left join raw.api_daily_stats s
       on s.project_short_name = m.project_short_name and s.metric = 'messages'
      and s.day = date_trunc('day', m.message_time)::date
group by all
order by day
"""

NEXT_SQL = """select channel_type, count(*) as sessions, round(avg(question_count), 1) as avg_client_messages,
       round(100 * avg(is_livechat::int), 1) as pct_to_operator
from raw.sessions group by all order by sessions desc"""


def register(subparsers: argparse._SubParsersAction) -> None:
    parser = subparsers.add_parser(
        "demo", help="run the simulator and sync 30 days of it into demo.duckdb",
        description="Starts the bundled Reporter API simulator on 127.0.0.1, syncs it into a DuckDB file and "
                    "prints per-day counts. Offline; needs no token.",
    )  # fmt: skip
    parser.add_argument("--db", default="demo.duckdb", help="warehouse file to write (default demo.duckdb)")
    parser.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    parser.add_argument("--messages-per-day", type=int, default=2000, help="simulated volume (default 2000)")
    parser.add_argument("--seed", type=int, default=42, help="simulator seed (default 42)")
    parser.add_argument("--fresh", action="store_true", help="delete the warehouse file first")
    parser.set_defaults(handler=demo_command)


def demo_command(args: argparse.Namespace) -> int:
    from reporter_etl.simulator import Simulator, WorldConfig

    db = Path(args.db)
    if args.fresh and db.exists():
        db.unlink()
    # The world ends yesterday (UTC) so that "up to the last complete day" covers all of it.
    yesterday = (datetime.now(UTC) - timedelta(days=1)).date()
    config = WorldConfig(seed=args.seed, days=args.days, end_date=yesterday, messages_per_day=args.messages_per_day)
    print(f"starting the Reporter API simulator: {args.days} days up to {yesterday}, "
          f"~{args.messages_per_day} messages a day (seed {args.seed})")  # fmt: skip
    with Simulator(config, token=DEMO_TOKEN) as sim:
        print(f"simulator listening on {sim.base_url} (project {sim.world.project_short_name})")
        settings = Settings(db_path=db, base_url=sim.base_url, token=DEMO_TOKEN)
        first_day = yesterday - timedelta(days=args.days - 1)
        with open_sync(settings) as session:
            with progress_bar(sys.stderr.isatty()) as bar:
                result = session.sync_days(first_day, yesterday, progress=bar, reconcile=True, refresh_catalogs=True)
            print(summary_line(result, str(db)))
            built = session.build_models(config=simulator_config())  # whole: the demo file may hold older days
    print(build_summary(built, str(db)))
    con = open_readonly(db)
    try:
        per_day = con.execute(PER_DAY_SQL).fetchall()
        print_table("per day: loaded vs. the platform's own statistics", [
            "day", "messages", "sessions", "clients", "platform says"], per_day)  # fmt: skip
        mismatched = [row for row in per_day if row[4] is not None and row[1] != row[4]]
        print("every day's message count equals the platform's statistics" if not mismatched
              else f"{len(mismatched)} day(s) differ from the platform's statistics")  # fmt: skip
        cursor = con.execute(NEXT_SQL)
        columns = [d[0] for d in cursor.description]
        next_rows = cursor.fetchmany(5)
    finally:
        con.close()
    print("\nnext, try a query of your own (read-only, safe while nothing syncs):")
    one_line = " ".join(NEXT_SQL.split())
    print(f'  .venv/bin/reporter-etl query --db {db} "{one_line}"\n')
    print_table(None, columns, next_rows)
    print(f"\nstatus: .venv/bin/reporter-etl status --db {db}")
    show_demo_marts(db)
    return EXIT_OK
