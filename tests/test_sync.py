"""The main job end to end: simulator over HTTP on 127.0.0.1 → client → sync → a real DuckDB file,
compared with the simulator's ground truth (keys, duplicates and values)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from reporter_etl.api import ReporterClient
from reporter_etl.api.config import RetryPolicy
from reporter_etl.errors import ServerError
from reporter_etl.platform_stats import COUNT_REQUESTS_PER_WINDOW
from reporter_etl.simulator import FaultConfig, Simulator, WorldConfig
from reporter_etl.sync import Syncer, SyncEvent, plan_windows
from reporter_etl.warehouse import Warehouse, open_readonly
from tests.sync_support import assert_equals_truth, table_snapshot

TOKEN = "sync-test-token-7c1d"
END = date(2026, 11, 20)
FAST_RETRY = RetryPolicy(max_attempts=8, base_delay=0.001, max_delay=0.01, retry_after_cap=0.01)


def world(days: int = 4, per_day: int = 250, seed: int = 11, **extra) -> WorldConfig:
    return WorldConfig(seed=seed, days=days, end_date=END, messages_per_day=per_day, **extra)


@contextmanager
def client_for(sim: Simulator, **kwargs) -> Iterator[ReporterClient]:
    with ReporterClient(sim.base_url, TOKEN, retry=FAST_RETRY, **kwargs) as client:
        yield client


def sync(sim: Simulator, db: Path, client: ReporterClient | None = None, **run_args):
    own = client is None
    client = client or ReporterClient(sim.base_url, TOKEN, retry=FAST_RETRY)
    try:
        with Warehouse.open(db) as wh:
            return Syncer(client, wh, timezone=run_args.pop("timezone", "UTC")).run(**run_args)
    finally:
        if own:
            client.close()


def first_day(config: WorldConfig) -> date:
    return END - timedelta(days=config.days - 1)


def test_a_sync_of_n_days_equals_the_ground_truth(tmp_path: Path) -> None:
    config = world()
    db = tmp_path / "w.duckdb"
    with Simulator(config, token=TOKEN) as sim, client_for(sim) as client:
        result = sync(sim, db, client, start=first_day(config), end=END)
        counts = assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)
        assert counts["messages"] > 500 and counts["sessions"] > 50 and counts["clients"] > 30
        # The bulk path reads pages of the three list operations only: never one request per session.
        used = client.requests_by_operation
        assert "session_messages" not in used and "getMessagesForSession" not in used
        # Besides its pages, clients/filter is asked once per window for a count (reporter_etl.platform_stats).
        client_pages = used["filter_clients"] - COUNT_REQUESTS_PER_WINDOW["filter_clients"] * len(result.windows)
        assert used["filter_messages"] == result.minimum_requests - used["filter_sessions"] - client_pages
        world_state = sim.world
        labels, groups = world_state.message_labels(), world_state.label_groups()
        session_labels, experiments = world_state.session_labels(), world_state.experiments()
    con = open_readonly(db)
    try:
        assert sorted(r[0] for r in con.execute("select label_id from raw.message_labels").fetchall()) == sorted(
            item["id"] for item in labels)  # fmt: skip
        assert sorted(r[0] for r in con.execute("select group_id from raw.message_label_groups").fetchall()) == sorted(
            item["id"] for item in groups)  # fmt: skip
        assert sorted(r[0] for r in con.execute("select label_id from raw.session_labels").fetchall()) == sorted(
            item["id"] for item in session_labels)  # fmt: skip
        assert sorted(r[0] for r in con.execute("select experiment_key from raw.experiments").fetchall()) == sorted(
            item["key"] for item in experiments)  # fmt: skip
        # Link tables carry exactly the labels of the LIST columns.
        listed = con.execute(
            "select count(*) from (select question_id, unnest(labels).id from raw.messages)").fetchone()[0]
        linked = con.execute("select count(*) from raw.message_label_links").fetchone()[0]
        assert listed == linked > 0
        done = con.execute(
            "select count(*) from meta.sync_state where entity = 'messages' and status = 'done'").fetchone()[0]
        assert done == config.days
        platform = con.execute(
            "select sum(value) from raw.api_daily_stats where metric = 'messages'").fetchone()[0]
        assert platform == counts["messages"]
    finally:
        con.close()


def test_running_again_or_overlapping_changes_nothing(tmp_path: Path) -> None:
    config = world(days=4, per_day=150, seed=5)
    db = tmp_path / "w.duckdb"
    with Simulator(config, token=TOKEN) as sim:
        sync(sim, db, start=first_day(config), end=END)
        before = table_snapshot(db)
        sync(sim, db, start=first_day(config), end=END)
        assert table_snapshot(db) == before
        sync(sim, db, start=first_day(config) + timedelta(days=1), end=END - timedelta(days=1))
        sync(sim, db, start=first_day(config) + timedelta(days=2), end=END)
        assert table_snapshot(db) == before
        assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)


def test_a_time_zone_cuts_days_at_local_midnight(tmp_path: Path) -> None:
    config = world(days=3, per_day=150, seed=8)
    db = tmp_path / "w.duckdb"
    with Simulator(config, token=TOKEN) as sim:
        # Moscow days of the world's span, minus its first and last partial days.
        result = sync(sim, db, start=first_day(config) + timedelta(days=1), end=END, timezone="Europe/Moscow")
        assert result.windows[0].window.start.hour == 21
        start, end = result.windows[0].window.start, result.windows[-1].window.end
        truth_messages = len(sim.world.truth_messages(start, end))
    con = open_readonly(db)
    try:
        assert con.execute("select count(*) from raw.messages").fetchone()[0] == truth_messages
        assert con.execute("select min(message_time) >= ?, max(message_time) < ? from raw.messages",
                           [start, end]).fetchone() == (True, True)  # fmt: skip
    finally:
        con.close()


def test_the_nightly_sync_catches_late_messages_and_labels(tmp_path: Path) -> None:
    config = world(days=5, per_day=300, seed=24, delayed_share=0.05)
    db = tmp_path / "w.duckdb"
    with Simulator(config, token=TOKEN) as sim:
        sync(sim, db, start=first_day(config), end=END)
        assert_equals_truth(db, sim.world, sim.world.start, sim.world.now)
        old_truth_sessions = {s["sessionId"]: s for s in sim.world.truth_sessions(sim.world.start, sim.world.now)}
        old_truth_labels = {m["questionId"]: m["labels"] for m in sim.world.truth_messages(sim.world.start,
                                                                                            sim.world.now)}
        sim.advance(days=1)
        new_sessions = {s["sessionId"]: s for s in sim.world.truth_sessions(sim.world.start, sim.world.now)}
        resumed = [sid for sid, s in old_truth_sessions.items()
                   if new_sessions[sid]["questionCount"] > s["questionCount"]]  # fmt: skip
        now_messages = sim.world.truth_messages(sim.world.start, sim.world.end)
        relabelled = [m["questionId"] for m in now_messages
                      if m["questionId"] in old_truth_labels and m["labels"] != old_truth_labels[m["questionId"]]]
        assert resumed, "the world should have put new messages into sessions that began days earlier"
        assert relabelled, "the world should have labelled old messages later"
        # Nightly: no dates, the saved state decides; the lookback covers the world's lateness (labels up to 5 d).
        result = sync(sim, db, lookback=timedelta(days=6), now=sim.world.now)
        assert result.planned[-1].day == END + timedelta(days=1)
        assert_equals_truth(db, sim.world, sim.world.start, sim.world.now)


def test_the_nightly_plan_reads_new_days_and_the_lookback_only(tmp_path: Path) -> None:
    config = world(days=3, per_day=100, seed=3)
    db = tmp_path / "w.duckdb"
    with Simulator(config, token=TOKEN) as sim:
        sync(sim, db, start=first_day(config), end=END)
        sim.advance(days=2)
        with Warehouse.open(db) as wh:
            plan = plan_windows(wh, sim.world.project_short_name, tz_name="UTC", start=None, end=None,
                                lookback=timedelta(days=2), now=sim.world.now)  # fmt: skip
        assert [w.day for w in plan.windows] == [END - timedelta(days=1) + timedelta(days=i) for i in range(4)]
        result = sync(sim, db, now=sim.world.now)
        assert [w.window.day for w in result.windows][:4] == [w.day for w in plan.windows]


def test_rows_arriving_while_paging_are_neither_lost_nor_doubled(tmp_path: Path) -> None:
    config = world(days=3, per_day=400, seed=9, delayed_share=0.15)
    db = tmp_path / "w.duckdb"
    faults = FaultConfig(seed=4, drift=0.6, drift_rows=7)
    with Simulator(config, token=TOKEN, faults=faults) as sim, client_for(sim, page_size=40) as client:
        held_before = sim.world.held_back_count()
        result = sync(sim, db, client, start=first_day(config), end=END)
        assert sim.fault_counts.get("drift", 0) > 0 and sim.world.held_back_count() < held_before
        assert sum(r.passes for r in result.windows) > 3 * len(result.windows)  # drift was seen and re-read
        sim.faults = None
        assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)


def test_transient_faults_leave_the_warehouse_exact(tmp_path: Path) -> None:
    config = world(days=3, per_day=200, seed=12)
    db = tmp_path / "w.duckdb"
    faults = FaultConfig(seed=2, rate_limit=0.08, retry_after_seconds=0, server_error=0.08, drop=0.05,
                         drop_mid_body=0.04, html=0.04, html_ok_share=0.0)  # fmt: skip
    with Simulator(config, token=TOKEN, faults=faults) as sim, client_for(sim, page_size=100) as client:
        sync(sim, db, client, start=first_day(config), end=END)
        assert client.retry_count > 0
        sim.faults = None
        assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)


def test_a_window_that_fails_is_not_recorded_and_the_next_run_completes_it(tmp_path: Path) -> None:
    config = world(days=3, per_day=150, seed=13)
    db = tmp_path / "w.duckdb"
    with Simulator(config, token=TOKEN) as sim:
        sim.faults = FaultConfig(seed=1, server_error=1.0, operations=frozenset({"getClientDataByFilter"}))
        with pytest.raises(ServerError, match="filter_clients"):
            sync(sim, db, start=first_day(config), end=END)
        con = open_readonly(db)
        try:
            assert con.execute("select count(*) from meta.sync_state").fetchone()[0] == 0
            assert con.execute("select count(*) from raw.messages").fetchone()[0] == 0
            assert con.execute("select status from meta.sync_runs").fetchall() == [("failed",)]
        finally:
            con.close()
        sim.faults = None
        sync(sim, db, now=sim.world.now, start=first_day(config))
        assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)


class SeenEnough(Exception):
    """Raised by the test's observer: the run has shown what the test checks, the rest need not be read."""


def test_the_first_run_without_dates_takes_the_documented_default(tmp_path: Path) -> None:
    config = world(days=3, per_day=80, seed=14)
    now = datetime.combine(END + timedelta(days=1), datetime.min.time(), UTC)
    events: list[SyncEvent] = []

    def stop_after_the_first_window(event: SyncEvent) -> None:
        # The plan is the point here: its 27 empty days need not be read and committed one by one.
        events.append(event)
        if event.kind == "window_done":
            raise SeenEnough

    with Simulator(config, token=TOKEN) as sim, client_for(sim) as client, Warehouse.open(tmp_path / "w.duckdb") as wh:
        plan = plan_windows(wh, sim.world.project_short_name, tz_name="UTC", start=None, end=None,
                            lookback=timedelta(days=2), now=now)  # fmt: skip
        assert len(plan.windows) == 30 and plan.windows[-1].day == END
        with pytest.raises(SeenEnough):
            Syncer(client, wh, progress=stop_after_the_first_window).run(now=now)
    planned, first = events[0], events[1]
    assert (planned.kind, planned.total) == ("planned", 30)
    assert first.kind == "window_done" and first.window == plan.windows[0]
