-- staging.sessions: one row per session as the platform last reported it, with its local start day.
-- A session belongs to the local day it started on (the platform's session statistics count it there too).
-- columns:
--   session_id: the session
--   project_short_name: the project
--   bot_id: the bot
--   channel_type: the bot's channel
--   client_id: the client
--   started_at: session start (TIMESTAMPTZ)
--   day: local day of started_at in the project's time zone
--   question_count: the platform's count of the session's messages
--   duration_s: the platform's session duration, in seconds (the API sends milliseconds)
--   session_result: the sessionResult the bot script set, if any
--   is_transferred: the conversation went to an operator (isLivechat)
--   is_call: a telephony session
--   is_call_incoming: telephony direction, NULL off telephony
--   call_task_id: outgoing call campaign, if any
--   session_data: the string map the bot script fills (experiment branches live here)
with source as (
    select * from raw.sessions
),

deduplicated as (
    select *
    from source
    qualify row_number() over (partition by project_short_name, session_id order by _loaded_at desc) = 1
),

renamed as (
    select
        session_id,
        project_short_name,
        bot_id,
        channel_type,
        client_id,
        start_time as started_at,
        timezone(coalesce(getvariable('timezone'), (select timezone from marts.build_settings), 'UTC'), start_time)::date as day,
        question_count,
        duration_ms / 1000.0 as duration_s,
        session_result,
        is_livechat as is_transferred,
        is_call_incoming is not null as is_call,
        is_call_incoming,
        call_task_id,
        session_data
    from deduplicated
),

final as (
    select * from renamed
)

select * from final
