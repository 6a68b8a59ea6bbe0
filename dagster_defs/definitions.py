"""The code location: composes each project's assets, checks, jobs and schedule, the SQL models on top of them,
and the shared resources.

Projects come from the projects file (``projects.toml``, or ``$REPORTER_ETL_PROJECTS``); see dagster_defs.projects.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

import dagster as dg

from dagster_defs import core_adapter
from dagster_defs.assets import partitions_for, project_assets
from dagster_defs.checks import raw_checks
from dagster_defs.models import model_definitions, model_keys, models_partitions
from dagster_defs.projects import LocationConfig, ProjectConfig, load_location
from dagster_defs.resources import location_resources
from dagster_defs.schedules import Nightly, asset_job, checks_job, nightly_schedule, project_job
from reporter_etl.models import Model

MODELS_JOB = "warehouse_models"
CHECKS_JOB = "warehouse_checks"


def project_definitions(project: ProjectConfig, models: dg.AssetSelection | None) -> dg.Definitions:
    job = project_job(project, models)
    what = "the sync and the models" if models is not None else "the sync"
    return dg.Definitions(
        assets=project_assets(project, partitions_for(project)),
        asset_checks=[raw_checks(project)],
        jobs=[job, checks_job(project)],
        schedules=[nightly_schedule(Nightly.of(project), job, what)],
    )


def build_definitions(location: LocationConfig, resources: Mapping[str, Any] | None = None,
                      models: list[Model] | None = None) -> dg.Definitions:  # fmt: skip
    """Every project's definitions and the models; ``resources`` replaces the ones made from the projects file."""
    models = core_adapter.model_list() if models is None else models
    config = core_adapter.models_config(location.models, location.projects[0].timezone)
    days = models_partitions(location, config)
    model_assets, model_checks = model_definitions(location, models, config, days)
    selection = dg.AssetSelection.assets(*model_keys(models))
    # A project whose days are the models' days runs them in its nightly run (raw → staging → marts in one run);
    # otherwise (another zone or start date) the models get a nightly run of their own, after the projects'.
    joined = {p.prefix: partitions_for(p) == days for p in location.projects}
    parts = [project_definitions(p, selection if joined[p.prefix] else None) for p in location.projects]
    models_job = asset_job(MODELS_JOB, selection, "The SQL models and their checks for the days asked for.")
    all_checks = asset_job(
        CHECKS_JOB, dg.AssetSelection.all_asset_checks(), "Every asset check of the warehouse, without syncing."
    )
    schedules = []
    if not all(joined.values()):
        latest = max(datetime.combine(p.start_date, p.nightly_at) for p in location.projects) + timedelta(hours=1)
        nightly = Nightly("warehouse_models", config.timezone, latest.time(), days.start.date(),
                          max(p.lookback_days for p in location.projects))  # fmt: skip
        schedules.append(nightly_schedule(nightly, models_job, "the models"))
    return dg.Definitions.merge(
        *parts,
        dg.Definitions(
            assets=model_assets,
            asset_checks=model_checks,
            jobs=[models_job, all_checks],
            schedules=schedules,
            resources=dict(resources) if resources is not None else location_resources(location),
            executor=dg.in_process_executor,
        ),
    )


@dg.definitions
def defs() -> dg.Definitions:
    # Built when Dagster loads the code location, not on import, so importing this module reads no file.
    return build_definitions(load_location())
