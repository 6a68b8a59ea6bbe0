"""The projects file: which Reporter API projects this code location syncs, and into which warehouse.

A TOML file (``projects.toml`` in the working directory, or the file named by ``$REPORTER_ETL_PROJECTS``)::

    [warehouse]
    path = "reporter.duckdb"          # $REPORTER_ETL_DB overrides it

    [[projects]]
    short_name = "acme-1234-ab"       # the platform's projectShortName; the token must belong to it
    token_env = "REPORTER_TOKEN"      # the environment variable holding this project's token (never the token)
    timezone = "Europe/Moscow"        # days (partitions) are cut at this zone's midnight
    start_date = "2026-01-01"         # the first partition
    base_url = "https://app.jaicp.com"  # optional: default $REPORTER_BASE_URL, else the JAICP host
    lookback_days = 2                 # optional: days before the last complete day the nightly run re-reads
    nightly_at = "03:30"              # optional: local time of the nightly run
    key_prefix = "acme"               # optional: asset key prefix (default: short_name with _ for other chars)

    [models]                          # optional: settings of the SQL models (see the README), shared by all
    timezone = "Europe/Moscow"        # projects; local days default to the first project's zone

Only names of environment variables live here, so the file is safe to commit.
"""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date, time
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

PROJECTS_FILE_ENV = "REPORTER_ETL_PROJECTS"
DB_PATH_ENV = "REPORTER_ETL_DB"
BASE_URL_ENV = "REPORTER_BASE_URL"
DEFAULT_PROJECTS_FILE = "projects.toml"
DEFAULT_BASE_URL = "https://app.jaicp.com"
DEFAULT_DB_PATH = "reporter.duckdb"

_KEY_PART = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
_ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_PROJECT_KEYS = {"short_name", "token_env", "timezone", "start_date", "base_url", "lookback_days", "nightly_at",
                 "key_prefix"}  # fmt: skip


class ProjectsFileError(ValueError):
    """The projects file is missing or wrong; the message names the file and the field."""


@dataclass(frozen=True)
class ProjectConfig:
    short_name: str
    token_env: str
    timezone: str
    start_date: date
    base_url: str
    lookback_days: int = 2
    nightly_at: time = time(3, 30)
    key_prefix: str = ""

    @property
    def prefix(self) -> str:
        return self.key_prefix or default_prefix(self.short_name)


@dataclass(frozen=True)
class LocationConfig:
    """Everything the code location is built from."""

    db_path: str
    projects: tuple[ProjectConfig, ...]
    source: str  # the file it was read from, for messages
    models: Mapping[str, Any] = field(default_factory=dict)  # the [models] section (reporter_etl.models.config)


def default_prefix(short_name: str) -> str:
    prefix = re.sub(r"[^A-Za-z0-9_]", "_", short_name)
    return prefix if prefix[:1].isalpha() else f"p_{prefix}"


def projects_file(environ: dict[str, str] | None = None) -> Path:
    env = os.environ if environ is None else environ
    return Path(env.get(PROJECTS_FILE_ENV) or DEFAULT_PROJECTS_FILE)


def load_location(path: str | os.PathLike[str] | None = None, environ: dict[str, str] | None = None) -> LocationConfig:
    env = dict(os.environ if environ is None else environ)
    file = Path(path) if path is not None else projects_file(env)
    try:
        data = tomllib.loads(file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ProjectsFileError(
            f"no projects file at {file.resolve()}: create one (see projects.toml in the repository) or point "
            f"${PROJECTS_FILE_ENV} at it"
        ) from None
    except tomllib.TOMLDecodeError as exc:
        raise ProjectsFileError(f"{file}: not valid TOML: {exc}") from None
    return parse_location(data, str(file), env)


def parse_location(data: dict, source: str, environ: dict[str, str]) -> LocationConfig:
    warehouse = data.get("warehouse") or {}
    db_path = environ.get(DB_PATH_ENV) or str(warehouse.get("path") or DEFAULT_DB_PATH)
    if not isinstance(db_path, str) or not db_path:
        raise ProjectsFileError(f"{source}: [warehouse] path must be a file name")
    default_base_url = environ.get(BASE_URL_ENV, "").strip() or DEFAULT_BASE_URL
    raw_projects = data.get("projects")
    if not isinstance(raw_projects, list) or not raw_projects:
        raise ProjectsFileError(f"{source}: list at least one project as a [[projects]] table")
    projects = tuple(_project(item, n, source, default_base_url) for n, item in enumerate(raw_projects, start=1))
    for attribute in ("short_name", "prefix"):
        seen: set[str] = set()
        for project in projects:
            value = getattr(project, attribute)
            if value in seen:
                raise ProjectsFileError(f"{source}: two projects share the {attribute} {value!r}")
            seen.add(value)
    models = data.get("models") or {}
    if not isinstance(models, dict):
        raise ProjectsFileError(f"{source}: [models] must be a table")
    return LocationConfig(db_path=db_path, projects=projects, source=source, models=models)


def _project(item: object, number: int, source: str, default_base_url: str) -> ProjectConfig:
    where = f"{source}: project {number}"
    if not isinstance(item, dict):
        raise ProjectsFileError(f"{where}: must be a table")
    unknown = sorted(set(item) - _PROJECT_KEYS)
    if unknown:
        raise ProjectsFileError(f"{where}: unknown field(s) {', '.join(unknown)}")
    for required in ("short_name", "token_env", "timezone", "start_date"):
        if item.get(required) in (None, ""):
            raise ProjectsFileError(f"{where}: {required} is required")
    token_env = str(item["token_env"])
    if not _ENV_NAME.match(token_env):
        raise ProjectsFileError(f"{where}: token_env must name an environment variable, e.g. REPORTER_TOKEN")
    timezone = str(item["timezone"])
    try:
        ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ProjectsFileError(
            f"{where}: unknown time zone {timezone!r} (an IANA name such as 'Europe/Moscow')"
        ) from None
    start = item["start_date"]
    if isinstance(start, str):
        try:
            start = date.fromisoformat(start)
        except ValueError:
            raise ProjectsFileError(f"{where}: start_date {start!r} is not YYYY-MM-DD") from None
    if not isinstance(start, date):
        raise ProjectsFileError(f"{where}: start_date must be a date, YYYY-MM-DD")
    lookback = item.get("lookback_days", 2)
    if not isinstance(lookback, int) or lookback < 0:
        raise ProjectsFileError(f"{where}: lookback_days must be a whole number of days, 0 or more")
    nightly = item.get("nightly_at", "03:30")
    try:
        nightly_at = nightly if isinstance(nightly, time) else time.fromisoformat(str(nightly))
    except ValueError:
        raise ProjectsFileError(f"{where}: nightly_at {nightly!r} is not a time like 03:30") from None
    key_prefix = str(item.get("key_prefix") or "")
    if key_prefix and not _KEY_PART.match(key_prefix):
        raise ProjectsFileError(f"{where}: key_prefix must be letters, digits and _ and start with a letter")
    return ProjectConfig(
        short_name=str(item["short_name"]),
        token_env=token_env,
        timezone=timezone,
        start_date=start,
        base_url=str(item.get("base_url") or default_base_url).rstrip("/"),
        lookback_days=lookback,
        nightly_at=nightly_at,
        key_prefix=key_prefix,
    )
