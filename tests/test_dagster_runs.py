"""Runs of the code location that matter in operation: a run failing half-way through a range and re-executed
from the failure, two projects in one warehouse, and what the Dagster instance keeps on disk (never the token)."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from dagster_defs.projects import PROJECTS_FILE_ENV, load_location
from reporter_etl.simulator import FaultConfig, Simulator, WorldConfig
from reporter_etl.warehouse import open_readonly
from reporter_etl.windows import day_window, zone
from tests.dagster_support import (
    SimProject,
    check_results,
    definitions,
    job_name,
    materializations,
    nightly_job_from_env,
    range_tags,
    run_range,
    write_projects_file,
)
from tests.fixed_dates import TEST_END_DATE
from tests.sync_support import assert_equals_truth

# End-to-end and whole-program tests (-m "not heavy" leaves them out).
pytestmark = pytest.mark.heavy

TOKEN = "dagster-runs-token-31f0a"
OTHER_TOKEN = "dagster-runs-other-token-8d27"
END = TEST_END_DATE
WINDOW_LOG = "reporter_etl.warehouse.load"  # logs "window ... loaded in ..." once a window's transaction committed


def committed_days(db: Path, project: str, tz_name: str) -> dict:
    con = open_readonly(db)
    try:
        rows = con.execute(
            "SELECT window_start, max(completed_at) FROM meta.sync_state WHERE project_short_name = ? "
            "AND status = 'done' GROUP BY ALL",
            [project],
        ).fetchall()
    finally:
        con.close()
    return {start.astimezone(zone(tz_name)).date(): done_at for start, done_at in rows}


class FailAfterFirstCommit(logging.Handler):
    """When the sync logs that its first window is committed (in the thread that committed it, before the next
    window's commit), the API starts failing every request."""

    def __init__(self, sim: Simulator) -> None:
        super().__init__(logging.INFO)
        self.sim = sim
        self.armed = threading.Event()

    def emit(self, record: logging.LogRecord) -> None:
        if not self.armed.is_set() and " loaded in " in record.getMessage():
            self.sim.faults = FaultConfig(seed=1, server_error=1.0)
            self.armed.set()


@contextmanager
def failing_after_first_commit(sim: Simulator) -> Iterator[FailAfterFirstCommit]:
    handler = FailAfterFirstCommit(sim)
    logger = logging.getLogger(WINDOW_LOG)
    level = logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


def token_files(root: Path, *tokens: str) -> list[str]:
    """Every file under ``root`` whose bytes contain one of the tokens."""
    found = []
    for path in root.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            if any(token.encode() in data for token in tokens):
                found.append(str(path.relative_to(root)))
    return found


def test_a_run_failing_mid_range_resumes_with_the_remaining_days_and_keeps_no_token(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    tz_name = "Europe/Moscow"
    config = WorldConfig(seed=23, days=3, end_date=END, messages_per_day=200, timezone=tz_name)
    first = END - timedelta(days=2)
    db = tmp_path / "w.duckdb"
    home = tmp_path / "dagster_home"
    home.mkdir()
    monkeypatch.setenv("REPORTER_TEST_TOKEN", TOKEN)
    # The switch to failures lands in the commit of the first day: the sync reads at most one day ahead, so the
    # third day is read (and fails) after it, whatever the timing.
    with (
        Simulator(config, token=TOKEN) as sim,
        dg.instance_for_test(temp_dir=str(home)) as instance,
    ):
        project = SimProject(sim.world.project_short_name, sim.base_url, "REPORTER_TEST_TOKEN", tz_name, first)
        projects_file = write_projects_file(tmp_path / "projects.toml", db, [project])
        monkeypatch.setenv(PROJECTS_FILE_ENV, str(projects_file))
        location = load_location(projects_file)
        job = dg.reconstructable(nightly_job_from_env)

        with failing_after_first_commit(sim) as trigger:
            failed = dg.execute_job(job, instance, tags=range_tags(first, END))
        assert trigger.armed.is_set(), "no window was committed"
        assert not failed.success
        before = committed_days(db, project.short_name, tz_name)
        assert 1 <= len(before) < 3, f"the run should have failed half-way, committed: {sorted(before)}"

        sim.faults = None
        # As the UI's "re-execute from failure": the parent's partition range tags, only the failed steps.
        parent_tags = instance.get_run_by_id(failed.run_id).tags
        retried = dg.execute_job(
            job, instance, tags={k: v for k, v in parent_tags.items() if "partition" in k},
            reexecution_options=dg.ReexecutionOptions.from_failure(failed.run_id, instance),
        )  # fmt: skip
        assert retried.success
        meta = materializations(retried)[f"{location.projects[0].prefix}/raw/messages"]
        assert meta["days_resumed"] == len(before) and meta["days_read"] == 3 - len(before)
        after = committed_days(db, project.short_name, tz_name)
        assert sorted(after) == [first + timedelta(days=n) for n in range(3)]
        assert all(after[day] == done_at for day, done_at in before.items()), "a committed day was read again"
        tz = zone(tz_name)
        assert_equals_truth(db, sim.world, day_window(first, tz).start, day_window(END, tz).end)
        assert all(e.passed for e in check_results(retried).values())

        # The instance's storage (run records, event logs, compute logs, schedules) never holds the token,
        # though a run failed with API errors; nor do the projects file and the warehouse.
        assert instance.get_run_by_id(failed.run_id) is not None
        assert list(home.rglob("*.db")), "the instance should keep its storage under DAGSTER_HOME"
        assert list(home.rglob("compute_logs/*.err")), "the steps' captured output should be under DAGSTER_HOME"
        assert token_files(home, TOKEN) == []
        assert token_files(tmp_path, TOKEN) == []


def test_two_projects_in_one_code_location_write_one_warehouse_and_stay_apart(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = tmp_path / "w.duckdb"
    monkeypatch.setenv("TOKEN_SHOP", TOKEN)
    monkeypatch.setenv("TOKEN_BANK", OTHER_TOKEN)
    shop_world = WorldConfig(seed=31, days=2, end_date=END, messages_per_day=150, timezone="UTC")
    bank_world = WorldConfig(seed=32, days=2, end_date=END, messages_per_day=120, timezone="Asia/Tokyo")
    first = END - timedelta(days=1)
    with (
        Simulator(shop_world, token=TOKEN) as shop,
        Simulator(bank_world, token=OTHER_TOKEN) as bank,
        dg.DagsterInstance.ephemeral() as instance,
    ):
        projects = [
            SimProject(shop.world.project_short_name, shop.base_url, "TOKEN_SHOP", "UTC", first),
            SimProject(bank.world.project_short_name, bank.base_url, "TOKEN_BANK", "Asia/Tokyo", first),
        ]
        assert projects[0].short_name != projects[1].short_name
        location = load_location(write_projects_file(tmp_path / "projects.toml", db, projects))
        defs = definitions(location)
        prefixes = [p.prefix for p in location.projects]
        keys = {key.path[0] for key in defs.resolve_asset_graph().get_all_asset_keys()}
        assert keys == {*prefixes, "staging", "marts"}  # the models are the warehouse's, shared by both
        results = [run_range(defs, job_name(location, n), first, END, instance) for n in range(2)]
        assert all(result.success for result in results)
        for sim, prefix, result in zip((shop, bank), prefixes, results, strict=True):
            tz = zone(sim.world.config.timezone)
            assert_equals_truth(db, sim.world, day_window(first, tz).start, day_window(END, tz).end)
            assert {key.split("/")[0] for key in materializations(result)} - {"staging", "marts"} == {prefix}
            checks = check_results(result)
            assert checks and all(e.passed for e in checks.values()), checks
            assert {key[0].split("/")[0] for key in checks} - {"staging", "marts"} == {prefix}
        # The shop's days are the models' days (UTC, same start): its nightly run builds the models too; the bank
        # (Tokyo) leaves them to the models' own nightly run.
        assert "marts/daily_conversations" in materializations(results[0])
        assert not any(key.startswith("marts/") for key in materializations(results[1]))
        assert {s.name for s in defs.schedules} >= {
            f"{prefixes[1]}_nightly_schedule",
            "warehouse_models_nightly_schedule",
        }
        con = open_readonly(db)
        try:
            for table in ("messages", "sessions", "clients", "message_labels", "experiments", "api_daily_stats"):
                names = {r[0] for r in con.execute(f"select distinct project_short_name from raw.{table}").fetchall()}
                assert names == {p.short_name for p in projects}, table
        finally:
            con.close()

        # A token that belongs to the other project is refused before anything is written.
        monkeypatch.setenv("TOKEN_SHOP", OTHER_TOKEN)
        crossed = [SimProject(projects[0].short_name, bank.base_url, "TOKEN_SHOP", "UTC", first)]
        wrong = load_location(write_projects_file(tmp_path / "crossed.toml", db, crossed))
        failed = run_range(definitions(wrong), job_name(wrong), first, END, instance, raise_on_error=False)
        assert not failed.success
        errors = [e.event_specific_data.error.to_string() for e in failed.all_events if e.is_step_failure]
        assert any("expects" in message and projects[0].short_name in message for message in errors), errors
