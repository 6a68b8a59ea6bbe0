"""Asset checks of one project's raw layer: natural keys unique, no day missing, every day's message count equal
to the platform's own count, and no field from the API that this version does not know (a warning).

The checks only read the warehouse, but DuckDB keeps readers out while a writer holds the file, so they are in
the writer pool too.  They cover every day in the warehouse, not only the run's partitions: a duplicate or a gap
is wrong wherever it is, and a single-run backfill of a year is still one check per table.
"""

from pathlib import Path

import dagster as dg

from dagster_defs import warehouse_reads as reads
from dagster_defs.assets import WAREHOUSE_POOL, raw_key
from dagster_defs.projects import ProjectConfig
from dagster_defs.resources import WAREHOUSE_KEY, WarehouseResource

UNIQUE = "unique_natural_key"
NO_MISSING_DAYS = "no_missing_days"
MATCHES_PLATFORM = "matches_platform_daily_counts"
NO_NEW_FIELDS = "no_new_api_fields"
MAX_LISTED = 10


def _specs(project: ProjectConfig) -> list[dg.AssetCheckSpec]:
    specs = [
        dg.AssetCheckSpec(
            UNIQUE, asset=raw_key(project, table), description=f"One row per {' + '.join(key)} in raw.{table}."
        )  # fmt: skip
        for table, key in reads.NATURAL_KEYS.items()
    ]
    messages = raw_key(project, "messages")
    specs.append(
        dg.AssetCheckSpec(
            NO_MISSING_DAYS, asset=messages, description="Every day from the first synced day to the last is synced."
        )
    )
    specs.append(dg.AssetCheckSpec(
        MATCHES_PLATFORM, asset=messages, additional_deps=[raw_key(project, "api_daily_stats")],
        description="Per day, the messages in the warehouse equal the platform's own daily count.",
    ))  # fmt: skip
    specs += [
        dg.AssetCheckSpec(
            NO_NEW_FIELDS,
            asset=raw_key(project, table),
            description="The API sends no field this version does not know (kept in `extra`).",
        )  # fmt: skip
        for table in reads.TABLES_WITH_EXTRA
    ]
    return specs


def raw_checks(project: ProjectConfig) -> dg.AssetChecksDefinition:
    @dg.multi_asset_check(
        name=f"{project.prefix}_raw_checks",
        specs=_specs(project),
        pool=WAREHOUSE_POOL,
        can_subset=True,
        required_resource_keys={WAREHOUSE_KEY},
    )
    def check_raw(context: dg.AssetCheckExecutionContext):  # noqa: ANN202 - a generator of AssetCheckResult
        warehouse: WarehouseResource = getattr(context.resources, WAREHOUSE_KEY)
        selected = {(key.asset_key, key.name) for key in context.selected_asset_check_keys}
        if not Path(warehouse.path).exists():
            for asset_key, name in sorted(selected, key=str):
                yield dg.AssetCheckResult(asset_key=asset_key, check_name=name, passed=False,
                                          metadata={"error": f"no warehouse at {warehouse.path}"})  # fmt: skip
            return
        con = reads.connect(warehouse.path)
        try:
            yield from _evaluate(con, project, selected)
        finally:
            con.close()

    return check_raw


def _evaluate(con, project: ProjectConfig, selected: set) -> object:  # noqa: ANN001 - a DuckDB connection
    short = project.short_name
    for table in reads.NATURAL_KEYS:
        key = raw_key(project, table)
        if (key, UNIQUE) in selected:
            count, examples = reads.duplicate_keys(con, table, short)
            yield dg.AssetCheckResult(
                asset_key=key, check_name=UNIQUE, passed=count == 0,
                metadata={"duplicate_keys": count, "examples": dg.MetadataValue.json(examples)},
            )  # fmt: skip
    messages = raw_key(project, "messages")
    if (messages, NO_MISSING_DAYS) in selected:
        done, missing = reads.missing_days(con, short, project.timezone)
        yield dg.AssetCheckResult(
            asset_key=messages, check_name=NO_MISSING_DAYS, passed=not missing,
            metadata={"days_synced": len(done), "first_day": str(done[0]) if done else "none",
                      "last_day": str(done[-1]) if done else "none", "missing_days": len(missing),
                      "missing": ", ".join(map(str, missing[:MAX_LISTED])) or "none"},
        )  # fmt: skip
    if (messages, MATCHES_PLATFORM) in selected:
        counts = reads.message_counts_against_platform(con, short, project.timezone)
        wrong = [c for c in counts if c.warehouse != c.platform]
        yield dg.AssetCheckResult(
            asset_key=messages, check_name=MATCHES_PLATFORM, passed=not wrong,
            metadata={"days_compared": len(counts), "days_differing": len(wrong),
                      "differing": dg.MetadataValue.json([{"day": str(c.day), "warehouse": c.warehouse,
                                                           "platform": c.platform} for c in wrong[:MAX_LISTED]])},
        )  # fmt: skip
    for table in reads.TABLES_WITH_EXTRA:
        key = raw_key(project, table)
        if (key, NO_NEW_FIELDS) in selected:
            fields = reads.unknown_api_fields(con, table, short)
            yield dg.AssetCheckResult(
                asset_key=key, check_name=NO_NEW_FIELDS, passed=not fields, severity=dg.AssetCheckSeverity.WARN,
                metadata={"new_fields": dg.MetadataValue.json(fields),
                          "hint": "kept in the extra column; upgrade reporter-etl to get them as columns"},
            )  # fmt: skip
