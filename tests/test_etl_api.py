"""The public sync API as a Python user and a Dagster asset call it: the README's example run verbatim against the
simulator over HTTP into a DuckDB file, per-partition calls in one session, and settings that keep the token."""

from __future__ import annotations

import re
from datetime import date, timedelta
from pathlib import Path

import pytest

from reporter_etl import (
    ConfigurationError,
    Settings,
    WarehouseLockedError,
    WriterLock,
    open_sync,
    refresh_catalogs,
    sync_days,
)
from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.warehouse import open_readonly
from tests.sync_support import assert_equals_truth, truth_message_rows, warehouse_rows

REPO = Path(__file__).resolve().parents[1]
TOKEN = "etl-api-token-7d21c9"


def readme_python_example() -> str:
    """The first ```python block under the README's "Python API" heading."""
    section = (REPO / "README.md").read_text(encoding="utf-8").split("## Python API", 1)[1]
    match = re.search(r"```python\n(.*?)```", section, re.DOTALL)
    assert match, "the README's Python API section has no python code block"
    return match.group(1)


def runs(db: Path) -> list[tuple]:
    con = open_readonly(db)
    try:
        return con.execute(
            "select status, requested_start, requested_end, rows_per_entity from meta.sync_runs order by started_at"
        ).fetchall()
    finally:
        con.close()


def test_the_readme_example_syncs_the_week_it_names(tmp_path: Path, monkeypatch, capsys) -> None:
    code = readme_python_example()
    days = re.findall(r"date\((\d{4}), (\d+), (\d+)\)", code)
    first, last = min(date(*map(int, d)) for d in days), max(date(*map(int, d)) for d in days)
    config = WorldConfig(seed=31, days=(last - first).days + 1, end_date=last, messages_per_day=80)
    with Simulator(config, token=TOKEN) as sim:
        monkeypatch.setenv("REPORTER_TOKEN", TOKEN)
        monkeypatch.setenv("REPORTER_BASE_URL", sim.base_url)
        monkeypatch.chdir(tmp_path)
        namespace: dict = {"__name__": "readme_example"}
        exec(compile(code, "README.md (Python API)", "exec"), namespace)  # noqa: S102 - the documented example
        db = tmp_path / "warehouse.duckdb"
        counts = assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)
        labels = sim.world.message_labels()
    result, checked, catalogs = namespace["result"], namespace["checked"], namespace["catalogs"]
    assert [w.day for w in result.windows] == [first + timedelta(days=i) for i in range(config.days)]
    # A session (or client) active on two days is read with both windows, so only messages add up exactly.
    assert result.rows["messages"] == counts["messages"]
    assert result.rows["sessions"] >= counts["sessions"] and result.rows["clients"] >= counts["clients"]
    assert all(w.rows["messages"] == w.api_totals["messages"] and w.requests > 0 and w.seconds > 0
               for w in result.windows)  # fmt: skip
    assert checked.stale == [] and checked.resynced == 0
    assert catalogs.catalog_rows["message_labels"] == len(labels) > 0
    printed = capsys.readouterr().out.splitlines()
    assert [line.split()[0] for line in printed] == [w.day.isoformat() for w in result.windows]
    assert [status for status, *_ in runs(db)] == ["succeeded"] * 3


def test_one_session_syncs_partitions_without_asking_twice_for_the_project(tmp_path: Path) -> None:
    end = date(2026, 11, 20)
    db = tmp_path / "w.duckdb"
    with Simulator(WorldConfig(seed=32, days=3, end_date=end, messages_per_day=120), token=TOKEN) as sim:
        settings = Settings(db_path=db, base_url=sim.base_url, token=TOKEN)
        partitions = [end - timedelta(days=2), end - timedelta(days=1), end]
        with open_sync(settings) as session:
            results = [session.sync_days(day, day) for day in partitions]
            used = session.client.requests_by_operation
        assert used["count_sessions_per_project"] == 1
        # No catalogs and no end-of-run reconciliation unless asked: the windows' reads only.
        assert set(used) == {"count_sessions_per_project", "filter_messages", "filter_sessions", "filter_clients",
                             "message_stats", "session_stats",  # the windows' reads and their verification
                             "switched_sessions_stats", "telephony_stats", "unique_clients_stats"}  # fmt: skip
        # Per window: one message count; two session counts (active, for verification; started, kept to reconcile).
        assert used["message_stats"] == 3 and used["session_stats"] == 2 * 3
        assert [r.windows[0].day for r in results] == partitions and len({r.run_id for r in results}) == 3
        assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)
        recorded = runs(db)
        assert [status for status, *_ in recorded] == ["succeeded"] * 3
        assert [(s.date(), (e - timedelta(days=1)).date()) for _, s, e, _ in recorded] == [(d, d) for d in partitions]
        assert [rows["messages"] for *_, rows in recorded] == [r.rows["messages"] for r in results]

        # A caller that knows the project names it, and then the API is not asked.
        known = Settings(db_path=db, base_url=sim.base_url, token=TOKEN, project=sim.world.project_short_name)
        with open_sync(known) as session:
            again = session.sync_days(end, end)
            assert "count_sessions_per_project" not in session.client.requests_by_operation
        assert again.rows == results[-1].rows
        assert refresh_catalogs(known).catalog_rows["experiments"] == len(sim.world.experiments())


def test_settings_never_show_the_token_and_refuse_what_cannot_work(tmp_path: Path) -> None:
    settings = Settings(db_path=tmp_path / "w.duckdb", token=TOKEN)
    assert TOKEN not in repr(settings) and TOKEN not in str(settings) and settings.token.reveal() == TOKEN
    with pytest.raises(ConfigurationError, match="REPORTER_TOKEN"):
        Settings.from_env(db_path=tmp_path / "w.duckdb", environ={})
    from_env = Settings.from_env(db_path="w.duckdb", environ={"REPORTER_TOKEN": TOKEN}, timezone="Europe/Moscow")
    assert from_env.base_url == "https://app.jaicp.com" and from_env.timezone == "Europe/Moscow"
    with pytest.raises(ConfigurationError, match="time zone"):
        Settings(db_path="w.duckdb", token=TOKEN, timezone="Mars/Olympus")
    with pytest.raises(ConfigurationError, match="page_size"):
        Settings(db_path="w.duckdb", token=TOKEN, page_size=5000)


def test_the_writer_lock_keeps_a_sync_out(tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    settings = Settings(db_path=db, base_url="http://127.0.0.1:9", token=TOKEN, lock_timeout=0.2)
    with WriterLock(db, timeout=1), pytest.raises(WarehouseLockedError, match="being written"):
        sync_days(settings, date(2026, 11, 20), date(2026, 11, 20))


def test_reconcile_finds_the_days_that_changed_and_reads_them_again(tmp_path: Path) -> None:
    end = date(2026, 11, 20)
    db = tmp_path / "w.duckdb"
    config = WorldConfig(seed=24, days=4, end_date=end, messages_per_day=300, delayed_share=0.1)
    with Simulator(config, token=TOKEN) as sim:
        settings = Settings(db_path=db, base_url=sim.base_url, token=TOKEN)
        first = end - timedelta(days=3)
        sync_days(settings, first, end)
        sim.advance(days=1)  # late messages arrive in days already synced
        with open_sync(settings) as session:
            check = session.reconcile(first, end, resync=False)
            assert check.stale and check.windows == []  # found, nothing read
            fixed = session.reconcile(first, end)
        assert fixed.stale == [] and fixed.resynced >= len(check.stale)
        assert {w.day for w in fixed.windows} >= {w.day for w in check.stale}
        # Reconciliation is by message counts: the messages are whole again (late labels, results and client
        # activity are the lookback's job, see test_sync).
        truth = truth_message_rows(sim.world, sim.world.start, sim.world.end)
        messages, *_ = warehouse_rows(db, sim.world.project_short_name)
        assert messages == truth
    assert [status for status, *_ in runs(db)] == ["succeeded"] * 3
