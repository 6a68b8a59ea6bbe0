-- marts.daily_bot_quality: per local day × bot × channel, how well the bot understood and how fast it replied.
-- Counts the client phrases the bot processed (those an operator answered are left out), on the day they were sent.
-- Catch-all classes come from configuration (fallback_classes, default /NoMatch and /CatchAll).
-- The API's message list has no delivery status (only the per-session message call carries `status`), so
-- delivery_rate and read_rate stay NULL until the sync reads statuses (docs/decisions.md).
-- columns:
--   day: local day the phrases were sent
--   project_short_name: the project
--   bot_id: the bot
--   channel_type: the channel
--   client_phrases: client phrases the bot processed
--   fallback_phrases: of those, phrases whose nlp_class is a catch-all
--   fallback_rate: fallback_phrases / client_phrases
--   intent_coverage: phrases matched to an intent or pattern (and not a catch-all) / client_phrases
--   bot_replies: bot replies sent that day (any message the bot answered, /start and events included)
--   response_time_p50_ms: median processingTime of the bot replies, milliseconds (interpolated)
--   response_time_p90_ms: 90th percentile (interpolated)
--   response_time_p99_ms: 99th percentile (interpolated)
--   delivery_rate: NULL: the message list the sync reads has no status
--   read_rate: NULL: as delivery_rate
with bounds as (
    select
        coalesce(getvariable('start_day')::date, date '0001-01-01') as start_day,
        coalesce(getvariable('end_day')::date, date '9999-12-31') as end_day
),

settings as (
    select coalesce(getvariable('fallback_classes'), ['/NoMatch', '/CatchAll']) as fallback_classes
),

messages as (
    select m.*, list_contains(st.fallback_classes, m.nlp_class) as is_fallback
    from staging.messages as m, bounds as b, settings as st
    where m.day between b.start_day and b.end_day
),

per_day as (
    select
        day,
        project_short_name,
        bot_id,
        channel_type,
        count(*) filter (where is_client_phrase and not is_operator_reply) as client_phrases,
        count(*) filter (where is_client_phrase and not is_operator_reply and is_fallback) as fallback_phrases,
        count(*) filter (
            where is_client_phrase and not is_operator_reply and intent is not null and not coalesce(is_fallback, false)
        ) as covered_phrases,
        count(*) filter (where is_bot_reply) as bot_replies,
        quantile_cont(processing_time_ms, 0.5) filter (where is_bot_reply) as response_time_p50_ms,
        quantile_cont(processing_time_ms, 0.9) filter (where is_bot_reply) as response_time_p90_ms,
        quantile_cont(processing_time_ms, 0.99) filter (where is_bot_reply) as response_time_p99_ms
    from messages
    group by all
),

final as (
    select
        day,
        project_short_name,
        bot_id,
        channel_type,
        client_phrases,
        fallback_phrases,
        fallback_phrases / nullif(client_phrases, 0) as fallback_rate,
        covered_phrases / nullif(client_phrases, 0) as intent_coverage,
        bot_replies,
        response_time_p50_ms,
        response_time_p90_ms,
        response_time_p99_ms,
        null::double as delivery_rate,
        null::double as read_rate
    from per_day
)

select * from final
