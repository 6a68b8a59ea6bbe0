-- marts.clients: one row per client and bot: first and last seen, sessions, messages, channel, blocked.
-- first_seen_at is the earlier of the platform's joinDate and the client's first session in the warehouse.
-- columns:
--   project_short_name: the project
--   bot_id: the bot
--   client_id: the client
--   channel_type: the channel
--   first_seen_at: first seen (joinDate or first session, whichever is earlier)
--   first_seen_day: local day of first_seen_at
--   last_seen_at: last seen (lastVisitDate or last message, whichever is later)
--   sessions: sessions in the warehouse
--   messages: all messages of those sessions
--   client_messages: client phrases of those sessions
--   is_blocked: blocked by an operator
--   block_reason: why
--   blocked_at: when
--   first_name: the client's first name
--   username: the client's username
with sessions as (
    select * from marts.session_facts
),

clients as (
    select * from staging.clients where bot_id is not null
),

per_client as (
    select
        project_short_name,
        bot_id,
        client_id,
        any_value(channel_type) as channel_type,
        min(started_at) as first_session_at,
        max(coalesce(last_message_at, started_at)) as last_message_at,
        count(*) as sessions,
        sum(messages) as messages,
        sum(client_messages) as client_messages
    from sessions
    group by all
),

joined as (
    select
        coalesce(p.project_short_name, c.project_short_name) as project_short_name,
        coalesce(p.bot_id, c.bot_id) as bot_id,
        coalesce(p.client_id, c.client_id) as client_id,
        coalesce(c.channel_type, p.channel_type) as channel_type,
        least(c.joined_at, p.first_session_at) as first_seen_at,
        greatest(c.last_visit_at, p.last_message_at) as last_seen_at,
        coalesce(p.sessions, 0) as sessions,
        coalesce(p.messages, 0) as messages,
        coalesce(p.client_messages, 0) as client_messages,
        coalesce(c.is_blocked, false) as is_blocked,
        c.block_reason,
        c.blocked_at,
        c.first_name,
        c.username
    from per_client as p
    full outer join clients as c using (project_short_name, bot_id, client_id)
),

final as (
    select
        project_short_name,
        bot_id,
        client_id,
        channel_type,
        first_seen_at,
        timezone(coalesce(getvariable('timezone'), 'UTC'), first_seen_at)::date as first_seen_day,
        last_seen_at,
        sessions,
        messages,
        client_messages,
        is_blocked,
        block_reason,
        blocked_at,
        first_name,
        username
    from joined
)

select * from final
