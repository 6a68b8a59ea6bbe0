from datetime import timedelta

import duckdb
import pyarrow as pa
import pytest

from reporter_etl.warehouse import BatchSchemaError, LoadError, Warehouse
from tests.warehouse_rows import (
    DAY,
    client,
    clients,
    day,
    load_window,
    message,
    message_label,
    messages,
    session,
    session_label,
    sessions,
)


@pytest.fixture
def wh(fresh_warehouse):
    with Warehouse.open(fresh_warehouse) as warehouse:
        yield warehouse


def rows(wh, sql, params=None):
    return wh.con.execute(sql, params or []).fetchall()


def load(wh, run, window, **tables):
    return load_window(wh, "p1", *window, run, tables)


def test_same_batch_twice_leaves_the_same_table(wh):
    run = wh.begin_run("p1")
    batch = messages(message("q1"), message("q2", labels=[message_label(1)]))
    load(wh, run, day(0), messages=batch)
    first = rows(wh, "SELECT * EXCLUDE (_loaded_at) FROM raw.messages ORDER BY question_id")
    links = rows(wh, "SELECT * EXCLUDE (_loaded_at) FROM raw.message_label_links")
    load(wh, run, day(0), messages=batch)
    assert rows(wh, "SELECT * EXCLUDE (_loaded_at) FROM raw.messages ORDER BY question_id") == first
    assert rows(wh, "SELECT * EXCLUDE (_loaded_at) FROM raw.message_label_links") == links
    assert len(first) == 2 and len(links) == 1
    assert len(wh.window_states("p1")) == 1


def test_overlapping_windows_keep_one_row_per_key_the_newest(wh):
    run = wh.begin_run("p1")
    load(wh, run, day(0), messages=messages(message("q1", question="old"), message("q2")))
    # A lookback window that overlaps the first one re-reads q1 with a later version.
    overlap = (DAY + timedelta(hours=12), DAY + timedelta(hours=36))
    load(wh, run, overlap, messages=messages(message("q1", question="new"), message("q3")))
    assert rows(wh, "SELECT question_id, question FROM raw.messages ORDER BY 1") == [
        ("q1", "new"), ("q2", "hello"), ("q3", "hello"),
    ]


def test_duplicates_inside_one_window_keep_the_last(wh):
    run = wh.begin_run("p1")
    with wh.window_load("p1", ["messages"], *day(0), run) as window:
        window.add("messages", messages(message("q1", question="first"), message("q1", question="second")))
        window.add("messages", messages(message("q2"), message("q1", question="third")))
    assert window.loaded.rows == {"messages": 2}
    assert window.loaded.duplicates_dropped == {"messages": 2}
    assert rows(wh, "SELECT question_id, question FROM raw.messages ORDER BY 1") == [("q1", "third"), ("q2", "hello")]
    assert rows(wh, "SELECT row_count FROM meta.sync_state") == [(2,)]


def test_message_label_links_follow_label_changes(wh):
    run = wh.begin_run("p1")
    load(wh, run, day(0), messages=messages(
        message("q1", labels=[message_label(1), message_label(2), message_label(2)]),
        message("q2", labels=[message_label(1)]),
    ))
    links = "SELECT question_id, label_id FROM raw.message_label_links ORDER BY 1, 2"
    assert rows(wh, links) == [("q1", 1), ("q1", 2), ("q2", 1)]
    load(wh, run, day(0), messages=messages(message("q1", labels=[message_label(2, "renamed")])))
    assert rows(wh, links) == [("q1", 2), ("q2", 1)]
    assert rows(wh, "SELECT label_name, group_id FROM raw.message_label_links WHERE question_id = 'q1'") == [
        ("renamed", 1)
    ]
    load(wh, run, day(0), messages=messages(message("q1", labels=[])))
    assert rows(wh, links) == [("q2", 1)]
    # The LIST column stays beside the link table.
    assert rows(wh, "SELECT len(labels) FROM raw.messages ORDER BY question_id") == [(0,), (1,)]


def test_session_label_links_and_session_fields(wh):
    run = wh.begin_run("p1")
    load(wh, run, day(0), sessions=sessions(session("s1", labels=[session_label(5), session_label(6)])))
    load(wh, run, day(0), sessions=sessions(session("s1", labels=[session_label(6)], result="ok")))
    assert rows(wh, "SELECT session_id, label_id FROM raw.session_label_links") == [("s1", 6)]
    assert rows(wh, "SELECT session_result, session_data['experiment.e1'] FROM raw.sessions") == [("ok", "a")]


def test_clients_key_includes_bot_and_tolerates_a_null_bot(wh):
    run = wh.begin_run("p1")
    for blocked in (False, True):
        load(wh, run, day(0), clients=clients(
            client("c1", bot_id=None, blocked=blocked), client("c1", bot_id="bot-1"), client("c1", bot_id="bot-2"),
        ))
    assert rows(wh, "SELECT bot_id, is_blocked FROM raw.clients ORDER BY bot_id NULLS FIRST") == [
        (None, True), ("bot-1", False), ("bot-2", False),
    ]


def test_exception_inside_a_window_leaves_neither_rows_nor_state(wh):
    run = wh.begin_run("p1")
    load(wh, run, day(0), messages=messages(message("q1", question="kept")))
    with pytest.raises(RuntimeError, match="network"), wh.window_load("p1", ["messages"], *day(1), run) as window:
        window.add("messages", messages(message("q1", question="lost"), message("q2")))
        raise RuntimeError("network went away")
    assert rows(wh, "SELECT question_id, question FROM raw.messages") == [("q1", "kept")]
    assert [(r.window_start, r.window_end) for r in wh.window_states("p1")] == [day(0)]


def test_a_failure_inside_the_transaction_rolls_back_every_entity(wh):
    run = wh.begin_run("p1")
    bad_session = session("s9")
    bad_session["start_time"] = None  # violates NOT NULL only when merged, after messages were merged
    with pytest.raises(duckdb.ConstraintException, match="start_time"):
        load(wh, run, day(0), messages=messages(message("q1")), sessions=sessions(bad_session))
    assert rows(wh, "SELECT count(*) FROM raw.messages") == [(0,)]
    assert rows(wh, "SELECT count(*) FROM raw.message_label_links") == [(0,)]
    assert wh.window_states("p1") == []
    assert wh.runs("p1")[0].rows_per_entity == {}


def test_window_state_is_recorded_per_entity_even_when_empty(wh):
    run = wh.begin_run("p1")
    with wh.window_load("p1", ["messages", "sessions", "clients"], *day(0), run) as window:
        window.add("messages", messages(message("q1")))
    with wh.window_load("p1", ["messages"], *day(1), run) as window:
        window.add("messages", messages(message("q2", at=day(1)[0])))
    records = wh.window_states("p1")
    assert sorted((r.entity, r.row_count) for r in records if r.window_start == day(0)[0]) == [
        ("clients", 0), ("messages", 1), ("sessions", 0),
    ]
    assert wh.done_windows("p1") == [day(0)]
    assert wh.done_windows("p1", ["messages"]) == [day(0), day(1)]
    assert wh.latest_done_end("p1", ["messages"]) == day(1)[1]
    assert wh.latest_done_end("p1") == day(0)[1]
    assert wh.runs("p1")[0].rows_per_entity == {"messages": 2, "sessions": 0, "clients": 0}


def test_a_window_counts_its_daily_statistics_in_the_run_with_its_rows(wh):
    run = wh.begin_run("p1")
    with wh.window_load("p1", ["messages", "sessions"], *day(0), run) as window:
        window.add("messages", messages(message("q1"), message("q2")))
        window.add_daily_stats([{"metric": "messages", "day": day(0)[0].date(), "value": 2},
                                {"metric": "sessions", "day": day(0)[0].date(), "value": 1}])  # fmt: skip
    with wh.window_load("p1", ["messages"], *day(1), run) as window:
        window.add("messages", messages(message("q3", at=day(1)[0])))
        window.add_daily_stats([{"metric": "messages", "day": day(1)[0].date(), "value": 1}])
    assert wh.runs("p1")[0].rows_per_entity == {"messages": 3, "sessions": 0, "api_daily_stats": 3}
    assert rows(wh, "SELECT count(*) FROM raw.api_daily_stats") == [(3,)]


def test_projects_are_isolated(wh):
    run1 = wh.begin_run("p1")
    run2 = wh.begin_run("p2")
    load_window(wh, "p1", *day(0), run1, {"messages": messages(message("q1", question="one"))})
    load_window(wh, "p2", *day(0), run2, {"messages": messages(message("q1", project="p2", question="two"))})
    load_window(wh, "p1", *day(0), run1, {"messages": messages(message("q1", question="one again"))})
    assert rows(wh, "SELECT project_short_name, question FROM raw.messages ORDER BY 1") == [
        ("p1", "one again"), ("p2", "two"),
    ]
    assert rows(wh, "SELECT project_short_name, count(*) FROM raw.message_label_links GROUP BY 1") == []
    assert wh.done_windows("p2", ["messages"]) == [day(0)]
    assert wh.done_windows("p3", ["messages"]) == []
    with pytest.raises(LoadError, match="p2"):
        load_window(wh, "p1", *day(1), run1, {"messages": messages(message("q5", project="p2"))})
    with pytest.raises(LoadError, match="None"):
        load_window(wh, "p1", *day(1), run1, {"messages": messages(message("q5", project=None))})
    with pytest.raises(LoadError, match="belongs to project"):
        load_window(wh, "p2", *day(1), run1, {"messages": messages(message("q5", project="p2"))})


def test_batches_that_break_the_contract_are_refused_with_the_field_named(wh):
    run = wh.begin_run("p1")
    batch = messages(message("q1"))
    with wh.window_load("p1", ["messages"], *day(0), run) as window:
        with pytest.raises(BatchSchemaError, match="missing \\['question'\\]"):
            window.add("messages", batch.drop_columns(["question"]))
        with pytest.raises(BatchSchemaError, match="processing_time_ms"):
            window.add("messages", batch.set_column(
                batch.schema.get_field_index("processing_time_ms"), "processing_time_ms", pa.array(["slow"])
            ))
        with pytest.raises(LoadError, match="not one of this window's entities"):
            window.add("sessions", sessions(session("s1")))
        # Reordered columns and a losslessly castable type are accepted.
        reordered = batch.select(list(reversed(batch.column_names)))
        window.add("messages", reordered.set_column(
            reordered.schema.get_field_index("processing_time_ms"), "processing_time_ms", pa.array([12], pa.int64())
        ))
        window.add("messages", batch.to_batches()[0])
        window.add("messages", pa.RecordBatchReader.from_batches(batch.schema, batch.to_batches()))
    assert window.loaded.duplicates_dropped == {"messages": 2}
    assert rows(wh, "SELECT processing_time_ms FROM raw.messages") == [(None,)]


def test_windows_need_a_begun_run_and_aware_bounds(wh):
    with pytest.raises(LoadError, match="begin_run"):
        load_window(wh, "p1", *day(0), "no-such-run", {"messages": messages(message("q1"))})
    run = wh.begin_run("p1")
    with pytest.raises(ValueError, match="aware"):
        load_window(wh, "p1", day(0)[0].replace(tzinfo=None), day(0)[1], run, {"messages": messages()})
    with pytest.raises(LoadError, match="not after"):
        load_window(wh, "p1", day(0)[1], day(0)[0], run, {"messages": messages()})
