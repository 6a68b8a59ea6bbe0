"""Jobs and the nightly runs: in the project's zone, at its configured time, the last complete day and the
lookback days before it, all in one run (a partition range), so the sync reads them in one pass."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import dagster as dg

from dagster_defs.projects import ProjectConfig

# Dagster's own tags for a run over a range of partitions (what a single-run backfill sets).
RANGE_START_TAG = "dagster/asset_partition_range_start"
RANGE_END_TAG = "dagster/asset_partition_range_end"


@dataclass(frozen=True)
class Nightly:
    """When a nightly run fires and which days it asks for."""

    name: str
    timezone: str
    at: time
    start_date: date
    lookback_days: int

    @classmethod
    def of(cls, project: ProjectConfig) -> Nightly:
        return cls(project.prefix, project.timezone, project.nightly_at, project.start_date, project.lookback_days)

    def day_range(self, scheduled: datetime) -> tuple[str, str] | None:
        """(first, last) partition keys for a run at ``scheduled``, or None before the start date."""
        local = scheduled.astimezone(ZoneInfo(self.timezone))
        last = local.date() - timedelta(days=1)
        if last < self.start_date:
            return None
        first = max(self.start_date, last - timedelta(days=self.lookback_days))
        return first.isoformat(), last.isoformat()


def asset_job(name: str, selection: dg.AssetSelection, description: str) -> dg.UnresolvedAssetJobDefinition:
    # In process: every step opens the one DuckDB file and the pool runs one at a time anyway, so a process per
    # step would only add start-up time.
    return dg.define_asset_job(name=name, selection=selection, description=description,
                               executor_def=dg.in_process_executor)  # fmt: skip


def project_job(project: ProjectConfig, models: dg.AssetSelection | None = None) -> dg.UnresolvedAssetJobDefinition:
    selection = dg.AssetSelection.key_prefixes([project.prefix])
    if models is not None:
        selection = selection | models
    return asset_job(f"{project.prefix}_nightly", selection,
                     f"Sync of {project.short_name} for the days asked for"
                     + (", then the models built on it." if models is not None else "."))  # fmt: skip


def checks_job(project: ProjectConfig) -> dg.UnresolvedAssetJobDefinition:
    """The project's asset checks alone, to judge the warehouse without syncing."""
    return asset_job(
        f"{project.prefix}_checks",
        dg.AssetSelection.key_prefixes([project.prefix]) & dg.AssetSelection.all_asset_checks(),
        f"Every asset check of {project.short_name}, without materializing anything.",
    )


def nightly_schedule(nightly: Nightly, job: dg.UnresolvedAssetJobDefinition, what: str) -> dg.ScheduleDefinition:
    at = nightly.at

    @dg.schedule(
        name=f"{nightly.name}_nightly_schedule",
        cron_schedule=f"{at.minute} {at.hour} * * *",
        execution_timezone=nightly.timezone,
        job=job,
        default_status=dg.DefaultScheduleStatus.RUNNING,
        description=f"Every night at {at:%H:%M} {nightly.timezone}: {what} for the last complete day and "
        f"{nightly.lookback_days} lookback day(s), in one run.",
    )
    def nightly_run(context: dg.ScheduleEvaluationContext) -> dg.RunRequest | dg.SkipReason:
        days = nightly.day_range(context.scheduled_execution_time)
        if days is None:
            return dg.SkipReason(f"no complete day since the start date {nightly.start_date} yet")
        first, last = days
        return dg.RunRequest(run_key=f"{nightly.name}-nightly-{last}",
                             tags={RANGE_START_TAG: first, RANGE_END_TAG: last})  # fmt: skip

    return nightly_run
