"""Models written in Python: the experiment comparisons, built from the SQL moments by the statistics engine.

Each is registered here with the tables it reads, so that it takes its place in the model list (and in Dagster)
like a SQL model.  A build function takes the open read-write connection and the configuration and replaces its
table whole; it returns the number of rows written.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

import duckdb
import pyarrow as pa

from reporter_etl.models.config import ModelsConfig

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PythonModelSpec:
    name: str
    inputs: tuple[str, ...]
    entry_point: str  # "module:function"
    module_file: str
    description: str


# The engine's output, in this order; the SQL types of an empty table.
COMPARISON_COLUMNS: tuple[tuple[str, pa.DataType], ...] = (
    ("project_short_name", pa.string()),
    ("experiment_key", pa.string()),
    ("experiment_status", pa.string()),
    ("branch_key", pa.string()),
    ("is_control", pa.bool_()),
    ("outcome", pa.string()),
    ("sessions", pa.int64()),
    ("traffic_share", pa.float64()),
    ("intended_share", pa.float64()),
    ("mean", pa.float64()),
    ("control_mean", pa.float64()),
    ("abs_diff", pa.float64()),
    ("abs_ci_low", pa.float64()),
    ("abs_ci_high", pa.float64()),
    ("rel_diff", pa.float64()),
    ("rel_ci_low", pa.float64()),
    ("rel_ci_high", pa.float64()),
    ("p_value", pa.float64()),
    ("p_value_holm", pa.float64()),
    ("chance_to_beat_control", pa.float64()),
    ("seq_abs_ci_low", pa.float64()),
    ("seq_abs_ci_high", pa.float64()),
    ("seq_rel_ci_low", pa.float64()),
    ("seq_rel_ci_high", pa.float64()),
    ("srm_p_value", pa.float64()),
    ("srm_flag", pa.bool_()),
    ("verdict", pa.string()),
)

MOMENTS_SQL = """
select project_short_name, experiment_key, branch_key, outcome, n, total, total_squares{day}
from {table}
order by project_short_name, experiment_key, branch_index, branch_key, outcome{day}
"""

CATALOG_SQL = """
select project_short_name, experiment_key, any_value(status) as status,
       arg_min(branch_key, branch_index) as first_branch
from staging.experiments
group by all
"""


def _catalog(con: duckdb.DuckDBPyConnection) -> dict[tuple[str, str], tuple[str | None, str]]:
    return {(p, k): (status, first) for p, k, status, first in con.execute(CATALOG_SQL).fetchall()}


def _control_branches(
    project: str, rows: list[tuple], catalog: dict[tuple[str, str], tuple[str | None, str]], config: ModelsConfig
) -> dict[str, str]:
    """The configured control, else the experiment's first branch in the platform's catalog, else the first seen."""
    control: dict[str, str] = {}
    for row in rows:
        key, branch = row[1], row[2]
        if key not in control:
            control[key] = catalog.get((project, key), (None, branch))[1]
    control.update({k: v for k, v in config.control_branches().items() if k in control})
    return control


def _compare(
    project: str,
    rows: list[tuple],
    catalog: dict[tuple[str, str], tuple[str | None, str]],
    config: ModelsConfig,
) -> list[dict[str, Any]]:
    from reporter_etl.models.stats import BranchOutcome, Moments, compare_experiments

    outcomes = [
        BranchOutcome(key, branch, outcome, Moments(int(n), float(total or 0.0), float(squares or 0.0)))
        for _, key, branch, outcome, n, total, squares, *_ in rows
        if n
    ]
    if not outcomes:
        return []
    keys = {o.experiment_key for o in outcomes}
    weights = {k: w for k, w in config.intended_weights().items() if k in keys}
    results = compare_experiments(
        outcomes,
        control_branch=_control_branches(project, rows, catalog, config),
        intended_weights=weights or None,
        alpha=config.alpha,
    )
    for result in results:
        result["project_short_name"] = project
        result["experiment_status"] = catalog.get((project, result["experiment_key"]), (None, ""))[0]
    return results


def _write(con: duckdb.DuckDBPyConnection, table: str, rows: list[dict[str, Any]], extra: Iterable[tuple]) -> int:
    columns = (*extra, *COMPARISON_COLUMNS)
    schema = pa.schema([pa.field(name, kind) for name, kind in columns])
    data = {name: [row.get(name) for row in rows] for name, _ in columns}
    arrow_rows = pa.Table.from_pydict(data, schema=schema)
    con.register("python_model_rows", arrow_rows)
    try:
        con.execute(f"CREATE OR REPLACE TABLE {table} AS SELECT * FROM python_model_rows")
    finally:
        con.unregister("python_model_rows")
    return len(rows)


def _by_project(rows: list[tuple]) -> dict[str, list[tuple]]:
    grouped: dict[str, list[tuple]] = defaultdict(list)
    for row in rows:
        grouped[row[0]].append(row)
    return grouped


def build_experiment_comparison(con: duckdb.DuckDBPyConnection, config: ModelsConfig) -> int:
    rows = con.execute(MOMENTS_SQL.format(table="marts.experiment_branch_moments", day="")).fetchall()
    catalog = _catalog(con)
    results = []
    for project, project_rows in _by_project(rows).items():
        results += _compare(project, project_rows, catalog, config)
    return _write(con, "marts.experiment_comparison", results, ())


def build_experiment_cumulative(con: duckdb.DuckDBPyConnection, config: ModelsConfig) -> int:
    rows = con.execute(MOMENTS_SQL.format(table="marts.experiment_daily_moments", day=", day")).fetchall()
    catalog = _catalog(con)
    per_day: dict[tuple[str, date], list[tuple]] = defaultdict(list)
    for row in rows:
        per_day[(row[0], row[-1])].append(row)
    results = []
    for (project, day), day_rows in sorted(per_day.items()):
        for result in _compare(project, day_rows, catalog, config):
            result["day"] = day
            results.append(result)
    return _write(con, "marts.experiment_cumulative", results, (("day", pa.date32()),))


BuildFunction = Callable[[duckdb.DuckDBPyConnection, ModelsConfig], int]

PYTHON_MODELS: tuple[PythonModelSpec, ...] = (
    PythonModelSpec(
        name="marts.experiment_comparison",
        inputs=("marts.experiment_branch_moments", "staging.experiments"),
        entry_point=f"{__name__}:build_experiment_comparison",
        module_file=__file__,
        description="per experiment × branch × outcome: the branch against control, with confidence intervals, "
        "p-values, chance to beat control, always-valid intervals, the sample ratio check and a verdict",
    ),
    PythonModelSpec(
        name="marts.experiment_cumulative",
        inputs=("marts.experiment_daily_moments", "staging.experiments"),
        entry_point=f"{__name__}:build_experiment_cumulative",
        module_file=__file__,
        description="experiment_comparison as it stood at the end of each day, for a chart of the effect over time",
    ),
)
