-- marts.session_facts: one row per session with what its messages say: empty, engaged, message counts, outcomes.
-- Rebuilt whole: a session's messages can arrive days after it started (resumed sessions, late data).
-- columns:
--   session_id: the session
--   project_short_name: the project
--   bot_id: the bot
--   channel_type: the channel
--   client_id: the client
--   started_at: session start
--   day: local day the session started
--   last_message_at: the latest message of the session in the warehouse
--   messages: all its messages, empty ones included
--   client_messages: messages with a client phrase
--   bot_messages: replies by the bot
--   operator_messages: replies by an operator
--   is_empty: only empty messages (/start, system events), or none
--   is_engaged: at least one client phrase
--   is_transferred: went to an operator (isLivechat)
--   duration_s: the platform's duration, seconds
--   session_result: the sessionResult, if any
--   is_success: session_result equals the configured success_result (NULL when none is configured)
--   has_outcome_label: carries the configured outcome_label (NULL when none is configured)
--   is_call_incoming: telephony direction, NULL off telephony
with sessions as (
    select * from staging.sessions
),

messages as (
    select project_short_name, session_id, message_at, is_empty, is_client_phrase, is_bot_reply, is_operator_reply
    from staging.messages
),

per_session_messages as (
    select
        project_short_name,
        session_id,
        max(message_at) as last_message_at,
        count(*) as messages,
        count(*) filter (where not is_empty) as non_empty_messages,
        count(*) filter (where is_client_phrase) as client_messages,
        count(*) filter (where is_bot_reply) as bot_messages,
        count(*) filter (where is_operator_reply) as operator_messages
    from messages
    group by all
),

outcome_labels as (
    select distinct project_short_name, session_id
    from staging.session_label_links
    where label_name = getvariable('outcome_label')
),

final as (
    select
        s.session_id,
        s.project_short_name,
        s.bot_id,
        s.channel_type,
        s.client_id,
        s.started_at,
        s.day,
        m.last_message_at,
        coalesce(m.messages, 0) as messages,
        coalesce(m.client_messages, 0) as client_messages,
        coalesce(m.bot_messages, 0) as bot_messages,
        coalesce(m.operator_messages, 0) as operator_messages,
        coalesce(m.non_empty_messages, 0) = 0 as is_empty,
        coalesce(m.client_messages, 0) > 0 as is_engaged,
        s.is_transferred,
        s.duration_s,
        s.session_result,
        case
            when getvariable('success_result') is null then null
            else coalesce(s.session_result = getvariable('success_result'), false)
        end as is_success,
        case
            when getvariable('outcome_label') is null then null
            else l.session_id is not null
        end as has_outcome_label,
        s.is_call_incoming
    from sessions as s
    left join per_session_messages as m using (project_short_name, session_id)
    left join outcome_labels as l using (project_short_name, session_id)
)

select * from final
