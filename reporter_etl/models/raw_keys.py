"""Telling the staging views that the raw keys are unique, so that they can skip their deduplication.

The loader keeps the keys of the raw tables unique; the staging views deduplicate all the
same, as a guard against a broken load.  That guard is a window over every row, paid again by every model that
reads the view: on a million messages it was most of a full build.  Counting the keys once is a fraction of one
such window, so a whole build (or a publish) counts them first and, when no key is held twice, sets
``getvariable('raw_<table>_unique')``: the view's ``qualify <variable> or row_number() ... = 1`` then folds to
true and DuckDB drops the window.  Without the variable (a BI tool, the DuckDB CLI) the view deduplicates.  The
variables are reset on the way out, so a later load on the same connection is never trusted unchecked.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from contextlib import contextmanager

import duckdb

log = logging.getLogger(__name__)

# variable -> a query that is true when no key of the table is held twice (the key its staging view dedups by)
KEY_CHECKS = {
    f"raw_{table}_unique": f"select not exists (select 1 from raw.{table} group by {key} having count(*) > 1)"
    for table, key in (
        ("messages", "project_short_name, question_id, message_time"),
        ("sessions", "project_short_name, session_id, start_time"),
        ("clients", "project_short_name, bot_id, client_id"),
        ("session_label_links", "project_short_name, session_id, label_id"),
        ("message_label_links", "project_short_name, question_id, label_id"),
    )
}


@contextmanager
def checked_raw_keys(con: duckdb.DuckDBPyConnection, variables: Iterable[str] = tuple(KEY_CHECKS)) -> Iterator[None]:
    """Within the block, ``getvariable(name)`` says whether the raw table's keys are unique (checked on entry)."""
    names = list(variables)
    try:
        for name in names:
            try:
                unique = bool(con.execute(KEY_CHECKS[name]).fetchone()[0])
            except duckdb.CatalogException:  # no raw table: nothing to skip
                unique = False
            con.execute(f"SET VARIABLE {name} = ?", [unique])
            if not unique:
                log.warning("%s: a key is held more than once; the staging view deduplicates it", name)
        yield
    finally:
        for name in names:
            con.execute(f"RESET VARIABLE {name}")
