"""The sync reads window n+1 in a worker thread while it commits window n: same warehouse, same requests, windows
committed in order, and nothing left running (or still using the caller's client) once a run has ended."""

from __future__ import annotations

import math
import os
import sys
import threading
import traceback
from datetime import date, timedelta
from pathlib import Path

import pytest

from reporter_etl.api import ReporterClient
from reporter_etl.api.config import RetryPolicy
from reporter_etl.errors import ServerError
from reporter_etl.platform_stats import REQUESTS_PER_WINDOW
from reporter_etl.simulator import FaultConfig, Simulator, WorldConfig
from reporter_etl.sync import Syncer, SyncEvent, SyncResult
from reporter_etl.warehouse import Warehouse, open_readonly
from tests.sync_support import assert_equals_truth, table_snapshot

TOKEN = "read-ahead-test-token-51e0"
END = date(2026, 3, 10)
DAYS = 3
FAST_RETRY = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01, retry_after_cap=0.01)


def config(seed: int = 21) -> WorldConfig:
    return WorldConfig(seed=seed, days=DAYS, end_date=END, messages_per_day=300)


def first_day() -> date:
    return END - timedelta(days=DAYS - 1)


def run(sim: Simulator, db: Path, client: ReporterClient, **syncer_args) -> SyncResult:
    with Warehouse.open(db) as wh:
        return Syncer(client, wh, **syncer_args).run(start=first_day(), end=END)


def done_days(db: Path) -> list[date]:
    con = open_readonly(db)
    try:
        rows = con.execute("select distinct window_start from meta.sync_state where entity = 'messages' "
                           "and status = 'done' order by 1").fetchall()  # fmt: skip
        status = con.execute("select status from meta.sync_runs").fetchall()
    finally:
        con.close()
    assert status == [("failed",)]
    return [r[0].date() for r in rows]


def read_ahead_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith("sync-read-ahead")]


def threads_in_the_client() -> list[str]:
    """Threads other than this one whose stack is in the sync, the extractor or the API client right now."""
    ours = (f"reporter_etl{os.sep}sync.py", f"reporter_etl{os.sep}extract.py", f"reporter_etl{os.sep}api{os.sep}")
    busy = []
    for ident, frame in sys._current_frames().items():
        if ident == threading.get_ident():
            continue
        stack = traceback.extract_stack(frame)
        if any(any(part in entry.filename for part in ours) for entry in stack):
            busy.append(f"thread {ident}: {stack[-1].filename}:{stack[-1].lineno}")
    return busy


def test_reading_ahead_or_not_gives_the_same_warehouse_and_the_same_requests(tmp_path: Path) -> None:
    with Simulator(config(), token=TOKEN) as sim:
        outcomes = {}
        for read_ahead in (True, False):
            db = tmp_path / f"ahead-{read_ahead}.duckdb"
            worker_seen: list[bool] = []

            def note_worker(event: SyncEvent, seen: list[bool] = worker_seen) -> None:
                if event.kind == "window_done":
                    seen.append(bool(read_ahead_threads()))

            with ReporterClient(sim.base_url, TOKEN, page_size=200) as client:
                result = run(sim, db, client, read_ahead=read_ahead, progress=note_worker)
                outcomes[read_ahead] = (table_snapshot(db), client.requests_by_operation, client.request_count)
            assert any(worker_seen) is read_ahead
            assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)
            # Each window's own requests: its pages, the platform's two counts and its other daily statistics,
            # none of a neighbour's.
            for report in result.windows:
                pages = sum(max(1, math.ceil(rows / 200)) for rows in report.rows.values())
                assert report.requests == pages + 2 + REQUESTS_PER_WINDOW, report
    assert outcomes[True] == outcomes[False]
    assert outcomes[True][2] == sum(outcomes[True][1].values())  # every request counted on the caller's client


def test_a_failed_commit_stops_the_read_ahead_before_the_run_returns(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"

    def fail_after_second_window(event: SyncEvent) -> None:
        if event.kind == "window_done" and event.done == 2:
            raise RuntimeError("stop here")

    # Slow message pages: the third window is still being read when the second one's commit ends the run.
    faults = FaultConfig(slow=1.0, slow_seconds=0.1, operations=frozenset({"getMessageDataByFilter"}))
    with (
        Simulator(config(seed=22), token=TOKEN, faults=faults) as sim,
        ReporterClient(sim.base_url, TOKEN, page_size=50) as client,
        Warehouse.open(db) as wh,
    ):
        with pytest.raises(RuntimeError, match="stop here"):
            Syncer(client, wh, progress=fail_after_second_window).run(start=first_day(), end=END)
        # Nothing reads behind the caller's back: no thread is left in the sync or the client to send a request.
        assert read_ahead_threads() == [] and threads_in_the_client() == []
        requests_at_return = client.requests_by_operation
        assert client.request_count == sum(requests_at_return.values())
    # The third window's read was called off among its message pages, before it asked for the platform's counts
    # (message_stats: one per committed window).  Session statistics: the verification count of each committed
    # window, and the sessions started (platform_stats) of every window begun, which is asked beside the pages.
    assert requests_at_return["message_stats"] == 2
    assert requests_at_return["session_stats"] in (2 * 2, 2 * 2 + 1)
    assert done_days(db) == [first_day(), first_day() + timedelta(days=1)]


def test_a_read_that_fails_ahead_leaves_the_windows_before_it_committed_in_order(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    with Simulator(config(seed=23), token=TOKEN) as sim, ReporterClient(sim.base_url, TOKEN,
                                                                        retry=FAST_RETRY) as client:

        def break_clients_after_first_window(event: SyncEvent) -> None:
            if event.kind == "window_done" and event.done == 1:
                sim.faults = FaultConfig(seed=1, server_error=1.0, operations=frozenset({"getClientDataByFilter"}))

        with Warehouse.open(db) as wh, pytest.raises(ServerError, match="filter_clients"):
            Syncer(client, wh, progress=break_clients_after_first_window).run(start=first_day(), end=END)
        assert read_ahead_threads() == []
        # The second window was being read while the first was committed, so it may have got through; the third
        # was read after the fault for certain.  Either way the done windows are the first ones, in order.
        done = done_days(db)
        assert done in ([first_day()], [first_day(), first_day() + timedelta(days=1)])
        sim.faults = None
        run(sim, db, client)
        assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)
