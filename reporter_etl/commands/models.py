"""`reporter-etl models build` and `reporter-etl models list`: the SQL models, from the command line."""

from __future__ import annotations

import argparse
from pathlib import Path

from reporter_etl.commands.api_common import command_group, day, db_file, print_table, seconds
from reporter_etl.commands.exits import EXIT_OK, UsageError
from reporter_etl.commands.publish_options import add_publish_options, publish_warehouse
from reporter_etl.models import (
    BuildReport,
    ModelsConfig,
    build_warehouse_models,
    load_config,
    load_models,
    select_models,
)
from reporter_etl.models.config import CONFIG_FILE_NAME
from reporter_etl.warehouse import DEFAULT_LOCK_TIMEOUT_S


def add_config_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--config", type=Path, metavar="PATH",
        help=f"TOML file with a [models] section (default: ./{CONFIG_FILE_NAME} when present)",
    )  # fmt: skip


def config_from_args(args: argparse.Namespace, timezone: str | None = None) -> ModelsConfig:
    """The --config file, else ./reporter-etl.toml when there is one, else the defaults."""
    path = args.config
    if path is None and Path(CONFIG_FILE_NAME).is_file():
        path = Path(CONFIG_FILE_NAME)
    return load_config(path, timezone=timezone)


def register(subparsers: argparse._SubParsersAction) -> None:
    commands = command_group(
        subparsers, "models", help="build and list the SQL models (staging views, marts)",
        description="The SQL models in sql/: staging views over raw.*, marts, checks.",
    )  # fmt: skip

    build = commands.add_parser(
        "build", help="build staging views and marts into the warehouse",
        description="Builds every model (or the --select ones). With --start/--end, daily marts are rebuilt for "
                    "those days only and the other marts whole; with --full (the default), everything whole.",
    )  # fmt: skip
    build.add_argument("--db", required=True, type=db_file, help="the DuckDB warehouse file")
    span = build.add_mutually_exclusive_group()
    span.add_argument("--full", action="store_true", help="rebuild every mart whole (the default without --start)")
    span.add_argument("--start", type=day, help="first local day of the daily marts to rebuild, YYYY-MM-DD")
    build.add_argument("--end", type=day, help="last local day to rebuild, included (default: --start)")
    build.add_argument("--select", nargs="+", metavar="NAME", help="only these models (marts.x or x)")
    build.add_argument("--timezone", help="the project's IANA time zone (overrides the config file's)")
    build.add_argument("--lock-timeout", type=seconds(), default=DEFAULT_LOCK_TIMEOUT_S, metavar="SECONDS",
                       help="how long to wait for a sync holding the warehouse (default 60)")  # fmt: skip
    add_config_option(build)
    add_publish_options(build)
    build.set_defaults(handler=build_command)

    listing = commands.add_parser("list", help="list the models, their inputs and whether they are daily")
    listing.set_defaults(handler=list_command)


def build_command(args: argparse.Namespace) -> int:
    if args.end is not None and args.start is None:
        raise UsageError("--end needs --start")
    end = args.end or args.start
    if args.start is not None and end < args.start:
        raise UsageError("--end is before --start")
    config = config_from_args(args, timezone=args.timezone)
    report = build_warehouse_models(
        args.db, config=config, start=args.start, end=end, select=args.select, lock_timeout=args.lock_timeout
    )
    print(build_summary(report, args.db))
    published = publish_warehouse(args, config)  # a PublishError says the models are built but not published
    if published:
        print(published)
    return EXIT_OK


def build_summary(report: BuildReport, db: str) -> str:
    span = f"days {report.start}..{report.end}" if report.start else "whole"
    tables = sum(1 for run in report.runs if run.action != "view")
    views = len(report.runs) - tables
    slowest = max(report.runs, key=lambda run: run.seconds, default=None)
    line = f"built {views} view(s) and {tables} table(s) in {db} ({span}) in {report.seconds:.1f} s"
    if slowest is not None:
        line += f"; slowest {slowest.name} {slowest.seconds:.2f} s"
    return line


def list_command(args: argparse.Namespace) -> int:
    models = select_models(load_models(), None)
    rows = [(m.name, m.kind, "yes" if m.daily else "", ", ".join(m.inputs)) for m in models]
    print_table(None, ["model", "kind", "daily", "reads"], rows)
    return EXIT_OK


def simulator_config() -> ModelsConfig:
    """The demo's configuration: the simulator's real experiment splits, a success result and a label it uses."""
    from reporter_etl.models.config import ExperimentConfig
    from reporter_etl.simulator.vocab import EXPERIMENTS

    experiments = {
        plan.key: ExperimentConfig(control=plan.branches[0][0], split={key: share for key, _, share in plan.branches})
        for plan in EXPERIMENTS
    }
    return ModelsConfig(success_result="Order placed", outcome_label="Resolved", experiments=experiments)


DEMO_DAILY_SQL = """
select day, sum(sessions) as sessions, sum(engaged_sessions) as engaged, sum(unique_clients) as clients,
       sum(new_clients) as new, sum(client_messages) as client_msgs, sum(bot_messages) as bot_msgs,
       round(100 * sum(transferred_sessions) / sum(sessions), 1) as pct_transferred,
       round(100 * sum(contained_sessions) / nullif(sum(non_empty_sessions), 0), 1) as pct_contained,
       sum(calls_incoming) as calls_in, sum(calls_outgoing) as calls_out
from marts.daily_conversations
group by day order by day desc limit 7
"""

DEMO_EXPERIMENT_SQL = """
select experiment_key, experiment_status as status, branch_key, outcome, sessions,
       round(traffic_share, 3) as share, round(mean, 3) as mean, round(100 * rel_diff, 1) as rel_pct,
       round(p_value, 3) as p, round(chance_to_beat_control, 3) as p_beat, verdict
from marts.experiment_comparison
where outcome in ('transferred', 'success', 'client_messages')
order by experiment_key, outcome, is_control desc, branch_key
"""


def show_demo_marts(db: str | Path) -> None:
    """Print the last 7 days and the experiment comparison of a built demo warehouse."""
    from reporter_etl.warehouse import open_readonly

    con = open_readonly(db)
    try:
        shown = (
            ("the last 7 days (marts.daily_conversations)", DEMO_DAILY_SQL),
            ("experiments against control (marts.experiment_comparison)", DEMO_EXPERIMENT_SQL),
        )
        for title, sql in shown:
            cursor = con.execute(sql)
            print_table(title, [d[0] for d in cursor.description], cursor.fetchall())
    finally:
        con.close()
    print(f"\nall models: .venv/bin/reporter-etl models list; rebuild: .venv/bin/reporter-etl models build --db {db}")
