-- marts.repeat_contact: per local day × bot × channel, the share of sessions followed by another session of the
-- same client on the same bot within 24 hours and within 7 days (start to start).
-- Rebuilt whole: a day's value changes as later sessions arrive. The last days of the history have not had their
-- full 24 hours or 7 days yet; followup_complete_24h / followup_complete_7d say whether they have.
-- columns:
--   day: local day the sessions started
--   project_short_name: the project
--   bot_id: the bot
--   channel_type: the channel
--   sessions: sessions started that day
--   repeat_24h_sessions: of those, followed by the client's next session within 24 hours
--   repeat_24h_share: repeat_24h_sessions / sessions
--   repeat_7d_sessions: followed within 7 days
--   repeat_7d_share: repeat_7d_sessions / sessions
--   followup_complete_24h: the warehouse holds sessions started 24 hours after every session of the day
--   followup_complete_7d: the same for 7 days
with sessions as (
    select project_short_name, bot_id, channel_type, client_id, session_id, day, started_at
    from marts.session_facts
),

history as (
    select max(started_at) as last_start from sessions
),

with_next as (
    select
        *,
        lead(started_at) over (
            partition by project_short_name, bot_id, client_id order by started_at, session_id
        ) as next_started_at
    from sessions
),

per_day as (
    select
        day,
        project_short_name,
        bot_id,
        channel_type,
        count(*) as sessions,
        count(*) filter (where next_started_at <= started_at + interval 24 hours) as repeat_24h_sessions,
        count(*) filter (where next_started_at <= started_at + interval 7 days) as repeat_7d_sessions,
        max(started_at) as last_start_of_day
    from with_next
    group by all
),

final as (
    select
        p.day,
        p.project_short_name,
        p.bot_id,
        p.channel_type,
        p.sessions,
        p.repeat_24h_sessions,
        p.repeat_24h_sessions / p.sessions as repeat_24h_share,
        p.repeat_7d_sessions,
        p.repeat_7d_sessions / p.sessions as repeat_7d_share,
        p.last_start_of_day + interval 24 hours <= h.last_start as followup_complete_24h,
        p.last_start_of_day + interval 7 days <= h.last_start as followup_complete_7d
    from per_day as p, history as h
)

select * from final
