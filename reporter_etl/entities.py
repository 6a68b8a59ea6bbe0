"""One description per paged entity of the Reporter API: everything else about it follows from here.

Each ``Entity`` says how the sync asks for it (the client operation, the filter key that cuts it into windows
and any extra parameters), which columns it has (name, dotted API path, Arrow type, required or not, how a JSON
value is kept), its natural key, its raw table and the link tables unnested from its label lists.  From it:

- the Arrow contract: ``Entity.schema``; ``reporter_etl.api.records`` turns API items into batches of it,
- the DDL and the additive migration of ``raw.<entity>`` and its link tables: ``reporter_etl.warehouse.schema``,
- the loader's merge on the key and its link rebuild: ``reporter_etl.warehouse.load``,
- the sync's queries: ``reporter_etl.sync``.

Adding a field is one ``Column(...)`` line here.  Never rename or retype a column: SQL models read these tables
(a new name is a new column; the warehouse refuses a description whose type differs from the table's).

This module imports only pyarrow: the warehouse and the API layer both import it, and the warehouse must not
pull in the HTTP stack.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Literal

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

JsonKind = Literal["object", "any"]


@dataclass(frozen=True)
class Column:
    name: str  # snake_case column of the raw table and the Arrow batch
    type: pa.DataType
    api_field: str  # dotted path in the API object ("client.id"); "" for the derived ``extra`` column
    nullable: bool = True  # False: required; an item without it is a RecordContractError
    json: JsonKind | None = None  # kept as JSON text: "object" must be a JSON object, "any" any JSON value


@dataclass(frozen=True)
class LinkTable:
    """One row per (owner, label) unnested from a LIST<STRUCT> column; holds the owner's key columns first."""

    table: str
    list_column: str
    fields: tuple[tuple[str, str], ...]  # (link table column, field of the list's struct); the first is the label id


@dataclass(frozen=True)
class Entity:
    name: str  # "messages"; also the key of ``ENTITIES`` and of meta.sync_state.entity
    operation: str  # the client operation read page by page (``reporter_etl.api.operations``)
    window_filter: str  # the DATE_TIME_RANGE filter key that cuts the entity into windows
    table: str  # the raw table
    key: tuple[str, ...]  # natural key inside one project; unique in the table
    columns: tuple[Column, ...]
    params: Mapping[str, Any] = field(default_factory=dict)  # further parameters of ``operation``, by client name
    links: tuple[LinkTable, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "params", MappingProxyType(dict(self.params)))
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a column name repeats")
        missing = [k for k in self.key if k not in names]
        if missing:
            raise ValueError(f"{self.name}: key column(s) {missing} are not columns")
        for link in self.links:
            if link.list_column not in names:
                raise ValueError(f"{self.name}: link table {link.table} unnests unknown column {link.list_column}")

    @property
    def schema(self) -> pa.Schema:
        """The Arrow contract: every batch of this entity has exactly these fields, in this order."""
        return pa.schema([pa.field(c.name, c.type, nullable=c.nullable) for c in self.columns])

    @property
    def known_top_level_fields(self) -> frozenset[str]:
        return frozenset(c.api_field.split(".")[0] for c in self.columns if c.api_field)

    def column(self, name: str) -> Column:
        return next(c for c in self.columns if c.name == name)

    def link_schema(self, link: LinkTable) -> pa.Schema:
        """The link table's columns: the owner's key, the label id (required), then the other label fields."""
        item: pa.StructType = self.column(link.list_column).type.value_type
        key_fields = [pa.field(k, self.column(k).type, nullable=False) for k in self.key]
        label_fields = [
            pa.field(column, item.field(struct_field).type, nullable=index > 0)
            for index, (column, struct_field) in enumerate(link.fields)
        ]
        return pa.schema(key_fields + label_fields)


# Where a message or a session took place and with whom: the same API fields on both.
_CONVERSATION_PARTIES: tuple[Column, ...] = (
        Column("project_short_name", pa.string(), "projectShortName", nullable=False),
        Column("channel_type", pa.string(), "channelType", nullable=False),
        Column("bot_id", pa.string(), "botId", nullable=False),
        Column("client_id", pa.string(), "client.id", nullable=False),
        Column("client_first_name", pa.string(), "client.firstName"),
        Column("client_last_name", pa.string(), "client.lastName"),
        Column("client_username", pa.string(), "client.username"),
)

MESSAGES = Entity(
    name="messages",
    operation="filter_messages",  # POST messages/filter: ExtendedMessage, which carries session and client fields
    window_filter="MESSAGE_TIME",
    table="raw.messages",
    key=("project_short_name", "question_id"),
    links=(
        LinkTable(
            "raw.message_label_links",
            "labels",
            (("label_id", "id"), ("label_name", "name"), ("group_id", "group_id"), ("group_name", "group_name")),
        ),
    ),
    columns=(
        Column("question_id", pa.string(), "questionId", nullable=False),
        Column("session_id", pa.string(), "sessionId", nullable=False),
        *_CONVERSATION_PARTIES,
        Column("session_start_time", TS, "sessionStartTime", nullable=False),
        Column("message_time", TS, "timestamp", nullable=False),
        Column("is_livechat", pa.bool_(), "isLivechat", nullable=False),
        Column("question", pa.string(), "question"),
        Column("text_answer", pa.string(), "textAnswer"),
        Column("event", pa.string(), "event"),
        Column("operator_id", pa.string(), "operatorInfo.id"),
        Column("operator_first_name", pa.string(), "operatorInfo.firstName"),
        Column("operator_last_name", pa.string(), "operatorInfo.lastName"),
        Column("operator_photo_url", pa.string(), "operatorInfo.photoUrl"),
        Column("operator_channel_type", pa.string(), "operatorInfo.channelType"),
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
        Column("request_data", pa.string(), "requestData", json="object"),
        Column("data", pa.string(), "data", json="object"),
        Column("response_data", pa.string(), "responseData", json="object"),
        Column("utterances_json", pa.string(), "utterancesJson", json="any"),
        Column("exception", pa.string(), "exception"),
        Column("processing_time_ms", pa.int32(), "processingTime"),
        Column("labels", pa.list_(MESSAGE_LABEL), "labels"),
        Column("session_labels", pa.list_(SESSION_LABEL), "sessionLabels"),
        Column("cleaned", pa.bool_(), "cleaned"),
        Column("comment", pa.string(), "comment"),
        Column("extra", pa.string(), ""),  # JSON object of the fields the description does not know, else null
    ),
)

SESSIONS = Entity(
    name="sessions",
    operation="filter_sessions",  # POST sessions/filter: SessionInfo; sessions with a message in the window
    window_filter="MESSAGE_TIME",
    params={"with_labels": True},  # needToReturnSessionLabels
    table="raw.sessions",
    key=("project_short_name", "session_id"),
    links=(LinkTable("raw.session_label_links", "labels", (("label_id", "id"), ("label_name", "name"))),),
    columns=(
        Column("session_id", pa.string(), "sessionId", nullable=False),
        *_CONVERSATION_PARTIES,
        Column("start_time", TS, "startTime", nullable=False),
        Column("first_question", pa.string(), "firstQuestion"),
        Column("last_question", pa.string(), "lastQuestion"),
        Column("question_count", pa.int64(), "questionCount"),
        Column("duration_ms", pa.int64(), "duration"),
        Column("call_task_id", pa.int64(), "callTaskId"),
        Column("is_call_incoming", pa.bool_(), "isCallIncoming"),
        Column("session_result", pa.string(), "sessionResult"),
        Column("audio_file_url", pa.string(), "audioFileUrl"),
        Column("response_data", pa.string(), "responseData", json="object"),
        Column("custom_fields", pa.string(), "customFields", json="object"),
        Column("session_data", pa.map_(pa.string(), pa.string()), "sessionData"),
        Column("is_livechat", pa.bool_(), "isLivechat", nullable=False),
        Column("labels", pa.list_(SESSION_LABEL), "labels"),
        Column("extra", pa.string(), ""),
    ),
)

CLIENTS = Entity(
    name="clients",
    operation="filter_clients",  # POST clients/filter: ClientExtendedInfo; clients last active in the window
    window_filter="CLIENT_LAST_ACTIVITY_TIME",
    table="raw.clients",
    key=("project_short_name", "bot_id", "client_id"),
    columns=(
        Column("client_id", pa.string(), "id", nullable=False),
        Column("first_name", pa.string(), "firstName"),
        Column("last_name", pa.string(), "lastName"),
        Column("username", pa.string(), "username"),
        Column("account_id", pa.int64(), "accountId", nullable=False),
        Column("project_short_name", pa.string(), "projectShortName", nullable=False),
        Column("channel_type", pa.string(), "channelType", nullable=False),
        Column("bot_id", pa.string(), "botId"),  # may be null: the key matches it with IS NOT DISTINCT FROM
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

# In the order a window reads them.
ENTITIES: Mapping[str, Entity] = MappingProxyType({e.name: e for e in (MESSAGES, SESSIONS, CLIENTS)})

