-- marts.daily_conversations: per local day × bot × channel, how many conversations, how engaged, how transferred.
-- Session counts belong to the day a session started (as the platform's session statistics), message counts to
-- the day a message was sent (as its message statistics). Durations and messages_per_session describe the
-- sessions that started that day, all their messages included.
-- columns:
--   day: local day
--   project_short_name: the project
--   bot_id: the bot
--   channel_type: the channel
--   sessions: sessions started
--   non_empty_sessions: sessions with a message that is not /start or a system event
--   engaged_sessions: sessions with at least one client phrase
--   engaged_share: engaged_sessions / sessions
--   unique_clients: distinct clients among the sessions started
--   new_clients: of those, clients first seen this day (marts.clients.first_seen_day)
--   returning_clients: unique_clients - new_clients
--   messages: all messages sent this day, empty ones included (the platform's message count)
--   client_messages: messages with a client phrase sent this day
--   bot_messages: bot replies sent this day
--   operator_messages: operator replies sent this day
--   messages_per_session: mean client phrases per session started this day
--   duration_mean_s: mean duration of the non-empty sessions started this day, seconds
--   duration_median_s: their median (interpolated)
--   duration_p90_s: their 90th percentile (interpolated)
--   transferred_sessions: sessions started this day that went to an operator
--   transferred_share: transferred_sessions / sessions
--   contained_sessions: non-empty sessions never transferred
--   containment: contained_sessions / non_empty_sessions
--   calls_incoming: incoming telephony sessions started
--   calls_outgoing: outgoing telephony sessions started
with bounds as (
    select
        coalesce(getvariable('start_day')::date, date '0001-01-01') as start_day,
        coalesce(getvariable('end_day')::date, date '9999-12-31') as end_day
),

sessions as (
    select s.*
    from marts.session_facts as s, bounds as b
    where s.day between b.start_day and b.end_day
),

messages as (
    select m.*
    from staging.messages as m, bounds as b
    where m.day between b.start_day and b.end_day
),

clients as (
    select project_short_name, bot_id, client_id, first_seen_day from marts.clients
),

per_day_sessions as (
    select
        s.day,
        s.project_short_name,
        s.bot_id,
        s.channel_type,
        count(*) as sessions,
        count(*) filter (where not s.is_empty) as non_empty_sessions,
        count(*) filter (where s.is_engaged) as engaged_sessions,
        count(distinct s.client_id) as unique_clients,
        count(distinct s.client_id) filter (where c.first_seen_day = s.day) as new_clients,
        avg(s.client_messages) as messages_per_session,
        avg(s.duration_s) filter (where not s.is_empty) as duration_mean_s,
        quantile_cont(s.duration_s, 0.5) filter (where not s.is_empty) as duration_median_s,
        quantile_cont(s.duration_s, 0.9) filter (where not s.is_empty) as duration_p90_s,
        count(*) filter (where s.is_transferred) as transferred_sessions,
        count(*) filter (where not s.is_empty and not s.is_transferred) as contained_sessions,
        count(*) filter (where s.is_call_incoming) as calls_incoming,
        count(*) filter (where not s.is_call_incoming) as calls_outgoing
    from sessions as s
    left join clients as c using (project_short_name, bot_id, client_id)
    group by all
),

per_day_messages as (
    select
        day,
        project_short_name,
        bot_id,
        channel_type,
        count(*) as messages,
        count(*) filter (where is_client_phrase) as client_messages,
        count(*) filter (where is_bot_reply) as bot_messages,
        count(*) filter (where is_operator_reply) as operator_messages
    from messages
    group by all
),

joined as (
    select
        day,
        project_short_name,
        bot_id,
        channel_type,
        coalesce(s.sessions, 0) as sessions,
        coalesce(s.non_empty_sessions, 0) as non_empty_sessions,
        coalesce(s.engaged_sessions, 0) as engaged_sessions,
        coalesce(s.unique_clients, 0) as unique_clients,
        coalesce(s.new_clients, 0) as new_clients,
        coalesce(m.messages, 0) as messages,
        coalesce(m.client_messages, 0) as client_messages,
        coalesce(m.bot_messages, 0) as bot_messages,
        coalesce(m.operator_messages, 0) as operator_messages,
        s.messages_per_session,
        s.duration_mean_s,
        s.duration_median_s,
        s.duration_p90_s,
        coalesce(s.transferred_sessions, 0) as transferred_sessions,
        coalesce(s.contained_sessions, 0) as contained_sessions,
        coalesce(s.calls_incoming, 0) as calls_incoming,
        coalesce(s.calls_outgoing, 0) as calls_outgoing
    from per_day_sessions as s
    full outer join per_day_messages as m using (day, project_short_name, bot_id, channel_type)
),

final as (
    select
        day,
        project_short_name,
        bot_id,
        channel_type,
        sessions,
        non_empty_sessions,
        engaged_sessions,
        engaged_sessions / nullif(sessions, 0) as engaged_share,
        unique_clients,
        new_clients,
        unique_clients - new_clients as returning_clients,
        messages,
        client_messages,
        bot_messages,
        operator_messages,
        messages_per_session,
        duration_mean_s,
        duration_median_s,
        duration_p90_s,
        transferred_sessions,
        transferred_sessions / nullif(sessions, 0) as transferred_share,
        contained_sessions,
        contained_sessions / nullif(non_empty_sessions, 0) as containment,
        calls_incoming,
        calls_outgoing
    from joined
)

select * from final
