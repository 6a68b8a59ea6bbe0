-- staging.session_label_links: one row per session and label set on it.
-- columns:
--   project_short_name: the project
--   session_id: the labelled session
--   label_id: the label
--   label_name: the label's name
with source as (
    select * from raw.session_label_links
),

deduplicated as (
    select *
    from source
    qualify row_number() over (partition by project_short_name, session_id, label_id order by _loaded_at desc) = 1
),

final as (
    select
        project_short_name,
        session_id,
        label_id,
        label_name
    from deduplicated
)

select * from final
