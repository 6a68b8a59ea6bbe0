"""The model list as data: every SQL file under ``sql/`` and every Python model, with the tables each reads.

A model's inputs are the schema-qualified tables its SQL reads, found by DuckDB's own parser
(``json_serialize_sql``), never by matching text: a table named in a comment or a string is not an input, and a
CTE is not a table.  The list comes back in dependency order (``graphlib``), so a caller can build it front to back.
The Dagster code location turns this list into assets without reading the files again.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterator
from dataclasses import dataclass
from graphlib import CycleError, TopologicalSorter
from pathlib import Path
from typing import Any

import duckdb

from reporter_etl.errors import ConfigurationError, ReporterEtlError

log = logging.getLogger(__name__)

KINDS = ("staging", "mart", "check", "python")
FOLDER_KINDS = {"staging": "staging", "marts": "mart", "checks": "check"}
BUILT_SCHEMAS = ("staging", "marts")


class ModelError(ReporterEtlError, ValueError):
    """A model file cannot be used: the message names the file and what is wrong."""


class UnknownModelError(ModelError, ConfigurationError):
    """A model was asked for by a name no model has (a usage error, not a broken file)."""


@dataclass(frozen=True)
class Model:
    name: str  # schema-qualified: "marts.daily_conversations", "checks.unique_keys"
    kind: str  # one of KINDS
    inputs: tuple[str, ...]  # schema-qualified tables and views it reads, sorted
    daily: bool  # reads getvariable('start_day') / ('end_day') and has a `day` column: rebuilt per day range
    file: Path  # the .sql file, or the .py module of a Python model
    description: str = ""
    entry_point: str | None = None  # "module:function" of a Python model

    @property
    def schema(self) -> str:
        return self.name.split(".", 1)[0]

    @property
    def table(self) -> str:
        return self.name.split(".", 1)[1]


def sql_dir() -> Path:
    """The SQL models shipped with the package (``reporter_etl/sql``; the repository's ``sql`` links to it)."""
    return Path(__file__).resolve().parent.parent / "sql"


def _walk(node: Any) -> Iterator[dict[str, Any]]:
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


@dataclass(frozen=True)
class ParsedSql:
    tables: tuple[str, ...]  # schema-qualified tables read
    variables: tuple[str, ...]  # names passed to getvariable()


def parse_sql(con: duckdb.DuckDBPyConnection, sql: str, where: str) -> ParsedSql:
    """Tables and variables of one SELECT statement, from DuckDB's parse tree."""
    tree = json.loads(con.execute("SELECT json_serialize_sql(?::VARCHAR)", [sql]).fetchone()[0])
    if tree.get("error"):
        raise ModelError(f"{where}: {tree.get('error_message', 'cannot be parsed')}")
    statements = tree.get("statements", [])
    if len(statements) != 1:
        raise ModelError(f"{where}: holds {len(statements)} statements; a model is exactly one SELECT")
    tables: set[str] = set()
    variables: set[str] = set()
    for node in _walk(statements[0]):
        if node.get("type") == "BASE_TABLE":
            if node.get("schema_name"):
                tables.add(f"{node['schema_name']}.{node['table_name']}".lower())
        elif node.get("class") == "FUNCTION" and str(node.get("function_name", "")).lower() == "getvariable":
            for argument in node.get("arguments", []):
                literal = (argument.get("expression") or argument).get("literal") or {}
                if literal.get("text") is not None:
                    variables.add(str(literal["text"]))
            for child in node.get("children", []):
                value = child.get("value") or {}
                if isinstance(value, dict) and value.get("value") is not None:
                    variables.add(str(value["value"]))
    return ParsedSql(tuple(sorted(tables)), tuple(sorted(variables)))


def _description(sql: str) -> str:
    """The first comment line, minus the ``name:`` it starts with."""
    for line in sql.splitlines():
        text = line.strip()
        if not text:
            continue
        if not text.startswith("--"):
            return ""
        text = text[2:].strip()
        head, _, rest = text.partition(": ")
        return rest.strip() if rest and "." in head and " " not in head else text
    return ""


# The parse of each model's text, kept for the process: a sync that builds and publishes loads the models two or
# three times, and a parse through DuckDB costs a few milliseconds per file.  Keyed by the text, so an edited
# file is parsed again; failures are not kept.
_PARSED: dict[str, ParsedSql] = {}


def _sql_models(root: Path) -> list[Model]:
    models = []
    con: duckdb.DuckDBPyConnection | None = None  # opened for the first text not parsed before
    try:
        for folder, kind in FOLDER_KINDS.items():
            for path in sorted((root / folder).glob("*.sql")):
                sql = path.read_text(encoding="utf-8")
                parsed = _PARSED.get(sql)
                if parsed is None:
                    con = con or duckdb.connect()
                    parsed = _PARSED[sql] = parse_sql(con, sql, str(path))
                models.append(_sql_model(path, folder, kind, sql, parsed))
    finally:
        if con is not None:
            con.close()
    return models


def _sql_model(path: Path, folder: str, kind: str, sql: str, parsed: ParsedSql) -> Model:
    schema = "checks" if kind == "check" else folder
    daily = {"start_day", "end_day"} <= set(parsed.variables)
    if kind == "mart" and ({"start_day", "end_day"} & set(parsed.variables)) and not daily:
        raise ModelError(f"{path}: a daily mart reads both getvariable('start_day') and ('end_day')")
    return Model(
        name=f"{schema}.{path.stem}",
        kind=kind,
        inputs=parsed.tables,
        daily=daily and kind == "mart",
        file=path,
        description=_description(sql),
    )


def _python_models() -> list[Model]:
    from reporter_etl.models.python_models import PYTHON_MODELS

    return [
        Model(
            name=spec.name,
            kind="python",
            inputs=tuple(sorted(spec.inputs)),
            daily=False,
            file=Path(spec.module_file),
            description=spec.description,
            entry_point=spec.entry_point,
        )
        for spec in PYTHON_MODELS
    ]


def order_models(models: list[Model]) -> list[Model]:
    """Dependencies first; ties broken by kind (staging, marts, python, checks) then name, so the order is stable."""
    by_name: dict[str, Model] = {}
    for model in models:
        if model.name in by_name:
            raise ModelError(f"two models are named {model.name}: {by_name[model.name].file} and {model.file}")
        by_name[model.name] = model
    for model in models:
        for name in model.inputs:
            if name.split(".", 1)[0] in (*BUILT_SCHEMAS, "checks") and name not in by_name:
                raise ModelError(f"{model.file}: reads {name}, which no model builds")
            if name.startswith("checks."):
                raise ModelError(f"{model.file}: reads {name}; checks are not tables")
    rank = {kind: i for i, kind in enumerate(("staging", "mart", "python", "check"))}
    sorter = TopologicalSorter({m.name: [i for i in m.inputs if i in by_name] for m in models})
    try:
        sorter.prepare()
    except CycleError as exc:
        raise ModelError(f"models read each other in a cycle: {' -> '.join(exc.args[1])}") from None
    ordered: list[Model] = []
    while sorter.is_active():
        ready = sorted(sorter.get_ready(), key=lambda name: (rank[by_name[name].kind], name))
        for name in ready:
            ordered.append(by_name[name])
            sorter.done(name)
    return ordered


def load_models(root: str | Path | None = None, *, include_python: bool = True) -> list[Model]:
    """Every model under ``root`` (default: the packaged ``sql/``) plus the Python models, dependencies first."""
    folder = Path(root) if root is not None else sql_dir()
    if not folder.is_dir():
        raise ModelError(f"no SQL models folder at {folder}")
    models = _sql_models(folder)
    if include_python:
        models += _python_models()
    return order_models(models)


def select_models(models: list[Model], names: list[str] | None) -> list[Model]:
    """The named models (``marts.x`` or just ``x``), in build order; all of them when ``names`` is empty."""
    if not names:
        return list(models)
    wanted: set[str] = set()
    for name in names:
        matches = [m.name for m in models if name in (m.name, m.table)]
        if not matches:
            known = ", ".join(m.name for m in models)
            raise UnknownModelError(f"no model named {name!r}; models: {known}")
        wanted.update(matches)
    return [m for m in models if m.name in wanted]
