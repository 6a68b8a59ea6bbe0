-- staging.clients: one row per client and bot as the platform last reported it.
-- columns:
--   project_short_name: the project
--   bot_id: the bot (the API may leave it empty)
--   client_id: the client
--   channel_type: the channel
--   first_name: client's first name
--   last_name: client's last name
--   username: client's username
--   joined_at: the platform's joinDate
--   last_visit_at: the platform's lastVisitDate
--   last_session_id: the latest session
--   is_blocked: blocked by an operator
--   block_reason: why
--   blocked_at: when
with source as (
    select * from raw.clients
),

deduplicated as (
    select *
    from source
    qualify row_number() over (
        partition by project_short_name, bot_id, client_id order by last_visit_date desc, _loaded_at desc
    ) = 1
),

final as (
    select
        project_short_name,
        bot_id,
        client_id,
        channel_type,
        first_name,
        last_name,
        username,
        join_date as joined_at,
        last_visit_date as last_visit_at,
        last_session_id,
        is_blocked,
        block_reason,
        block_date as blocked_at
    from deduplicated
)

select * from final
