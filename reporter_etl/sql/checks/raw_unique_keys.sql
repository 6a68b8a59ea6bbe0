-- checks.raw_unique_keys: keys the loader must keep unique, found more than once in raw.* (the staging views would
-- hide such a duplicate by keeping the newest row; this names it).
-- columns:
--   table_name: the raw table
--   key: the duplicated key
--   copies: how many rows hold it
with messages as (
    select 'raw.messages' as table_name, project_short_name || '/' || question_id as key, count(*) as copies
    from raw.messages
    group by project_short_name, question_id
    having count(*) > 1
),

sessions as (
    select 'raw.sessions', project_short_name || '/' || session_id, count(*)
    from raw.sessions
    group by project_short_name, session_id
    having count(*) > 1
),

clients as (
    select 'raw.clients', project_short_name || '/' || coalesce(bot_id, '') || '/' || client_id, count(*)
    from raw.clients
    group by project_short_name, bot_id, client_id
    having count(*) > 1
),

final as (
    select * from messages
    union all
    select * from sessions
    union all
    select * from clients
)

select * from final
