"""`reporter-etl clients block|unblock`."""

from __future__ import annotations

import argparse

from reporter_etl.api import ReporterClient
from reporter_etl.commands.api_common import api_command, command_group, connection_parent


def register(subparsers: argparse._SubParsersAction) -> None:
    plain = connection_parent(json_output=False)
    commands = command_group(subparsers, "clients", help="block or unblock a client of a bot")

    block = commands.add_parser("block", parents=[plain], help="block a client (the bot stops answering them)")
    block.add_argument("--bot", required=True, help="bot (channel) id, as in the botId field")
    block.add_argument("--client", required=True, help="client id")
    block.add_argument("--blocked-by", type=int, required=True, help="id of the user who blocks (the API needs it)")
    block.add_argument("--reason", help="block reason shown in the platform")
    block.set_defaults(handler=block_client)

    unblock = commands.add_parser("unblock", parents=[plain], help="unblock a client")
    unblock.add_argument("--bot", required=True, help="bot (channel) id")
    unblock.add_argument("--client", required=True, help="client id")
    unblock.set_defaults(handler=unblock_client)


@api_command
def block_client(args: argparse.Namespace, client: ReporterClient) -> int:
    client.block_client(args.bot, args.client, args.blocked_by, args.reason)
    print(f"blocked client {args.client} of bot {args.bot}")
    return 0


@api_command
def unblock_client(args: argparse.Namespace, client: ReporterClient) -> int:
    client.unblock_client(args.bot, args.client)
    print(f"unblocked client {args.client} of bot {args.bot}")
    return 0
