"""The code location: composes each project's assets, checks, job and schedule with the shared resources.

Projects come from the projects file (``projects.toml``, or ``$REPORTER_ETL_PROJECTS``); see dagster_defs.projects.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import dagster as dg

from dagster_defs.assets import partitions_for, project_assets
from dagster_defs.checks import raw_checks
from dagster_defs.projects import LocationConfig, ProjectConfig, load_location
from dagster_defs.resources import location_resources
from dagster_defs.schedules import checks_job, nightly_schedule, project_job


def project_definitions(project: ProjectConfig) -> dg.Definitions:
    partitions = partitions_for(project)
    job = project_job(project)
    return dg.Definitions(
        assets=project_assets(project, partitions),
        asset_checks=[raw_checks(project)],
        jobs=[job, checks_job(project)],
        schedules=[nightly_schedule(project, job)],
    )


def build_definitions(location: LocationConfig, resources: Mapping[str, Any] | None = None) -> dg.Definitions:
    """Every project's definitions; ``resources`` replaces the ones made from the projects file (tests)."""
    return dg.Definitions.merge(
        *(project_definitions(project) for project in location.projects),
        dg.Definitions(resources=dict(resources) if resources is not None else location_resources(location)),
    )


@dg.definitions
def defs() -> dg.Definitions:
    # Built when Dagster loads the code location, not on import, so importing this module reads no file.
    return build_definitions(load_location())
