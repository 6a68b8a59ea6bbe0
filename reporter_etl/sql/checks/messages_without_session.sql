-- checks.messages_without_session: messages whose session is not in staging.sessions (a window loaded its
-- messages but not their session), counted per local day.
-- columns:
--   day: the message's local day
--   project_short_name: the project
--   messages: messages without a session
--   example_session_id: one of the missing sessions
with messages as (
    select day, project_short_name, session_id from staging.messages
),

sessions as (
    select project_short_name, session_id from staging.sessions
),

final as (
    select m.day, m.project_short_name, count(*) as messages, min(m.session_id) as example_session_id
    from messages as m
    anti join sessions as s using (project_short_name, session_id)
    group by all
)

select * from final
order by day
