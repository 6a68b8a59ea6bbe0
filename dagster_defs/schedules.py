"""The nightly run of a project: in the project's zone, at its configured time, the last complete day and the
lookback days before it, all in one run (a partition range), so the sync reads them in one pass."""

from __future__ import annotations

from datetime import timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from dagster_defs.projects import ProjectConfig

# Dagster's own tags for a run over a range of partitions (what a single-run backfill sets).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


def project_job(project: ProjectConfig) -> dg.UnresolvedAssetJobDefinition:
    return dg.define_asset_job(
        name=f"{project.prefix}_nightly",
        selection=dg.AssetSelection.key_prefixes([project.prefix]),
        description=f"Sync of {project.short_name}: the day range asked for, then the models built on it.",
    )


def checks_job(project: ProjectConfig) -> dg.UnresolvedAssetJobDefinition:
    """The project's asset checks alone, to judge the warehouse without syncing."""
    return dg.define_asset_job(
        name=f"{project.prefix}_checks",
        selection=dg.AssetSelection.key_prefixes([project.prefix]) & dg.AssetSelection.all_asset_checks(),
        description=f"Every asset check of {project.short_name}, without materializing anything.",
    )


def nightly_range(project: ProjectConfig, scheduled: object) -> tuple[str, str] | None:
    """(first, last) partition keys the nightly run at ``scheduled`` asks for, or None before the start date."""
    local = scheduled.astimezone(ZoneInfo(project.timezone))  # type: ignore[attr-defined]
    last = local.date() - timedelta(days=1)
    if last < project.start_date:
        return None
    first = max(project.start_date, last - timedelta(days=project.lookback_days))
    return first.isoformat(), last.isoformat()


def nightly_schedule(project: ProjectConfig, job: dg.UnresolvedAssetJobDefinition) -> dg.ScheduleDefinition:
    at = project.nightly_at

    @dg.schedule(
        name=f"{project.prefix}_nightly_schedule",
        cron_schedule=f"{at.minute} {at.hour} * * *",
        execution_timezone=project.timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every night at {at:%H:%M} {project.timezone}: the last complete day and "
        f"{project.lookback_days} lookback day(s), in one run.",
    )
    def nightly(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        days = nightly_range(project, context.scheduled_execution_time)
        if days is None:
            return dg.SkipReason(f"no complete day since the start date {project.start_date} yet")
        first, last = days
        return dg.RunRequest(run_key=f"{project.prefix}-nightly-{last}",
                             tags={RANGE_START_TAG: first, RANGE_END_TAG: last})  # fmt: skip

    return nightly
