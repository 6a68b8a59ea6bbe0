"""Comparing a warehouse with the simulator's ground truth, column by column, without the code under test.

The truth side is read straight from the API-shaped dicts the World renders; the warehouse side with SQL.
Neither goes through reporter_etl.api.records, so a conversion bug shows up as a difference.
"""

from __future__ import annotations

from datetime import datetime
from pathlib import Path
from typing import Any

from reporter_etl.warehouse import open_readonly


def ms(text: str | None) -> int | None:
    if text is None:
        return None
    return int(datetime.fromisoformat(text.replace("Z", "+00:00")).timestamp() * 1000)


def label_ids(items: list[dict] | None) -> list[int]:
    return sorted(int(item["id"]) for item in items or [])


def truth_message_rows(world: Any, start: datetime, end: datetime) -> dict[str, tuple]:
    rows = {}
    for m in world.truth_messages(start, end):
        nlp = m.get("nlpInfo") or {}
        rows[m["questionId"]] = (
            m["sessionId"], m["projectShortName"], m["channelType"], m["botId"], m["client"]["id"],
            m["client"].get("firstName"), ms(m["timestamp"]), ms(m["sessionStartTime"]), m["isLivechat"],
            m.get("question"), m.get("textAnswer"), m.get("event"), nlp.get("nlpClass"), nlp.get("nlpState"),
            nlp.get("confidence"), m.get("processingTime"), m.get("comment"), (m.get("operatorInfo") or {}).get("id"),
            m.get("callTaskId"), m.get("isCallIncoming"), label_ids(m.get("labels")),
            label_ids(m.get("sessionLabels")),
        )  # fmt: skip
    return rows


MESSAGE_SQL = """
select question_id, session_id, project_short_name, channel_type, bot_id, client_id, client_first_name,
       epoch_ms(message_time), epoch_ms(session_start_time), is_livechat, question, text_answer, event, nlp_class,
       nlp_state, nlp_confidence, processing_time_ms, comment, operator_id, call_task_id, is_call_incoming,
       list_sort([l.id for l in labels]), list_sort([l.id for l in session_labels])
from raw.messages where project_short_name = ?
"""


def truth_session_rows(world: Any, start: datetime, end: datetime) -> dict[str, tuple]:
    rows = {}
    for s in world.truth_sessions(start, end):
        rows[s["sessionId"]] = (
            s["channelType"], s["botId"], s["client"]["id"], ms(s["startTime"]), s.get("firstQuestion"),
            s.get("lastQuestion"), s.get("questionCount"), s.get("duration"), s.get("sessionResult"),
            s["isLivechat"], s.get("callTaskId"), s.get("isCallIncoming"), label_ids(s.get("labels")),
            sorted((s.get("sessionData") or {}).items()),
        )  # fmt: skip
    return rows


SESSION_SQL = """
select session_id, channel_type, bot_id, client_id, epoch_ms(start_time), first_question, last_question,
       question_count, duration_ms, session_result, is_livechat, call_task_id, is_call_incoming,
       list_sort([l.id for l in labels]), session_data
from raw.sessions where project_short_name = ?
"""


def truth_client_rows(world: Any, start: datetime, end: datetime) -> dict[tuple[str, str], tuple]:
    rows = {}
    for c in world.truth_clients(start, end):
        rows[(c.get("botId"), c["id"])] = (
            c["channelType"], c.get("firstName"), c.get("username"), ms(c["joinDate"]), ms(c["lastVisitDate"]),
            c["isBlocked"], c.get("blockReason"), c["lastSessionId"],
        )  # fmt: skip
    return rows


CLIENT_SQL = """
select bot_id, client_id, channel_type, first_name, username, epoch_ms(join_date), epoch_ms(last_visit_date),
       is_blocked, block_reason, last_session_id
from raw.clients where project_short_name = ?
"""


def warehouse_rows(db: Path, project: str) -> tuple[dict, dict, dict, list[tuple]]:
    con = open_readonly(db)
    try:
        message_rows = con.execute(MESSAGE_SQL, [project]).fetchall()
        session_rows = con.execute(SESSION_SQL, [project]).fetchall()
        client_rows = con.execute(CLIENT_SQL, [project]).fetchall()
    finally:
        con.close()
    keys = [("messages", len(message_rows), len({r[0] for r in message_rows})),
            ("sessions", len(session_rows), len({r[0] for r in session_rows})),
            ("clients", len(client_rows), len({(r[0], r[1]) for r in client_rows}))]  # fmt: skip
    messages = {r[0]: tuple(r[1:]) for r in message_rows}
    sessions = {
        r[0]: (*r[1:14], sorted((r[14] or {}).items()) if isinstance(r[14], dict) else sorted(r[14] or []))
        for r in session_rows
    }
    clients = {(r[0], r[1]): tuple(r[2:]) for r in client_rows}
    return messages, sessions, clients, keys


def _diff(name: str, truth: dict, warehouse: dict) -> list[str]:
    problems = []
    missing = truth.keys() - warehouse.keys()
    extra = warehouse.keys() - truth.keys()
    if missing:
        problems.append(f"{name}: {len(missing)} missing, e.g. {sorted(missing, key=str)[:3]}")
    if extra:
        problems.append(f"{name}: {len(extra)} not in the truth, e.g. {sorted(extra, key=str)[:3]}")
    changed = [k for k in truth.keys() & warehouse.keys() if truth[k] != warehouse[k]]
    if changed:
        k = sorted(changed, key=str)[0]
        problems.append(
            f"{name}: {len(changed)} rows differ, e.g. {k}:\n  truth     {truth[k]}\n  warehouse {warehouse[k]}"
        )
    return problems


def truth_differences(db: Path, world: Any, start: datetime, end: datetime) -> tuple[list[str], dict[str, int]]:
    """How the raw tables differ from the ground truth of [start, end) (duplicate keys, missing or extra keys,
    differing values; each naming its table and an example key), and the rows each table holds.  A list, not an
    assertion, so bench/side_by_side.py can report the differences as its problems (and python -O keeps them)."""
    project = world.project_short_name
    messages, sessions, clients, keys = warehouse_rows(db, project)
    problems = [f"{table}: {rows} rows but {distinct} distinct keys" for table, rows, distinct in keys
                if rows != distinct]  # fmt: skip
    problems += _diff("messages", truth_message_rows(world, start, end), messages)
    problems += _diff("sessions", truth_session_rows(world, start, end), sessions)
    problems += _diff("clients", truth_client_rows(world, start, end), clients)
    return problems, {"messages": len(messages), "sessions": len(sessions), "clients": len(clients)}


def assert_equals_truth(db: Path, world: Any, start: datetime, end: datetime) -> dict[str, int]:
    """Every raw table equals the ground truth of [start, end): same keys, no duplicates, same values."""
    problems, counts = truth_differences(db, world, start, end)
    assert not problems, "\n".join(problems)
    return counts


def table_snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every raw table's rows (minus load bookkeeping), sorted: equal snapshots mean nothing changed."""
    con = open_readonly(db)
    try:
        tables = [r[0] for r in con.execute(
            "select table_name from information_schema.tables where table_schema = 'raw' order by 1").fetchall()]
        snapshot = {}
        for table in tables:
            columns = [r[0] for r in con.execute(
                "select column_name from information_schema.columns where table_schema = 'raw' and table_name = ? "
                "and column_name not in ('_loaded_at', '_sync_run_id', 'fetched_at') order by ordinal_position",
                [table]).fetchall()]  # fmt: skip
            listed = ", ".join(f'"{c}"' for c in columns)
            snapshot[table] = sorted(map(repr, con.execute(f"select {listed} from raw.{table}").fetchall()))
        return snapshot
    finally:
        con.close()
