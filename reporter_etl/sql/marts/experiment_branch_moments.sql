-- marts.experiment_branch_moments: per experiment × branch × session-level outcome, the sufficient statistics
-- (n, sum, sum of squares) the statistics engine turns into marts.experiment_comparison.
-- The unit is the session; a session's branch is session_data['experiment.<key>']. Outcomes: transferred (0/1),
-- success (0/1, the configured success_result; absent when none is configured), labelled (0/1, the configured
-- outcome_label; absent likewise), client_messages (count), duration_s (seconds).
-- They are experiment_daily_moments on each experiment's last day: the cumulative sums over all its sessions.
-- columns:
--   project_short_name: the project
--   experiment_key: the experiment
--   branch_key: the branch
--   branch_index: the branch's place in the platform's catalog (1 = first, the default control); NULL if unknown
--   outcome: transferred, success, labelled, client_messages or duration_s
--   n: sessions with a value
--   total: sum of the values
--   total_squares: sum of the squared values
with daily as (
    select * from marts.experiment_daily_moments
),

last_days as (
    select project_short_name, experiment_key, max(day) as day
    from daily
    group by all
),

final as (
    select
        d.project_short_name,
        d.experiment_key,
        d.branch_key,
        d.branch_index,
        d.outcome,
        d.n,
        d.total,
        d.total_squares
    from daily as d
    join last_days using (project_short_name, experiment_key, day)
)

select * from final
