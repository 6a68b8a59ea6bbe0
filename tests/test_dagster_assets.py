"""The Dagster code location in process against the simulator over HTTP, into a real DuckDB file.

One three-day warehouse, synced through the nightly job, serves the module: the first test judges it against the
ground truth and syncs it again; the checks test plants its errors in a copy of the file."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, timedelta
from pathlib import Path

import dagster as dg
import pytest

from dagster_defs.assets import DAY_TABLE_DESCRIPTIONS, raw_key
from dagster_defs.projects import LocationConfig, load_location
from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.warehouse import open_readonly
from reporter_etl.windows import day_window, zone
from tests.dagster_support import (
    SimProject,
    definitions,
    job_name,
    materializations,
    range_tags,
    run_range,
    write_projects_file,
)
from tests.fixed_dates import TEST_END_DATE
from tests.sync_support import assert_equals_truth, table_snapshot

# End-to-end runs of the code location.  make test distributes whole modules (--dist loadscope), so one worker
# runs this module and the warehouse below is synced once.
pytestmark = pytest.mark.heavy

TOKEN = "dagster-test-token-5b9e"
TOKEN_ENV = "REPORTER_TEST_TOKEN"
TZ = "Europe/Moscow"
END = TEST_END_DATE
FIRST = END - timedelta(days=2)


def sim_project(sim: Simulator, first_day: date, token_env: str = TOKEN_ENV, timezone: str = TZ) -> SimProject:
    return SimProject(sim.world.project_short_name, sim.base_url, token_env, timezone, first_day)


@dataclass
class Synced:
    """Three days synced through the nightly job into ``db``; the simulator still serving them."""

    sim: Simulator
    instance: dg.DagsterInstance
    location: LocationConfig
    defs: dg.Definitions
    db: Path
    result: dg.ExecuteInProcessResult


@pytest.fixture(scope="module")
def synced(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Synced]:
    env = pytest.MonkeyPatch()
    env.setenv(TOKEN_ENV, TOKEN)
    tmp_path = tmp_path_factory.mktemp("dagster-assets")
    config = WorldConfig(seed=21, days=3, end_date=END, messages_per_day=200, timezone=TZ)
    db = tmp_path / "w.duckdb"
    try:
        with Simulator(config, token=TOKEN) as sim, dg.DagsterInstance.ephemeral() as instance:
            location = load_location(write_projects_file(tmp_path / "projects.toml", db, [sim_project(sim, FIRST)]))
            defs = definitions(location)
            yield Synced(sim, instance, location, defs, db, run_range(defs, job_name(location), FIRST, END, instance))
    finally:
        env.undo()


@pytest.fixture
def env(monkeypatch: pytest.MonkeyPatch) -> pytest.MonkeyPatch:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    return monkeypatch


def test_a_three_day_range_equals_the_ground_truth_and_again_changes_nothing(synced: Synced, env) -> None:
    db, sim, location, defs, result = synced.db, synced.sim, synced.location, synced.defs, synced.result
    assert result.success
    tz = zone(TZ)
    counts = assert_equals_truth(db, sim.world, day_window(FIRST, tz).start, day_window(END, tz).end)
    prefix = location.projects[0].prefix
    meta = materializations(result)
    assert meta[f"{prefix}/raw/messages"]["rows_loaded"] == counts["messages"]
    assert meta[f"{prefix}/raw/sessions"]["rows_loaded"] >= counts["sessions"]  # a session crossing midnight
    assert meta[f"{prefix}/raw/messages"]["days_read"] == 3
    assert meta[f"{prefix}/raw/messages"]["requests"] > 0
    # A few rows of each day table, read back from the warehouse, as a Markdown preview.
    first_columns = {"messages": "message_time", "sessions": "start_time", "clients": "last_visit_date"}
    for table, first_column in first_columns.items():
        preview = meta[f"{prefix}/raw/{table}"]["preview"]
        assert preview.startswith(f"| {first_column} |") and len(preview.splitlines()) == 2 + 5, preview
    # The models ran on top, in the same run: daily marts for the range, per local day of the project.
    assert meta["marts/daily_conversations"]["action"] in ("range", "table")
    assert {"staging/messages", "marts/session_facts"} <= meta.keys()
    con = open_readonly(db)
    try:
        per_day = dict(con.execute("select day, sum(messages) from marts.daily_conversations group by day").fetchall())
    finally:
        con.close()
    for n in range(3):
        window = day_window(FIRST + timedelta(days=n), tz)
        assert per_day[window.day] == len(list(sim.world.truth_messages(window.start, window.end)))
    graph = defs.resolve_asset_graph()
    staging, mart = dg.AssetKey(["staging", "messages"]), dg.AssetKey(["marts", "daily_conversations"])
    assert dg.AssetKey([prefix, "raw", "messages"]) in graph.get(staging).parent_keys
    assert graph.get(mart).partitions_def == graph.get(dg.AssetKey([prefix, "raw", "messages"])).partitions_def
    assert graph.get(staging).partitions_def is None
    before = table_snapshot(db)
    again = run_range(defs, job_name(location), FIRST, END, synced.instance)
    assert again.success
    assert table_snapshot(db) == before
    checks = {(e.asset_key.path[-1], e.check_name): e.passed for e in again.get_asset_check_evaluations()}
    assert checks and all(checks.values()), checks
    assert checks[("daily_conversations", "matches_platform_counts")]  # reporter-etl check's reconciliation


def _plant(db: Path, *statements: str) -> None:
    import duckdb

    con = duckdb.connect(str(db))
    try:
        for statement in statements:
            con.execute(statement)
    finally:
        con.close()


def _check_outcomes(defs: dg.Definitions, prefix: str, instance: dg.DagsterInstance) -> dict[tuple[str, str], bool]:
    result = defs.resolve_job_def(f"{prefix}_checks").execute_in_process(instance=instance)
    assert result.success
    assert not result.get_asset_materialization_events(), "the checks job must not sync"
    return {(e.asset_key.path[-1], e.check_name): e.passed for e in result.get_asset_check_evaluations()}


def test_checks_pass_on_a_correct_warehouse_and_fail_on_planted_errors(synced: Synced, tmp_path: Path, env) -> None:
    # A copy of the module's warehouse, with the same simulator behind a projects file of its own.
    db = tmp_path / "w.duckdb"
    shutil.copyfile(synced.db, db)
    middle = FIRST + timedelta(days=1)
    location = load_location(write_projects_file(tmp_path / "projects.toml", db, [sim_project(synced.sim, FIRST)]))
    defs = definitions(location)
    with dg.DagsterInstance.ephemeral() as instance:
        _checks_on_planted_errors(defs, location, db, middle, instance)


def _checks_on_planted_errors(defs: dg.Definitions, location: LocationConfig, db: Path, middle: date,
                              instance: dg.DagsterInstance) -> None:  # fmt: skip
    prefix = location.projects[0].prefix
    clean = _check_outcomes(defs, prefix, instance)
    assert len(clean) == 11 and all(clean.values()), clean  # 10 of the raw layer, and sql/checks/raw_unique_keys

    _plant(db, "INSERT INTO raw.messages SELECT * FROM raw.messages LIMIT 1",
           "INSERT INTO raw.session_label_links SELECT * FROM raw.session_label_links LIMIT 1")  # fmt: skip
    planted = _check_outcomes(defs, prefix, instance)
    assert not planted[("messages", "unique_natural_key")]
    assert not planted[("session_label_links", "unique_natural_key")]
    assert not planted[("messages", "raw_unique_keys")]  # the SQL check of the models layer sees it too
    assert planted[("sessions", "unique_natural_key")] and planted[("clients", "unique_natural_key")]
    assert not planted[("messages", "matches_platform_daily_counts")]  # the duplicate is one message too many
    assert planted[("messages", "no_missing_days")]

    tz = zone(TZ)
    window = day_window(middle, tz)
    _plant(db, "DELETE FROM raw.messages WHERE rowid IN (SELECT max(rowid) FROM raw.messages GROUP BY question_id "
               "HAVING count(*) > 1)",
           "DELETE FROM raw.session_label_links WHERE rowid IN (SELECT max(rowid) FROM raw.session_label_links "
               "GROUP BY session_id, label_id HAVING count(*) > 1)",
           f"DELETE FROM meta.sync_state WHERE window_start = '{window.start.isoformat()}'",
           f"DELETE FROM raw.messages WHERE message_time >= '{window.start.isoformat()}' "
           f"AND message_time < '{window.end.isoformat()}'")  # fmt: skip
    missing = _check_outcomes(defs, prefix, instance)
    assert missing[("messages", "unique_natural_key")] and missing[("session_label_links", "unique_natural_key")]
    assert not missing[("messages", "no_missing_days")]
    assert not missing[("messages", "matches_platform_daily_counts")]

    # Sync the missing day again: the warehouse is whole; then one day's count differs from the platform's.
    assert run_range(defs, job_name(location), middle, middle, instance).success
    assert all(_check_outcomes(defs, prefix, instance).values())
    in_window = f"message_time >= '{window.start.isoformat()}' AND message_time < '{window.end.isoformat()}'"
    _plant(
        db,
        f"DELETE FROM raw.messages WHERE question_id = (SELECT min(question_id) FROM raw.messages WHERE {in_window})",
    )
    differs = _check_outcomes(defs, prefix, instance)
    assert not differs[("messages", "matches_platform_daily_counts")]
    everything = _check_outcomes(defs, "warehouse", instance)  # the warehouse_checks job: models' checks too
    assert not everything[("daily_conversations", "matches_platform_counts")]
    assert not everything[("messages", "matches_platform_daily_counts")]
    assert differs[("messages", "no_missing_days")] and differs[("messages", "unique_natural_key")]


def test_a_new_api_field_is_kept_and_the_drift_check_warns(tmp_path: Path, env) -> None:
    config = WorldConfig(seed=24, days=1, end_date=END, messages_per_day=120, timezone=TZ)
    db = tmp_path / "w.duckdb"
    with Simulator(config, token=TOKEN) as sim, dg.DagsterInstance.ephemeral() as instance:
        render = sim.world.extended_messages
        # The platform starts sending a field this version does not know, across real HTTP.
        sim.world.extended_messages = lambda rows: [{**m, "sentiment": {"score": 0.5}} for m in render(rows)]
        location = load_location(write_projects_file(tmp_path / "projects.toml", db, [sim_project(sim, END)]))
        project = location.projects[0]
        # The nightly job's raw day and its checks (where new fields are kept and judged), not the models on top.
        raw_day = [raw_key(project, table) for table in DAY_TABLE_DESCRIPTIONS]
        result = definitions(location).resolve_job_def(job_name(location)).execute_in_process(
            instance=instance, tags=range_tags(END, END), asset_selection=raw_day
        )
        assert result.success  # a warning, not a failure
        assert materializations(result)[f"{project.prefix}/raw/messages"]["new_api_fields"] == "sentiment"
        evaluations = result.get_asset_check_evaluations()
        drift = {e.asset_key.path[-1]: e for e in evaluations if e.check_name == "no_new_api_fields"}
        assert not drift["messages"].passed and drift["messages"].severity == dg.AssetCheckSeverity.WARN
        window = day_window(END, zone(TZ))
        every_message = len(sim.world.truth_messages(window.start, window.end))
        assert drift["messages"].metadata["new_fields"].value == {"sentiment": every_message} and every_message > 0
        assert drift["sessions"].passed and drift["clients"].passed
