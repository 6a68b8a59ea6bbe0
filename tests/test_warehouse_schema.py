import duckdb
import pytest

from reporter_etl.entities import ENTITIES
from reporter_etl.warehouse import (
    SCHEMA_VERSION,
    SchemaVersionError,
    Warehouse,
    current_writer,
    ensure_schema,
    open_readonly,
    schema_version,
)

RAW_TABLES = {
    "messages", "sessions", "clients", "message_label_links", "session_label_links", "message_labels",
    "message_label_groups", "session_labels", "experiments", "experiment_session_counts", "api_daily_stats",
}


def tables(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute("SELECT table_schema || '.' || table_name FROM information_schema.tables").fetchall()
    return {r[0] for r in rows}


def test_schema_creation_is_idempotent_and_versioned(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        first = tables(wh.con)
        assert ensure_schema(wh.con) == SCHEMA_VERSION
        assert ensure_schema(wh.con) == SCHEMA_VERSION
        assert tables(wh.con) == first
        assert wh.con.execute("SELECT count(*) FROM meta.schema_version").fetchall() == [(SCHEMA_VERSION,)]
    with Warehouse.open(path) as wh:  # reopening an existing file migrates nothing
        assert tables(wh.con) == first
        assert wh.con.execute("SELECT version FROM meta.schema_version").fetchall() == [(1,)]
    assert {f"raw.{t}" for t in RAW_TABLES} | {"meta.sync_state", "meta.sync_runs", "meta.schema_version"} == first


@pytest.mark.parametrize("entity", sorted(ENTITIES))
def test_raw_tables_follow_the_column_contract(tmp_path, entity):
    contract = ENTITIES[entity]
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        wh.con.register("contract", contract.schema.empty_table())
        expected = [(name, kind) for name, kind, *_ in wh.con.execute("DESCRIBE contract").fetchall()]
        actual = wh.con.execute(
            "SELECT column_name, data_type, is_nullable FROM information_schema.columns "
            "WHERE table_schema = 'raw' AND table_name = ? ORDER BY ordinal_position",
            [entity],
        ).fetchall()
    assert [(name, kind) for name, kind, _ in actual] == expected + [
        ("_loaded_at", "TIMESTAMP WITH TIME ZONE"),
        ("_sync_run_id", "VARCHAR"),
    ]
    nullable = {name: flag == "YES" for name, _, flag in actual}
    assert {c.name: c.nullable for c in contract.columns} == {c.name: nullable[c.name] for c in contract.columns}


def test_a_newer_schema_is_refused_and_the_lock_released(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path) as wh:
        wh.con.execute("INSERT INTO meta.schema_version VALUES (99, 'from the future', now(), '9.9')")
    with pytest.raises(SchemaVersionError, match="99"):
        Warehouse.open(path)
    assert current_writer(path) is None
    con = open_readonly(path)
    assert schema_version(con) == 99
    con.close()
