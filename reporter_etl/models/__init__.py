"""SQL models over the warehouse: staging views, marts, checks, and the Python experiment models.

    from reporter_etl.models import load_models, build_warehouse_models, read_mart

    models = load_models()          # list[Model], dependencies first: name, kind, inputs, daily, file
    build_warehouse_models("reporter.duckdb")                       # everything, whole
    build_warehouse_models("reporter.duckdb", start=d1, end=d2)     # daily marts for d1..d2, the rest whole
    read_mart("reporter.duckdb", "daily_conversations", start="2026-03-01")
"""

from reporter_etl.models.catalog import Model, ModelError, load_models, order_models, parse_sql, select_models, sql_dir
from reporter_etl.models.config import ConfigError, ExperimentConfig, ModelsConfig, config_from_mapping, load_config
from reporter_etl.models.read import read_mart
from reporter_etl.models.runner import (
    BuildReport,
    CheckResult,
    ModelRun,
    build,
    build_model,
    build_warehouse_models,
    run_checks,
    set_variables,
)
from reporter_etl.models.touched import touched_range

__all__ = [
    "BuildReport",
    "CheckResult",
    "ConfigError",
    "ExperimentConfig",
    "Model",
    "ModelError",
    "ModelRun",
    "ModelsConfig",
    "build",
    "build_model",
    "build_warehouse_models",
    "config_from_mapping",
    "load_config",
    "load_models",
    "order_models",
    "parse_sql",
    "read_mart",
    "run_checks",
    "select_models",
    "set_variables",
    "sql_dir",
    "touched_range",
]
