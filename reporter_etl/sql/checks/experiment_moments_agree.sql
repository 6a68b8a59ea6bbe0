-- checks.experiment_moments_agree: experiment × branch × outcome whose cumulative series does not end where the
-- whole-period moments are (the chart and the comparison would tell different stories), or whose branch is not in
-- the platform's catalog of the experiment.
-- columns:
--   experiment_key: the experiment
--   branch_key: the branch
--   outcome: the outcome
--   problem: what disagrees
--   series_n: n on the series' last day
--   moments_n: n in experiment_branch_moments
with latest as (
    select project_short_name, experiment_key, branch_key, outcome, arg_max(n, day) as n, arg_max(total, day) as total
    from marts.experiment_daily_moments
    group by all
),

moments as (
    select project_short_name, experiment_key, branch_key, outcome, n, total, branch_index
    from marts.experiment_branch_moments
),

catalogued as (
    select distinct project_short_name, experiment_key from staging.experiments
),

final as (
    select m.experiment_key, m.branch_key, m.outcome, 'series ends elsewhere' as problem, l.n as series_n,
           m.n as moments_n
    from moments as m
    left join latest as l using (project_short_name, experiment_key, branch_key, outcome)
    where l.n is distinct from m.n or abs(l.total - m.total) > 1e-6 * greatest(1, abs(m.total))
    union all
    select m.experiment_key, m.branch_key, m.outcome, 'branch not in the experiment catalog', null, m.n
    from moments as m
    join catalogued as c using (project_short_name, experiment_key)
    where m.branch_index is null
)

select * from final
