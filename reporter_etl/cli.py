"""The `reporter-etl` command line.

Each command group lives in its own module and registers itself through a ``register(subparsers)`` function
that adds its parser(s) and sets ``handler`` (a callable taking the parsed namespace and returning an exit
code).  This file only wires them together, sets up logging and maps well-known errors to exit codes.
"""

from __future__ import annotations

import argparse
import importlib
import logging
import sys
from collections.abc import Sequence

from reporter_etl import __version__
from reporter_etl.commands.exits import EXIT_INTERRUPTED, EXIT_OK, EXIT_USAGE, exit_code_for

# Modules that provide `register(subparsers)`; a module that does not exist yet is skipped so that command
# groups can land one issue at a time.
COMMAND_MODULES = (
    "reporter_etl.simulator.cli",
    "reporter_etl.commands.sync",
    "reporter_etl.commands.status",
    "reporter_etl.commands.demo",
    "reporter_etl.commands.query",
    "reporter_etl.commands.labels",
    "reporter_etl.commands.clients",
    "reporter_etl.commands.experiments",
    "reporter_etl.commands.reports",
    "reporter_etl.commands.stats",
    "reporter_etl.commands.models",
    "reporter_etl.commands.export",
    "reporter_etl.commands.check",
)

def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="reporter-etl",
        description="Copy Tovie Platform (JAICP) Reporter API data into a DuckDB warehouse, and script the API.",
    )
    parser.add_argument("--version", action="version", version=f"reporter-etl {__version__}")
    parser.add_argument("-v", "--verbose", action="count", default=0, help="more log output (-vv for debug)")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for module_name in COMMAND_MODULES:
        try:
            module = importlib.import_module(module_name)
        except ModuleNotFoundError as exc:
            if exc.name == module_name:
                continue
            raise
        module.register(subparsers)
    return parser


def configure_logging(verbosity: int) -> None:
    level = logging.WARNING if verbosity == 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", stream=sys.stderr)


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.verbose)
    handler = getattr(args, "handler", None)
    if handler is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return int(handler(args) or EXIT_OK)
    except KeyboardInterrupt:
        print("interrupted", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as exc:
        outcome = exit_code_for(exc)
        if outcome is None:
            raise
        code, line = outcome
        print(line, file=sys.stderr)
        return code


if __name__ == "__main__":
    sys.exit(main())
