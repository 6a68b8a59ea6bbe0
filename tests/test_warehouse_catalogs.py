from datetime import UTC, date, datetime, timedelta

import duckdb
import pytest

from reporter_etl.warehouse import (
    BatchSchemaError,
    LoadError,
    Warehouse,
    catalog_table,
    open_readonly,
    warehouse_status,
)
from tests.warehouse_rows import day, load_window, message, messages


@pytest.fixture
def wh(fresh_warehouse):
    with Warehouse.open(fresh_warehouse) as warehouse:
        yield warehouse


def rows(wh, sql):
    return wh.con.execute(sql).fetchall()


def label(label_id, name, group_id=10):
    return {"id": label_id, "name": name, "priority": label_id, "group": {"id": group_id, "name": "g", "priority": 1}}


def test_catalog_refresh_replaces_the_project_rows(wh):
    run1, run2 = wh.begin_run("p1"), wh.begin_run("p2")
    wh.replace_catalogs("p2", run2, message_labels=[label(1, "other project")])
    wh.replace_catalogs(
        "p1", run1,
        message_labels=[label(1, "price"), label(2, "refund")],
        label_groups=[{"id": 10, "name": "g", "priority": 1}],
        session_labels=[{"id": 5, "name": "resolved", "priority": 0}],
        experiments=[{"key": "e1", "description": "greeting", "status": "RUNNING",
                      "branches": [{"key": "a", "description": "short"}, {"key": "b"}]}],
        experiment_session_counts=[{"key": "e1", "count": 42}],
    )
    counts = wh.replace_catalogs("p1", run1, message_labels=[label(2, "refund (renamed)")])
    assert counts == {"message_labels": 1}
    assert rows(wh, "SELECT project_short_name, label_id, name, group_id FROM raw.message_labels ORDER BY 1") == [
        ("p1", 2, "refund (renamed)", 10), ("p2", 1, "other project", 10),
    ]
    # Catalogs not named in a refresh stay as they were.
    assert rows(wh, "SELECT name FROM raw.session_labels") == [("resolved",)]
    assert rows(wh, "SELECT experiment_key, status, branches[2].key FROM raw.experiments") == [("e1", "RUNNING", "b")]
    assert rows(wh, "SELECT session_count FROM raw.experiment_session_counts") == [(42,)]
    assert wh.replace_catalogs("p1", run1, session_labels=[]) == {"session_labels": 0}
    assert rows(wh, "SELECT count(*) FROM raw.session_labels") == [(0,)]


def test_unknown_catalog_fields_are_kept_and_missing_required_ones_refused(wh):
    run = wh.begin_run("p1")
    wh.replace_catalogs("p1", run, session_labels=[{"id": 5, "name": "x", "priority": 0, "color": "red"}])
    assert rows(wh, "SELECT extra FROM raw.session_labels") == [('{"color":"red"}',)]
    with pytest.raises(BatchSchemaError, match="'name'"):
        wh.replace_catalogs("p1", run, session_labels=[{"id": 6, "priority": 0}])
    with pytest.raises(BatchSchemaError, match="session_labels"):
        wh.replace_catalogs("p1", run, session_labels=[{"id": "six", "name": "y"}])


def test_catalog_refresh_is_one_transaction(wh):
    run = wh.begin_run("p1")
    wh.replace_catalogs("p1", run, message_labels=[label(1, "price")], session_labels=[{"id": 5, "name": "a"}])
    # The second catalog fails inside the transaction (NOT NULL name), after the first was rewritten.
    bad = catalog_table("session_labels", [{"id": 6, "name": "b"}]).set_column(1, "name", [[None]])
    with pytest.raises(duckdb.ConstraintException, match="name"):
        wh.replace_catalogs("p1", run, message_labels=[label(3, "new")], session_labels=bad)
    assert rows(wh, "SELECT label_id FROM raw.message_labels") == [(1,)]
    assert rows(wh, "SELECT label_id FROM raw.session_labels") == [(5,)]


def test_duplicate_catalog_ids_keep_the_last(wh):
    run = wh.begin_run("p1")
    wh.replace_catalogs("p1", run, message_labels=[label(1, "first"), label(1, "second")])
    assert rows(wh, "SELECT name FROM raw.message_labels") == [("second",)]


def test_daily_stats_are_upserted_by_metric_dimension_and_day(wh):
    run = wh.begin_run("p1")
    fetched = datetime(2024, 5, 3, tzinfo=UTC)
    wh.upsert_daily_stats("p1", run, [
        {"metric": "messages", "day": "2024-05-01", "value": 10},
        {"metric": "messages", "day": date(2024, 5, 2), "value": 20},
        {"metric": "log_labels", "dimension": "7", "day": "2024-05-01", "value": 3, "tz_offset_minutes": 180},
    ], fetched_at=fetched)
    wh.upsert_daily_stats("p1", run, [{"metric": "messages", "day": "2024-05-02", "value": 21}])
    assert rows(wh, "SELECT metric, dimension, day, value FROM raw.api_daily_stats ORDER BY 1, 2, 3") == [
        ("log_labels", "7", date(2024, 5, 1), 3.0),
        ("messages", "", date(2024, 5, 1), 10.0),
        ("messages", "", date(2024, 5, 2), 21.0),
    ]
    assert rows(wh, "SELECT fetched_at FROM raw.api_daily_stats WHERE value = 10") == [(fetched,)]
    assert wh.runs("p1")[0].rows_per_entity == {"api_daily_stats": 3 + 1}  # rows written, counted per upsert


def test_runs_history_and_status_summary(tmp_path):
    path = tmp_path / "w.duckdb"
    start, end = day(0)
    now = end + timedelta(hours=5)
    with Warehouse.open(path) as wh:
        old = wh.begin_run("p1", run_id="run-1", requested_start=start, requested_end=end)
        wh.finish_run(old, status="failed", error_message="HTTP 401: the token was refused")
        run = wh.begin_run("p1", run_id="run-2", requested_start=start, requested_end=end)
        load_window(wh, "p1", start, end, run, {"messages": messages(message("q1"), message("q2"))})
        wh.finish_run(run, request_count=7)
        with pytest.raises(ValueError, match="finishes as"):
            wh.finish_run(run, status="running")
        with pytest.raises(LoadError, match="unknown"):
            wh.finish_run("run-3")
        live = wh.status(now=now)
        assert live.writer is not None and live.writer["run_id"] == "run-2"
        history = [(r.run_id, r.status, r.request_count, r.rows_per_entity) for r in wh.runs("p1")]
    assert history[0] == ("run-2", "succeeded", 7, {"messages": 2})
    assert history[1][:2] == ("run-1", "failed")
    summary = warehouse_status(path, now=now)
    assert summary.writer is None
    (project,) = summary.projects
    assert project.project == "p1"
    assert project.table_rows["raw.messages"] == 2
    assert project.progress["messages"].windows_done == 1
    assert project.latest_done_end == end
    assert project.behind == timedelta(hours=5)
    assert project.last_run.run_id == "run-2"
    plain = summary.as_plain()
    assert plain["projects"][0]["behind"] == 5 * 3600
    assert plain["projects"][0]["latest_done_end"] == end.isoformat()
    con = open_readonly(path)
    assert con.execute("SELECT count(*) FROM raw.messages").fetchall() == [(2,)]
    con.close()
