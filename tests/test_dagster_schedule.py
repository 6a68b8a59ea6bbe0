"""The nightly schedule, evaluated at fixed instants in zones other than UTC, and the projects file."""

from __future__ import annotations

import shutil
from datetime import date, datetime, time
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

import pytest

from dagster_defs.projects import LocationConfig, ProjectConfig, ProjectsFileError, parse_location

if TYPE_CHECKING:
    import dagster as dg

# dagster (and the code location, which imports it) are imported inside the tests that use them: at module level
# every xdist worker paid about 0.6 s for it at collection.


def location(*projects: ProjectConfig) -> LocationConfig:
    return LocationConfig(db_path="unused.duckdb", projects=projects, source="test")


def project(timezone: str, start: date = date(2026, 1, 1), lookback: int = 2, at: time = time(2, 0)) -> ProjectConfig:
    return ProjectConfig(short_name="shop-1-ab", token_env="REPORTER_TOKEN", timezone=timezone, start_date=start,
                         base_url="http://127.0.0.1:9", lookback_days=lookback, nightly_at=at)  # fmt: skip


def evaluate(defs: dg.Definitions, name: str, instant: datetime) -> list[dg.RunRequest] | str:
    import dagster as dg

    schedule = defs.resolve_schedule_def(name)
    with dg.build_schedule_context(scheduled_execution_time=instant) as context:
        data = schedule.evaluate_tick(context)
    return list(data.run_requests or []) if data.run_requests else str(data.skip_message)


def test_the_nightly_run_asks_for_the_last_local_day_and_the_lookback_in_one_run() -> None:
    import dagster as dg

    from dagster_defs.definitions import build_definitions
    from dagster_defs.schedules import RANGE_END_TAG, RANGE_START_TAG

    tokyo = project("Asia/Tokyo", lookback=2, at=time(2, 0))
    defs = build_definitions(location(tokyo))
    schedule = defs.resolve_schedule_def("shop_1_ab_nightly_schedule")
    assert schedule.cron_schedule == "0 2 * * *" and schedule.execution_timezone == "Asia/Tokyo"
    # 02:00 in Tokyo on March 5th is still March 4th in UTC: the last complete day in Tokyo is March 4th.
    instant = datetime(2026, 3, 5, 2, 0, tzinfo=ZoneInfo("Asia/Tokyo"))
    assert instant.astimezone(ZoneInfo("UTC")).date() == date(2026, 3, 4)
    [request] = evaluate(defs, "shop_1_ab_nightly_schedule", instant)
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2026-03-02", "2026-03-04")
    assert request.job_name in (None, "shop_1_ab_nightly")
    job = defs.resolve_job_def("shop_1_ab_nightly")
    keys = job.partitions_def.get_partition_keys_in_range(dg.PartitionKeyRange("2026-03-02", "2026-03-04"))
    assert keys == ["2026-03-02", "2026-03-03", "2026-03-04"]


def test_the_Nightly_across_a_dst_change_and_near_the_start_date() -> None:
    from dagster_defs.definitions import build_definitions
    from dagster_defs.schedules import RANGE_END_TAG, RANGE_START_TAG

    la = project("America/Los_Angeles", start=date(2026, 3, 7), lookback=3, at=time(3, 30))
    defs = build_definitions(location(la))
    name = "shop_1_ab_nightly_schedule"
    # The night after the spring-forward day (March 8th 2026 in Los Angeles); the range starts no earlier than
    # the project's start date.
    [request] = evaluate(defs, name, datetime(2026, 3, 9, 3, 30, tzinfo=ZoneInfo("America/Los_Angeles")))
    assert (request.tags[RANGE_START_TAG], request.tags[RANGE_END_TAG]) == ("2026-03-07", "2026-03-08")
    skipped = evaluate(defs, name, datetime(2026, 3, 7, 3, 30, tzinfo=ZoneInfo("America/Los_Angeles")))
    assert isinstance(skipped, str) and "2026-03-07" in skipped


def test_every_partitioned_asset_backfills_in_one_run_and_writes_through_one_pool() -> None:
    import dagster as dg

    from dagster_defs.definitions import build_definitions

    defs = build_definitions(location(project("Europe/Moscow")))
    graph = defs.resolve_asset_graph()
    partitioned = [key for key in graph.get_all_asset_keys() if graph.get(key).partitions_def is not None]
    assert len(partitioned) >= 6
    for key in partitioned:
        node = graph.get(key)
        assert node.backfill_policy == dg.BackfillPolicy.single_run(), key
        assert node.partitions_def.timezone == "Europe/Moscow"
    for assets_def in defs.assets:
        assert assets_def.op.pool == "reporter_warehouse", assets_def.op.name
    for checks_def in defs.asset_checks:
        assert checks_def.op.pool == "reporter_warehouse", checks_def.op.name


def test_the_projects_file_names_variables_not_tokens_and_says_what_is_wrong() -> None:
    good = {"warehouse": {"path": "w.duckdb"},
            "projects": [{"short_name": "a-1", "token_env": "TOKEN_A", "timezone": "UTC", "start_date": "2026-01-01"},
                         {"short_name": "b-2", "token_env": "TOKEN_B", "timezone": "Europe/Moscow",
                          "start_date": date(2026, 2, 1), "lookback_days": 3, "nightly_at": "04:15",
                          "base_url": "http://127.0.0.1:8700/"}]}  # fmt: skip
    parsed = parse_location(good, "p.toml", {"REPORTER_ETL_DB": "/tmp/x.duckdb"})
    assert parsed.db_path == "/tmp/x.duckdb"
    assert [p.prefix for p in parsed.projects] == ["a_1", "b_2"]
    assert parsed.projects[0].base_url == "https://app.jaicp.com"
    assert parsed.projects[1].base_url == "http://127.0.0.1:8700" and parsed.projects[1].nightly_at == time(4, 15)
    for broken, words in (
        ({"projects": []}, "at least one project"),
        ({"projects": [{**good["projects"][0], "timezone": "Mars/Olympus"}]}, "unknown time zone"),
        ({"projects": [{**good["projects"][0], "token_env": "abc-def 123"}]}, "token_env"),
        ({"projects": [{**good["projects"][0], "token": "secret"}]}, "unknown field"),
        ({"projects": [good["projects"][0], good["projects"][0]]}, "share"),
        ({"projects": [{**good["projects"][0], "start_date": "01.01.2026"}]}, "start_date"),
    ):
        with pytest.raises(ProjectsFileError, match=words):
            parse_location(broken, "p.toml", {})


def test_the_shipped_instance_settings_give_every_pool_one_slot(tmp_path: Path) -> None:
    import dagster as dg

    shipped = Path(__file__).resolve().parent.parent / "dagster.yaml"
    shutil.copyfile(shipped, tmp_path / "dagster.yaml")
    with dg.DagsterInstance.from_config(str(tmp_path)) as instance:
        assert instance.get_concurrency_config().pool_config.default_pool_limit == 1
