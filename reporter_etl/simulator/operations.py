"""The legacy Reporter API as data: one row per operation, driving the simulator's generic HTTP code.

Transcribed by hand from the vendor's legacy OpenAPI file (which is not shipped with the package). Paths are
relative to the token prefix (``/api/reporter/p/{token}`` or ``/reporter/p/{token}``). Each operation names
either a World method to call with arguments taken from the request (``WorldCall``) or a handler in
``server.py`` for the operations that need paging, statistics shaping or report tasks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field, replace
from typing import Literal

ParamKind = Literal["string", "int32", "int64", "bool", "date", "date-time", "string[]"]
ParamLocation = Literal["query", "path", "header"]
ResponseKind = Literal["json", "text", "empty"]

INTERVAL_TYPES = ("HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR")
ANALYTICS_SECTIONS = ("CLIENTS", "SESSIONS")
FILTER_KEYS = (
    "SESSION_ID", "SESSION_START_TIME", "SESSION_END_TIME", "SESSION_LABELS", "SESSION_RESULT", "INITIATOR",
    "CALL_TASK_ID", "CHANNEL_TYPE", "BOT_ID", "CLIENT_ID_OR_NAME", "CLIENT_JOIN_TIME", "CLIENT_LAST_ACTIVITY_TIME",
    "MESSAGE_TYPE", "MESSAGE_TIME", "MESSAGE_TEXT", "ANSWER_TEXT", "MESSAGE_COUNT", "LOG_LABELS", "COMMENT_TEXT",
    "NLP_CLASS", "NLP_STATE", "INTENT", "TRANSFER_TO_OPERATOR", "WITHOUT_EMPTY_SESSIONS", "WITHOUT_EMPTY_MESSAGES",
    "CUSTOM_FIELDS_IN_RESPONSE", "EXCEPTION_EXISTENCE", "SESSION_DATA", "STATE_ROUTES",
)  # fmt: skip
TRANSFER_METHODS = ("SWITCH", "TEXT")
FILE_TYPES = ("XLSX", "CSV")


@dataclass(frozen=True)
class Param:
    name: str
    location: ParamLocation
    kind: ParamKind = "string"
    required: bool = False
    default: object = None
    minimum: int | None = None
    enum: tuple[str, ...] | None = None


@dataclass(frozen=True)
class Body:
    schema: str  # a key of BODY_SCHEMAS
    required: bool = False
    array: bool = False  # the body is a JSON array of `schema` items


@dataclass(frozen=True)
class WorldCall:
    """A World method and where each of its positional arguments comes from.

    Sources: ``path.<name>``, ``query.<name>``, ``body`` (whole body), ``body.<field>`` (a field of an object
    body, None when absent), ``body[].<field>`` (that field of every item of an array body).
    """

    method: str
    args: tuple[str, ...] = ()


@dataclass(frozen=True)
class Operation:
    operation_id: str
    method: str
    path: str  # template relative to the token prefix, e.g. "/message/labels/{id}"
    response: ResponseKind
    response_schema: str | None = None  # spec schema name, "X[]" for arrays; documentation and tests
    params: tuple[Param, ...] = ()
    body: Body | None = None
    handler: str = "world"  # "world" = call `world_call`; otherwise a handler name in server.py
    world_call: WorldCall | None = None
    paged: bool = False  # takes page/size and answers a `paging` object (drift faults apply)
    pattern: re.Pattern[str] = field(init=False, repr=False, compare=False)
    path_params: tuple[str, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        names = tuple(re.findall(r"{(\w+)}", self.path))
        parts = re.split(r"{(\w+)}", self.path)  # literal, name, literal, name, ..., literal
        regex = "".join(f"(?P<{part}>[^/]+)" if i % 2 else re.escape(part) for i, part in enumerate(parts))
        object.__setattr__(self, "pattern", re.compile(f"^{regex}$"))
        object.__setattr__(self, "path_params", names)

    @property
    def spec_path(self) -> str:
        return "/api/reporter/p/{token}" + self.path


# Shared parameter definitions (the spec's components/parameters).
PAGE = Param("page", "query", "int32", default=0, minimum=0)
SIZE = Param("size", "query", "int32", default=20, minimum=1)
TIMEZONE = Param("Timezone", "header", "int32", default=0)
LANGUAGE = Param("language", "header")
INTERVAL = Param("intervalType", "query", enum=INTERVAL_TYPES, default="DAY")
STEP = Param("step", "query", "int32", default=1, minimum=1)
ID = Param("id", "path", "int64", required=True)
BOT_ID_REQ = Param("botId", "query", required=True)
CLIENT_ID_REQ = Param("clientId", "query", required=True)
SESSION_ID_REQ = Param("sessionId", "query", required=True)
QUESTION_ID_REQ = Param("questionId", "query", required=True)
EXPERIMENT_KEY_REQ = Param("experimentKey", "query", required=True)
DATE_FROM_REQ = Param("dateFrom", "query", "date", required=True)
DATE_TO_REQ = Param("dateTo", "query", "date", required=True)
BOT_IDS = Param("botIds", "query", "string[]")
ANALYTICS_SECTION_REQ = Param("analyticsSection", "query", required=True, enum=ANALYTICS_SECTIONS)
FILTER_KEY_REQ = Param("filterKey", "query", required=True, enum=FILTER_KEYS)
REPORT_TASK_ID = Param("reportGenerationTaskId", "path", required=True)

FILTERS = Body("FiltersDto")
STATS_PARAMS = (INTERVAL, STEP, TIMEZONE)
REPORT_HEADERS = (LANGUAGE, TIMEZONE)


def _op(operation_id: str, method: str, path: str, response: ResponseKind, response_schema: str | None = None,
        *params: Param, body: Body | None = None, handler: str = "world", call: WorldCall | None = None,
        paged: bool = False) -> Operation:  # fmt: skip
    return Operation(operation_id, method, path, response, response_schema, tuple(params), body, handler, call, paged)


OPERATIONS: tuple[Operation, ...] = (
    # simple statistics
    _op("getSwitchedSessionCountByDay", "GET", "/stats/switched-sessions", "json", "TimestampToValueStatsDto",
        DATE_FROM_REQ, DATE_TO_REQ, BOT_IDS, Param("transferToOperatorMethod", "query", required=True,
        enum=TRANSFER_METHODS), Param("textForTransfer", "query"), TIMEZONE, handler="switched_sessions"),
    _op("getTelephonyStats", "GET", "/stats/telephony", "json", "TelephonyStats",
        DATE_FROM_REQ, DATE_TO_REQ, BOT_IDS, TIMEZONE, handler="telephony_stats"),
    _op("getAllProjectsUniqueClients", "GET", "/stats/unique-clients", "json", "ProjectUniqClientsDto[]",
        handler="unique_clients"),
    # advanced statistics
    _op("getMessageStats", "POST", "/stats/messages/with-advanced-filters", "json", "TimestampToValueStatsDto",
        *STATS_PARAMS, body=FILTERS, handler="message_stats"),
    _op("getSessionStats", "POST", "/stats/sessions/with-advanced-filters", "json", "TimestampToValueStatsDto",
        *STATS_PARAMS, body=FILTERS, handler="session_stats"),
    _op("getSessionLabelStats", "POST", "/stats/session-labels", "json", "SessionLabelStatsDto",
        *STATS_PARAMS, body=FILTERS, handler="session_label_stats"),
    _op("getLogLabelStats", "POST", "/stats/log-labels", "json", "LogLabelStatsDto",
        *STATS_PARAMS, body=FILTERS, handler="log_label_stats"),
    # sessions
    _op("getSessionDataByFilter", "POST", "/sessions/filter", "json", "SessionsData",
        PAGE, SIZE, Param("needToReturnSessionLabels", "query", "bool", default=False),
        body=FILTERS, handler="sessions_filter", paged=True),
    _op("countAllProjectsSessions", "GET", "/projects/sessions/count", "json", "ProjectsSessionsCountDto[]",
        handler="sessions_count"),
    # clients
    _op("getClientDataByFilter", "POST", "/clients/filter", "json", "ClientsData",
        PAGE, SIZE, body=FILTERS, handler="clients_filter", paged=True),
    _op("blockClient", "PUT", "/clients/block", "empty", None, BOT_ID_REQ, CLIENT_ID_REQ,
        body=Body("BlockClientDto", required=True),
        call=WorldCall("block_client", ("query.botId", "query.clientId", "body.blockReason", "body.blockedBy"))),
    _op("unblockClient", "PUT", "/clients/unblock", "empty", None, BOT_ID_REQ, CLIENT_ID_REQ,
        call=WorldCall("unblock_client", ("query.botId", "query.clientId"))),
    _op("getAllClientDataForBot", "POST", "/clients/all-for-bot", "json", "ClientsData",
        BOT_ID_REQ, Param("dateTo", "query", "date-time", required=True), PAGE, SIZE,
        handler="clients_all_for_bot", paged=True),
    # messages
    _op("getMessageDataByFilter", "POST", "/messages/filter", "json", "MessageData",
        PAGE, SIZE, body=FILTERS, handler="messages_filter", paged=True),
    _op("getMessagesForSession", "GET", "/messages/by-session", "json", "MessagesForSessionDto",
        SESSION_ID_REQ, PAGE, Param("responseDataJsonPath", "query", "string[]"), SIZE, Param("botId", "query"),
        Param("startTime", "query", "date-time"), Param("hideEmptyMessage", "query", "bool", default=False),
        handler="messages_by_session", paged=True),
    _op("getMessagesForClient", "GET", "/messages/by-client", "json", "MessagesForClientDto",
        BOT_ID_REQ, CLIENT_ID_REQ, PAGE, SIZE, Param("startTime", "query", "date-time"), Param("channelType", "query"),
        handler="messages_by_client", paged=True),
    _op("getMessagePageInSession", "GET", "/messages/page-in-session", "json", "PageNumberDto",
        SESSION_ID_REQ, QUESTION_ID_REQ, SIZE, Param("botId", "query"), handler="page_in_session"),
    _op("getMessagePageInClient", "GET", "/messages/page-in-client", "json", "PageNumberDto",
        BOT_ID_REQ, CLIENT_ID_REQ, QUESTION_ID_REQ, SIZE, handler="page_in_client"),
    _op("getStateRoutesDataByFilter", "POST", "/state-routes/filter", "json", "StateRoutesData",
        PAGE, SIZE, body=FILTERS, handler="state_routes", paged=True),
    # message labels and groups
    _op("createMessageLabel", "POST", "/message/labels", "json", "MessageLabelDto",
        body=Body("MessageLabelCreate", required=True), call=WorldCall("create_message_label", ("body",))),
    _op("getMessageLabels", "GET", "/message/labels", "json", "MessageLabelDto[]",
        call=WorldCall("message_labels")),
    _op("updateMessageLabel", "PUT", "/message/labels/{id}", "empty", None, ID,
        body=Body("MessageLabelUpdate", required=True), call=WorldCall("update_message_label", ("path.id", "body"))),
    _op("deleteMessageLabel", "DELETE", "/message/labels/{id}", "empty", None, ID,
        call=WorldCall("delete_message_label", ("path.id",))),
    _op("getMessageLabel", "GET", "/message/labels/{id}", "json", "MessageLabelDto", ID,
        call=WorldCall("message_label", ("path.id",))),
    _op("updateMessageLabelsPriority", "PUT", "/message/labels/change-priority", "empty", None,
        body=Body("LabelPriorityChangeDto", required=True, array=True),
        call=WorldCall("change_message_label_priorities", ("body",))),
    _op("getLabelGroups", "GET", "/message/labels/groups", "json", "MessageLabelGroupDto[]",
        call=WorldCall("label_groups")),
    _op("updateMessageLabelGroups", "PUT", "/message/labels/groups", "empty", None,
        body=Body("UpdateMessageLabelGroupDto", required=True, array=True),
        call=WorldCall("update_label_groups", ("body",))),
    _op("updateMessageLabelGroup", "PUT", "/message/labels/groups/{id}", "empty", None, ID,
        body=Body("LogLabelGroupCreate", required=True), call=WorldCall("update_label_group", ("path.id", "body"))),
    _op("deleteMessageLabelGroup", "DELETE", "/message/labels/groups/{id}", "empty", None, ID,
        call=WorldCall("delete_label_group", ("path.id",))),
    _op("getLabelGroup", "GET", "/message/labels/groups/{id}", "json", "MessageLabelGroupDto", ID,
        call=WorldCall("label_group", ("path.id",))),
    _op("updateGroupsPriority", "PUT", "/message/labels/groups/change-priority", "empty", None,
        body=Body("LabelPriorityChangeDto", required=True, array=True),
        call=WorldCall("change_label_group_priorities", ("body",))),
    _op("createMessageLabels", "POST", "/message/labels/by-list", "empty", None,
        body=Body("MessageLabelCreate", required=True, array=True), call=WorldCall("create_message_labels", ("body",))),
    _op("updateMessageLabels", "PUT", "/message/labels/by-list", "empty", None,
        body=Body("UpdateMessageLabelDto", required=True, array=True),
        call=WorldCall("update_message_labels", ("body",))),
    _op("addLabelToMessage", "POST", "/message/labels/logs", "empty", None, QUESTION_ID_REQ,
        body=Body("LabelIdDto", required=True),
        call=WorldCall("add_message_label", ("query.questionId", "body.labelId"))),
    _op("deleteLabelFromMessage", "DELETE", "/message/labels/logs", "empty", None, QUESTION_ID_REQ,
        body=Body("LabelIdDto", required=True),
        call=WorldCall("remove_message_label", ("query.questionId", "body.labelId"))),
    _op("setLabelToMessages", "POST", "/message/labels/logs/bulk-labeling", "empty", None,
        body=Body("BulkLabelingDto", required=True), call=WorldCall("bulk_label_messages", ("body",))),
    _op("setMessageLabels", "POST", "/message/labels/logs/set-by-list", "empty", None, QUESTION_ID_REQ,
        body=Body("LabelIdDto", required=True, array=True),
        call=WorldCall("set_message_labels", ("query.questionId", "body[].labelId"))),
    # session labels
    _op("createSessionLabel", "POST", "/logs/labels/sessions", "json", "SessionLabelDto",
        body=Body("SessionLabelCreate", required=True), call=WorldCall("create_session_label", ("body",))),
    _op("getSessionLabels", "GET", "/logs/labels/sessions", "json", "SessionLabelDto[]",
        call=WorldCall("session_labels")),
    _op("updateSessionLabel", "PUT", "/logs/labels/sessions/{id}", "empty", None, ID,
        body=Body("SessionLabelCreate", required=True), call=WorldCall("update_session_label", ("path.id", "body"))),
    _op("getSessionLabel", "GET", "/logs/labels/sessions/{id}", "json", "SessionLabelDto", ID,
        call=WorldCall("session_label", ("path.id",))),
    _op("deleteSessionLabel", "DELETE", "/logs/labels/sessions/{id}", "empty", None, ID,
        call=WorldCall("delete_session_label", ("path.id",))),
    _op("updateSessionsPriority", "PUT", "/logs/labels/sessions/change-priority", "empty", None,
        body=Body("LabelPriorityChangeDto", required=True, array=True),
        call=WorldCall("change_session_label_priorities", ("body",))),
    _op("updateSessionLabels", "PUT", "/session-labels/by-list", "empty", None,
        body=Body("UpdateSessionLabelDto", required=True, array=True),
        call=WorldCall("update_session_labels", ("body",))),
    _op("addLabelToSession", "POST", "/session-labels/sessions", "empty", None, SESSION_ID_REQ,
        body=Body("LabelIdDto", required=True),
        call=WorldCall("add_session_label", ("query.sessionId", "body.labelId"))),
    _op("deleteLabelFromSession", "DELETE", "/session-labels/sessions", "empty", None, SESSION_ID_REQ,
        body=Body("LabelIdDto", required=True),
        call=WorldCall("remove_session_label", ("query.sessionId", "body.labelId"))),
    _op("setSessionLabels", "POST", "/session-labels/sessions/set-by-list", "empty", None, SESSION_ID_REQ,
        body=Body("LabelIdDto", required=True, array=True),
        call=WorldCall("set_session_labels", ("query.sessionId", "body[].labelId"))),
    _op("setLabelToSessions", "POST", "/session-labels/sessions/bulk-labeling", "empty", None,
        body=Body("BulkLabelingDto", required=True), call=WorldCall("bulk_label_sessions", ("body",))),
    # comments
    _op("addCommentToMessage", "POST", "/comments/{questionId}", "empty", None,
        Param("questionId", "path", required=True), body=Body("AddCommentDto", required=True),
        call=WorldCall("add_comment", ("path.questionId", "body.comment"))),
    _op("deleteCommentFromMessage", "DELETE", "/comments/{questionId}", "empty", None,
        Param("questionId", "path", required=True), call=WorldCall("delete_comment", ("path.questionId",))),
    # report tasks
    _op("getNotDeletedReportGenerationTasks", "GET", "/reports", "json", "ReportGenerationTasksDto",
        handler="reports_list"),
    _op("deleteCompletedReportGenerationTasks", "DELETE", "/reports", "empty", None,
        handler="reports_delete_completed"),
    _op("deleteAllReportGenerationTasks", "DELETE", "/reports/all", "empty", None, handler="reports_delete_all"),
    _op("getReportGenerationTask", "GET", "/reports/tasks/{reportGenerationTaskId}", "json",
        "ReportGenerationTaskDto", REPORT_TASK_ID, handler="report_get"),
    _op("deleteReportGenerationTask", "DELETE", "/reports/tasks/{reportGenerationTaskId}", "empty", None,
        REPORT_TASK_ID, handler="report_delete"),
    _op("createSessionReport", "POST", "/reports/sessions", "json", "ReportGenerationTaskDto",
        *REPORT_HEADERS, body=Body("CreateReportDto"), handler="report_create"),
    _op("createMessageReport", "POST", "/reports/messages", "json", "ReportGenerationTaskDto",
        *REPORT_HEADERS, body=Body("CreateReportDto"), handler="report_create"),
    _op("createClientReport", "POST", "/reports/clients", "json", "ReportGenerationTaskDto",
        *REPORT_HEADERS, body=Body("CreateReportDto"), handler="report_create"),
    _op("createTelephonyReport", "POST", "/reports/telephony", "json", "ReportGenerationTaskDto",
        Param("startTime", "query", "date-time"), Param("endTime", "query", "date-time"), BOT_IDS,
        *REPORT_HEADERS, handler="report_create"),
    _op("createDailyReport", "POST", "/reports/daily", "json", "ReportGenerationTaskDto",
        body=Body("CreateDailyReportDto", required=True), handler="report_create"),
    _op("createClientListReport", "POST", "/reports/client-list", "json", "ReportGenerationTaskDto",
        body=Body("CreateReportDto", required=True), handler="report_create"),
    # filters
    _op("getAvailableFilters", "GET", "/filters", "json", "FilterInfo[]", ANALYTICS_SECTION_REQ, LANGUAGE,
        handler="available_filters"),
    _op("getFilterOptions", "POST", "/filter-options", "json", "FilterOption[]",
        FILTER_KEY_REQ, ANALYTICS_SECTION_REQ, LANGUAGE, PAGE, SIZE, body=FILTERS, handler="filter_options"),
    _op("getIntervalFilterOptions", "POST", "/interval-filter-options", "json", "IntervalFilterOptions",
        FILTER_KEY_REQ, ANALYTICS_SECTION_REQ, LANGUAGE, body=FILTERS, handler="interval_filter_options"),
    _op("getUserFilterSet", "GET", "/user-filter-sets/{filterSetId}", "json", "UserFilterSetDto",
        Param("filterSetId", "path", required=True), call=WorldCall("filter_set", ("path.filterSetId",))),
    _op("createFilterSetId", "POST", "/user-filter-sets/filterSetId", "text", "string",
        body=Body("FiltersDto", required=True), call=WorldCall("save_filter_set", ("body",))),
    # scenario experiments (the misspelt segment is the vendor's)
    _op("createScenarioExperiment", "POST", "/scenario-exeperiments", "json", "ScenarioExperimentDto",
        body=Body("ScenarioExperimentDto", required=True), call=WorldCall("create_experiment", ("body",))),
    _op("getScenarioExperiments", "GET", "/scenario-exeperiments", "json", "ScenarioExperimentDto[]",
        call=WorldCall("experiments")),
    _op("deleteScenarioExperiment", "DELETE", "/scenario-exeperiments", "empty", None, EXPERIMENT_KEY_REQ,
        call=WorldCall("delete_experiment", ("query.experimentKey",))),
    _op("joinScenarioExperiment", "POST", "/scenario-exeperiments/join", "text", "string",
        SESSION_ID_REQ, EXPERIMENT_KEY_REQ, BOT_ID_REQ,
        call=WorldCall("join_experiment", ("query.sessionId", "query.experimentKey", "query.botId"))),
    _op("stopScenarioExperiment", "POST", "/scenario-exeperiments/stop", "empty", None, EXPERIMENT_KEY_REQ,
        call=WorldCall("stop_experiment", ("query.experimentKey",))),
    _op("countScenarioExperimentSessions", "GET", "/scenario-exeperiments/count-sessions", "json",
        "ScenarioExperimentJoinedSessionsDto[]", call=WorldCall("experiment_session_counts")),
)  # fmt: skip


# Request body schemas: required fields and the JSON type of fields worth checking before the World sees them
# (report settings are checked by reports.normalize_settings, filters by the World).
# JSON types: "string", "integer", "number", "boolean", "array", "object".
BODY_SCHEMAS: dict[str, tuple[tuple[str, ...], dict[str, str]]] = {
    "FiltersDto": ((), {"filters": "array"}),
    "CreateReportDto": ((), {"filters": "array", "settings": "object"}),
    "CreateDailyReportDto": (("date",), {"date": "string", "settings": "object"}),
    "MessageLabelCreate": (("name", "priority", "group"), {"id": "integer", "name": "string", "priority": "integer",
                                                           "group": "object"}),
    "MessageLabelUpdate": (("name", "groupId", "priority"), {"name": "string", "groupId": "integer",
                                                             "priority": "integer"}),
    "UpdateMessageLabelDto": (("id",), {"id": "integer", "name": "string", "priority": "integer", "groupId": "integer",
                                        "groupName": "string", "groupPriority": "integer"}),
    "LogLabelGroupCreate": (("name", "priority"), {"name": "string", "priority": "integer"}),
    "UpdateMessageLabelGroupDto": (("id",), {"id": "integer", "name": "string", "priority": "integer"}),
    "SessionLabelCreate": (("name", "priority"), {"name": "string", "priority": "integer"}),
    "UpdateSessionLabelDto": (("id",), {"id": "integer", "name": "string", "priority": "integer"}),
    "LabelPriorityChangeDto": (("id", "newPriority"), {"id": "integer", "newPriority": "integer"}),
    "LabelIdDto": (("labelId",), {"labelId": "integer"}),
    "BlockClientDto": (("blockedBy",), {"blockReason": "string", "blockedBy": "integer"}),
    "BulkLabelingDto": (("comparisonType", "labels"), {"comparisonType": "string", "labels": "array",
                                                       "objectIds": "array", "filters": "object"}),
    # The spec requires `questionId` but spells the property `questionid`; the path carries the id anyway.
    "AddCommentDto": (("comment",), {"questionId": "string", "questionid": "string", "comment": "string"}),
    "ScenarioExperimentDto": (("key", "branches"), {"key": "string", "description": "string", "branches": "array",
                                                    "status": "string"}),
}  # fmt: skip

BY_ID: dict[str, Operation] = {op.operation_id: op for op in OPERATIONS}

# Served beyond the spec: the Tovie help page names POST for messages/by-session (query parameters as for GET).
EXTRA_ROUTES: tuple[Operation, ...] = (
    replace(BY_ID["getMessagesForSession"], method="POST"),
)


def _build_routes() -> dict[str, tuple[Operation, ...]]:
    """Operations grouped by HTTP method, literal paths before templated ones so `/labels/groups` wins over
    `/labels/{id}`."""
    routes: dict[str, list[Operation]] = {}
    for op in OPERATIONS + EXTRA_ROUTES:
        routes.setdefault(op.method, []).append(op)
    return {m: tuple(sorted(ops, key=lambda o: len(o.path_params))) for m, ops in routes.items()}


ROUTES: dict[str, tuple[Operation, ...]] = _build_routes()


def match(method: str, path: str) -> tuple[Operation | None, dict[str, str], bool]:
    """Find the operation for `method` and a token-relative `path`.

    Returns (operation, path parameters, path_known); path_known tells a wrong method (405) from an unknown
    path (404) when no operation matches.
    """
    for op in ROUTES.get(method, ()):
        m = op.pattern.match(path)
        if m:
            return op, m.groupdict(), True
    known = any(op.pattern.match(path) for ops in ROUTES.values() for op in ops)
    return None, {}, known


def allowed_methods(path: str) -> list[str]:
    """The HTTP methods served on a token-relative `path` (for a 405's Allow header)."""
    return sorted(method for method, ops in ROUTES.items() if any(op.pattern.match(path) for op in ops))
