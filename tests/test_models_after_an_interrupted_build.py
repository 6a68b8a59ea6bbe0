"""A sync whose models build never ran or never finished (killed in the catalog refresh or in the build) leaves
its days pending: the next sync's build covers them, even when that sync itself brings nothing new."""

from __future__ import annotations

import shutil
from datetime import timedelta
from pathlib import Path

from reporter_etl import Settings, open_sync
from reporter_etl.models import build_warehouse_models, load_models
from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.warehouse import open_readonly
from tests.fixed_dates import TEST_END_DATE

TOKEN = "models-pending-token-2b"


def marts(db: Path) -> dict[str, list[tuple]]:
    names = [m.name for m in load_models() if m.kind in ("mart", "python") and m.name != "marts.build_settings"]
    con = open_readonly(db)
    try:
        return {name: sorted((tuple(float(f"{v:.10g}") if isinstance(v, float) else v for v in row)
                              for row in con.execute(f"select * from {name}").fetchall()), key=repr)
                for name in names}  # fmt: skip
    finally:
        con.close()


def test_the_next_build_covers_the_days_of_a_run_whose_build_did_not_finish(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    world = WorldConfig(seed=12, days=3, end_date=TEST_END_DATE, messages_per_day=200)
    with Simulator(world, token=TOKEN) as sim:
        settings = Settings(db_path=db, base_url=sim.base_url, token=TOKEN, lookback=timedelta(0))
        first = TEST_END_DATE - timedelta(days=world.days - 1)
        with open_sync(settings) as session:
            session.build_models(session.sync_days(first, TEST_END_DATE - timedelta(days=1)))
        with open_sync(settings) as session:
            session.sync_days(TEST_END_DATE, TEST_END_DATE)  # committed; its models build never happens (killed)
        with open_sync(settings) as session:  # the next night: nothing new to read
            result = session.sync_days(now=sim.world.now)
            assert result.windows == []
            report = session.build_models(result)
    assert report is not None and report.end is not None and report.end >= TEST_END_DATE
    whole = tmp_path / "whole.duckdb"
    shutil.copyfile(db, whole)
    build_warehouse_models(whole)
    assert marts(db) == marts(whole)
