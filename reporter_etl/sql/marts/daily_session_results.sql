-- marts.daily_session_results: per local day × bot × channel × sessionResult, the sessions that started that day.
-- session_result is NULL for sessions the bot script gave no result (yet: results can arrive days later).
-- columns:
--   day: local day the sessions started
--   project_short_name: the project
--   bot_id: the bot
--   channel_type: the channel
--   session_result: the sessionResult, NULL for none
--   sessions: sessions started that day with that result
--   share_of_sessions: sessions / all sessions of the day, bot and channel
with bounds as (
    select
        coalesce(getvariable('start_day')::date, date '0001-01-01') as start_day,
        coalesce(getvariable('end_day')::date, date '9999-12-31') as end_day
),

sessions as (
    select s.day, s.project_short_name, s.bot_id, s.channel_type, s.session_result
    from marts.session_facts as s, bounds as b
    where s.day between b.start_day and b.end_day
),

per_result as (
    select day, project_short_name, bot_id, channel_type, session_result, count(*) as sessions
    from sessions
    group by all
),

final as (
    select
        day,
        project_short_name,
        bot_id,
        channel_type,
        session_result,
        sessions,
        sessions / sum(sessions) over (partition by day, project_short_name, bot_id, channel_type)
            as share_of_sessions
    from per_result
)

select * from final
