"""Reconciling the warehouse with the platform's own counts: every day, every metric, like with like.

The platform's daily counts sit in ``raw.api_daily_stats`` (``reporter_etl.platform_stats`` and the sync's
verification counts); ``count-sessions`` per experiment in ``raw.experiment_session_counts``.  Each
``Reconciliation`` below pairs one platform count with the warehouse number that counts the same thing:

- where a mart's column means what the platform means, the mart is read (so the check guards the marts);
- where it does not (the mart counts sessions by the day they *started*, the platform's ``sessions`` count the
  sessions *active* that day; the mart's ``unique_clients`` are the clients of the sessions started that day, the
  platform's those with a message that day), the same definition is computed from staging, and the name says so;
- the raw tables are counted too, because staging deduplicates: a duplicated raw row would otherwise hide.

Only days the platform has a count for are compared (the synced days); a day with no warehouse rows counts 0.
The connection must have the models' variables set (``timezone`` above all), as the runner sets them.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import duckdb

from reporter_etl.errors import WarehouseError

log = logging.getLogger(__name__)

LOCAL_ZONE = "coalesce(getvariable('timezone'), 'UTC')"


@dataclass(frozen=True)
class Reconciliation:
    metric: str  # what the report calls it: the count and where the warehouse side comes from
    platform_metric: str
    platform_dimension: str
    warehouse_sql: str  # one SELECT of (project_short_name, day, value)
    reads: tuple[str, ...]  # the warehouse tables it needs


@dataclass(frozen=True)
class Difference:
    project: str
    day: date | None  # None for a count without a day (an experiment's sessions)
    metric: str
    warehouse: float
    platform: float


def _sessions_bucketed_like_the_platform(metric: str, dimension: str, column: str, predicate: str) -> str:
    """A session count of marts.daily_conversations, except on days the platform cuts differently.

    The date-parameter statistics (switched sessions, telephony) take a day as 24 hours from local midnight at
    one UTC offset; on a DST day that is not the local day, so those days are counted from marts.session_facts
    with the platform's bounds instead.
    """
    return f"""
with days as (
    select
        project_short_name,
        day,
        timezone('UTC', day::timestamp - to_minutes(coalesce(tz_offset_minutes, 0))) as platform_start,
        timezone({LOCAL_ZONE}, day::timestamp) as local_start,
        timezone({LOCAL_ZONE}, (day + 1)::timestamp) as local_end
    from raw.api_daily_stats
    where metric = '{metric}' and dimension = '{dimension}'
),

mart as (
    select project_short_name, day, sum({column}) as value
    from marts.daily_conversations
    group by all
),

shifted as (
    select d.project_short_name, d.day, count(f.session_id) as value
    from days as d
    left join marts.session_facts as f
        on f.project_short_name = d.project_short_name
        and f.started_at >= d.platform_start
        and f.started_at < d.platform_start + interval 1 day
        and {predicate}
    where d.local_start <> d.platform_start or d.local_end <> d.platform_start + interval 1 day
    group by all
)

select d.project_short_name, d.day, coalesce(case when s.day is null then m.value else s.value end, 0) as value
from days as d
left join mart as m using (project_short_name, day)
left join shifted as s using (project_short_name, day)
"""


RECONCILIATIONS: tuple[Reconciliation, ...] = (
    Reconciliation(
        "messages (raw.messages)", "messages", "",
        f"select project_short_name, timezone({LOCAL_ZONE}, message_time)::date as day, count(*) as value "
        "from raw.messages group by all",
        ("raw.messages",),
    ),
    Reconciliation(
        "messages (marts.daily_conversations)", "messages", "",
        "select project_short_name, day, sum(messages) as value from marts.daily_conversations group by all",
        ("marts.daily_conversations",),
    ),
    Reconciliation(
        "sessions active that day (staging.messages)", "sessions", "",
        "select project_short_name, day, count(distinct session_id) as value from staging.messages group by all",
        ("staging.messages",),
    ),
    Reconciliation(
        "sessions started (raw.sessions)", "sessions_started", "",
        f"select project_short_name, timezone({LOCAL_ZONE}, start_time)::date as day, count(*) as value "
        "from raw.sessions group by all",
        ("raw.sessions",),
    ),
    Reconciliation(
        "sessions started (marts.daily_conversations)", "sessions_started", "",
        "select project_short_name, day, sum(sessions) as value from marts.daily_conversations group by all",
        ("marts.daily_conversations",),
    ),
    Reconciliation(
        "transfers to an operator (marts.daily_conversations)", "transfers", "",
        _sessions_bucketed_like_the_platform("transfers", "", "transferred_sessions", "f.is_transferred"),
        ("marts.daily_conversations", "marts.session_facts"),
    ),
    Reconciliation(
        "incoming calls (marts.daily_conversations)", "calls", "incoming",
        _sessions_bucketed_like_the_platform("calls", "incoming", "calls_incoming", "f.is_call_incoming"),
        ("marts.daily_conversations", "marts.session_facts"),
    ),
    Reconciliation(
        "outgoing calls (marts.daily_conversations)", "calls", "outgoing",
        _sessions_bucketed_like_the_platform("calls", "outgoing", "calls_outgoing", "not f.is_call_incoming"),
        ("marts.daily_conversations", "marts.session_facts"),
    ),
    Reconciliation(
        "unique clients with a message that day (staging.messages)", "unique_clients", "active",
        "select project_short_name, day, count(distinct (bot_id, client_id)) as value from staging.messages "
        "group by all",
        ("staging.messages",),
    ),
)  # fmt: skip

# count-sessions is of all time, asked when the run refreshed its catalogs: a running experiment may have sessions
# that started after the last synced day, so for it only a warehouse count above the platform's is a difference.
EXPERIMENT_SQL = """
with platform as (
    select c.project_short_name, c.experiment_key, c.session_count, e.status
    from raw.experiment_session_counts as c
    left join raw.experiments as e using (project_short_name, experiment_key)
),

warehouse as (
    select project_short_name, experiment_key, count(distinct session_id) as sessions
    from staging.experiment_sessions
    group by all
)

select p.project_short_name, p.experiment_key, coalesce(w.sessions, 0) as warehouse, p.session_count as platform
from platform as p
left join warehouse as w using (project_short_name, experiment_key)
where coalesce(w.sessions, 0) <> p.session_count
    and not (p.status = 'RUNNING' and coalesce(w.sessions, 0) < p.session_count)
order by 1, 2
"""
EXPERIMENT_READS = ("raw.experiment_session_counts", "raw.experiments", "staging.experiment_sessions")


def _existing(con: duckdb.DuckDBPyConnection) -> set[str]:
    rows = con.execute(
        "select schema_name || '.' || table_name from duckdb_tables() where database_name = current_database() "
        "union all select schema_name || '.' || view_name from duckdb_views() "
        "where database_name = current_database() and not internal"
    ).fetchall()
    return {r[0] for r in rows}


class MissingTablesError(WarehouseError):
    """The warehouse lacks tables a reconciliation reads (models not built yet)."""


def reconcile(
    con: duckdb.DuckDBPyConnection, reconciliations: Sequence[Reconciliation] = RECONCILIATIONS
) -> list[Difference]:
    """Every difference between the warehouse and the platform's counts, by day then metric."""
    existing = _existing(con)
    needed = {table for item in reconciliations for table in item.reads} | set(EXPERIMENT_READS)
    missing = sorted(needed - existing)
    if missing:
        raise MissingTablesError(f"the warehouse has no {', '.join(missing)}: build the models first "
                                 f"(reporter-etl models build --db ...)")  # fmt: skip
    differences: list[Difference] = []
    for item in reconciliations:
        rows = con.execute(
            f"""
            with platform as (
                select project_short_name, day, value from raw.api_daily_stats where metric = ? and dimension = ?
            ),
            warehouse as ({item.warehouse_sql})
            select p.project_short_name, p.day, coalesce(w.value, 0), p.value
            from platform as p
            left join warehouse as w using (project_short_name, day)
            where coalesce(w.value, 0) <> p.value
            """,
            [item.platform_metric, item.platform_dimension],
        ).fetchall()
        differences += [Difference(project, day, item.metric, float(ours), float(theirs))
                        for project, day, ours, theirs in rows]  # fmt: skip
    for project, key, ours, theirs in con.execute(EXPERIMENT_SQL).fetchall():
        differences.append(Difference(project, None, f"sessions in experiment {key} (count-sessions)",
                                      float(ours), float(theirs)))  # fmt: skip
    differences.sort(key=lambda d: (d.project, d.day or date.max, d.metric))
    compared = con.execute("select count(distinct day) from raw.api_daily_stats").fetchone()[0]
    log.info("reconciled %d day(s) and the experiments with the platform: %d difference(s)", compared,
             len(differences))  # fmt: skip
    return differences


@dataclass(frozen=True)
class CheckOutcome:
    """What ``reporter-etl check`` found: failing SQL checks and differences with the platform."""

    checks_run: int
    failed_checks: list  # reporter_etl.models.CheckResult of the checks that returned rows
    differences: list[Difference]

    @property
    def passed(self) -> bool:
        return not self.failed_checks and not self.differences


def check_warehouse(con: duckdb.DuckDBPyConnection, config, models=None) -> CheckOutcome:  # noqa: ANN001
    """Run every ``sql/checks`` model and reconcile with the platform, on a (read-only) connection.

    ``config`` is the models' ``ModelsConfig`` (its time zone decides the local days); ``models`` the model list
    (default ``load_models()``).
    """
    from reporter_etl.models import load_models, run_checks, set_variables

    models = load_models() if models is None else models
    results = run_checks(con, models, config=config)
    set_variables(con, config.sql_variables())
    return CheckOutcome(len(results), [r for r in results if not r.passed], reconcile(con))
