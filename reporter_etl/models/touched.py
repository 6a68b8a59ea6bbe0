"""Which local days a sync changed, so that the daily marts are rebuilt for those days only.

A window's rows belong to its day, but the daily marts count a session on the day it started and a client on the
day they were first seen: a resumed session or a late result re-loads a session that started days earlier.  The
rows a run loaded carry its run id, so their local days can be read back.  The range runs to the latest day with
data, because a client's first day moving changes "new" and "returning" on every later day of theirs.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date

import duckdb

TOUCHED_SQL = """
with settings as (select coalesce(getvariable('timezone'), 'UTC') as tz),
run_days as (
    select timezone(tz, start_time)::date as day from raw.sessions, settings where _sync_run_id = $run_id
    union all
    select timezone(tz, message_time)::date from raw.messages, settings where _sync_run_id = $run_id
    union all
    select timezone(tz, join_date)::date from raw.clients, settings where _sync_run_id = $run_id
)
select min(day), max(day) from run_days
"""

LAST_DAY_SQL = """
select timezone(coalesce(getvariable('timezone'), 'UTC'), max(message_time))::date from raw.messages
"""


def touched_range(
    con: duckdb.DuckDBPyConnection, run_id: str, window_days: Iterable[date], timezone: str
) -> tuple[date, date] | None:
    """The day range to rebuild after run ``run_id`` (None when it changed nothing)."""
    con.execute("SET VARIABLE timezone = ?", [timezone])
    first, last = con.execute(TOUCHED_SQL, {"run_id": run_id}).fetchone()
    days = [d for d in (first, last, *window_days) if d is not None]
    if not days:
        return None
    latest = con.execute(LAST_DAY_SQL).fetchone()[0]
    return min(days), max([*days, *([latest] if latest else [])])
