"""The platform's daily transfers, calls and clients land in raw.api_daily_stats, equal to what the simulator's
ground truth says each statistic counts (sessions bucketed by their start in the platform's day)."""

from __future__ import annotations

from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from reporter_etl.api import ReporterClient
from reporter_etl.platform_stats import platform_day_bounds
from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.sync import Syncer
from reporter_etl.warehouse import Warehouse, open_readonly
from tests.sync_support import ms


def parse_ms(text: str) -> datetime:
    return datetime.fromtimestamp(ms(text) / 1000, UTC)

TOKEN = "platform-stats-token-51aa"
END = date(2026, 3, 4)
MOSCOW = ZoneInfo("Europe/Moscow")


def test_daily_platform_stats_equal_the_ground_truth_in_a_non_utc_zone(tmp_path: Path) -> None:
    config = WorldConfig(seed=31, days=4, end_date=END, messages_per_day=400)
    db = tmp_path / "w.duckdb"
    with Simulator(config, token=TOKEN) as sim, ReporterClient(sim.base_url, TOKEN) as client:
        with Warehouse.open(db) as wh:
            result = Syncer(client, wh, timezone="Europe/Moscow").run(start=END - timedelta(days=2), end=END)
        sessions = sim.world.truth_sessions(sim.world.start, sim.world.now)
        expected: dict[tuple[str, str, date], float] = {}
        for report in result.windows:
            window = report.window
            offset = int(window.start.astimezone(MOSCOW).utcoffset().total_seconds() // 60)
            lo, hi = platform_day_bounds(window, offset)
            started = [s for s in sessions if lo <= ms(s["startTime"]) < hi]
            calls = Counter("incoming" if s["isCallIncoming"] else "outgoing" for s in started if "isCallIncoming" in s)
            expected[("sessions_started", "", window.day)] = sum(
                1 for s in sessions if window.start <= parse_ms(s["startTime"]) < window.end)
            expected[("transfers", "", window.day)] = sum(1 for s in started if s["isLivechat"])
            expected[("calls", "incoming", window.day)] = calls["incoming"]
            expected[("calls", "outgoing", window.day)] = calls["outgoing"]
            expected[("calls", "billed", window.day)] = sum(
                1 for s in started if "isCallIncoming" in s and s.get("firstQuestion") is not None)
            active = {(m["botId"], m["client"]["id"]) for m in sim.world.truth_messages(window.start, window.end)}
            expected[("unique_clients", "active", window.day)] = len(active)
            expected[("unique_clients", "all_time", window.day)] = sim.world.unique_clients()
    assert len(result.windows) == 3
    assert expected[("transfers", "", END)] > 0 and expected[("calls", "incoming", END)] > 0
    assert expected[("calls", "outgoing", END)] > 0
    con = open_readonly(db)
    try:
        stored = {(metric, dimension, day): value for metric, dimension, day, value, offset in con.execute(
            "select metric, dimension, day, value, tz_offset_minutes from raw.api_daily_stats "
            "where metric in ('sessions_started', 'transfers', 'calls', 'unique_clients')").fetchall()}  # fmt: skip
        offsets = {r[0] for r in con.execute("select distinct tz_offset_minutes from raw.api_daily_stats").fetchall()}
    finally:
        con.close()
    assert stored == expected
    assert offsets == {180}
