-- staging.experiments: one row per experiment and branch, branches in the platform's order.
-- columns:
--   project_short_name: the project
--   experiment_key: the experiment
--   experiment_description: what it tests
--   status: the platform's status (e.g. RUNNING, STOPPED)
--   branch_key: the branch
--   branch_description: the branch's description
--   branch_index: 1 for the first branch (the default control), 2 for the next, ...
with source as (
    select * from raw.experiments
),

branches as (
    select
        project_short_name,
        experiment_key,
        description as experiment_description,
        status,
        unnest(branches) as branch,
        unnest(generate_series(1, len(branches))) as branch_index
    from source
),

final as (
    select
        project_short_name,
        experiment_key,
        experiment_description,
        status,
        branch."key" as branch_key,
        branch.description as branch_description,
        branch_index
    from branches
)

select * from final
