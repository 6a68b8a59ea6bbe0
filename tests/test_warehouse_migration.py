"""How the raw tables of the entity descriptions reach existing warehouses: additively, never renaming or retyping.

``RELEASED_V1`` is the DDL of the described tables as schema version 1 shipped it (before the descriptions
generated it).  SQL models are written against these columns: a fresh warehouse must still have every one of
them, with the same type and nullability.  Never edit it.
"""

from __future__ import annotations

import dataclasses

import duckdb
import pyarrow as pa
import pytest

from reporter_etl.entities import ENTITIES, MESSAGES, Column
from reporter_etl.warehouse import SchemaVersionError, Warehouse, current_writer
from reporter_etl.warehouse.db import transaction
from reporter_etl.warehouse.schema import ensure_described_tables
from tests.warehouse_rows import day, load_window, message, messages

RELEASED_V1 = """
CREATE TABLE raw.messages (
    question_id VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    project_short_name VARCHAR NOT NULL,
    channel_type VARCHAR NOT NULL,
    bot_id VARCHAR NOT NULL,
    client_id VARCHAR NOT NULL,
    client_first_name VARCHAR,
    client_last_name VARCHAR,
    client_username VARCHAR,
    session_start_time TIMESTAMPTZ NOT NULL,
    message_time TIMESTAMPTZ NOT NULL,
    is_livechat BOOLEAN NOT NULL,
    question VARCHAR,
    text_answer VARCHAR,
    event VARCHAR,
    operator_id VARCHAR,
    operator_first_name VARCHAR,
    operator_last_name VARCHAR,
    operator_photo_url VARCHAR,
    operator_channel_type VARCHAR,
    nlp_class VARCHAR,
    nlp_state VARCHAR,
    nlp_from_state VARCHAR,
    nlp_pattern VARCHAR,
    nlp_effective_pattern VARCHAR,
    nlp_confidence DOUBLE,
    nlp_rule VARCHAR,
    nlp_rule_type VARCHAR,
    page_name VARCHAR,
    previous_page_name VARCHAR,
    call_task_id BIGINT,
    is_call_incoming BOOLEAN,
    request_data VARCHAR,
    data VARCHAR,
    response_data VARCHAR,
    utterances_json VARCHAR,
    exception VARCHAR,
    processing_time_ms INTEGER,
    labels STRUCT(id BIGINT, "name" VARCHAR, priority INTEGER, group_id BIGINT, group_name VARCHAR,
                  group_priority INTEGER)[],
    session_labels STRUCT(id BIGINT, "name" VARCHAR, priority INTEGER)[],
    cleaned BOOLEAN,
    comment VARCHAR,
    extra VARCHAR,
    _loaded_at TIMESTAMPTZ NOT NULL,
    _sync_run_id VARCHAR NOT NULL
);
CREATE TABLE raw.sessions (
    session_id VARCHAR NOT NULL,
    project_short_name VARCHAR NOT NULL,
    channel_type VARCHAR NOT NULL,
    bot_id VARCHAR NOT NULL,
    client_id VARCHAR NOT NULL,
    client_first_name VARCHAR,
    client_last_name VARCHAR,
    client_username VARCHAR,
    start_time TIMESTAMPTZ NOT NULL,
    first_question VARCHAR,
    last_question VARCHAR,
    question_count BIGINT,
    duration_ms BIGINT,
    call_task_id BIGINT,
    is_call_incoming BOOLEAN,
    session_result VARCHAR,
    audio_file_url VARCHAR,
    response_data VARCHAR,
    custom_fields VARCHAR,
    session_data MAP(VARCHAR, VARCHAR),
    is_livechat BOOLEAN NOT NULL,
    labels STRUCT(id BIGINT, "name" VARCHAR, priority INTEGER)[],
    extra VARCHAR,
    _loaded_at TIMESTAMPTZ NOT NULL,
    _sync_run_id VARCHAR NOT NULL
);
CREATE TABLE raw.clients (
    client_id VARCHAR NOT NULL,
    first_name VARCHAR,
    last_name VARCHAR,
    username VARCHAR,
    account_id BIGINT NOT NULL,
    project_short_name VARCHAR NOT NULL,
    channel_type VARCHAR NOT NULL,
    bot_id VARCHAR,
    last_session_id VARCHAR NOT NULL,
    join_date TIMESTAMPTZ NOT NULL,
    last_visit_date TIMESTAMPTZ NOT NULL,
    is_blocked BOOLEAN NOT NULL,
    block_reason VARCHAR,
    blocked_by BIGINT,
    block_date TIMESTAMPTZ,
    extra VARCHAR,
    _loaded_at TIMESTAMPTZ NOT NULL,
    _sync_run_id VARCHAR NOT NULL
);
CREATE TABLE raw.message_label_links (
    project_short_name VARCHAR NOT NULL,
    question_id VARCHAR NOT NULL,
    label_id BIGINT NOT NULL,
    label_name VARCHAR,
    group_id BIGINT,
    group_name VARCHAR,
    _loaded_at TIMESTAMPTZ NOT NULL,
    _sync_run_id VARCHAR NOT NULL
);
CREATE TABLE raw.session_label_links (
    project_short_name VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    label_id BIGINT NOT NULL,
    label_name VARCHAR,
    _loaded_at TIMESTAMPTZ NOT NULL,
    _sync_run_id VARCHAR NOT NULL
);
"""

COLUMNS_SQL = (
    "SELECT table_name, column_name, data_type, is_nullable FROM information_schema.columns "
    "WHERE table_schema = 'raw' AND table_name IN ('messages', 'sessions', 'clients', 'message_label_links', "
    "'session_label_links') ORDER BY table_name, ordinal_position"
)


def columns(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[str, str]]:
    return {(table, name): (kind, nullable) for table, name, kind, nullable in con.execute(COLUMNS_SQL).fetchall()}


def test_the_described_tables_keep_every_released_column_as_it_was(tmp_path) -> None:
    released_con = duckdb.connect()
    released_con.execute("CREATE SCHEMA raw")
    released_con.execute(RELEASED_V1)
    released = columns(released_con)
    released_con.close()
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        now = columns(wh.con)
    assert len(released) == 102  # the columns of the five CREATE TABLEs above
    changed = {key: (was, now.get(key)) for key, was in released.items() if now.get(key) != was}
    assert changed == {}, "a released column was renamed, retyped or made required"


def test_a_column_added_to_a_description_reaches_an_existing_warehouse(tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        run = wh.begin_run("p1")
        load_window(wh, "p1", *day(0), run, {"messages": messages(message("q1"), message("q2"))})
    sentiment = Column("sentiment_score", pa.float64(), "sentiment.score")
    extended = dataclasses.replace(MESSAGES, columns=(*MESSAGES.columns[:-1], sentiment, MESSAGES.columns[-1]))
    described = {**ENTITIES, "messages": extended}
    con = duckdb.connect(str(path))
    try:
        with transaction(con):
            assert ensure_described_tables(con, described) == ["added raw.messages.sentiment_score DOUBLE"]
        with transaction(con):
            assert ensure_described_tables(con, described) == []  # once is enough
        assert con.execute("SELECT question_id, sentiment_score FROM raw.messages ORDER BY 1").fetchall() == [
            ("q1", None), ("q2", None)]  # fmt: skip
    finally:
        con.close()


def test_a_warehouse_without_a_described_column_gets_it_back_on_open_and_keeps_its_rows(tmp_path) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        run = wh.begin_run("p1")
        load_window(wh, "p1", *day(0), run, {"messages": messages(message("q1"), message("q2"))})
        # As a file written before reporter-etl knew operatorInfo.channelType would be.
        wh.con.execute("ALTER TABLE raw.messages DROP COLUMN operator_channel_type")
    with Warehouse.open(path) as wh:
        assert wh.con.execute("SELECT question_id, operator_channel_type FROM raw.messages ORDER BY 1").fetchall() == [
            ("q1", None), ("q2", None)]  # fmt: skip
        run = wh.begin_run("p1")
        relabelled = messages({**message("q1"), "operator_channel_type": "telegram"})
        load_window(wh, "p1", *day(0), run, {"messages": relabelled})
        assert wh.con.execute("SELECT question_id, operator_channel_type FROM raw.messages ORDER BY 1").fetchall() == [
            ("q1", "telegram"), ("q2", None)]  # fmt: skip


@pytest.mark.parametrize(
    ("change", "complaint"),
    [
        ("ALTER TABLE raw.messages ALTER COLUMN comment TYPE INTEGER", "raw.messages.comment is INTEGER"),
        ("ALTER TABLE raw.sessions ADD COLUMN from_the_future VARCHAR", "newer version"),
    ],
)
def test_a_retyped_or_unknown_column_is_refused_and_the_lock_released(tmp_path, change, complaint) -> None:
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        wh.con.execute(change)
    with pytest.raises(SchemaVersionError, match=complaint):
        Warehouse.open(path)
    assert current_writer(path) is None
