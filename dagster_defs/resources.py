"""Resources: a project's Reporter API (its token from an environment variable) and the one DuckDB warehouse."""

from __future__ import annotations

import dagster as dg

from dagster_defs.core_adapter import CoreSettings
from dagster_defs.projects import LocationConfig, ProjectConfig

WAREHOUSE_KEY = "warehouse"


def api_resource_key(project: ProjectConfig) -> str:
    return f"reporter_api_{project.prefix}"


class ReporterApiResource(dg.ConfigurableResource):
    """One project of the Reporter API. The token comes from an environment variable (``dg.EnvVar``), so Dagster
    keeps only the variable's name in its configuration and run storage, never the token."""

    base_url: str
    token: str
    project: str  # the platform's projectShortName the token must belong to
    timezone: str = "UTC"
    max_attempts: int = 6
    retry_base_delay_s: float = 0.5
    retry_max_delay_s: float = 30.0


class WarehouseResource(dg.ConfigurableResource):
    """The DuckDB file every project writes (one writer at a time: see the pool in dagster.yaml)."""

    path: str
    lock_timeout_s: float = 60.0


def core_settings(api: ReporterApiResource, warehouse: WarehouseResource) -> CoreSettings:
    return CoreSettings(
        base_url=api.base_url,
        token=api.token,
        timezone=api.timezone,
        db_path=warehouse.path,
        project=api.project,
        lock_timeout_s=warehouse.lock_timeout_s,
        max_attempts=api.max_attempts,
        retry_base_delay_s=api.retry_base_delay_s,
        retry_max_delay_s=api.retry_max_delay_s,
    )


def location_resources(location: LocationConfig) -> dict[str, dg.ConfigurableResource]:
    resources: dict[str, dg.ConfigurableResource] = {WAREHOUSE_KEY: WarehouseResource(path=location.db_path)}
    for project in location.projects:
        resources[api_resource_key(project)] = ReporterApiResource(
            base_url=project.base_url,
            token=dg.EnvVar(project.token_env),
            project=project.short_name,
            timezone=project.timezone,
        )
    return resources
