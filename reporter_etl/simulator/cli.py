"""`reporter-etl simulator serve`: run the simulated Reporter API in the foreground."""

from __future__ import annotations

import argparse
import os
import signal
import sys
import time
from datetime import date

from reporter_etl.simulator.faults import FaultConfig

TOKEN_ENV = "REPORTER_ETL_SIMULATOR_TOKEN"
# Also accepted, so that one variable serves a local simulator and the client that syncs from it.
CLIENT_TOKEN_ENV = "REPORTER_TOKEN"
DEFAULT_TOKEN = "demo-token"


def _share(text: str) -> float:
    value = float(text)
    if not 0.0 <= value <= 1.0:
        raise argparse.ArgumentTypeError(f"{text} is not a share between 0 and 1")
    return value


def _date(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text} is not a date in the form YYYY-MM-DD") from None


def register(subparsers: argparse._SubParsersAction) -> None:
    sim = subparsers.add_parser("simulator", help="the bundled simulator of the Reporter API")
    sim_commands = sim.add_subparsers(dest="simulator_command", metavar="COMMAND")
    serve = sim_commands.add_parser(
        "serve",
        help="serve a deterministic synthetic project over HTTP",
        description="Serve every legacy Reporter API operation under /api/reporter/p/{token}/ (and /reporter/p/...) "
        "from a deterministic synthetic project. Admin: GET /_simulator/health, POST /_simulator/advance?hours=N, "
        "GET|PUT /_simulator/faults.",
    )
    world = serve.add_argument_group("world")
    world.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    world.add_argument("--port", type=int, default=8700, help="port (default 8700; 0 picks a free one)")
    world.add_argument("--seed", type=int, default=42, help="seed of the synthetic project (default 42)")
    world.add_argument("--days", type=int, default=30, help="days of history (default 30)")
    world.add_argument("--end-date", type=_date, default=None, help="last covered day, YYYY-MM-DD (default today UTC)")
    world.add_argument("--messages-per-day", type=int, default=2000, help="average messages per day (default 2000)")
    world.add_argument("--timezone", default="UTC", help="IANA time zone of the project (default UTC)")
    world.add_argument("--token", default=None,
                       help=f"API token clients must put in the path (default ${TOKEN_ENV}, else ${CLIENT_TOKEN_ENV}, "
                            f"else '{DEFAULT_TOKEN}'); prefer the environment: process arguments are visible to "
                            f"every user of the machine")  # fmt: skip
    world.add_argument("--report-polls", type=int, default=2, help="polls until a report task completes (default 2)")

    faults = serve.add_argument_group("faults (off by default; SHARE is a probability per API request, 0..1)")
    faults.add_argument("--fault-seed", type=int, default=0, help="seed of the fault sequence (default 0)")
    shares = (
        ("--fault-rate-limit", "answered 429 with Retry-After"),
        ("--fault-server-error", "answered 500, 502 or 503"),
        ("--fault-html", "answered with an HTML error page (502, or 200 text/html)"),
        ("--fault-drop", "whose connection is closed without an answer"),
        ("--fault-drop-mid-body", "whose connection is closed half-way through the body"),
        ("--fault-hang", "read and never answered (held until the client gives up or --fault-hang-seconds)"),
        ("--fault-slow", "answered after --fault-slow-seconds"),
        ("--fault-drift", "for a page > 0 of a list, preceded by late rows arriving in its window"),
    )
    for flag, what in shares:
        faults.add_argument(flag, type=_share, default=0.0, metavar="SHARE", help=f"share of requests {what}")
    faults.add_argument("--fault-retry-after", type=int, default=1, metavar="SECONDS",
                        help="Retry-After of 429 answers (default 1)")  # fmt: skip
    faults.add_argument("--fault-slow-seconds", type=float, default=1.0, metavar="SECONDS",
                        help="delay of slow answers (default 1)")  # fmt: skip
    faults.add_argument("--fault-hang-seconds", type=float, default=600.0, metavar="SECONDS",
                        help="longest a never-answered request is held (default 600)")  # fmt: skip
    faults.add_argument("--fault-drift-rows", type=int, default=5, metavar="N",
                        help="late rows released per drift fault (default 5)")  # fmt: skip
    faults.add_argument("--fault-operations", default="", metavar="IDS",
                        help="comma-separated operationIds the faults apply to (default all)")  # fmt: skip
    faults.add_argument("--fault-downloads", action="store_true", help="also apply faults to report file downloads")
    serve.set_defaults(handler=serve_command)
    sim.set_defaults(handler=lambda args: (sim.print_help(), 2)[1])


def fault_config_from_args(args: argparse.Namespace) -> FaultConfig:
    return FaultConfig(
        seed=args.fault_seed,
        rate_limit=args.fault_rate_limit,
        retry_after_seconds=args.fault_retry_after,
        server_error=args.fault_server_error,
        html=args.fault_html,
        drop=args.fault_drop,
        drop_mid_body=args.fault_drop_mid_body,
        hang=args.fault_hang,
        hang_seconds=args.fault_hang_seconds,
        slow=args.fault_slow,
        slow_seconds=args.fault_slow_seconds,
        drift=args.fault_drift,
        drift_rows=args.fault_drift_rows,
        operations=frozenset(op for op in args.fault_operations.split(",") if op),
        include_downloads=args.fault_downloads,
    )


def token_and_source(given: str | None) -> tuple[str, str]:
    """The token to accept and where it came from (said on start, never the token itself)."""
    if given:
        return given, "--token"
    for name in (TOKEN_ENV, CLIENT_TOKEN_ENV):
        value = os.environ.get(name, "").strip()
        if value:
            return value, f"${name}"
    return DEFAULT_TOKEN, f"the default '{DEFAULT_TOKEN}'"


def _interrupt(signum: int, frame: object) -> None:
    raise KeyboardInterrupt


def serve_command(args: argparse.Namespace) -> int:
    from reporter_etl.simulator.server import Simulator
    from reporter_etl.simulator.world import WorldConfig

    try:
        faults = fault_config_from_args(args)
    except ValueError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    config = WorldConfig(seed=args.seed, days=args.days, end_date=args.end_date,
                         messages_per_day=args.messages_per_day, timezone=args.timezone)  # fmt: skip
    token, token_source = token_and_source(args.token)
    started = time.perf_counter()
    print(f"building the world: {config.days} days, ~{config.messages_per_day} messages/day, seed {config.seed} ...",
          file=sys.stderr, flush=True)  # fmt: skip
    simulator = Simulator(config, token=token, faults=faults, host=args.host, port=args.port,
                          report_polls=args.report_polls)  # fmt: skip
    try:
        simulator.start()
    except OSError as exc:
        print(f"error: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    world = simulator.world
    print(f"project {world.project_short_name}, {world.start:%Y-%m-%d} .. {world.end:%Y-%m-%d} (exclusive), "
          f"ready in {time.perf_counter() - started:.1f}s", file=sys.stderr)  # fmt: skip
    print(f"serving {simulator.base_url}/api/reporter/p/{{token}}/ (token from {token_source}); faults "
          f"{'on' if faults.enabled else 'off'}; Ctrl+C stops", flush=True)  # fmt: skip
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        print("stopping", file=sys.stderr)
    finally:
        simulator.stop()
    return 0
