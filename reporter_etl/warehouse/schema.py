"""DDL of the warehouse, as numbered migrations recorded in ``meta.schema_version``.

A migration is frozen once released: change the schema by appending a new one, never by editing an old one.
The raw tables of the paged entities follow ``reporter_etl.api.records`` column for column (a test checks it),
plus ``_loaded_at`` and ``_sync_run_id``.  They carry no PRIMARY KEY: the loader keeps keys unique itself
(dedupe, then delete+insert in one transaction), which measured 2-5x faster than keeping an ART index up to date
on re-loaded windows, and allows the clients key to contain a NULL bot_id.  The small catalog and meta tables do
carry primary keys as a guard.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import duckdb

from reporter_etl import __version__
from reporter_etl.warehouse.errors import SchemaVersionError

log = logging.getLogger(__name__)

LOAD_COLUMNS = """
    _loaded_at TIMESTAMPTZ NOT NULL,
    _sync_run_id VARCHAR NOT NULL"""

MESSAGE_LABEL_SQL = (
    'STRUCT(id BIGINT, "name" VARCHAR, priority INTEGER, group_id BIGINT, group_name VARCHAR, group_priority INTEGER)'
)
SESSION_LABEL_SQL = 'STRUCT(id BIGINT, "name" VARCHAR, priority INTEGER)'

_V1 = [
    "CREATE SCHEMA IF NOT EXISTS raw",
    f"""
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
    labels {MESSAGE_LABEL_SQL}[],
    session_labels {SESSION_LABEL_SQL}[],
    cleaned BOOLEAN,
    comment VARCHAR,
    extra VARCHAR,{LOAD_COLUMNS}
)""",
    f"""
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
    labels {SESSION_LABEL_SQL}[],
    extra VARCHAR,{LOAD_COLUMNS}
)""",
    f"""
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
    extra VARCHAR,{LOAD_COLUMNS}
)""",
    # Link tables: one row per (object, label), derived from the LIST columns at load time.
    f"""
CREATE TABLE raw.message_label_links (
    project_short_name VARCHAR NOT NULL,
    question_id VARCHAR NOT NULL,
    label_id BIGINT NOT NULL,
    label_name VARCHAR,
    group_id BIGINT,
    group_name VARCHAR,{LOAD_COLUMNS}
)""",
    f"""
CREATE TABLE raw.session_label_links (
    project_short_name VARCHAR NOT NULL,
    session_id VARCHAR NOT NULL,
    label_id BIGINT NOT NULL,
    label_name VARCHAR,{LOAD_COLUMNS}
)""",
    # Catalogs: fully refreshed per project.
    f"""
CREATE TABLE raw.message_labels (
    project_short_name VARCHAR NOT NULL,
    label_id BIGINT NOT NULL,
    "name" VARCHAR NOT NULL,
    priority INTEGER,
    group_id BIGINT,
    group_name VARCHAR,
    group_priority INTEGER,
    extra VARCHAR,{LOAD_COLUMNS},
    PRIMARY KEY (project_short_name, label_id)
)""",
    f"""
CREATE TABLE raw.message_label_groups (
    project_short_name VARCHAR NOT NULL,
    group_id BIGINT NOT NULL,
    "name" VARCHAR NOT NULL,
    priority INTEGER,
    extra VARCHAR,{LOAD_COLUMNS},
    PRIMARY KEY (project_short_name, group_id)
)""",
    f"""
CREATE TABLE raw.session_labels (
    project_short_name VARCHAR NOT NULL,
    label_id BIGINT NOT NULL,
    "name" VARCHAR NOT NULL,
    priority INTEGER,
    extra VARCHAR,{LOAD_COLUMNS},
    PRIMARY KEY (project_short_name, label_id)
)""",
    f"""
CREATE TABLE raw.experiments (
    project_short_name VARCHAR NOT NULL,
    experiment_key VARCHAR NOT NULL,
    description VARCHAR,
    status VARCHAR,
    branches STRUCT("key" VARCHAR, description VARCHAR)[],
    extra VARCHAR,{LOAD_COLUMNS},
    PRIMARY KEY (project_short_name, experiment_key)
)""",
    f"""
CREATE TABLE raw.experiment_session_counts (
    project_short_name VARCHAR NOT NULL,
    experiment_key VARCHAR NOT NULL,
    session_count BIGINT NOT NULL,
    extra VARCHAR,{LOAD_COLUMNS},
    PRIMARY KEY (project_short_name, experiment_key)
)""",
    # The platform's own counts per local day, kept to reconcile the raw tables against.
    """
CREATE TABLE raw.api_daily_stats (
    project_short_name VARCHAR NOT NULL,
    metric VARCHAR NOT NULL,
    dimension VARCHAR NOT NULL DEFAULT '',
    day DATE NOT NULL,
    value DOUBLE,
    tz_offset_minutes INTEGER,
    fetched_at TIMESTAMPTZ NOT NULL,
    _sync_run_id VARCHAR NOT NULL,
    PRIMARY KEY (project_short_name, metric, dimension, day)
)""",
    """
CREATE TABLE meta.sync_state (
    project_short_name VARCHAR NOT NULL,
    entity VARCHAR NOT NULL,
    window_start TIMESTAMPTZ NOT NULL,
    window_end TIMESTAMPTZ NOT NULL,
    status VARCHAR NOT NULL,
    row_count BIGINT NOT NULL,
    completed_at TIMESTAMPTZ NOT NULL,
    run_id VARCHAR NOT NULL,
    PRIMARY KEY (project_short_name, entity, window_start, window_end)
)""",
    """
CREATE TABLE meta.sync_runs (
    run_id VARCHAR PRIMARY KEY,
    project_short_name VARCHAR NOT NULL,
    started_at TIMESTAMPTZ NOT NULL,
    finished_at TIMESTAMPTZ,
    status VARCHAR NOT NULL,
    requested_start TIMESTAMPTZ,
    requested_end TIMESTAMPTZ,
    rows_per_entity MAP(VARCHAR, BIGINT) NOT NULL,
    request_count BIGINT,
    error_message VARCHAR,
    host VARCHAR,
    pid INTEGER,
    reporter_etl_version VARCHAR
)""",
]


@dataclass(frozen=True)
class Migration:
    version: int
    description: str
    statements: tuple[str, ...]


MIGRATIONS: tuple[Migration, ...] = (
    Migration(1, "raw entity, link and catalog tables; meta sync state and runs", tuple(_V1)),
)
SCHEMA_VERSION = MIGRATIONS[-1].version


def schema_version(con: duckdb.DuckDBPyConnection) -> int:
    """The version recorded in the file; 0 for a file reporter-etl has not set up."""
    exists = con.execute(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'meta' AND table_name = 'schema_version'"
    ).fetchall()[0][0]
    if not exists:
        return 0
    return int(con.execute("SELECT coalesce(max(version), 0) FROM meta.schema_version").fetchall()[0][0])


def ensure_schema(con: duckdb.DuckDBPyConnection) -> int:
    """Bring the file up to ``SCHEMA_VERSION``; running it again changes nothing.  Returns the version."""
    con.execute("CREATE SCHEMA IF NOT EXISTS meta")
    con.execute(
        "CREATE TABLE IF NOT EXISTS meta.schema_version ("
        "version INTEGER PRIMARY KEY, description VARCHAR NOT NULL, applied_at TIMESTAMPTZ NOT NULL, "
        "reporter_etl_version VARCHAR)"
    )
    current = schema_version(con)
    if current > SCHEMA_VERSION:
        raise SchemaVersionError(
            f"the warehouse has schema version {current}, newer than the {SCHEMA_VERSION} this reporter-etl "
            f"({__version__}) knows: upgrade reporter-etl"
        )
    for migration in MIGRATIONS:
        if migration.version <= current:
            continue
        con.begin()
        try:
            for statement in migration.statements:
                con.execute(statement)
            con.execute(
                "INSERT INTO meta.schema_version VALUES (?, ?, now(), ?)",
                [migration.version, migration.description, __version__],
            )
            con.commit()
        except BaseException:
            con.rollback()
            raise
        log.info("warehouse schema migrated to version %d: %s", migration.version, migration.description)
    return SCHEMA_VERSION
