-- marts.experiment_branch_moments: per experiment × branch × session-level outcome, the sufficient statistics
-- (n, sum, sum of squares) the statistics engine turns into marts.experiment_comparison.
-- The unit is the session; a session's branch is session_data['experiment.<key>']. Outcomes: transferred (0/1),
-- success (0/1, the configured success_result; absent when none is configured), labelled (0/1, the configured
-- outcome_label; absent likewise), client_messages (count), duration_s (seconds).
-- columns:
--   project_short_name: the project
--   experiment_key: the experiment
--   branch_key: the branch
--   branch_index: the branch's place in the platform's catalog (1 = first, the default control); NULL if unknown
--   outcome: transferred, success, labelled, client_messages or duration_s
--   n: sessions with a value
--   total: sum of the values
--   total_squares: sum of the squared values
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
        f.is_transferred,
        f.is_success,
        f.has_outcome_label,
        f.client_messages,
        f.duration_s
    from assignments as a
    join marts.session_facts as f using (project_short_name, session_id)
),

outcome_values as (
    select project_short_name, experiment_key, branch_key, 'transferred' as outcome,
           is_transferred::int::double as value
    from sessions
    union all
    select project_short_name, experiment_key, branch_key, 'success', is_success::int::double
    from sessions
    where getvariable('success_result') is not null
    union all
    select project_short_name, experiment_key, branch_key, 'labelled', has_outcome_label::int::double
    from sessions
    where getvariable('outcome_label') is not null
    union all
    select project_short_name, experiment_key, branch_key, 'client_messages', client_messages::double
    from sessions
    union all
    select project_short_name, experiment_key, branch_key, 'duration_s', duration_s
    from sessions
),

moments as (
    select
        project_short_name,
        experiment_key,
        branch_key,
        outcome,
        count(value) as n,
        coalesce(fsum(value), 0) as total,
        coalesce(fsum(value * value), 0) as total_squares
    from outcome_values
    group by all
),

final as (
    select
        m.project_short_name,
        m.experiment_key,
        m.branch_key,
        c.branch_index,
        m.outcome,
        m.n,
        m.total,
        m.total_squares
    from moments as m
    left join catalog as c using (project_short_name, experiment_key, branch_key)
)

select * from final
