"""The legacy Reporter API as data: one row per operation, driving the client's generic request code.

Transcribed from the vendor's legacy OpenAPI file (72 operations).  Paths are relative to the API root that the
transport supplies (``/api/reporter/p/{token}`` for the legacy API), so nothing here knows where the token
goes.  Each row names the client method (``name``), the spec's ``operationId``, the HTTP method and path,
its parameters (Python name → API name and location), the body and response kinds, and how safe it is to
retry (see ``Retry``).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum
from typing import Literal

ParamKind = Literal["string", "int", "bool", "date", "date-time", "string[]"]
ParamLocation = Literal["query", "path", "header"]
BodyKind = Literal["none", "filters", "json"]  # "filters": {"filters": [...]} built from a `filters` argument
ResponseKind = Literal["json", "text", "empty"]


class Retry(Enum):
    """When an operation may be sent again after a failure.

    ALWAYS: reads, and writes whose effect is the same however often they arrive (PUT of a full value, DELETE
    of an id, add/remove/set a label, block/unblock, stop an experiment, join one: the same session gets the
    same branch).  Retried on 429, 5xx, timeouts and dropped connections.

    UNSENT: writes that create something (a label, an experiment, a report task, a filter set).  A second
    copy would be a duplicate, so they are retried only when the server certainly did not act: a 429 (the
    request was refused), or a connection that could not be opened.  Not on 5xx, read timeouts or a
    connection dropped after the request went out, where the server may have acted.
    """

    ALWAYS = "always"
    UNSENT = "unsent"


@dataclass(frozen=True)
class Param:
    name: str  # Python keyword of the client method
    api_name: str
    location: ParamLocation = "query"
    kind: ParamKind = "string"
    required: bool = False


@dataclass(frozen=True)
class Operation:
    name: str  # the client method and the name used by paginate() and the request counters
    operation_id: str  # the spec's operationId
    method: str
    path: str  # relative to the API root, with {placeholders} for path parameters
    response: ResponseKind = "json"
    params: tuple[Param, ...] = ()
    body: BodyKind = "none"
    body_required: bool = False
    retry: Retry = Retry.ALWAYS
    items_field: str | None = None  # for paged operations: the list field of the response
    entity: str | None = None  # the reporter_etl.entities description its items follow, if any
    delete_missing_ok: bool = False  # a 404 on a retried DELETE means the first attempt did it

    @property
    def paged(self) -> bool:
        return self.items_field is not None


# Parameters shared by many operations (the spec's components/parameters).
PAGE = Param("page", "page", kind="int")
SIZE = Param("size", "size", kind="int")
TIMEZONE = Param("timezone_offset", "Timezone", "header", "int")  # minutes east of UTC (docs/decisions.md)
LANGUAGE = Param("language", "language", "header")
INTERVAL = Param("interval_type", "intervalType")
STEP = Param("step", "step", kind="int")
BOT_ID = Param("bot_id", "botId", required=True)
BOT_ID_OPT = Param("bot_id", "botId")
BOT_IDS = Param("bot_ids", "botIds", kind="string[]")
CLIENT_ID = Param("client_id", "clientId", required=True)
SESSION_ID = Param("session_id", "sessionId", required=True)
QUESTION_ID = Param("question_id", "questionId", required=True)
EXPERIMENT_KEY = Param("experiment_key", "experimentKey", required=True)
DATE_FROM = Param("date_from", "dateFrom", kind="date", required=True)
DATE_TO = Param("date_to", "dateTo", kind="date", required=True)
LABEL_ID_PATH = Param("label_id", "id", "path", "int", required=True)
GROUP_ID_PATH = Param("group_id", "id", "path", "int", required=True)
TASK_ID_PATH = Param("task_id", "reportGenerationTaskId", "path", required=True)
QUESTION_ID_PATH = Param("question_id", "questionId", "path", required=True)
SECTION = Param("section", "analyticsSection", required=True)
FILTER_KEY = Param("filter_key", "filterKey", required=True)

STATS = (INTERVAL, STEP, TIMEZONE)
REPORT_HEADERS = (LANGUAGE, TIMEZONE)

_O = Operation

OPERATIONS: tuple[Operation, ...] = (
    # statistics
    _O("switched_sessions_stats", "getSwitchedSessionCountByDay", "GET", "/stats/switched-sessions",
       params=(DATE_FROM, DATE_TO, BOT_IDS, Param("transfer_method", "transferToOperatorMethod", required=True),
               Param("text_for_transfer", "textForTransfer"), TIMEZONE)),
    _O("telephony_stats", "getTelephonyStats", "GET", "/stats/telephony",
       params=(DATE_FROM, DATE_TO, BOT_IDS, TIMEZONE)),
    _O("unique_clients_stats", "getAllProjectsUniqueClients", "GET", "/stats/unique-clients"),
    _O("message_stats", "getMessageStats", "POST", "/stats/messages/with-advanced-filters", params=STATS,
       body="filters"),
    _O("session_stats", "getSessionStats", "POST", "/stats/sessions/with-advanced-filters", params=STATS,
       body="filters"),
    _O("session_label_stats", "getSessionLabelStats", "POST", "/stats/session-labels", params=STATS,
       body="filters"),
    _O("message_label_stats", "getLogLabelStats", "POST", "/stats/log-labels", params=STATS, body="filters"),
    _O("count_sessions_per_project", "countAllProjectsSessions", "GET", "/projects/sessions/count"),
    # sessions, clients, messages
    _O("filter_sessions", "getSessionDataByFilter", "POST", "/sessions/filter",
       params=(PAGE, SIZE, Param("with_labels", "needToReturnSessionLabels", kind="bool")), body="filters",
       items_field="sessions", entity="sessions"),
    _O("filter_clients", "getClientDataByFilter", "POST", "/clients/filter", params=(PAGE, SIZE), body="filters",
       items_field="clients", entity="clients"),
    _O("block_client", "blockClient", "PUT", "/clients/block", "empty", params=(BOT_ID, CLIENT_ID), body="json",
       body_required=True),
    _O("unblock_client", "unblockClient", "PUT", "/clients/unblock", "empty", params=(BOT_ID, CLIENT_ID)),
    # A POST, but a read: it changes nothing, so it is retried like one.
    _O("list_bot_clients", "getAllClientDataForBot", "POST", "/clients/all-for-bot",
       params=(BOT_ID, Param("date_to", "dateTo", kind="date-time", required=True), PAGE, SIZE),
       items_field="clients", entity="clients"),
    _O("filter_messages", "getMessageDataByFilter", "POST", "/messages/filter", params=(PAGE, SIZE),
       body="filters", items_field="messages", entity="messages"),
    _O("session_messages", "getMessagesForSession", "GET", "/messages/by-session",
       params=(SESSION_ID, PAGE, Param("response_data_json_paths", "responseDataJsonPath", kind="string[]"), SIZE,
               BOT_ID_OPT, Param("start_time", "startTime", kind="date-time"),
               Param("hide_empty", "hideEmptyMessage", kind="bool")),
       items_field="messages"),
    _O("client_messages", "getMessagesForClient", "GET", "/messages/by-client",
       params=(BOT_ID, CLIENT_ID, PAGE, SIZE, Param("start_time", "startTime", kind="date-time"),
               Param("channel_type", "channelType")),
       items_field="messages"),
    _O("message_page_in_session", "getMessagePageInSession", "GET", "/messages/page-in-session",
       params=(SESSION_ID, QUESTION_ID, SIZE, BOT_ID_OPT)),
    _O("message_page_in_client", "getMessagePageInClient", "GET", "/messages/page-in-client",
       params=(BOT_ID, CLIENT_ID, QUESTION_ID, SIZE)),
    _O("filter_state_routes", "getStateRoutesDataByFilter", "POST", "/state-routes/filter", params=(PAGE, SIZE),
       body="filters", items_field="routes"),
    # message labels and their groups
    _O("create_message_label", "createMessageLabel", "POST", "/message/labels", body="json", body_required=True,
       retry=Retry.UNSENT),
    _O("list_message_labels", "getMessageLabels", "GET", "/message/labels"),
    _O("update_message_label", "updateMessageLabel", "PUT", "/message/labels/{id}", "empty",
       params=(LABEL_ID_PATH,), body="json", body_required=True),
    _O("delete_message_label", "deleteMessageLabel", "DELETE", "/message/labels/{id}", "empty",
       params=(LABEL_ID_PATH,), delete_missing_ok=True),
    _O("get_message_label", "getMessageLabel", "GET", "/message/labels/{id}", params=(LABEL_ID_PATH,)),
    _O("change_message_label_priorities", "updateMessageLabelsPriority", "PUT", "/message/labels/change-priority",
       "empty", body="json", body_required=True),
    _O("list_message_label_groups", "getLabelGroups", "GET", "/message/labels/groups"),
    _O("update_message_label_groups", "updateMessageLabelGroups", "PUT", "/message/labels/groups", "empty",
       body="json", body_required=True),
    _O("update_message_label_group", "updateMessageLabelGroup", "PUT", "/message/labels/groups/{id}", "empty",
       params=(GROUP_ID_PATH,), body="json", body_required=True),
    _O("delete_message_label_group", "deleteMessageLabelGroup", "DELETE", "/message/labels/groups/{id}", "empty",
       params=(GROUP_ID_PATH,), delete_missing_ok=True),
    _O("get_message_label_group", "getLabelGroup", "GET", "/message/labels/groups/{id}", params=(GROUP_ID_PATH,)),
    _O("change_message_label_group_priorities", "updateGroupsPriority", "PUT",
       "/message/labels/groups/change-priority", "empty", body="json", body_required=True),
    _O("create_message_labels", "createMessageLabels", "POST", "/message/labels/by-list", "empty", body="json",
       body_required=True, retry=Retry.UNSENT),
    _O("update_message_labels", "updateMessageLabels", "PUT", "/message/labels/by-list", "empty", body="json",
       body_required=True),
    _O("add_message_label", "addLabelToMessage", "POST", "/message/labels/logs", "empty", params=(QUESTION_ID,),
       body="json", body_required=True),
    _O("remove_message_label", "deleteLabelFromMessage", "DELETE", "/message/labels/logs", "empty",
       params=(QUESTION_ID,), body="json", body_required=True),
    _O("bulk_label_messages", "setLabelToMessages", "POST", "/message/labels/logs/bulk-labeling", "empty",
       body="json", body_required=True),
    _O("set_message_labels", "setMessageLabels", "POST", "/message/labels/logs/set-by-list", "empty",
       params=(QUESTION_ID,), body="json", body_required=True),
    # session labels
    _O("create_session_label", "createSessionLabel", "POST", "/logs/labels/sessions", body="json",
       body_required=True, retry=Retry.UNSENT),
    _O("list_session_labels", "getSessionLabels", "GET", "/logs/labels/sessions"),
    _O("update_session_label", "updateSessionLabel", "PUT", "/logs/labels/sessions/{id}", "empty",
       params=(LABEL_ID_PATH,), body="json", body_required=True),
    _O("get_session_label", "getSessionLabel", "GET", "/logs/labels/sessions/{id}", params=(LABEL_ID_PATH,)),
    _O("delete_session_label", "deleteSessionLabel", "DELETE", "/logs/labels/sessions/{id}", "empty",
       params=(LABEL_ID_PATH,), delete_missing_ok=True),
    _O("change_session_label_priorities", "updateSessionsPriority", "PUT", "/logs/labels/sessions/change-priority",
       "empty", body="json", body_required=True),
    _O("update_session_labels", "updateSessionLabels", "PUT", "/session-labels/by-list", "empty", body="json",
       body_required=True),
    _O("add_session_label", "addLabelToSession", "POST", "/session-labels/sessions", "empty", params=(SESSION_ID,),
       body="json", body_required=True),
    _O("remove_session_label", "deleteLabelFromSession", "DELETE", "/session-labels/sessions", "empty",
       params=(SESSION_ID,), body="json", body_required=True),
    _O("set_session_labels", "setSessionLabels", "POST", "/session-labels/sessions/set-by-list", "empty",
       params=(SESSION_ID,), body="json", body_required=True),
    _O("bulk_label_sessions", "setLabelToSessions", "POST", "/session-labels/sessions/bulk-labeling", "empty",
       body="json", body_required=True),
    # comments
    _O("add_comment", "addCommentToMessage", "POST", "/comments/{questionId}", "empty", params=(QUESTION_ID_PATH,),
       body="json", body_required=True),
    _O("delete_comment", "deleteCommentFromMessage", "DELETE", "/comments/{questionId}", "empty",
       params=(QUESTION_ID_PATH,)),
    # report tasks
    _O("list_report_tasks", "getNotDeletedReportGenerationTasks", "GET", "/reports"),
    _O("delete_completed_report_tasks", "deleteCompletedReportGenerationTasks", "DELETE", "/reports", "empty"),
    _O("delete_all_report_tasks", "deleteAllReportGenerationTasks", "DELETE", "/reports/all", "empty"),
    _O("get_report_task", "getReportGenerationTask", "GET", "/reports/tasks/{reportGenerationTaskId}",
       params=(TASK_ID_PATH,)),
    _O("delete_report_task", "deleteReportGenerationTask", "DELETE", "/reports/tasks/{reportGenerationTaskId}",
       "empty", params=(TASK_ID_PATH,), delete_missing_ok=True),
    _O("create_session_report", "createSessionReport", "POST", "/reports/sessions", params=REPORT_HEADERS,
       body="json", retry=Retry.UNSENT),
    _O("create_message_report", "createMessageReport", "POST", "/reports/messages", params=REPORT_HEADERS,
       body="json", retry=Retry.UNSENT),
    _O("create_client_report", "createClientReport", "POST", "/reports/clients", params=REPORT_HEADERS,
       body="json", retry=Retry.UNSENT),
    _O("create_telephony_report", "createTelephonyReport", "POST", "/reports/telephony",
       params=(Param("start_time", "startTime", kind="date-time"), Param("end_time", "endTime", kind="date-time"),
               BOT_IDS, *REPORT_HEADERS), retry=Retry.UNSENT),
    _O("create_daily_report", "createDailyReport", "POST", "/reports/daily", body="json", body_required=True,
       retry=Retry.UNSENT),
    _O("create_client_list_report", "createClientListReport", "POST", "/reports/client-list", body="json",
       body_required=True, retry=Retry.UNSENT),
    # filter discovery and saved filter sets
    _O("available_filters", "getAvailableFilters", "GET", "/filters", params=(SECTION, LANGUAGE)),
    _O("filter_options", "getFilterOptions", "POST", "/filter-options",
       params=(FILTER_KEY, SECTION, LANGUAGE, PAGE, SIZE), body="filters"),
    _O("interval_filter_options", "getIntervalFilterOptions", "POST", "/interval-filter-options",
       params=(FILTER_KEY, SECTION, LANGUAGE), body="filters"),
    _O("get_filter_set", "getUserFilterSet", "GET", "/user-filter-sets/{filterSetId}",
       params=(Param("filter_set_id", "filterSetId", "path", required=True),)),
    _O("save_filter_set", "createFilterSetId", "POST", "/user-filter-sets/filterSetId", "text", body="filters",
       body_required=True, retry=Retry.UNSENT),
    # scenario experiments (the misspelt path segment is the vendor's)
    _O("create_experiment", "createScenarioExperiment", "POST", "/scenario-exeperiments", body="json",
       body_required=True, retry=Retry.UNSENT),
    _O("list_experiments", "getScenarioExperiments", "GET", "/scenario-exeperiments"),
    _O("delete_experiment", "deleteScenarioExperiment", "DELETE", "/scenario-exeperiments", "empty",
       params=(EXPERIMENT_KEY,), delete_missing_ok=True),
    _O("join_experiment", "joinScenarioExperiment", "POST", "/scenario-exeperiments/join", "text",
       params=(SESSION_ID, EXPERIMENT_KEY, BOT_ID)),
    _O("stop_experiment", "stopScenarioExperiment", "POST", "/scenario-exeperiments/stop", "empty",
       params=(EXPERIMENT_KEY,)),
    _O("count_experiment_sessions", "countScenarioExperimentSessions", "GET", "/scenario-exeperiments/count-sessions"),
)  # fmt: skip

BY_NAME: dict[str, Operation] = {op.name: op for op in OPERATIONS}
BY_OPERATION_ID: dict[str, Operation] = {op.operation_id: op for op in OPERATIONS}


def operation(name: str) -> Operation:
    """Look an operation up by client method name or by the spec's operationId."""
    op = BY_NAME.get(name) or BY_OPERATION_ID.get(name)
    if op is None:
        raise KeyError(f"unknown Reporter API operation {name!r}")
    return op
