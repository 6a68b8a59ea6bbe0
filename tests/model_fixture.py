"""A small hand-made warehouse for the mart tests: six sessions in Europe/Berlin around the spring DST change.

Times are UTC; Berlin is UTC+1 until 2026-03-29 01:00 UTC and UTC+2 after it, so 2026-03-29 is a 23-hour day.

    S1 b1 c1  start 03-28 22:50Z (23:50 local 28th): /start, then two phrases after local midnight (29th)
    S2 b1 c2  start 03-29 00:30Z (01:30 CET, 29th): /start and a timeLimit event only: an empty session
    S3 b1 c1  start 03-29 10:00Z (12:00 CEST, 29th): two phrases, then an operator answers: transferred;
              its session label "Needs review" arrives late (stage two)
    S4 b1 c3  start 03-28 09:00Z (28th): one phrase; resumed 03-30 08:00Z (stage two) with a /NoMatch phrase
    S5 b2 c4  telephony, incoming, 03-30 07:00Z: one phrase and a hangup
    S6 b2 c5  telephony, outgoing, 03-30 08:00Z: a hangup only (empty); c5 has no raw.clients row
    S0 b1 c6  03-26 12:00Z: one phrase, two days before everything else (outside the late data's day range);
              c6 has no raw.clients row either
Experiments: exp-a (running; ctrl, new), exp-stop (stopped; x, y).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import duckdb

from reporter_etl.models import ExperimentConfig, ModelsConfig

TZ = "Europe/Berlin"
P = "p"
CONFIG = ModelsConfig(
    timezone=TZ,
    success_result="Order placed",
    outcome_label="Needs review",
    experiments={"exp-a": ExperimentConfig(control="ctrl", split={"ctrl": 0.5, "new": 0.5})},
)


def t(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def _message(mid: str, sid: str, at: str, *, question: str | None = None, answer: str | None = None,
             event: str | None = None, nlp_class: str | None = None, rule: str | None = None,
             confidence: float | None = None, proc: int = 10, operator: str | None = None,
             live: bool = False) -> dict[str, Any]:  # fmt: skip
    return {"question_id": mid, "session_id": sid, "message_time": t(at), "question": question, "text_answer": answer,
            "event": event, "nlp_class": nlp_class, "nlp_rule": rule, "nlp_confidence": confidence,
            "processing_time_ms": proc, "operator_id": operator, "is_livechat": live}  # fmt: skip


SESSIONS = {
    # session_id: bot, channel, client, start, duration_ms, result, livechat, incoming, session_data
    "S0": ("b1", "chatwidget", "c6", "2026-03-26 12:00:00", 0, None, False, None, {}),
    "S1": ("b1", "chatwidget", "c1", "2026-03-28 22:50:00", 1_800_000, "Order placed", False, None,
           {"experiment.exp-a": "ctrl"}),
    "S2": ("b1", "chatwidget", "c2", "2026-03-29 00:30:00", 1_200_000, None, False, None,
           {"experiment.exp-a": "new"}),
    "S3": ("b1", "chatwidget", "c1", "2026-03-29 10:00:00", 300_000, "Transferred to operator", True, None,
           {"experiment.exp-a": "new", "experiment.exp-stop": "y", "lang": "en"}),
    "S4": ("b1", "chatwidget", "c3", "2026-03-28 09:00:00", 0, None, False, None,
           {"experiment.exp-a": "ctrl", "experiment.exp-stop": "x"}),
    "S5": ("b2", "resterisk", "c4", "2026-03-30 07:00:00", 60_000, "Answered by bot", False, True, {}),
    "S6": ("b2", "resterisk", "c5", "2026-03-30 08:00:00", 5_000, "No answer", False, False, {}),
}
S4_RESUMED_DURATION_MS = 169_200_000  # 03-28 09:00Z to 03-30 08:00Z

MESSAGES = [
    _message("m0", "S0", "2026-03-26 12:00:00", question="hello", answer="Hello!", nlp_class="/Greeting",
             rule="greeting", confidence=0.9, proc=100),
    _message("m1", "S1", "2026-03-28 22:50:00", question="/start", answer="Hi!", nlp_class="/start", proc=10),
    _message("m2", "S1", "2026-03-28 23:10:00", question="hello", answer="Hello!", nlp_class="/Greeting",
             rule="greeting", confidence=0.9, proc=100),
    _message("m3", "S1", "2026-03-28 23:20:00", question="where is my order", answer="Sorry?",
             nlp_class="/CatchAll", proc=200),
    _message("m4", "S2", "2026-03-29 00:30:00", question="/start", answer="Hi!", nlp_class="/start", proc=10),
    _message("m5", "S2", "2026-03-29 00:50:00", event="timeLimit", proc=5),
    _message("m6", "S3", "2026-03-29 10:00:00", question="hi", answer="Hello!", nlp_class="/Greeting",
             rule="greeting", confidence=0.8, proc=50),
    _message("m7", "S3", "2026-03-29 10:01:00", question="operator please", answer="Connecting you",
             nlp_class="/Operator", rule="operator", confidence=0.95, proc=150, live=True),
    _message("m8", "S3", "2026-03-29 10:05:00", question="thanks", answer="You're welcome", proc=20,
             operator="op1", live=True),
    _message("m9", "S4", "2026-03-28 09:00:00", question="order status", answer="It ships", nlp_class="/Order/Status",
             rule="order.status", confidence=0.7, proc=300),
    _message("m11", "S5", "2026-03-30 07:00:00", question="hello i need help", answer="How can I help?",
             nlp_class="/Greeting", rule="greeting", confidence=0.6, proc=250),
    _message("m12", "S5", "2026-03-30 07:01:00", event="hangup", proc=5),
    _message("m13", "S6", "2026-03-30 08:00:00", event="hangup", proc=5),
]  # fmt: skip
RESUMED_MESSAGE = _message("m10", "S4", "2026-03-30 08:00:00", question="thanks", answer="Anything else?",
                           nlp_class="/NoMatch", proc=400)  # fmt: skip

CLIENTS = [
    # client, bot, channel, join, last visit, blocked
    ("c1", "b1", "chatwidget", "2026-03-28 22:50:00", "2026-03-29 10:05:00", False),
    ("c2", "b1", "chatwidget", "2026-03-29 00:30:00", "2026-03-29 00:50:00", False),
    ("c3", "b1", "chatwidget", "2026-03-20 10:00:00", "2026-03-30 08:00:00", True),  # joined before the history
    ("c4", "b2", "resterisk", "2026-03-30 07:00:00", "2026-03-30 07:01:00", False),
]


def _insert(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]]) -> None:
    for row in rows:
        columns = ", ".join(f'"{c}"' for c in row)
        marks = ", ".join("?" for _ in row)
        con.execute(f"INSERT INTO raw.{table} ({columns}) VALUES ({marks})", list(row.values()))


def _loaded(run: str) -> dict[str, Any]:
    return {"_loaded_at": datetime.now(UTC), "_sync_run_id": run}


def _session_row(sid: str, run: str, duration_ms: int | None = None) -> dict[str, Any]:
    bot, channel, client, start, duration, result, live, incoming, _ = SESSIONS[sid]
    return {"session_id": sid, "project_short_name": P, "channel_type": channel, "bot_id": bot, "client_id": client,
            "start_time": t(start), "duration_ms": duration if duration_ms is None else duration_ms,
            "session_result": result, "is_livechat": live, "is_call_incoming": incoming, **_loaded(run)}  # fmt: skip


def _message_row(message: dict[str, Any], run: str) -> dict[str, Any]:
    bot, channel, client, start, *_ = SESSIONS[message["session_id"]]
    return {**message, "project_short_name": P, "channel_type": channel, "bot_id": bot, "client_id": client,
            "session_start_time": t(start), **_loaded(run)}  # fmt: skip


def _set_session_data(con: duckdb.DuckDBPyConnection, sid: str) -> None:
    data = SESSIONS[sid][8]
    con.execute("UPDATE raw.sessions SET session_data = MAP(?::VARCHAR[], ?::VARCHAR[]) WHERE session_id = ?",
                [list(data), list(data.values()), sid])  # fmt: skip


def load_stage_one(con: duckdb.DuckDBPyConnection) -> None:
    """Everything but the late data: S4 not yet resumed, S3 without its late label."""
    run = "run1"
    _insert(con, "sessions", [_session_row(sid, run) for sid in SESSIONS])
    for sid in SESSIONS:
        _set_session_data(con, sid)
    _insert(con, "messages", [_message_row(m, run) for m in MESSAGES])
    _insert(con, "clients", [
        {"client_id": c, "account_id": 1, "project_short_name": P, "channel_type": ch, "bot_id": b,
         "last_session_id": "x", "join_date": t(j), "last_visit_date": t(v), "is_blocked": blocked,
         "block_reason": "Spam" if blocked else None, **_loaded(run)}
        for c, b, ch, j, v, blocked in CLIENTS
    ])  # fmt: skip
    _insert(con, "session_label_links", [
        {"project_short_name": P, "session_id": "S2", "label_id": 2004, "label_name": "Spam", **_loaded(run)}])
    _insert(con, "message_label_links", [
        {"project_short_name": P, "question_id": "m7", "label_id": 1002, "label_name": "Wrong intent",
         "group_id": 101, "group_name": "Quality", **_loaded(run)}])  # fmt: skip
    for key, status, branches in (("exp-a", "RUNNING", ["ctrl", "new"]), ("exp-stop", "STOPPED", ["x", "y"])):
        con.execute(
            "INSERT INTO raw.experiments (project_short_name, experiment_key, description, status, branches, "
            "_loaded_at, _sync_run_id) "
            "VALUES (?, ?, ?, ?, ?::STRUCT(\"key\" VARCHAR, description VARCHAR)[], now(), ?)",
            [P, key, f"{key} test", status, [{"key": b, "description": b} for b in branches], run],
        )


def load_stage_two(con: duckdb.DuckDBPyConnection) -> str:
    """The late data, loaded the way a sync loads it (the touched sessions re-loaded under a new run id)."""
    run = "run2"
    con.execute("DELETE FROM raw.sessions WHERE session_id IN ('S3', 'S4')")
    _insert(con, "sessions", [_session_row("S3", run), _session_row("S4", run, S4_RESUMED_DURATION_MS)])
    _set_session_data(con, "S3")
    _set_session_data(con, "S4")
    _insert(con, "messages", [_message_row(RESUMED_MESSAGE, run)])
    _insert(con, "session_label_links", [
        {"project_short_name": P, "session_id": "S3", "label_id": 2002, "label_name": "Needs review", **_loaded(run)}])
    _insert(con, "message_label_links", [
        {"project_short_name": P, "question_id": "m10", "label_id": 1004, "label_name": "Delivery",
         "group_id": 102, "group_name": "Topics", **_loaded(run)}])  # fmt: skip
    return run
