"""One asset per SQL model, generated from the core's model list, and one asset check per file of sql/checks.

The models are the warehouse's, not a project's: they read every project's raw rows, so their keys are the
tables they build (``staging/messages``, ``marts/daily_conversations``) and they depend on the raw assets of every
project.  Staging views and whole marts are unpartitioned; daily marts are partitioned by local day in the models'
zone and rebuilt for the run's day range only (one transaction per model), so the graph reads raw → staging → marts.

The models build in four steps, not one per model: a step builds one layer of models (``model_layers``: whole,
daily, whole, daily) in one open of the warehouse, as ``reporter-etl models build`` does for all of them.  Each
open of the warehouse costs about 50 ms (connection, schema comparison, checkpoint) and each Dagster step about
100 ms of event storage, which made the models most of a nightly run (profiled with pyinstrument).
"""

from collections.abc import Sequence
from datetime import date

import dagster as dg

from dagster_defs import core_adapter
from dagster_defs.assets import BACKFILL_POLICY, WAREHOUSE_POOL, day_range, freshness, raw_key
from dagster_defs.projects import LocationConfig
from dagster_defs.resources import WAREHOUSE_KEY, WarehouseResource
from reporter_etl import ReporterEtlError
from reporter_etl.models import Model, ModelsConfig

MODEL_GROUPS = {"staging": "staging", "mart": "marts", "python": "marts"}
# The platform reconciliation of reporter-etl check, attached to the mart it mostly reads.
RECONCILED_MART = "marts.daily_conversations"
PLATFORM_CHECK = "matches_platform_counts"


def model_key(name: str) -> dg.AssetKey:
    schema, table = name.split(".", 1)
    return dg.AssetKey([schema, table])


def models_partitions(location: LocationConfig, config: ModelsConfig) -> dg.DailyPartitionsDefinition:
    """Local days in the models' zone, from the earliest project start."""
    first = min(project.start_date for project in location.projects)
    return dg.DailyPartitionsDefinition(start_date=first.isoformat(), timezone=config.timezone)


def input_keys(model: Model, location: LocationConfig, built: set[str]) -> list[dg.AssetKey]:
    """The assets a model reads: other models by name, and ``raw.x`` of every project."""
    keys = []
    for name in model.inputs:
        schema, table = name.split(".", 1)
        if name in built:
            keys.append(model_key(name))
        elif schema == "raw":
            keys += [raw_key(project, table) for project in location.projects]
    return keys


def _model_spec(model: Model, location: LocationConfig, built: set[str]) -> dg.AssetSpec:
    return dg.AssetSpec(
        key=model_key(model.name),
        deps=input_keys(model, location, built),
        group_name=MODEL_GROUPS[model.kind],
        description=model.description or None,
        kinds={"duckdb", "python" if model.kind == "python" else "sql"},
        freshness_policy=freshness(),
        metadata={
            "model": model.name,
            "kind": model.kind,
            "daily": model.daily,
            "file": model.file.name,
            "inputs": ", ".join(model.inputs),
        },
    )


def model_layers(models: Sequence[Model]) -> list[list[Model]]:
    """The buildable models (in build order) cut into layers that alternate whole (even) and daily (odd): each
    model goes to the first layer of its kind at or after the layers of the models it reads.  A layer is one step
    (one warehouse open), so a run takes four steps instead of one per model; each model stays its own asset."""
    layer_of: dict[str, int] = {}
    layers: dict[int, list[Model]] = {}
    for model in models:
        lowest = max((layer_of[name] for name in model.inputs if name in layer_of), default=0)
        layer = lowest if lowest % 2 == int(model.daily) else lowest + 1
        layer_of[model.name] = layer
        layers.setdefault(layer, []).append(model)
    return [layers[n] for n in sorted(layers)]


def _layer_asset(layer: int, models: list[Model], location: LocationConfig, built: set[str], config: ModelsConfig,
                 partitions: dg.DailyPartitionsDefinition) -> dg.AssetsDefinition:  # fmt: skip
    """The models of one layer as one multi-asset: each model its own asset and key, built in one step (one
    warehouse open, one transaction per model) for the models the run selected, in build order."""
    daily = models[0].daily
    by_key = {model_key(model.name): model for model in models}

    @dg.multi_asset(
        name=f"models_{layer}_{'daily' if daily else 'whole'}",
        specs=[_model_spec(model, location, built) for model in models],
        partitions_def=partitions if daily else None,
        backfill_policy=BACKFILL_POLICY if daily else None,
        pool=WAREHOUSE_POOL,
        can_subset=True,
        required_resource_keys={WAREHOUSE_KEY},
    )
    def build(context: dg.AssetExecutionContext):  # noqa: ANN202 - a generator of MaterializeResult
        warehouse: WarehouseResource = getattr(context.resources, WAREHOUSE_KEY)
        start: date | None = None
        end: date | None = None
        if daily:
            start, end = day_range(context)
        selected = [model for key, model in by_key.items() if key in context.selected_asset_keys]
        built_models, failure = core_adapter.build_models(warehouse.path, selected, config, start=start, end=end,
                                                          lock_timeout_s=warehouse.lock_timeout_s)  # fmt: skip
        for built_model in built_models:
            metadata: dict = {
                "action": built_model.action,
                "duration_s": dg.MetadataValue.float(round(built_model.seconds, 3)),
                "window": f"{start}..{end} ({config.timezone})" if daily else "whole",
            }
            if built_model.rows is not None:
                metadata["rows"] = dg.MetadataValue.int(built_model.rows)
            yield dg.MaterializeResult(asset_key=model_key(built_model.name), metadata=metadata)
        if failure is not None:
            # The models before it are committed and reported above; this one and the rest of the layer are not.
            raise failure

    return build


def check_target(check: Model, location: LocationConfig, order: Sequence[Model]) -> dg.AssetKey:
    """The asset a SQL check guards: the last model it reads (in build order); for a check of raw tables only, the
    first project's raw messages (or the first raw table it reads, when not messages)."""
    position = {model.name: n for n, model in enumerate(order)}
    read_models = sorted((name for name in check.inputs if name in position), key=position.__getitem__)
    if read_models:
        return model_key(read_models[-1])
    raw = [name.split(".", 1)[1] for name in check.inputs if name.startswith("raw.")]
    return raw_key(location.projects[0], "messages" if "messages" in raw or not raw else raw[0])


def _sql_checks(checks: list[Model], location: LocationConfig, order: Sequence[Model],
                config: ModelsConfig) -> dg.AssetChecksDefinition:  # fmt: skip
    targets = {check.name: check_target(check, location, order) for check in checks}
    specs = [
        dg.AssetCheckSpec(
            name=check.name.split(".", 1)[1],
            asset=targets[check.name],
            description=check.description or f"{check.file.name}: returns the offending rows; none = pass",
            additional_deps=[
                key for key in input_keys(check, location, {m.name for m in order}) if key != targets[check.name]
            ],  # fmt: skip
            metadata={"file": check.file.name},
        )
        for check in checks
    ]
    by_name = {check.name.split(".", 1)[1]: check for check in checks}
    reconciled = model_key(RECONCILED_MART) if any(m.name == RECONCILED_MART for m in order) else None
    if reconciled is not None:
        specs.append(
            dg.AssetCheckSpec(
                name=PLATFORM_CHECK,
                asset=reconciled,
                description="Every synced day, raw tables, staging and marts agree with the platform's own daily "
                "counts (messages, sessions, transfers, calls, clients) and count-sessions: reporter-etl check.",
                additional_deps=[raw_key(p, "api_daily_stats") for p in location.projects],
            )
        )

    @dg.multi_asset_check(
        name="sql_checks",
        specs=specs,
        pool=WAREHOUSE_POOL,
        can_subset=True,
        required_resource_keys={WAREHOUSE_KEY},
    )
    def sql_checks(context: dg.AssetCheckExecutionContext):  # noqa: ANN202 - a generator of AssetCheckResult
        warehouse: WarehouseResource = getattr(context.resources, WAREHOUSE_KEY)
        names = {key.name for key in context.selected_asset_check_keys}
        selected = [by_name[name] for name in sorted(names) if name in by_name]
        if reconciled is not None and PLATFORM_CHECK in names:
            yield _platform_result(reconciled, warehouse.path, config)
        for outcome in core_adapter.run_model_checks(warehouse.path, selected, config):
            name = outcome.name.split(".", 1)[1]
            yield dg.AssetCheckResult(
                asset_key=targets[outcome.name],
                check_name=name,
                passed=outcome.passed,
                metadata={
                    "offending_rows": outcome.offending_rows,
                    "columns": ", ".join(outcome.columns),
                    "examples": dg.MetadataValue.json(outcome.examples),
                },
            )

    return sql_checks


def _platform_result(key: dg.AssetKey, db_path: str, config: ModelsConfig) -> dg.AssetCheckResult:
    try:
        found = core_adapter.platform_differences(db_path, config)
    except ReporterEtlError as exc:  # e.g. a model not built yet
        return dg.AssetCheckResult(asset_key=key, check_name=PLATFORM_CHECK, passed=False,
                                   metadata={"error": str(exc)})  # fmt: skip
    listed = [{"project": d.project, "day": d.day, "metric": d.metric, "warehouse": d.warehouse,
               "platform": d.platform} for d in found[:20]]  # fmt: skip
    return dg.AssetCheckResult(
        asset_key=key,
        check_name=PLATFORM_CHECK,
        passed=not found,
        metadata={
            "differences": len(found),
            "days": ", ".join(sorted({d.day for d in found})[:10]) or "none",
            "examples": dg.MetadataValue.json(listed),
        },  # fmt: skip
    )


def model_definitions(location: LocationConfig, models: list[Model], config: ModelsConfig,
                      partitions: dg.DailyPartitionsDefinition) -> tuple[list, list]:  # fmt: skip
    """(assets, asset checks) of the model layer."""
    buildable = [m for m in models if m.kind != "check"]
    built = {m.name for m in buildable}
    assets = [_layer_asset(n, layer, location, built, config, partitions)
              for n, layer in enumerate(model_layers(buildable))]  # fmt: skip
    checks = [m for m in models if m.kind == "check"]
    return assets, ([_sql_checks(checks, location, buildable, config)] if checks else [])


def model_keys(models: list[Model]) -> list[dg.AssetKey]:
    return [model_key(m.name) for m in models if m.kind != "check"]
