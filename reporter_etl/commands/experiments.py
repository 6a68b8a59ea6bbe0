"""`reporter-etl experiments list|create|stop|delete|count`: scenario experiments (A/B tests)."""

from __future__ import annotations

import argparse

from reporter_etl.api import ReporterClient
from reporter_etl.commands.api_common import (
    api_command,
    command_group,
    connection_parent,
    print_json,
    print_table,
)
from reporter_etl.commands.exits import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    common = connection_parent()
    plain = connection_parent(json_output=False)
    commands = command_group(
        subparsers, "experiments", help="scenario experiments: list, create, stop, delete, count"
    )

    commands.add_parser("list", parents=[common], help="list experiments").set_defaults(handler=list_experiments)

    create = commands.add_parser("create", parents=[common], help="create an experiment")
    create.add_argument("key", help="experiment key")
    create.add_argument("--branch", action="append", required=True, metavar="KEY[=DESCRIPTION]",
                        help="a branch (repeat for each; at least two)")  # fmt: skip
    create.add_argument("--description", help="what the experiment tests")
    create.set_defaults(handler=create_experiment)

    for name, what in (("stop", "stop an experiment (sessions stop joining it)"), ("delete", "delete an experiment")):
        cmd = commands.add_parser(name, parents=[plain], help=what)
        cmd.add_argument("key", help="experiment key")
        cmd.set_defaults(handler=stop_experiment if name == "stop" else delete_experiment)

    commands.add_parser("count", parents=[common], help="sessions joined per experiment").set_defaults(
        handler=count_sessions
    )


@api_command
def list_experiments(args: argparse.Namespace, client: ReporterClient) -> int:
    experiments = client.list_experiments()
    if args.json:
        print_json(experiments)
    else:
        print_table("scenario experiments", ["key", "status", "branches", "description"],
                    [(e["key"], e.get("status"), ", ".join(b["key"] for b in e.get("branches", [])),
                      e.get("description")) for e in experiments])  # fmt: skip
    return 0


@api_command
def create_experiment(args: argparse.Namespace, client: ReporterClient) -> int:
    if len(args.branch) < 2:
        raise UsageError("an experiment needs at least two --branch options")
    branches = []
    for text in args.branch:
        key, _, description = text.partition("=")
        if not key:
            raise UsageError(f"branch {text!r} has no key")
        branches.append({"key": key, **({"description": description} if description else {})})
    created = client.create_experiment(args.key, branches, description=args.description)
    if args.json:
        print_json(created)
    else:
        print(f"created experiment {created.get('key', args.key)} ({created.get('status', 'status unknown')})")
    return 0


@api_command
def stop_experiment(args: argparse.Namespace, client: ReporterClient) -> int:
    client.stop_experiment(args.key)
    print(f"stopped experiment {args.key}")
    return 0


@api_command
def delete_experiment(args: argparse.Namespace, client: ReporterClient) -> int:
    client.delete_experiment(args.key)
    print(f"deleted experiment {args.key}")
    return 0


@api_command
def count_sessions(args: argparse.Namespace, client: ReporterClient) -> int:
    counts = client.count_experiment_sessions()
    if args.json:
        print_json(counts)
    else:
        print_table("sessions per experiment", ["experiment", "sessions"], [(c["key"], c["count"]) for c in counts])
    return 0
