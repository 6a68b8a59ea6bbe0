-- checks.marts_add_up: days where the marts disagree with each other or with staging: the day's sessions, messages
-- and client phrases in daily_conversations against staging, sessions per result against sessions, and the
-- inequalities every day must keep (engaged <= non-empty <= sessions, new <= unique clients, transferred <= sessions).
-- columns:
--   day: the local day
--   project_short_name: the project
--   what: which sum or inequality fails
--   mart_value: what the mart says
--   expected_value: what it should be
with conversations as (
    select day, project_short_name, sum(sessions) as sessions, sum(messages) as messages,
           sum(client_messages) as client_messages
    from marts.daily_conversations
    group by all
),

staged_sessions as (
    select day, project_short_name, count(*) as sessions from staging.sessions group by all
),

staged_messages as (
    select day, project_short_name, count(*) as messages, count(*) filter (where is_client_phrase) as client_messages
    from staging.messages
    group by all
),

results as (
    select day, project_short_name, sum(sessions) as sessions from marts.daily_session_results group by all
),

sums as (
    select coalesce(c.day, s.day) as day, coalesce(c.project_short_name, s.project_short_name) as project_short_name,
           'sessions = staging.sessions' as what, coalesce(c.sessions, 0) as mart_value,
           coalesce(s.sessions, 0) as expected_value
    from conversations as c
    full outer join staged_sessions as s using (day, project_short_name)
    union all
    select coalesce(c.day, m.day), coalesce(c.project_short_name, m.project_short_name),
           'messages = staging.messages', coalesce(c.messages, 0), coalesce(m.messages, 0)
    from conversations as c
    full outer join staged_messages as m using (day, project_short_name)
    union all
    select coalesce(c.day, m.day), coalesce(c.project_short_name, m.project_short_name),
           'client_messages = staging client phrases', coalesce(c.client_messages, 0), coalesce(m.client_messages, 0)
    from conversations as c
    full outer join staged_messages as m using (day, project_short_name)
    union all
    select coalesce(c.day, r.day), coalesce(c.project_short_name, r.project_short_name),
           'daily_session_results adds up to sessions', coalesce(r.sessions, 0), coalesce(c.sessions, 0)
    from conversations as c
    full outer join results as r using (day, project_short_name)
),

inequalities as (
    select day, project_short_name, 'engaged_sessions <= non_empty_sessions' as what,
           sum(engaged_sessions) as mart_value, sum(non_empty_sessions) as expected_value
    from marts.daily_conversations
    where engaged_sessions > non_empty_sessions
    group by all
    union all
    select day, project_short_name, 'non_empty_sessions <= sessions', sum(non_empty_sessions), sum(sessions)
    from marts.daily_conversations
    where non_empty_sessions > sessions
    group by all
    union all
    select day, project_short_name, 'new_clients <= unique_clients', sum(new_clients), sum(unique_clients)
    from marts.daily_conversations
    where new_clients > unique_clients
    group by all
    union all
    select day, project_short_name, 'transferred_sessions <= sessions', sum(transferred_sessions), sum(sessions)
    from marts.daily_conversations
    where transferred_sessions > sessions
    group by all
),

final as (
    select day, project_short_name, what, mart_value, expected_value
    from sums
    where mart_value <> expected_value
    union all
    select day, project_short_name, what, mart_value, expected_value
    from inequalities
)

select * from final
order by day, project_short_name, what
