-- marts.daily_labels: per local day × label, the sessions carrying it and their share of the day's sessions.
-- Both kinds count sessions on the day they started: a session label on its session, a message label when any
-- message of the session carries it (whenever that message was sent), so the shares share one denominator.
-- columns:
--   day: local day the sessions started
--   project_short_name: the project
--   label_kind: 'session' or 'message'
--   label_id: the label
--   label_name: the label's name
--   group_name: the message label's group; NULL for session labels
--   sessions: sessions started that day carrying the label
--   messages: labelled messages of those sessions (NULL for session labels)
--   share_of_sessions: sessions / all sessions started that day in the project
with bounds as (
    select
        coalesce(getvariable('start_day')::date, date '0001-01-01') as start_day,
        coalesce(getvariable('end_day')::date, date '9999-12-31') as end_day
),

sessions as (
    select s.day, s.project_short_name, s.session_id
    from marts.session_facts as s, bounds as b
    where s.day between b.start_day and b.end_day
),

day_totals as (
    select day, project_short_name, count(*) as day_sessions
    from sessions
    group by all
),

session_labelled as (
    select
        s.day,
        s.project_short_name,
        'session' as label_kind,
        l.label_id,
        any_value(l.label_name) as label_name,
        null::varchar as group_name,
        count(distinct s.session_id) as sessions,
        null::bigint as messages
    from sessions as s
    join staging.session_label_links as l using (project_short_name, session_id)
    group by s.day, s.project_short_name, l.label_id
),

message_labelled as (
    select
        s.day,
        s.project_short_name,
        'message' as label_kind,
        l.label_id,
        any_value(l.label_name) as label_name,
        any_value(l.group_name) as group_name,
        count(distinct s.session_id) as sessions,
        count(*) as messages
    from sessions as s
    join staging.messages as m using (project_short_name, session_id)
    join staging.message_label_links as l using (project_short_name, message_id)
    group by s.day, s.project_short_name, l.label_id
),

labelled as (
    select * from session_labelled
    union all
    select * from message_labelled
),

final as (
    select
        l.day,
        l.project_short_name,
        l.label_kind,
        l.label_id,
        l.label_name,
        l.group_name,
        l.sessions,
        l.messages,
        l.sessions / t.day_sessions as share_of_sessions
    from labelled as l
    join day_totals as t using (day, project_short_name)
)

select * from final
