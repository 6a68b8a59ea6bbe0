-- marts.experiment_daily_moments: experiment_branch_moments as they stood at the end of each local day
-- (cumulative from the experiment's first session), one row per day from its first to its last session day, so
-- that a chart of the effect over time has no gaps. Rebuilt whole: every later day includes an earlier day's change.
-- columns:
--   day: the local day the sums run up to (sessions started on or before it)
--   project_short_name: the project
--   experiment_key: the experiment
--   branch_key: the branch
--   branch_index: the branch's place in the platform's catalog; NULL if unknown
--   outcome: as in experiment_branch_moments
--   n: sessions with a value, cumulative
--   total: sum of the values, cumulative
--   total_squares: sum of the squared values, cumulative
with assignments as (
    select * from staging.experiment_sessions
),

catalog as (
    select project_short_name, experiment_key, branch_key, branch_index from staging.experiments
),

sessions as (
    select
        a.project_short_name,
        a.experiment_key,
        a.branch_key,
        f.day,
        f.is_transferred,
        f.is_success,
        f.has_outcome_label,
        f.client_messages,
        f.duration_s
    from assignments as a
    join marts.session_facts as f using (project_short_name, session_id)
),

outcome_values as (
    select project_short_name, experiment_key, branch_key, day, 'transferred' as outcome,
           is_transferred::int::double as value
    from sessions
    union all
    select project_short_name, experiment_key, branch_key, day, 'success', is_success::int::double
    from sessions
    where getvariable('success_result') is not null
    union all
    select project_short_name, experiment_key, branch_key, day, 'labelled', has_outcome_label::int::double
    from sessions
    where getvariable('outcome_label') is not null
    union all
    select project_short_name, experiment_key, branch_key, day, 'client_messages', client_messages::double
    from sessions
    union all
    select project_short_name, experiment_key, branch_key, day, 'duration_s', duration_s
    from sessions
),

per_day as (
    select
        project_short_name,
        experiment_key,
        branch_key,
        outcome,
        day,
        count(value) as n,
        coalesce(fsum(value), 0) as total,
        coalesce(fsum(value * value), 0) as total_squares
    from outcome_values
    group by all
),

series as (
    select project_short_name, experiment_key, branch_key, outcome, min(day) as first_day
    from per_day
    group by all
),

span as (
    select project_short_name, experiment_key, max(day) as last_day
    from per_day
    group by all
),

calendar as (
    select
        s.project_short_name,
        s.experiment_key,
        s.branch_key,
        s.outcome,
        unnest(generate_series(s.first_day, x.last_day, interval 1 day))::date as day
    from series as s
    join span as x using (project_short_name, experiment_key)
),

cumulative as (
    select
        c.day,
        c.project_short_name,
        c.experiment_key,
        c.branch_key,
        c.outcome,
        sum(coalesce(p.n, 0)) over running as n,
        sum(coalesce(p.total, 0)) over running as total,
        sum(coalesce(p.total_squares, 0)) over running as total_squares
    from calendar as c
    left join per_day as p using (project_short_name, experiment_key, branch_key, outcome, day)
    window running as (
        partition by c.project_short_name, c.experiment_key, c.branch_key, c.outcome
        order by c.day
        rows between unbounded preceding and current row
    )
),

final as (
    select
        u.day,
        u.project_short_name,
        u.experiment_key,
        u.branch_key,
        k.branch_index,
        u.outcome,
        u.n::bigint as n,
        u.total,
        u.total_squares
    from cumulative as u
    left join catalog as k using (project_short_name, experiment_key, branch_key)
)

select * from final
