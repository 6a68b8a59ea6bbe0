"""A sync that fails part-way keeps the days it committed, and the next nightly run goes on from them."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from pathlib import Path

import pytest

from reporter_etl.api import ReporterClient, RetryPolicy
from reporter_etl.simulator import FaultConfig, Simulator, WorldConfig
from reporter_etl.sync import Syncer, SyncEvent
from reporter_etl.warehouse import Warehouse, open_readonly
from tests.sync_support import assert_equals_truth

TOKEN = "resume-token-3e8a"
END = date(2026, 11, 20)
DAYS = 4
FIRST = END - timedelta(days=DAYS - 1)
FAST = RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.005, retry_after_cap=0.005)


def done_days(db: Path) -> list[date]:
    con = open_readonly(db)
    try:
        rows = con.execute("select distinct window_start from meta.sync_state order by 1").fetchall()
    finally:
        con.close()
    return [start.astimezone(UTC).date() for (start,) in rows]


def test_a_sync_failing_part_way_keeps_its_days_and_the_next_run_goes_on(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    config = WorldConfig(seed=31, days=DAYS, end_date=END, messages_per_day=150)
    with Simulator(config, token=TOKEN) as sim:

        def break_the_server_after_two_days(event: SyncEvent) -> None:
            if event.kind == "window_done" and event.done == 2:
                sim.faults = FaultConfig(seed=1, server_error=1.0)  # every later request fails

        with ReporterClient(sim.base_url, TOKEN, retry=FAST) as client, Warehouse.open(db) as wh:
            syncer = Syncer(client, wh, progress=break_the_server_after_two_days)
            with pytest.raises(Exception, match="server error"):
                syncer.run(start=FIRST, end=END)
        kept = done_days(db)
        # Days 1-2 committed before the break; the read-ahead may have finished day 3 just before it.
        assert kept[:2] == [FIRST, FIRST + timedelta(days=1)] and len(kept) in (2, 3)

        sim.faults = None
        now = datetime(END.year, END.month, END.day, tzinfo=UTC) + timedelta(days=1, hours=2)
        with ReporterClient(sim.base_url, TOKEN, retry=FAST) as client, Warehouse.open(db) as wh:
            result = Syncer(client, wh).run(lookback=timedelta(0), now=now)  # nightly: no dates, no lookback
        read = [report.window.day for report in result.windows]
        assert read == [FIRST + timedelta(days=i) for i in range(len(kept), DAYS)]  # only the days not yet done
        assert done_days(db) == [FIRST + timedelta(days=i) for i in range(DAYS)]
        assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)
        con = open_readonly(db)
        try:
            statuses = [r[0] for r in con.execute("select status from meta.sync_runs order by started_at").fetchall()]
        finally:
            con.close()
        assert statuses == ["failed", "succeeded"]
