-- staging.message_label_links: one row per message and label set on it, with the label's group.
-- columns:
--   project_short_name: the project
--   message_id: the labelled message (questionId)
--   label_id: the label
--   label_name: the label's name
--   group_id: the label's group
--   group_name: the group's name
with source as (
    select * from raw.message_label_links
),

deduplicated as (
    select *
    from source
    qualify row_number() over (partition by project_short_name, question_id, label_id order by _loaded_at desc) = 1
),

final as (
    select
        project_short_name,
        question_id as message_id,
        label_id,
        label_name,
        group_id,
        group_name
    from deduplicated
)

select * from final
