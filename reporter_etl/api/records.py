"""The column contract between the Reporter API and the warehouse.

Each paged entity of the API (ExtendedMessage from ``messages/filter``, SessionInfo from ``sessions/filter``,
ClientExtendedInfo from ``clients/filter``) becomes Arrow record batches with exactly the schema below,
whatever the page held.  Nested objects are flattened into typed columns where SQL users filter on them
(client, nlpInfo, operatorInfo); free-form JSON objects are kept as JSON text; label lists become LIST<STRUCT>.
Fields the contract does not know are never dropped: they are gathered per row into the ``extra`` JSON column.

Column names are snake_case; ``api_field`` below says which response field each one comes from.
"""

from __future__ import annotations

from dataclasses import dataclass

import pyarrow as pa

TS = pa.timestamp("ms", tz="UTC")

MESSAGE_LABEL = pa.struct(
    [
        ("id", pa.int64()),
        ("name", pa.string()),
        ("priority", pa.int32()),
        ("group_id", pa.int64()),
        ("group_name", pa.string()),
        ("group_priority", pa.int32()),
    ]
)
SESSION_LABEL = pa.struct([("id", pa.int64()), ("name", pa.string()), ("priority", pa.int32())])


@dataclass(frozen=True)
class Column:
    name: str
    type: pa.DataType
    api_field: str  # dotted path in the API object; "" for derived columns
    nullable: bool = True


@dataclass(frozen=True)
class EntityContract:
    name: str
    api_items_field: str  # the list field of the page body: "messages", "sessions", "clients"
    key: tuple[str, ...]  # natural key inside one project
    columns: tuple[Column, ...]

    @property
    def schema(self) -> pa.Schema:
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    @property
    def known_top_level_fields(self) -> frozenset[str]:
        return frozenset(c.api_field.split(".")[0] for c in self.columns if c.api_field)


MESSAGES = EntityContract(
    name="messages",
    api_items_field="messages",
    key=("project_short_name", "question_id"),
    columns=(
        Column("question_id", pa.string(), "questionId", nullable=False),
        Column("session_id", pa.string(), "sessionId", nullable=False),
        Column("project_short_name", pa.string(), "projectShortName", nullable=False),
        Column("channel_type", pa.string(), "channelType", nullable=False),
        Column("bot_id", pa.string(), "botId", nullable=False),
        Column("client_id", pa.string(), "client.id", nullable=False),
        Column("client_first_name", pa.string(), "client.firstName"),
        Column("client_last_name", pa.string(), "client.lastName"),
        Column("client_username", pa.string(), "client.username"),
        Column("session_start_time", TS, "sessionStartTime", nullable=False),
        Column("message_time", TS, "timestamp", nullable=False),
        Column("is_livechat", pa.bool_(), "isLivechat", nullable=False),
        Column("question", pa.string(), "question"),
        Column("text_answer", pa.string(), "textAnswer"),
        Column("event", pa.string(), "event"),
        Column("operator_id", pa.string(), "operatorInfo.id"),
        Column("operator_first_name", pa.string(), "operatorInfo.firstName"),
        Column("operator_last_name", pa.string(), "operatorInfo.lastName"),
        Column("nlp_class", pa.string(), "nlpInfo.nlpClass"),
        Column("nlp_state", pa.string(), "nlpInfo.nlpState"),
        Column("nlp_from_state", pa.string(), "nlpInfo.fromState"),
        Column("nlp_pattern", pa.string(), "nlpInfo.pattern"),
        Column("nlp_effective_pattern", pa.string(), "nlpInfo.effectivePattern"),
        Column("nlp_confidence", pa.float64(), "nlpInfo.confidence"),
        Column("nlp_rule", pa.string(), "nlpInfo.rule"),
        Column("nlp_rule_type", pa.string(), "nlpInfo.ruleType"),
        Column("page_name", pa.string(), "pageName"),
        Column("previous_page_name", pa.string(), "previousPageName"),
        Column("call_task_id", pa.int64(), "callTaskId"),
        Column("is_call_incoming", pa.bool_(), "isCallIncoming"),
        Column("request_data", pa.string(), "requestData"),  # JSON text
        Column("data", pa.string(), "data"),  # JSON text
        Column("response_data", pa.string(), "responseData"),  # JSON text
        Column("utterances_json", pa.string(), "utterancesJson"),  # JSON text
        Column("exception", pa.string(), "exception"),
        Column("processing_time_ms", pa.int32(), "processingTime"),
        Column("labels", pa.list_(MESSAGE_LABEL), "labels"),
        Column("session_labels", pa.list_(SESSION_LABEL), "sessionLabels"),
        Column("cleaned", pa.bool_(), "cleaned"),
        Column("comment", pa.string(), "comment"),
        Column("extra", pa.string(), ""),  # JSON object of fields the contract does not know, else null
    ),
)

SESSIONS = EntityContract(
    name="sessions",
    api_items_field="sessions",
    key=("project_short_name", "session_id"),
    columns=(
        Column("session_id", pa.string(), "sessionId", nullable=False),
        Column("project_short_name", pa.string(), "projectShortName", nullable=False),
        Column("channel_type", pa.string(), "channelType", nullable=False),
        Column("bot_id", pa.string(), "botId", nullable=False),
        Column("client_id", pa.string(), "client.id", nullable=False),
        Column("client_first_name", pa.string(), "client.firstName"),
        Column("client_last_name", pa.string(), "client.lastName"),
        Column("client_username", pa.string(), "client.username"),
        Column("start_time", TS, "startTime", nullable=False),
        Column("first_question", pa.string(), "firstQuestion"),
        Column("last_question", pa.string(), "lastQuestion"),
        Column("question_count", pa.int64(), "questionCount"),
        Column("duration_ms", pa.int64(), "duration"),
        Column("call_task_id", pa.int64(), "callTaskId"),
        Column("is_call_incoming", pa.bool_(), "isCallIncoming"),
        Column("session_result", pa.string(), "sessionResult"),
        Column("audio_file_url", pa.string(), "audioFileUrl"),
        Column("response_data", pa.string(), "responseData"),  # JSON text
        Column("custom_fields", pa.string(), "customFields"),  # JSON text
        Column("session_data", pa.map_(pa.string(), pa.string()), "sessionData"),
        Column("is_livechat", pa.bool_(), "isLivechat", nullable=False),
        Column("labels", pa.list_(SESSION_LABEL), "labels"),
        Column("extra", pa.string(), ""),
    ),
)

CLIENTS = EntityContract(
    name="clients",
    api_items_field="clients",
    key=("project_short_name", "bot_id", "client_id"),
    columns=(
        Column("client_id", pa.string(), "id", nullable=False),
        Column("first_name", pa.string(), "firstName"),
        Column("last_name", pa.string(), "lastName"),
        Column("username", pa.string(), "username"),
        Column("account_id", pa.int64(), "accountId", nullable=False),
        Column("project_short_name", pa.string(), "projectShortName", nullable=False),
        Column("channel_type", pa.string(), "channelType", nullable=False),
        Column("bot_id", pa.string(), "botId"),
        Column("last_session_id", pa.string(), "lastSessionId", nullable=False),
        Column("join_date", TS, "joinDate", nullable=False),
        Column("last_visit_date", TS, "lastVisitDate", nullable=False),
        Column("is_blocked", pa.bool_(), "isBlocked", nullable=False),
        Column("block_reason", pa.string(), "blockReason"),
        Column("blocked_by", pa.int64(), "blockedBy"),
        Column("block_date", TS, "blockDate"),
        Column("extra", pa.string(), ""),
    ),
)

CONTRACTS: dict[str, EntityContract] = {c.name: c for c in (MESSAGES, SESSIONS, CLIENTS)}
