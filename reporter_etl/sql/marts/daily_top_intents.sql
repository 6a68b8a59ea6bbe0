-- marts.daily_top_intents: per local day × bot × channel × intent, the client phrases the bot matched to it.
-- The intent is NlpInfo.rule (an intent or pattern rule); catch-all phrases have none and are counted in
-- marts.daily_bot_quality instead. Rank 1 is the day's most frequent intent (ties by name).
-- columns:
--   day: local day the phrases were sent
--   project_short_name: the project
--   bot_id: the bot
--   channel_type: the channel
--   intent: the matched rule
--   phrases: client phrases matched to it
--   mean_confidence: mean classifier confidence (pattern rules report 1)
--   intent_rank: 1 = most phrases that day for that bot
with bounds as (
    select
        coalesce(getvariable('start_day')::date, date '0001-01-01') as start_day,
        coalesce(getvariable('end_day')::date, date '9999-12-31') as end_day
),

phrases as (
    select m.day, m.project_short_name, m.bot_id, m.channel_type, m.intent, m.confidence
    from staging.messages as m, bounds as b
    where m.day between b.start_day and b.end_day
      and m.is_client_phrase
      and not m.is_operator_reply
      and m.intent is not null
),

per_intent as (
    select
        day,
        project_short_name,
        bot_id,
        channel_type,
        intent,
        count(*) as phrases,
        avg(confidence) as mean_confidence
    from phrases
    group by all
),

final as (
    select
        *,
        row_number() over (
            partition by day, project_short_name, bot_id, channel_type order by phrases desc, intent
        ) as intent_rank
    from per_intent
)

select * from final
