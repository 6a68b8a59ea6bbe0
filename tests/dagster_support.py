"""Running the Dagster code location in process against simulators: a projects file for them, resources with
quick retries, and a job that a re-execution can rebuild from the environment (``reconstructable``)."""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import dagster as dg

from dagster_defs.definitions import build_definitions
from dagster_defs.projects import PROJECTS_FILE_ENV, LocationConfig, load_location
from dagster_defs.resources import WAREHOUSE_KEY, ReporterApiResource, WarehouseResource, api_resource_key
from dagster_defs.schedules import RANGE_END_TAG, RANGE_START_TAG


@dataclass(frozen=True)
class SimProject:
    """A simulator serving one project, and how the projects file names it."""

    short_name: str
    base_url: str
    token_env: str
    timezone: str
    start_date: date


def write_projects_file(path: Path, db: Path, projects: Iterable[SimProject]) -> Path:
    lines = ["[warehouse]", f'path = "{db}"', ""]
    for p in projects:
        lines += ["[[projects]]", f'short_name = "{p.short_name}"', f'token_env = "{p.token_env}"',
                  f'timezone = "{p.timezone}"', f'start_date = "{p.start_date}"', f'base_url = "{p.base_url}"',
                  "lookback_days = 2", ""]  # fmt: skip
    path.write_text("\n".join(lines), encoding="utf-8")
    return path


def quick_resources(location: LocationConfig) -> dict[str, dg.ConfigurableResource]:
    """The resources of the projects file, with retries that do not wait (faults are injected on purpose)."""
    resources: dict[str, dg.ConfigurableResource] = {
        WAREHOUSE_KEY: WarehouseResource(path=location.db_path, lock_timeout_s=10)
    }
    for project in location.projects:
        resources[api_resource_key(project)] = ReporterApiResource(
            base_url=project.base_url,
            token=dg.EnvVar(project.token_env),
            project=project.short_name,
            timezone=project.timezone,
            max_attempts=2,
            retry_base_delay_s=0.001,
            retry_max_delay_s=0.01,
        )
    return resources


def definitions(location: LocationConfig) -> dg.Definitions:
    return build_definitions(location, resources=quick_resources(location))


def range_tags(first: date, last: date) -> dict[str, str]:
    return {RANGE_START_TAG: first.isoformat(), RANGE_END_TAG: last.isoformat()}


def job_name(location: LocationConfig, number: int = 0) -> str:
    return f"{location.projects[number].prefix}_nightly"


def nightly_job_from_env() -> dg.JobDefinition:
    """The first project's job, built from $REPORTER_ETL_PROJECTS (for dg.reconstructable)."""
    location = load_location(os.environ[PROJECTS_FILE_ENV])
    return definitions(location).resolve_job_def(job_name(location))


def run_range(defs: dg.Definitions, name: str, first: date, last: date, instance: dg.DagsterInstance,
              raise_on_error: bool = True) -> dg.ExecuteInProcessResult:  # fmt: skip
    return defs.resolve_job_def(name).execute_in_process(
        instance=instance, tags=range_tags(first, last), raise_on_error=raise_on_error
    )


def materializations(result: dg.ExecuteInProcessResult | dg.ExecutionResult) -> dict[str, dict]:
    """Metadata of each materialized asset key (joined with /), as plain values."""
    found = {}
    for event in result.get_asset_materialization_events():
        materialization = event.step_materialization_data.materialization
        found["/".join(materialization.asset_key.path)] = {k: v.value for k, v in materialization.metadata.items()}
    return found


def check_results(result: dg.ExecuteInProcessResult | dg.ExecutionResult) -> dict[tuple[str, str], object]:
    """Each check's evaluation by (asset key joined with /, check name)."""
    found = {}
    for event in result.get_asset_check_evaluations():
        found[("/".join(event.asset_key.path), event.check_name)] = event
    return found
