"""`reporter-etl check` on a 14-day simulated world, synced over HTTP and built: zero differences with the
platform's own counts; and a failure that names the day for a planted duplicate, a missing day and a deleted
message (each planted in a copy of the warehouse, the models rebuilt on it)."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from reporter_etl.api import ReporterClient
from reporter_etl.cli import main
from reporter_etl.models import ModelsConfig, build_warehouse_models
from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.sync import Syncer
from reporter_etl.warehouse import Warehouse, open_readonly
from tests.conftest import made_once, own_copy

TOKEN = "check-test-token-93e0"
END = date(2026, 3, 4)
DAYS = 14
FIRST = END - timedelta(days=DAYS - 1)
PLANT_DAY = FIRST + timedelta(days=11)
RECONCILED = {("messages", ""), ("sessions", ""), ("sessions_started", ""), ("transfers", ""),
              ("calls", "incoming"), ("calls", "outgoing"), ("unique_clients", "active")}  # fmt: skip


def sync_and_build(folder: Path) -> None:
    db = folder / "world.duckdb"
    config = WorldConfig(seed=7, days=DAYS, end_date=END, messages_per_day=250)
    with Simulator(config, token=TOKEN) as sim, ReporterClient(sim.base_url, TOKEN) as client, Warehouse.open(db) as wh:
        Syncer(client, wh).run(start=FIRST, end=END)
    build_warehouse_models(db, config=ModelsConfig())


@pytest.fixture(scope="module")
def built_world(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """This module's copy of the synced and built world (synced once per run, see conftest.made_once)."""
    made = made_once(tmp_path_factory, "check-world", sync_and_build) / "world.duckdb"
    return own_copy(made, tmp_path_factory.mktemp("check"), "world.duckdb")


def run_check(db: Path, capsys: pytest.CaptureFixture[str]) -> tuple[int, str]:
    code = main(["check", "--db", str(db)])
    return code, capsys.readouterr().out


def planted(built_world: Path, tmp_path: Path, plant: Callable[[duckdb.DuckDBPyConnection], None]) -> Path:
    db = own_copy(built_world, tmp_path, "planted.duckdb")
    with Warehouse.open(db) as wh:
        plant(wh.con)
    build_warehouse_models(db, config=ModelsConfig())
    return db


def difference_rows(out: str) -> list[tuple[str, str, str, str]]:
    """(day, metric, warehouse, platform) of the printed difference table."""
    rows = re.findall(r"│\s*(\d{4}-\d\d-\d\d|all time)\s*│\s*(.+?)\s*│\s*([\d,.]+)\s*│\s*([\d,.]+)\s*│", out)
    return [tuple(r) for r in rows]


def test_a_synced_and_built_world_has_no_difference_with_the_platform(built_world: Path, capsys) -> None:
    con = open_readonly(built_world)
    try:
        compared = con.execute(
            "select metric, dimension, count(distinct day), sum(value) from raw.api_daily_stats group by all"
        ).fetchall()
        experiments = con.execute("select count(*), sum(session_count) from raw.experiment_session_counts").fetchone()
    finally:
        con.close()
    per_metric = {(metric, dimension): (days, total) for metric, dimension, days, total in compared}
    for key in RECONCILED:  # every reconciled metric has a platform count for every day, and not all zero
        assert per_metric[key][0] == DAYS and per_metric[key][1] > 0, key
    assert experiments[0] > 0 and experiments[1] > 0
    code, out = run_check(built_world, capsys)
    assert code == 0, out
    assert "check ok" in out and "0 difference(s)" in out and difference_rows(out) == []


def test_a_planted_duplicate_fails_naming_its_day(built_world: Path, tmp_path: Path, capsys) -> None:
    def duplicate_a_message(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("insert into raw.messages select * from raw.messages where question_id = (select min(question_id) "
                    "from raw.messages where message_time::date = ?)", [PLANT_DAY])  # fmt: skip

    code, out = run_check(planted(built_world, tmp_path, duplicate_a_message), capsys)
    assert code == 1, out
    rows = difference_rows(out)
    assert {day for day, *_ in rows} == {PLANT_DAY.isoformat()}, out
    assert (PLANT_DAY.isoformat(), "messages (raw.messages)") in {(day, metric) for day, metric, *_ in rows}
    day, _, ours, theirs = next(r for r in rows if r[1] == "messages (raw.messages)")
    assert int(ours.replace(",", "")) == int(theirs.replace(",", "")) + 1
    assert "checks.raw_unique_keys failed" in out


def test_a_missing_day_fails_naming_it(built_world: Path, tmp_path: Path, capsys) -> None:
    def drop_a_day(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("delete from raw.messages where message_time::date = ?", [PLANT_DAY])
        con.execute("delete from raw.sessions where start_time::date = ?", [PLANT_DAY])

    code, out = run_check(planted(built_world, tmp_path, drop_a_day), capsys)
    assert code == 1, out
    rows = difference_rows(out)
    named = {(day, metric): ours for day, metric, ours, _ in rows}
    assert named[(PLANT_DAY.isoformat(), "messages (raw.messages)")] == "0"
    assert named[(PLANT_DAY.isoformat(), "messages (marts.daily_conversations)")] == "0"
    assert named[(PLANT_DAY.isoformat(), "sessions started (marts.daily_conversations)")] == "0"
    assert f"on {PLANT_DAY.isoformat()}" in out.splitlines()[-1]


def test_a_deleted_message_fails_naming_its_day(built_world: Path, tmp_path: Path, capsys) -> None:
    def delete_a_message(con: duckdb.DuckDBPyConnection) -> None:
        con.execute("delete from raw.messages where question_id = (select max(question_id) from raw.messages "
                    "where message_time::date = ?)", [PLANT_DAY])  # fmt: skip

    code, out = run_check(planted(built_world, tmp_path, delete_a_message), capsys)
    assert code == 1, out
    rows = difference_rows(out)
    by_metric = {metric: (day, ours, theirs) for day, metric, ours, theirs in rows}
    for metric in ("messages (raw.messages)", "messages (marts.daily_conversations)"):
        day, ours, theirs = by_metric[metric]
        assert day == PLANT_DAY.isoformat()
        assert int(ours.replace(",", "")) == int(theirs.replace(",", "")) - 1
    assert out.splitlines()[-1].startswith("check FAILED")
