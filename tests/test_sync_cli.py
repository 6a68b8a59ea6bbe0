"""`reporter-etl sync`, `status`, `query` and `demo` as a user runs them, including a sync killed mid-way."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import date, timedelta
from pathlib import Path

import pytest

from reporter_etl.cli import main
from reporter_etl.simulator import FaultConfig, Simulator, WorldConfig
from reporter_etl.warehouse import Warehouse, open_readonly
from tests.sync_support import assert_equals_truth

TOKEN = "cli-sync-token-93af01"
END = date(2026, 11, 20)


@pytest.fixture
def sim():
    with Simulator(WorldConfig(seed=21, days=4, end_date=END, messages_per_day=200), token=TOKEN) as simulator:
        yield simulator


@pytest.fixture
def env(sim, monkeypatch):
    monkeypatch.setenv("REPORTER_TOKEN", TOKEN)
    monkeypatch.setenv("REPORTER_BASE_URL", sim.base_url)
    return {**os.environ, "REPORTER_TOKEN": TOKEN, "REPORTER_BASE_URL": sim.base_url}


def test_sync_then_status_then_query(sim, env, tmp_path: Path, capsys) -> None:
    db = tmp_path / "w.duckdb"
    assert main(["sync", "--db", str(db), "--start", "2026-11-17", "--end", "2026-11-20"]) == 0
    out = capsys.readouterr().out
    assert f"synced {sim.world.project_short_name}" in out and "4 day(s)" in out and "requests" in out
    assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)
    assert main(["status", "--db", str(db)]) == 0
    status = capsys.readouterr().out
    assert "4 day window(s) done" in status and "succeeded" in status and "raw.messages" in status
    assert main(["query", "--db", str(db), "select count(*) as n from raw.messages"]) == 0
    assert str(len(sim.world.truth_messages(sim.world.start, sim.world.end))) in capsys.readouterr().out
    # Nothing new: the state decides, the lookback is read again, nothing changes (the models were built above).
    assert main(["sync", "--db", str(db), "--end", "2026-11-20", "--lookback", "2d", "--no-models"]) == 0
    assert "2 day(s) 2026-11-19..2026-11-20" in capsys.readouterr().out


def test_sync_errors_are_clear_and_never_show_the_token(sim, env, tmp_path: Path, capsys, monkeypatch) -> None:
    db = str(tmp_path / "w.duckdb")
    assert main(["sync", "--db", db, "--start", "2026-11-20", "--end", "2026-11-19"]) == 2
    assert "--end is before --start" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["sync", "--db", db, "--lookback", "two days"])
    assert "lookback" in capsys.readouterr().err
    monkeypatch.setenv("REPORTER_TOKEN", "wrong-token-55aa")
    assert main(["sync", "--db", db, "--start", "2026-11-19"]) == 1
    err = capsys.readouterr().err
    assert "refused the token" in err and "wrong-token-55aa" not in err and TOKEN not in err
    monkeypatch.delenv("REPORTER_TOKEN")
    assert main(["sync", "--db", db]) == 2
    assert "REPORTER_TOKEN" in capsys.readouterr().err


def test_a_second_writer_waits_then_names_the_holder(sim, env, tmp_path: Path, capsys) -> None:
    db = tmp_path / "w.duckdb"
    with Warehouse.open(db) as wh:
        run_id = wh.begin_run("someone-else")
        started = time.monotonic()
        assert main(["sync", "--db", str(db), "--start", "2026-11-20", "--lock-timeout", "0.3"]) == 1
        assert time.monotonic() - started >= 0.3
        err = capsys.readouterr().err
        assert run_id in err and str(os.getpid()) in err


def test_a_sync_killed_mid_way_resumes_to_the_ground_truth(sim, env, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    # Each window's pages answered slowly: long enough to be killed in the middle (the catalogs at the start, read
    # once, answer at once).
    sim.faults = FaultConfig(seed=3, slow=1.0, slow_seconds=0.1, operations=frozenset(
        {"getMessageDataByFilter", "getSessionDataByFilter", "getClientDataByFilter"}))
    command = [sys.executable, "-m", "reporter_etl.cli", "-v", "sync", "--db", str(db), "--start", "2026-11-17",
               "--end", "2026-11-20", "--no-progress"]  # fmt: skip
    child = subprocess.Popen(command, env=env, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL, text=True)
    assert child.stderr is not None
    loaded = 0
    for line in child.stderr:
        if "loaded in" in line:
            loaded += 1
            if loaded == 2:
                child.send_signal(signal.SIGKILL)
                break
    child.wait(timeout=60)
    assert child.returncode == -signal.SIGKILL, "the sync should have been killed before it finished"
    con = open_readonly(db)
    try:
        done = con.execute(
            "select window_start, window_end, row_count from meta.sync_state where entity = 'messages'").fetchall()
        assert 2 <= len(done) < 4
        for start, end, row_count in done:  # the state never claims a window whose rows are not there
            held = con.execute("select count(*) from raw.messages where message_time >= ? and message_time < ?",
                               [start, end]).fetchone()[0]  # fmt: skip
            assert held == row_count
        assert con.execute("select status from meta.sync_runs").fetchall() == [("running",)]
    finally:
        con.close()
    sim.faults = None
    assert main(["sync", "--db", str(db), "--end", "2026-11-20", "--no-models"]) == 0
    assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)
    con = open_readonly(db)
    try:
        statuses = sorted(r[0] for r in con.execute("select status from meta.sync_runs").fetchall())
    finally:
        con.close()
    assert statuses == ["interrupted", "succeeded"]


def test_demo_prints_real_numbers(tmp_path: Path, capsys) -> None:
    db = tmp_path / "demo.duckdb"
    assert main(["demo", "--db", str(db), "--days", "3", "--messages-per-day", "60"]) == 0
    out = capsys.readouterr().out
    assert "every day's message count equals the platform's statistics" in out
    con = open_readonly(db)
    try:
        days = con.execute("select count(distinct message_time::date) from raw.messages").fetchone()[0]
        assert days == 3
        yesterday = date.today() - timedelta(days=1)
        assert str(yesterday) in out or str(yesterday - timedelta(days=1)) in out
    finally:
        con.close()
