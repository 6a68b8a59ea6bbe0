-- staging.experiment_sessions: one row per session and experiment it joined, with the branch it got.
-- The platform records the branch in session_data['experiment.<key>'] (docs/decisions.md).
-- columns:
--   project_short_name: the project
--   session_id: the session
--   experiment_key: the experiment
--   branch_key: the branch the session was given
with source as (
    select project_short_name, session_id, session_data from staging.sessions
),

entries as (
    select project_short_name, session_id, unnest(map_entries(session_data)) as entry
    from source
),

final as (
    select
        project_short_name,
        session_id,
        substr(entry."key", length('experiment.') + 1) as experiment_key,
        entry."value" as branch_key
    from entries
    where starts_with(entry."key", 'experiment.') and entry."value" is not null
)

select * from final
