-- marts.client_weekly_cohorts: per bot × week of first contact × later week, the share of that week's new
-- clients who had a session in the later week. Weeks start on Monday, in the project's time zone.
-- Only clients first seen inside the synced history form cohorts (an earlier joiner's cohort would be partial).
-- columns:
--   project_short_name: the project
--   bot_id: the bot
--   cohort_week: Monday of the week the clients were first seen
--   week_number: 0 for the cohort week, 1 for the next week, ...
--   cohort_clients: clients first seen in cohort_week
--   active_clients: of those, clients with a session starting in that week
--   retention_share: active_clients / cohort_clients
with sessions as (
    select project_short_name, bot_id, client_id, day from marts.session_facts
),

history as (
    select min(day) as first_day, date_trunc('week', max(day))::date as last_week from sessions
),

cohorts as (
    select c.project_short_name, c.bot_id, c.client_id, date_trunc('week', c.first_seen_day)::date as cohort_week
    from marts.clients as c, history as h
    where c.first_seen_day >= h.first_day
),

cohort_sizes as (
    select project_short_name, bot_id, cohort_week, count(*) as cohort_clients
    from cohorts
    group by all
),

weeks as (
    select
        z.project_short_name,
        z.bot_id,
        z.cohort_week,
        z.cohort_clients,
        unnest(generate_series(0, datediff('week', z.cohort_week, h.last_week))) as week_number
    from cohort_sizes as z, history as h
),

activity as (
    select distinct
        c.project_short_name,
        c.bot_id,
        c.cohort_week,
        c.client_id,
        datediff('week', c.cohort_week, date_trunc('week', s.day)::date) as week_number
    from cohorts as c
    join sessions as s using (project_short_name, bot_id, client_id)
),

active as (
    select project_short_name, bot_id, cohort_week, week_number, count(*) as active_clients
    from activity
    where week_number >= 0
    group by all
),

final as (
    select
        w.project_short_name,
        w.bot_id,
        w.cohort_week,
        w.week_number,
        w.cohort_clients,
        coalesce(a.active_clients, 0) as active_clients,
        coalesce(a.active_clients, 0) / w.cohort_clients as retention_share
    from weeks as w
    left join active as a using (project_short_name, bot_id, cohort_week, week_number)
)

select * from final
