-- marts.build_settings: the configuration the models were last built with, one row. The staging views read the
-- time zone from here when the session has not set getvariable('timezone'), so that a BI tool or the DuckDB CLI
-- opening the file sees the same local days the marts were built with.
-- columns:
--   timezone: the project's time zone
--   fallback_classes: the catch-all classes of marts.daily_bot_quality
--   success_result: the sessionResult that counts as success in experiments
--   outcome_label: the session label that counts as the labelled outcome in experiments
--   built_at: when the models were built
with settings as (
    select
        coalesce(getvariable('timezone'), 'UTC')::varchar as timezone,
        coalesce(getvariable('fallback_classes'), ['/NoMatch', '/CatchAll'])::varchar[] as fallback_classes,
        getvariable('success_result')::varchar as success_result,
        getvariable('outcome_label')::varchar as outcome_label,
        now() as built_at
),

final as (
    select * from settings
)

select * from final
