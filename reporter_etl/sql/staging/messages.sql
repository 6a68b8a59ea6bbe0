-- staging.messages: one row per message (the API's questionId), with its local day and what kind of message it is.
-- A message row is one exchange: the client's phrase (or /start, or a system event) and the reply to it.
-- Empty messages follow the platform's definition: /start or a system event (docs/decisions.md).
-- The local day is cut at midnight of getvariable('timezone'), else the time zone of the last build
-- (marts.build_settings), else UTC.
-- columns:
--   message_id: the API's questionId
--   project_short_name: the project
--   session_id: the session the message belongs to
--   bot_id: the bot
--   channel_type: the bot's channel (telegram, chatwidget, resterisk, ...)
--   client_id: the client
--   message_at: when the message was sent (TIMESTAMPTZ)
--   day: local day of message_at in the project's time zone
--   session_started_at: start of the message's session
--   question: the client's text, /start, or NULL for an event
--   text_answer: the reply (bot or operator)
--   event: the system event, if any
--   operator_id: the operator who replied, if an operator did
--   nlp_class: the state where processing of the phrase started (/NoMatch, /CatchAll for catch-alls)
--   nlp_state: the state that produced the reply
--   intent: the recognised intent or pattern rule (NlpInfo.rule)
--   intent_rule_type: intent or pattern
--   confidence: the classifier's confidence
--   processing_time_ms: the bot's processing time in milliseconds
--   is_livechat: the message went through an operator conversation
--   is_empty: /start or a system event (the platform's empty message)
--   is_client_phrase: the client said something (not empty, has text)
--   is_bot_reply: the bot replied (a reply and no operator)
--   is_operator_reply: an operator replied
--   call_task_id: outgoing call campaign, if any
--   is_call_incoming: telephony direction, NULL off telephony
with source as (
    select * from raw.messages
),

deduplicated as (
    -- The loader keeps keys unique; this guards readers against a broken load all the same.
    select *
    from source
    qualify row_number() over (partition by project_short_name, question_id order by _loaded_at desc) = 1
),

renamed as (
    select
        question_id as message_id,
        project_short_name,
        session_id,
        bot_id,
        channel_type,
        client_id,
        message_time as message_at,
        timezone(coalesce(getvariable('timezone'), (select timezone from marts.build_settings), 'UTC'), message_time)::date as day,
        session_start_time as session_started_at,
        question,
        text_answer,
        event,
        operator_id,
        nlp_class,
        nlp_state,
        nlp_rule as intent,
        nlp_rule_type as intent_rule_type,
        nlp_confidence as confidence,
        processing_time_ms,
        is_livechat,
        call_task_id,
        is_call_incoming
    from deduplicated
),

flagged as (
    select
        *,
        (event is not null or question = '/start') as is_empty,
        (event is null and coalesce(trim(question), '') not in ('', '/start')) as is_client_phrase,
        (text_answer is not null and operator_id is null) as is_bot_reply,
        (operator_id is not null) as is_operator_reply
    from renamed
),

final as (
    select
        message_id, project_short_name, session_id, bot_id, channel_type, client_id, message_at, day,
        session_started_at, question, text_answer, event, operator_id, nlp_class, nlp_state, intent,
        intent_rule_type, confidence, processing_time_ms, is_livechat, is_empty, is_client_phrase,
        is_bot_reply, is_operator_reply, call_task_id, is_call_incoming
    from flagged
)

select * from final
