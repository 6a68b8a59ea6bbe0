"""Rows of the column contract for warehouse tests: readable single rows, and bulk ones for the crash tests."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

import numpy as np
import pyarrow as pa

from reporter_etl.entities import CLIENTS, MESSAGES, SESSIONS, Entity
from reporter_etl.warehouse import Warehouse, WindowLoaded

DAY = datetime(2024, 5, 1, tzinfo=UTC)
ONE_DAY = timedelta(days=1)


def day(n: int) -> tuple[datetime, datetime]:
    """The window [DAY + n days, DAY + n+1 days)."""
    return DAY + n * ONE_DAY, DAY + (n + 1) * ONE_DAY


def _blank(contract: Entity) -> dict[str, Any]:
    return {name: None for name in contract.schema.names}


def message_label(label_id: int, name: str | None = None, group_id: int = 1) -> dict[str, Any]:
    return {
        "id": label_id, "name": name or f"label {label_id}", "priority": 0,
        "group_id": group_id, "group_name": f"group {group_id}", "group_priority": 0,
    }


def session_label(label_id: int, name: str | None = None) -> dict[str, Any]:
    return {"id": label_id, "name": name or f"session label {label_id}", "priority": 0}


def message(
    question_id: str,
    *,
    project: str = "p1",
    session_id: str = "s1",
    at: datetime = DAY + timedelta(hours=1),
    question: str = "hello",
    labels: list[dict[str, Any]] | None = None,
    bot_id: str = "bot-1",
) -> dict[str, Any]:
    row = _blank(MESSAGES)
    row.update(
        question_id=question_id, session_id=session_id, project_short_name=project, channel_type="chatwidget",
        bot_id=bot_id, client_id="c1", session_start_time=at, message_time=at, is_livechat=False,
        question=question, labels=labels or [], session_labels=[],
    )
    return row


def session(
    session_id: str,
    *,
    project: str = "p1",
    start: datetime = DAY + timedelta(hours=1),
    labels: list[dict[str, Any]] | None = None,
    result: str | None = None,
) -> dict[str, Any]:
    row = _blank(SESSIONS)
    row.update(
        session_id=session_id, project_short_name=project, channel_type="chatwidget", bot_id="bot-1",
        client_id="c1", start_time=start, question_count=1, is_livechat=False, labels=labels or [],
        session_result=result, session_data={"experiment.e1": "a"},
    )
    return row


def client(
    client_id: str, *, project: str = "p1", bot_id: str | None = "bot-1", blocked: bool = False
) -> dict[str, Any]:
    row = _blank(CLIENTS)
    row.update(
        client_id=client_id, account_id=1001, project_short_name=project, channel_type="chatwidget",
        bot_id=bot_id, last_session_id="s1", join_date=DAY, last_visit_date=DAY + timedelta(hours=1),
        is_blocked=blocked,
    )
    return row


def table(contract: Entity, rows: list[dict[str, Any]]) -> pa.Table:
    return pa.Table.from_pylist(rows, schema=contract.schema)


def messages(*rows: dict[str, Any]) -> pa.Table:
    return table(MESSAGES, list(rows))


def sessions(*rows: dict[str, Any]) -> pa.Table:
    return table(SESSIONS, list(rows))


def clients(*rows: dict[str, Any]) -> pa.Table:
    return table(CLIENTS, list(rows))


def many_messages(
    first: int, count: int, start: datetime, *, project: str = "p1", question: str = "bulk"
) -> pa.Table:
    """``count`` messages q-<first>.. spread over one hour from ``start``, each with one label."""
    numbers = np.arange(first, first + count)
    start_ms = int(start.timestamp() * 1000)
    times = pa.array(start_ms + (numbers - first) * (3_600_000 // max(count, 1)), pa.timestamp("ms", tz="UTC"))
    columns: dict[str, pa.Array] = {field.name: pa.nulls(count, field.type) for field in MESSAGES.schema}
    columns.update(
        question_id=pa.array([f"q-{i}" for i in numbers]),
        session_id=pa.array([f"s-{i // 5}" for i in numbers]),
        project_short_name=pa.array([project] * count),
        channel_type=pa.array(["chatwidget"] * count),
        bot_id=pa.array(["bot-1"] * count),
        client_id=pa.array([f"c-{i // 15}" for i in numbers]),
        session_start_time=times,
        message_time=times,
        is_livechat=pa.array(np.zeros(count, dtype=bool)),
        question=pa.array([question] * count),
        labels=pa.array([[message_label(int(i % 3) + 1)] for i in numbers], MESSAGES.schema.field("labels").type),
    )
    return pa.table(columns, schema=MESSAGES.schema)


def load_window(
    wh: Warehouse, project: str, start: datetime, end: datetime, run_id: str, tables: Mapping[str, pa.Table]
) -> WindowLoaded:
    """Every entity of ``tables`` staged and committed as one window."""
    with wh.window_load(project, tables.keys(), start, end, run_id) as transaction:
        for entity, data in tables.items():
            transaction.add(entity, data)
    assert transaction.loaded is not None
    return transaction.loaded
