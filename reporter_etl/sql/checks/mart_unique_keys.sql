-- checks.mart_unique_keys: rows of a mart that share its grain (a range rebuild that inserted a day twice would).
-- columns:
--   mart: the mart
--   key: the repeated grain
--   copies: how many rows hold it
with conversations as (
    select 'marts.daily_conversations' as mart,
           concat_ws('/', day, project_short_name, bot_id, channel_type) as key, count(*) as copies
    from marts.daily_conversations
    group by day, project_short_name, bot_id, channel_type
    having count(*) > 1
),

results as (
    select 'marts.daily_session_results',
           concat_ws('/', day, project_short_name, bot_id, channel_type, coalesce(session_result, '(none)')), count(*)
    from marts.daily_session_results
    group by day, project_short_name, bot_id, channel_type, session_result
    having count(*) > 1
),

quality as (
    select 'marts.daily_bot_quality', concat_ws('/', day, project_short_name, bot_id, channel_type), count(*)
    from marts.daily_bot_quality
    group by day, project_short_name, bot_id, channel_type
    having count(*) > 1
),

intents as (
    select 'marts.daily_top_intents', concat_ws('/', day, project_short_name, bot_id, channel_type, intent), count(*)
    from marts.daily_top_intents
    group by day, project_short_name, bot_id, channel_type, intent
    having count(*) > 1
),

labels as (
    select 'marts.daily_labels', concat_ws('/', day, project_short_name, label_kind, label_id), count(*)
    from marts.daily_labels
    group by day, project_short_name, label_kind, label_id
    having count(*) > 1
),

clients as (
    select 'marts.clients', concat_ws('/', project_short_name, bot_id, client_id), count(*)
    from marts.clients
    group by project_short_name, bot_id, client_id
    having count(*) > 1
),

sessions as (
    select 'marts.session_facts', concat_ws('/', project_short_name, session_id), count(*)
    from marts.session_facts
    group by project_short_name, session_id
    having count(*) > 1
),

final as (
    select * from conversations
    union all select * from results
    union all select * from quality
    union all select * from intents
    union all select * from labels
    union all select * from clients
    union all select * from sessions
)

select * from final
