"""`reporter-etl labels`: the label catalog, and labelling sessions and messages."""

from __future__ import annotations

import argparse
from typing import Any

from reporter_etl.api import ReporterClient, message_time
from reporter_etl.commands.api_common import (
    api_command,
    command_group,
    connection_parent,
    instant_or_day,
    period,
    print_json,
    print_table,
)
from reporter_etl.commands.exits import UsageError


def register(subparsers: argparse._SubParsersAction) -> None:
    common = connection_parent()
    plain = connection_parent(json_output=False)
    commands = command_group(
        subparsers, "labels", help="list the label catalog; label sessions and messages",
        description="The project's label catalog (phrase labels in groups, session labels) and labelling of "
                    "sessions and messages.",
    )  # fmt: skip

    listing = commands.add_parser("list", parents=[common], help="show the label catalog")
    listing.add_argument("--kind", choices=("all", "message", "session", "groups"), default="all",
                         help="which part of the catalog (default all)")  # fmt: skip
    listing.set_defaults(handler=list_labels)

    for name, verb in (("add", "put a label on"), ("remove", "take a label off")):
        cmd = commands.add_parser(name, parents=[plain], help=f"{verb} one session or message")
        target = cmd.add_mutually_exclusive_group(required=True)
        target.add_argument("--session", metavar="SESSION_ID", help="the session (session labels)")
        target.add_argument("--message", metavar="QUESTION_ID", help="the message (phrase labels)")
        cmd.add_argument("--label", required=True, help="label id or exact name")
        cmd.set_defaults(handler=add_label if name == "add" else remove_label)

    bulk = commands.add_parser(
        "bulk", parents=[plain], help="put labels on many sessions or messages",
        description="Label every listed session/message, or every one active in a period (MESSAGE_TIME).",
    )  # fmt: skip
    kind = bulk.add_mutually_exclusive_group(required=True)
    kind.add_argument("--sessions", action="store_true", help="label sessions (session labels)")
    kind.add_argument("--messages", action="store_true", help="label messages (phrase labels)")
    bulk.add_argument("--label", action="append", required=True, help="label id or name (repeatable)")
    bulk.add_argument("--ids", nargs="+", metavar="ID", help="session ids or question ids")
    bulk.add_argument("--from", dest="start", type=instant_or_day, help="period start (date or date-time)")
    bulk.add_argument("--to", dest="end", type=instant_or_day, help="period end (a date includes the whole day)")
    bulk.set_defaults(handler=bulk_label)


def _catalog(client: ReporterClient, session: bool) -> list[dict[str, Any]]:
    return client.list_session_labels() if session else client.list_message_labels()


def resolve_label(client: ReporterClient, text: str, *, session: bool) -> int:
    if text.isdigit():
        return int(text)
    matches = [label for label in _catalog(client, session) if label.get("name") == text]
    kind = "session" if session else "message"
    if not matches:
        raise UsageError(f"no {kind} label is named {text!r} (see `reporter-etl labels list --kind {kind}`)")
    if len(matches) > 1:
        ids = ", ".join(str(m["id"]) for m in matches)
        raise UsageError(f"{len(matches)} {kind} labels are named {text!r} (ids {ids}); give the id")
    return int(matches[0]["id"])


@api_command
def list_labels(args: argparse.Namespace, client: ReporterClient) -> int:
    result: dict[str, Any] = {}
    if args.kind in ("all", "message"):
        result["messageLabels"] = client.list_message_labels()
    if args.kind in ("all", "groups"):
        result["messageLabelGroups"] = client.list_message_label_groups()
    if args.kind in ("all", "session"):
        result["sessionLabels"] = client.list_session_labels()
    if args.json:
        print_json(result)
        return 0
    if "messageLabels" in result:
        print_table("message (phrase) labels", ["id", "name", "priority", "group"],
                    [(x["id"], x["name"], x.get("priority"), (x.get("group") or {}).get("name"))
                     for x in result["messageLabels"]])  # fmt: skip
    if "messageLabelGroups" in result:
        print_table("message label groups", ["id", "name", "priority"],
                    [(x.get("id"), x["name"], x.get("priority")) for x in result["messageLabelGroups"]])  # fmt: skip
    if "sessionLabels" in result:
        print_table("session labels", ["id", "name", "priority"],
                    [(x["id"], x["name"], x.get("priority")) for x in result["sessionLabels"]])  # fmt: skip
    return 0


def _change(args: argparse.Namespace, client: ReporterClient, add: bool) -> int:
    session = args.session is not None
    label_id = resolve_label(client, args.label, session=session)
    if session:
        (client.add_session_label if add else client.remove_session_label)(args.session, label_id)
        what = f"session {args.session}"
    else:
        (client.add_message_label if add else client.remove_message_label)(args.message, label_id)
        what = f"message {args.message}"
    print(f"{'added' if add else 'removed'} label {label_id} {'to' if add else 'from'} {what}")
    return 0


@api_command
def add_label(args: argparse.Namespace, client: ReporterClient) -> int:
    return _change(args, client, add=True)


@api_command
def remove_label(args: argparse.Namespace, client: ReporterClient) -> int:
    return _change(args, client, add=False)


@api_command
def bulk_label(args: argparse.Namespace, client: ReporterClient) -> int:
    by_period = args.start is not None or args.end is not None
    if by_period == bool(args.ids):
        raise UsageError("give either --ids or a period (--from and --to)")
    if by_period and (args.start is None or args.end is None):
        raise UsageError("a period needs both --from and --to")
    session = bool(args.sessions)
    label_ids = [resolve_label(client, text, session=session) for text in args.label]
    filters = [message_time(*period(args.start, args.end))] if by_period else None
    ids = list(args.ids) if args.ids else None
    if session:
        client.bulk_label_sessions(label_ids, session_ids=ids, filters=filters)
    else:
        client.bulk_label_messages(label_ids, question_ids=ids, filters=filters)
    scope = f"{len(ids)} listed" if ids else f"all {'sessions' if session else 'messages'} of the period"
    print(f"labelled {scope} with label(s) {', '.join(map(str, label_ids))}")
    return 0
