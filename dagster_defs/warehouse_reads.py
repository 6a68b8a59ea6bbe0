"""Read-only questions the Dagster side asks the warehouse: previews for materializations, and the facts the
asset checks judge (duplicate keys, days done, per-day counts against the platform's, unknown API fields).

Local days are cut in Python (``reporter_etl.windows``) and handed to DuckDB as UTC bounds, the same way the
sync cuts them, so a check and the sync can never disagree about where a day starts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

import duckdb

from reporter_etl.warehouse import open_readonly
from reporter_etl.windows import day_window, day_windows, zone

# The natural key of every raw table one day window writes (one row per key after any number of loads).
NATURAL_KEYS: dict[str, tuple[str, ...]] = {
    "messages": ("question_id",),
    "sessions": ("session_id",),
    "clients": ("bot_id", "client_id"),
    "message_label_links": ("question_id", "label_id"),
    "session_label_links": ("session_id", "label_id"),
}
TABLES_WITH_EXTRA = ("messages", "sessions", "clients")
PREVIEW_COLUMNS = {
    "messages": ("message_time", "session_id", "channel_type", "question", "nlp_class"),
    "sessions": ("start_time", "session_id", "channel_type", "question_count", "session_result"),
    "clients": ("last_visit_date", "client_id", "channel_type", "is_blocked"),
}
PREVIEW_TIME = {"messages": "message_time", "sessions": "start_time", "clients": "last_visit_date"}
WAIT_FOR_WRITER_S = 60.0


def connect(db_path: str) -> duckdb.DuckDBPyConnection:
    return open_readonly(db_path, timeout=WAIT_FOR_WRITER_S)


def previews_markdown(db_path: str, tables: Iterable[str], project: str, first: date, last: date, tz_name: str,
                      limit: int = 5) -> dict[str, str]:  # fmt: skip
    """A few rows of the day range of each table as a Markdown table, read through one connection (a tenth of a
    small step's time went into opening the file once per table); tables without a preview or rows are left out."""
    tables = [table for table in tables if table in PREVIEW_COLUMNS]
    if not tables or not Path(db_path).exists():
        return {}
    tz = zone(tz_name)
    start, end = day_window(first, tz).start, day_window(last, tz).end
    con = connect(db_path)
    try:
        previews = {table: _preview(con, table, project, start, end, limit) for table in tables}
    finally:
        con.close()
    return {table: text for table, text in previews.items() if text is not None}


def _preview(con: duckdb.DuckDBPyConnection, table: str, project: str, start: datetime, end: datetime,
             limit: int) -> str | None:  # fmt: skip
    columns = PREVIEW_COLUMNS[table]
    frame = con.execute(
        f"SELECT {', '.join(columns)} FROM raw.{table} WHERE project_short_name = ? "
        f"AND {PREVIEW_TIME[table]} >= ? AND {PREVIEW_TIME[table]} < ? ORDER BY {PREVIEW_TIME[table]} LIMIT ?",
        [project, start, end, limit],
    ).df()
    if frame.empty:
        return None
    lines = ["| " + " | ".join(frame.columns) + " |", "|" + " --- |" * len(frame.columns)]
    for row in frame.itertuples(index=False):
        cells = [str(value).replace("|", "\\|").replace("\n", " ")[:60] for value in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def duplicate_keys(con: duckdb.DuckDBPyConnection, table: str, project: str, limit: int = 5) -> tuple[int, list]:
    """How many keys occur more than once, and a few of them."""
    key = ", ".join(NATURAL_KEYS[table])
    rows = con.execute(
        f"SELECT {key}, count(*) AS n FROM raw.{table} WHERE project_short_name = ? GROUP BY ALL HAVING n > 1 "
        f"ORDER BY n DESC, {key}",
        [project],
    ).fetchall()
    return len(rows), [list(r[:-1]) for r in rows[:limit]]


def done_days(con: duckdb.DuckDBPyConnection, project: str, tz_name: str) -> list[date]:
    """Local days whose window is done for messages, sessions and clients."""
    tz = zone(tz_name)
    rows = con.execute(
        "SELECT window_start FROM meta.sync_state WHERE project_short_name = ? AND status = 'done' "
        "AND entity IN ('messages', 'sessions', 'clients') GROUP BY ALL HAVING count(DISTINCT entity) = 3",
        [project],
    ).fetchall()
    return sorted({start.astimezone(tz).date() for (start,) in rows})


def missing_days(con: duckdb.DuckDBPyConnection, project: str, tz_name: str) -> tuple[list[date], list[date]]:
    """(days done, days between the first and the last done day that are not done)."""
    done = done_days(con, project, tz_name)
    if not done:
        return [], []
    every = [w.day for w in day_windows(done[0], done[-1], zone(tz_name))]
    return done, sorted(set(every) - set(done))


@dataclass(frozen=True)
class DayCount:
    day: date
    warehouse: int
    platform: int


def message_counts_against_platform(con: duckdb.DuckDBPyConnection, project: str, tz_name: str) -> list[DayCount]:
    """For every day the platform's count is stored: messages in the warehouse vs. the platform's count."""
    tz = zone(tz_name)
    stats = con.execute(
        "SELECT day, value FROM raw.api_daily_stats WHERE project_short_name = ? AND metric = 'messages' "
        "AND dimension = '' ORDER BY day",
        [project],
    ).fetchall()
    if not stats:
        return []
    windows = [day_window(day, tz) for day, _ in stats]
    counted = con.execute(
        "SELECT w.s, count(m.question_id) FROM (SELECT unnest($starts) AS s, unnest($ends) AS e) w "
        "LEFT JOIN raw.messages m ON m.project_short_name = $project AND m.message_time >= w.s "
        "AND m.message_time < w.e GROUP BY w.s",
        {"starts": [w.start for w in windows], "ends": [w.end for w in windows], "project": project},
    ).fetchall()
    by_start = {s.astimezone(UTC): int(n) for s, n in counted}
    return [DayCount(w.day, by_start.get(w.start, 0), int(value)) for w, (_, value) in zip(windows, stats, strict=True)]


def unknown_api_fields(con: duckdb.DuckDBPyConnection, table: str, project: str) -> dict[str, int]:
    """Field names the API sent that the column contract does not know (kept in ``extra``), with row counts."""
    rows = con.execute(
        f"SELECT field, count(*) FROM (SELECT unnest(json_keys(extra::JSON)) AS field FROM raw.{table} "
        "WHERE project_short_name = ? AND extra IS NOT NULL AND extra NOT IN ('', '{}', 'null')) GROUP BY ALL "
        "ORDER BY 1",
        [project],
    ).fetchall()
    return {str(name): int(count) for name, count in rows}
