"""Assets of one project: the raw day (one multi_asset, one transaction per day), the catalogs and the
platform's daily statistics.  Every asset that writes the warehouse is in the one writer pool, and every
partitioned asset backfills a whole range in a single run."""

from collections.abc import Mapping
from datetime import UTC, date, datetime, timedelta
from typing import Any

import dagster as dg
import duckdb

from dagster_defs import core_adapter
from dagster_defs.projects import ProjectConfig
from dagster_defs.resources import WAREHOUSE_KEY, api_resource_key, core_settings
from dagster_defs.warehouse_reads import previews_markdown
from reporter_etl.errors import ReporterEtlError

# Every asset and check that opens the DuckDB file; dagster.yaml limits each pool to 1.
WAREHOUSE_POOL = "reporter_warehouse"
# The same policy on every partitioned asset (mixing policies in one job fails, dagster#22254).
BACKFILL_POLICY = dg.BackfillPolicy.single_run()

DAY_TABLE_DESCRIPTIONS = {
    "messages": "One row per message (question_id) of the day's MESSAGE_TIME window, newest version.",
    "sessions": "One row per session active in the day (session_id), newest version, with its labels.",
    "clients": "One row per client and bot last active in the day.",
    "message_label_links": "One row per label on a message.",
    "session_label_links": "One row per label on a session.",
}
CATALOG_DESCRIPTIONS = {
    "message_labels": "The project's message labels, replaced whole on every refresh.",
    "message_label_groups": "The groups of message labels.",
    "session_labels": "The project's session labels.",
    "experiments": "The project's experiments and their branches.",
    "experiment_session_counts": "Sessions that joined each experiment, as the platform counts them.",
}


def partitions_for(project: ProjectConfig) -> dg.DailyPartitionsDefinition:
    """One partition per local day of the project, from its start date to its last complete day."""
    return dg.DailyPartitionsDefinition(start_date=project.start_date.isoformat(), timezone=project.timezone)


def freshness() -> dg.FreshnessPolicy:
    # Nightly: a day and a few hours of slack before a warning, a day and a half before a failure.
    return dg.FreshnessPolicy.time_window(fail_window=timedelta(hours=36), warn_window=timedelta(hours=27))


def raw_key(project: ProjectConfig, table: str) -> dg.AssetKey:
    return dg.AssetKey([project.prefix, "raw", table])


def raw_group(project: ProjectConfig) -> str:
    return f"{project.prefix}_raw"


def day_range(context: dg.AssetExecutionContext) -> tuple[date, date]:
    keys = context.partition_key_range
    return date.fromisoformat(keys.start), date.fromisoformat(keys.end)


def resume_since(context: dg.AssetExecutionContext) -> datetime | None:
    """When this is a retry or a re-execution, the moment the original run was created; else None."""
    run = context.run
    if context.retry_number == 0 and run.parent_run_id is None:
        return None
    original = context.instance.get_run_record_by_id(run.root_run_id or run.run_id)
    if original is None:
        return None
    return original.create_timestamp.astimezone(UTC)


def _window_text(project: ProjectConfig, first: date, last: date) -> str:
    return f"{first}..{last} (local days in {project.timezone}, MESSAGE_TIME)"


def raw_table_specs(project: ProjectConfig, descriptions: Mapping[str, str]) -> list[dg.AssetSpec]:
    """One spec per raw table that an asset of the project writes in one transaction."""
    return [
        dg.AssetSpec(
            key=raw_key(project, table),
            description=description,
            group_name=raw_group(project),
            kinds={"duckdb"},
            freshness_policy=freshness(),
            metadata={"table": f"raw.{table}", "project": project.short_name},
        )
        for table, description in descriptions.items()
    ]


def raw_day_asset(project: ProjectConfig, partitions: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    api_key = api_resource_key(project)
    specs = raw_table_specs(project, DAY_TABLE_DESCRIPTIONS)

    @dg.multi_asset(
        name=f"{project.prefix}_raw_day",
        specs=specs,
        partitions_def=partitions,
        backfill_policy=BACKFILL_POLICY,
        pool=WAREHOUSE_POOL,
        required_resource_keys={api_key, WAREHOUSE_KEY},
        description="A day window's messages, sessions, clients and label links, read from the Reporter API and "
        "committed in one transaction per day.",
    )
    def raw_day(context: dg.AssetExecutionContext):  # noqa: ANN202 - a generator of MaterializeResult
        first, last = day_range(context)
        settings = core_settings(getattr(context.resources, api_key), getattr(context.resources, WAREHOUSE_KEY))
        synced = core_adapter.sync_days(settings, first, last, resume_since=resume_since(context),
                                        progress=context.log.info)  # fmt: skip
        rows = {**synced.rows_written, **synced.rows_read}
        try:
            previews = previews_markdown(settings.db_path, DAY_TABLE_DESCRIPTIONS, settings.project, first, last,
                                         project.timezone)  # fmt: skip
        except (ReporterEtlError, duckdb.Error, OSError) as exc:
            # The days are committed; a preview is only for display and must not cost their materializations.
            context.log.warning(f"no preview of the day tables: {exc}")
            previews = {}
        for table in DAY_TABLE_DESCRIPTIONS:
            metadata: dict[str, Any] = {
                "rows_loaded": dg.MetadataValue.int(rows.get(table, 0)),
                "window": _window_text(project, first, last),
                "days_read": dg.MetadataValue.int(len(synced.days_read)),
                "days_resumed": dg.MetadataValue.int(len(synced.days_resumed)),
                "days_read_again": dg.MetadataValue.int(synced.days_resynced),
                "days_differing_from_platform": ", ".join(map(str, synced.days_still_differing)) or "none",
                "requests": dg.MetadataValue.int(synced.requests),
                "duration_s": dg.MetadataValue.float(round(synced.seconds, 3)),
                "new_api_fields": ", ".join(synced.new_fields.get(table, [])) or "none",
            }
            if table == "messages":
                metadata["platform_counts"] = dg.MetadataValue.json(synced.platform_counts)
            if table in previews:
                metadata["preview"] = dg.MetadataValue.md(previews[table])
            yield dg.MaterializeResult(asset_key=raw_key(project, table), metadata=metadata)

    return raw_day


def catalogs_asset(project: ProjectConfig) -> dg.AssetsDefinition:
    api_key = api_resource_key(project)
    specs = raw_table_specs(project, CATALOG_DESCRIPTIONS)

    @dg.multi_asset(
        name=f"{project.prefix}_catalogs",
        specs=specs,
        pool=WAREHOUSE_POOL,
        required_resource_keys={api_key, WAREHOUSE_KEY},
        description="The small catalogs (labels, groups, experiments), replaced whole in one transaction.",
    )
    def catalogs(context: dg.AssetExecutionContext):  # noqa: ANN202
        settings = core_settings(getattr(context.resources, api_key), getattr(context.resources, WAREHOUSE_KEY))
        refreshed = core_adapter.refresh_catalogs(settings)
        for table in CATALOG_DESCRIPTIONS:
            yield dg.MaterializeResult(
                asset_key=raw_key(project, table),
                metadata={
                    "rows_loaded": dg.MetadataValue.int(int(refreshed.rows.get(table, 0))),
                    "requests": dg.MetadataValue.int(refreshed.requests),
                    "duration_s": dg.MetadataValue.float(round(refreshed.seconds, 3)),
                },
            )

    return catalogs


def daily_stats_asset(project: ProjectConfig, partitions: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:
    api_key = api_resource_key(project)

    # A multi_asset of one spec, like the others (the plain asset decorator flags backfill_policy as beta).
    @dg.multi_asset(
        name=f"{project.prefix}_api_daily_stats",
        specs=[
            dg.AssetSpec(
                key=raw_key(project, "api_daily_stats"),
                group_name=raw_group(project),
                kinds={"duckdb"},
                freshness_policy=freshness(),
                metadata={"table": "raw.api_daily_stats", "project": project.short_name},
                description="The platform's own daily counts (messages, sessions), kept to reconcile the raw "
                "tables with.",
            )
        ],
        partitions_def=partitions,
        backfill_policy=BACKFILL_POLICY,
        pool=WAREHOUSE_POOL,
        required_resource_keys={api_key, WAREHOUSE_KEY},
    )
    def api_daily_stats(context: dg.AssetExecutionContext) -> dg.MaterializeResult:
        first, last = day_range(context)
        settings = core_settings(getattr(context.resources, api_key), getattr(context.resources, WAREHOUSE_KEY))
        loaded = core_adapter.load_platform_daily_stats(settings, first, last)
        return dg.MaterializeResult(
            asset_key=raw_key(project, "api_daily_stats"),
            metadata={
                "rows_loaded": dg.MetadataValue.int(loaded.rows),
                "window": _window_text(project, first, last),
                "requests": dg.MetadataValue.int(loaded.requests),
                "duration_s": dg.MetadataValue.float(round(loaded.seconds, 3)),
                "values": dg.MetadataValue.json(loaded.values),
            },
        )

    return api_daily_stats


def project_assets(project: ProjectConfig, partitions: dg.DailyPartitionsDefinition) -> list[dg.AssetsDefinition]:
    return [raw_day_asset(project, partitions), catalogs_asset(project), daily_stats_asset(project, partitions)]
