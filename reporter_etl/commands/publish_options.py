"""`--publish PATH` / `--no-publish` for the commands that build models (`models build`, `sync`)."""

from __future__ import annotations

import argparse
from pathlib import Path

import duckdb

from reporter_etl.models import ModelsConfig, set_variables
from reporter_etl.models.docs import model_docs
from reporter_etl.publish import PUBLISHED_SUFFIX, default_publish_path, publish
from reporter_etl.warehouse import DEFAULT_LOCK_TIMEOUT_S, Warehouse


def add_publish_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group()
    group.add_argument("--publish", type=Path, metavar="PATH",
                       help="after the build, write a read-only copy of staging and marts for BI tools here "
                            f"(default: <db stem>{PUBLISHED_SUFFIX} beside the warehouse)")  # fmt: skip
    group.add_argument("--no-publish", action="store_true", help="do not write the published copy")


def publish_target(args: argparse.Namespace) -> Path | None:
    if getattr(args, "no_publish", False):
        return None
    return args.publish or default_publish_path(args.db)


def publish_after_build(con: duckdb.DuckDBPyConnection, args: argparse.Namespace) -> str | None:
    """Publish on the connection that built the models (it holds the writer lock); a line for the CLI to print."""
    target = publish_target(args)
    if target is None:
        return None
    descriptions = {doc.name: (doc.description, dict(doc.columns)) for doc in model_docs()}
    result = publish(con, target, source=str(Path(args.db).resolve()), descriptions=descriptions)
    return (f"published {len(result.rows)} tables ({sum(result.rows.values()):,} rows) to {result.path} "
            f"in {result.seconds:.1f} s")  # fmt: skip


def publish_warehouse(args: argparse.Namespace, config: ModelsConfig) -> str | None:
    """Publish after a build that has closed its connection: take the writer lock again, so nothing changes while
    the copy is written, and set the models' variables (the staging views read them)."""
    if publish_target(args) is None:
        return None
    with Warehouse.open(args.db, lock_timeout=getattr(args, "lock_timeout", DEFAULT_LOCK_TIMEOUT_S)) as wh:
        set_variables(wh.con, config.sql_variables())
        return publish_after_build(wh.con, args)
