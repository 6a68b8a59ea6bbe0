"""``ReporterClient``: one method per operation of the legacy Reporter API.

The methods are thin typed wrappers over ``call()``, which reads the operation's row in ``operations.py``,
serialises parameters and body, and hands the request to ``http.HttpSender`` (retries, timeouts, errors).
Paged operations are read whole with ``paginate()``.

    client = ReporterClient.from_env()            # REPORTER_TOKEN, REPORTER_BASE_URL
    for page in client.iter_messages([message_time(start, end)]):
        batch = page.to_record_batch()
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

from reporter_etl.api import config as cfg
from reporter_etl.api.filters import FilterLike, format_api_date, format_api_datetime, serialize_filters
from reporter_etl.api.http import HttpSender, dumps
from reporter_etl.api.native_pages import FastPageParser
from reporter_etl.api.operations import Operation, operation
from reporter_etl.api.paging import Page, iterate_pages
from reporter_etl.api.transport import LegacyTokenPathTransport, Transport
from reporter_etl.entities import ENTITIES
from reporter_etl.errors import ReportTaskError

log = logging.getLogger(__name__)

Json = Any
Filters = Iterable[FilterLike] | FilterLike | None

REPORT_DONE = frozenset({"COMPLETED"})
REPORT_FAILED = frozenset({"FAILED", "STOPPED", "DELETED"})


def _serialise(op: Operation, name: str, kind: str, value: Any) -> list[str]:
    if kind == "string[]":
        if isinstance(value, str):
            value = [value]
        return [str(v) for v in value]
    if kind == "bool":
        if not isinstance(value, bool):
            raise TypeError(f"{op.name}: {name} must be True or False")
        return ["true" if value else "false"]
    if kind == "int":
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{op.name}: {name} must be an integer")
        return [str(value)]
    if kind == "date":
        return [format_api_date(value)]
    if kind == "date-time":
        if not isinstance(value, datetime):
            raise TypeError(f"{op.name}: {name} must be an aware datetime")
        return [format_api_datetime(value)]
    if not isinstance(value, str):
        raise TypeError(f"{op.name}: {name} must be a string")
    return [value]


def report_settings(file_type: str = "XLSX", *, with_header: bool = True, delimiter: str | None = None,
                    date_time_format: str | None = None) -> dict[str, Any]:  # fmt: skip
    """A ReportSettings object.  `file_type`: XLSX or CSV; `delimiter`: one character, CSV only."""
    file_type = file_type.upper()
    if file_type not in ("XLSX", "CSV"):
        raise ValueError(f"report file type {file_type!r} is not XLSX or CSV")
    settings: dict[str, Any] = {"fileType": file_type, "withHeader": with_header}
    if delimiter is not None:
        if len(delimiter) != 1:
            raise ValueError("the CSV delimiter must be one character")
        settings["delimiter"] = delimiter
    if date_time_format is not None:
        settings["dateTimeFormat"] = date_time_format
    return settings


class ReporterClient:
    """A client of one project's Reporter API (the project is implied by its token).

    Not thread-safe: use one client per thread.  `request_count` counts HTTP requests made (retries included);
    `requests_by_operation` counts them per method name; `retry_count` counts retries.
    """

    def __init__(
        self,
        base_url: str = cfg.DEFAULT_BASE_URL,
        token: str | None = None,
        *,
        transport: Transport | None = None,
        timeouts: cfg.Timeouts | None = None,
        retry: cfg.RetryPolicy | None = None,
        page_size: int = cfg.MAX_PAGE_SIZE,
        sleep: Callable[[float], None] = time.sleep,
        page_concurrency: int = 2,
    ) -> None:
        if transport is None:
            if token is None:
                raise cfg.ConfigurationError("give a token (or a transport) to ReporterClient")
            transport = LegacyTokenPathTransport(base_url, token)
        if not 1 <= page_size <= cfg.MAX_PAGE_SIZE:
            raise ValueError(f"page_size must be between 1 and {cfg.MAX_PAGE_SIZE}")
        self.settings = cfg.ClientSettings(
            base_url=transport.base_url, timeouts=timeouts or cfg.Timeouts(), retry=retry or cfg.RetryPolicy(),
            page_size=page_size,
        )  # fmt: skip
        self.transport = transport
        self._http = HttpSender(transport, self.settings, sleep=sleep)
        # Pages of one query in flight at once (docs/decisions.md): the server prepares the next page while this
        # process reads and converts one.  1 reads strictly one page after another.
        self.page_concurrency = max(1, page_concurrency)
        self._page_pool: ThreadPoolExecutor | None = None
        self._pool_lock = threading.Lock()
        self._parsers: dict[str, FastPageParser] = {}

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None, **kwargs: Any) -> ReporterClient:
        """A client from ``REPORTER_TOKEN`` and ``REPORTER_BASE_URL`` (default https://app.jaicp.com)."""
        env = os.environ if environ is None else environ
        base_url = kwargs.pop("base_url", None) or cfg.base_url_from_env(env)
        return cls(base_url, cfg.token_from_env(env), **kwargs)

    def __repr__(self) -> str:
        return f"ReporterClient({self.transport!r})"

    def close(self) -> None:
        with self._pool_lock:
            pool, self._page_pool = self._page_pool, None
        if pool is not None:
            pool.shutdown(wait=True, cancel_futures=True)
        self._http.close()

    def __enter__(self) -> ReporterClient:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # ---- counters --------------------------------------------------------------------------------------

    @property
    def request_count(self) -> int:
        return self._http.request_count

    @property
    def retry_count(self) -> int:
        return self._http.retry_count

    @property
    def requests_by_operation(self) -> dict[str, int]:
        return dict(self._http.requests_by_operation)

    # ---- generic ---------------------------------------------------------------------------------------

    def call(self, name: str, *, filters: Filters = None, body: Json = None,
             parse: Callable[[bytes], Any] | None = None, **params: Any) -> Json:  # fmt: skip
        """Run one operation by method name or operationId; returns parsed JSON, text, or None (or what
        ``parse`` made of a JSON body, see ``HttpSender.send``)."""
        op = operation(name)
        path = op.path
        query: list[tuple[str, str]] = []
        headers: dict[str, str] = {}
        unknown = set(params) - {p.name for p in op.params}
        if unknown:
            raise TypeError(f"{op.name}: unexpected parameter(s) {', '.join(sorted(unknown))}")
        for p in op.params:
            value = params.get(p.name)
            if value is None:
                if p.required:
                    raise TypeError(f"{op.name}: missing required parameter {p.name}")
                continue
            texts = _serialise(op, p.name, p.kind, value)
            if p.location == "path":
                path = path.replace("{" + p.api_name + "}", quote(texts[0], safe=""))
            elif p.location == "header":
                headers[p.api_name] = texts[0]
            else:
                query.extend((p.api_name, t) for t in texts)
        payload: bytes | None = None
        if op.body == "filters":
            payload = dumps({"filters": serialize_filters(filters)})
        elif filters is not None:
            raise TypeError(f"{op.name} takes no filters")
        elif op.body == "json":
            if body is None and op.body_required:
                raise TypeError(f"{op.name}: a request body is required")
            payload = None if body is None else dumps(body)
        elif body is not None:
            raise TypeError(f"{op.name} takes no body")
        return self._http.send(op, path, query=query, headers=headers, body=payload, parse=parse).data

    def paginate(self, operation_name: str, *, filters: Filters = None, size: int | None = None,
                 first_page: int = 0, **params: Any) -> Iterator[Page]:  # fmt: skip
        """Every page of a paged operation at the largest page size (1000), until ``totalCount``."""
        op = operation(operation_name)
        if not op.paged:
            raise ValueError(f"{op.name} is not a paged operation")
        size = size or self.settings.page_size
        if not 1 <= size <= cfg.MAX_PAGE_SIZE:
            raise ValueError(f"size must be between 1 and {cfg.MAX_PAGE_SIZE}")
        kwargs: dict[str, Any] = dict(params)
        if op.body == "filters":
            kwargs["filters"] = filters
        elif filters is not None:
            raise TypeError(f"{op.name} takes no filters")

        parse = self._page_parser(op) if op.entity else None

        def fetch(page: int, page_size: int) -> Json:
            return self.call(op.name, page=page, size=page_size, parse=parse, **kwargs)

        if self.page_concurrency > 1:
            return iterate_pages(op, fetch, size, first_page, submit=self._pool().submit,
                                 in_flight=self.page_concurrency)  # fmt: skip
        return iterate_pages(op, fetch, size, first_page)

    @property
    def page_parsers(self) -> dict[str, FastPageParser]:
        """The native page parser of each paged operation used so far (their ``parsed``/``declined`` counts)."""
        return dict(self._parsers)

    def _page_parser(self, op: Operation) -> Callable[[bytes], Any]:
        """Pages of an entity go straight into its Arrow columns (``native_pages``), the exact Python
        conversion taking any page the native parser cannot vouch for."""
        parser = self._parsers.get(op.name)
        if parser is None:
            assert op.entity is not None and op.items_field is not None
            parser = self._parsers[op.name] = FastPageParser(ENTITIES[op.entity], op.items_field)
        return parser.parse

    def _pool(self) -> ThreadPoolExecutor:
        with self._pool_lock:
            if self._page_pool is None:
                self._page_pool = ThreadPoolExecutor(self.page_concurrency, thread_name_prefix="reporter-pages")
            return self._page_pool

    def iter_messages(self, filters: Filters = None, *, size: int | None = None) -> Iterator[Page]:
        """Pages of ``messages/filter`` (ExtendedMessage items; ``entities.MESSAGES``)."""
        return self.paginate("filter_messages", filters=filters, size=size)

    def iter_sessions(self, filters: Filters = None, with_labels: bool = True, *,
                      size: int | None = None) -> Iterator[Page]:  # fmt: skip
        """Pages of ``sessions/filter`` (SessionInfo items; ``entities.SESSIONS``)."""
        return self.paginate("filter_sessions", filters=filters, size=size, with_labels=with_labels)

    def iter_clients(self, filters: Filters = None, *, size: int | None = None) -> Iterator[Page]:
        """Pages of ``clients/filter`` (ClientExtendedInfo items; ``entities.CLIENTS``)."""
        return self.paginate("filter_clients", filters=filters, size=size)

    # ---- statistics ------------------------------------------------------------------------------------

    def switched_sessions_stats(self, date_from: date, date_to: date, transfer_method: str = "SWITCH", *,
                                bot_ids: Sequence[str] | None = None, text_for_transfer: str | None = None,
                                timezone_offset: int | None = None) -> Json:  # fmt: skip
        """Sessions transferred to an operator per day (`transfer_method` SWITCH or TEXT)."""
        return self.call("switched_sessions_stats", date_from=date_from, date_to=date_to, bot_ids=bot_ids,
                         transfer_method=transfer_method, text_for_transfer=text_for_transfer,
                         timezone_offset=timezone_offset)  # fmt: skip

    def telephony_stats(self, date_from: date, date_to: date, *, bot_ids: Sequence[str] | None = None,
                        timezone_offset: int | None = None) -> Json:  # fmt: skip
        return self.call("telephony_stats", date_from=date_from, date_to=date_to, bot_ids=bot_ids,
                         timezone_offset=timezone_offset)  # fmt: skip

    def unique_clients_stats(self) -> Json:
        return self.call("unique_clients_stats")

    def message_stats(self, filters: Filters = None, *, interval_type: str | None = None, step: int | None = None,
                      timezone_offset: int | None = None) -> Json:  # fmt: skip
        """Message counts per interval (`interval_type` HOUR, DAY, WEEK, MONTH, QUARTER, YEAR)."""
        return self.call("message_stats", filters=filters, interval_type=interval_type, step=step,
                         timezone_offset=timezone_offset)  # fmt: skip

    def session_stats(self, filters: Filters = None, *, interval_type: str | None = None, step: int | None = None,
                      timezone_offset: int | None = None) -> Json:  # fmt: skip
        return self.call("session_stats", filters=filters, interval_type=interval_type, step=step,
                         timezone_offset=timezone_offset)  # fmt: skip

    def session_label_stats(self, filters: Filters = None, *, interval_type: str | None = None,
                            step: int | None = None, timezone_offset: int | None = None) -> Json:  # fmt: skip
        return self.call("session_label_stats", filters=filters, interval_type=interval_type, step=step,
                         timezone_offset=timezone_offset)  # fmt: skip

    def message_label_stats(self, filters: Filters = None, *, interval_type: str | None = None,
                            step: int | None = None, timezone_offset: int | None = None) -> Json:  # fmt: skip
        return self.call("message_label_stats", filters=filters, interval_type=interval_type, step=step,
                         timezone_offset=timezone_offset)  # fmt: skip

    def count_sessions_per_project(self) -> Json:
        return self.call("count_sessions_per_project")

    # ---- sessions, clients, messages -------------------------------------------------------------------

    def filter_sessions(self, filters: Filters = None, *, page: int = 0, size: int = 20,
                        with_labels: bool = False) -> Json:  # fmt: skip
        return self.call("filter_sessions", filters=filters, page=page, size=size, with_labels=with_labels)

    def filter_clients(self, filters: Filters = None, *, page: int = 0, size: int = 20) -> Json:
        return self.call("filter_clients", filters=filters, page=page, size=size)

    def block_client(self, bot_id: str, client_id: str, blocked_by: int, reason: str | None = None) -> None:
        body: dict[str, Any] = {"blockedBy": blocked_by}
        if reason is not None:
            body["blockReason"] = reason
        self.call("block_client", bot_id=bot_id, client_id=client_id, body=body)

    def unblock_client(self, bot_id: str, client_id: str) -> None:
        self.call("unblock_client", bot_id=bot_id, client_id=client_id)

    def list_bot_clients(self, bot_id: str, date_to: datetime, *, page: int = 0, size: int = 20) -> Json:
        """Clients of one bot (channel) who joined up to `date_to`."""
        return self.call("list_bot_clients", bot_id=bot_id, date_to=date_to, page=page, size=size)

    def filter_messages(self, filters: Filters = None, *, page: int = 0, size: int = 20) -> Json:
        return self.call("filter_messages", filters=filters, page=page, size=size)

    def session_messages(self, session_id: str, *, page: int = 0, size: int = 20, bot_id: str | None = None,
                         start_time: datetime | None = None, hide_empty: bool | None = None,
                         response_data_json_paths: Sequence[str] | None = None) -> Json:  # fmt: skip
        return self.call("session_messages", session_id=session_id, page=page, size=size, bot_id=bot_id,
                         start_time=start_time, hide_empty=hide_empty,
                         response_data_json_paths=response_data_json_paths)  # fmt: skip

    def client_messages(self, bot_id: str, client_id: str, *, page: int = 0, size: int = 20,
                        start_time: datetime | None = None, channel_type: str | None = None) -> Json:  # fmt: skip
        return self.call("client_messages", bot_id=bot_id, client_id=client_id, page=page, size=size,
                         start_time=start_time, channel_type=channel_type)  # fmt: skip

    def message_page_in_session(self, session_id: str, question_id: str, *, size: int | None = None,
                                bot_id: str | None = None) -> int:  # fmt: skip
        """The page (of `size`) on which a message appears in its session."""
        result = self.call("message_page_in_session", session_id=session_id, question_id=question_id, size=size,
                           bot_id=bot_id)  # fmt: skip
        return int(result["pageNumber"])

    def message_page_in_client(self, bot_id: str, client_id: str, question_id: str, *,
                               size: int | None = None) -> int:  # fmt: skip
        result = self.call("message_page_in_client", bot_id=bot_id, client_id=client_id, question_id=question_id,
                           size=size)  # fmt: skip
        return int(result["pageNumber"])

    def filter_state_routes(self, filters: Filters = None, *, page: int = 0, size: int = 20) -> Json:
        return self.call("filter_state_routes", filters=filters, page=page, size=size)

    # ---- message labels and groups ---------------------------------------------------------------------

    def create_message_label(self, name: str, priority: int, group_name: str, *, group_id: int | None = None,
                             group_priority: int | None = None) -> Json:  # fmt: skip
        """A phrase label in a group (the group is created when no group of that name exists)."""
        group: dict[str, Any] = {"name": group_name}
        if group_id is not None:
            group["id"] = group_id
        if group_priority is not None:
            group["priority"] = group_priority
        return self.call("create_message_label", body={"name": name, "priority": priority, "group": group})

    def list_message_labels(self) -> Json:
        return self.call("list_message_labels")

    def get_message_label(self, label_id: int) -> Json:
        return self.call("get_message_label", label_id=label_id)

    def update_message_label(self, label_id: int, name: str, group_id: int, priority: int) -> None:
        self.call("update_message_label", label_id=label_id,
                  body={"name": name, "groupId": group_id, "priority": priority})  # fmt: skip

    def delete_message_label(self, label_id: int) -> None:
        self.call("delete_message_label", label_id=label_id)

    def change_message_label_priorities(self, priorities: Mapping[int, int]) -> None:
        """`priorities`: label id → new priority."""
        self.call("change_message_label_priorities", body=_priority_changes(priorities))

    def create_message_labels(self, labels: Sequence[Mapping[str, Any]]) -> None:
        """Many labels at once; each as for create_message_label: {name, priority, group: {name, id?, priority?}}."""
        self.call("create_message_labels", body=[dict(label) for label in labels])

    def update_message_labels(self, labels: Sequence[Mapping[str, Any]]) -> None:
        """Each: {id, name?, priority?, groupId?, groupName?, groupPriority?}."""
        self.call("update_message_labels", body=[dict(label) for label in labels])

    def list_message_label_groups(self) -> Json:
        return self.call("list_message_label_groups")

    def get_message_label_group(self, group_id: int) -> Json:
        return self.call("get_message_label_group", group_id=group_id)

    def update_message_label_group(self, group_id: int, name: str, priority: int) -> None:
        self.call("update_message_label_group", group_id=group_id, body={"name": name, "priority": priority})

    def update_message_label_groups(self, groups: Sequence[Mapping[str, Any]]) -> None:
        """Each: {id, name?, priority?}."""
        self.call("update_message_label_groups", body=[dict(group) for group in groups])

    def delete_message_label_group(self, group_id: int) -> None:
        self.call("delete_message_label_group", group_id=group_id)

    def change_message_label_group_priorities(self, priorities: Mapping[int, int]) -> None:
        self.call("change_message_label_group_priorities", body=_priority_changes(priorities))

    def add_message_label(self, question_id: str, label_id: int) -> None:
        self.call("add_message_label", question_id=question_id, body={"labelId": label_id})

    def remove_message_label(self, question_id: str, label_id: int) -> None:
        self.call("remove_message_label", question_id=question_id, body={"labelId": label_id})

    def set_message_labels(self, question_id: str, label_ids: Sequence[int]) -> None:
        """Replace a message's labels with exactly `label_ids`."""
        self.call("set_message_labels", question_id=question_id, body=[{"labelId": i} for i in label_ids])

    def bulk_label_messages(self, label_ids: Sequence[int], *, question_ids: Sequence[str] | None = None,
                            filters: Filters = None, comparison_type: str = "CONTAINS") -> None:  # fmt: skip
        """Apply labels to the listed messages, or to every message the filters select."""
        self.call("bulk_label_messages", body=_bulk_body(label_ids, question_ids, filters, comparison_type))

    # ---- session labels --------------------------------------------------------------------------------

    def create_session_label(self, name: str, priority: int) -> Json:
        return self.call("create_session_label", body={"name": name, "priority": priority})

    def list_session_labels(self) -> Json:
        return self.call("list_session_labels")

    def get_session_label(self, label_id: int) -> Json:
        return self.call("get_session_label", label_id=label_id)

    def update_session_label(self, label_id: int, name: str, priority: int) -> None:
        self.call("update_session_label", label_id=label_id, body={"name": name, "priority": priority})

    def update_session_labels(self, labels: Sequence[Mapping[str, Any]]) -> None:
        """Each: {id, name?, priority?}."""
        self.call("update_session_labels", body=[dict(label) for label in labels])

    def delete_session_label(self, label_id: int) -> None:
        self.call("delete_session_label", label_id=label_id)

    def change_session_label_priorities(self, priorities: Mapping[int, int]) -> None:
        self.call("change_session_label_priorities", body=_priority_changes(priorities))

    def add_session_label(self, session_id: str, label_id: int) -> None:
        self.call("add_session_label", session_id=session_id, body={"labelId": label_id})

    def remove_session_label(self, session_id: str, label_id: int) -> None:
        self.call("remove_session_label", session_id=session_id, body={"labelId": label_id})

    def set_session_labels(self, session_id: str, label_ids: Sequence[int]) -> None:
        self.call("set_session_labels", session_id=session_id, body=[{"labelId": i} for i in label_ids])

    def bulk_label_sessions(self, label_ids: Sequence[int], *, session_ids: Sequence[str] | None = None,
                            filters: Filters = None, comparison_type: str = "CONTAINS") -> None:  # fmt: skip
        self.call("bulk_label_sessions", body=_bulk_body(label_ids, session_ids, filters, comparison_type))

    # ---- comments --------------------------------------------------------------------------------------

    def add_comment(self, question_id: str, comment: str) -> None:
        # The spec requires `questionId` but spells the property `questionid`; both are sent.
        self.call("add_comment", question_id=question_id,
                  body={"questionId": question_id, "questionid": question_id, "comment": comment})  # fmt: skip

    def delete_comment(self, question_id: str) -> None:
        self.call("delete_comment", question_id=question_id)

    # ---- report tasks ----------------------------------------------------------------------------------

    def create_session_report(self, filters: Filters = None, settings: Mapping[str, Any] | None = None, *,
                              language: str | None = None, timezone_offset: int | None = None) -> Json:  # fmt: skip
        return self.call("create_session_report", body=_report_body(filters, settings), language=language,
                         timezone_offset=timezone_offset)  # fmt: skip

    def create_message_report(self, filters: Filters = None, settings: Mapping[str, Any] | None = None, *,
                              language: str | None = None, timezone_offset: int | None = None) -> Json:  # fmt: skip
        return self.call("create_message_report", body=_report_body(filters, settings), language=language,
                         timezone_offset=timezone_offset)  # fmt: skip

    def create_client_report(self, filters: Filters = None, settings: Mapping[str, Any] | None = None, *,
                             language: str | None = None, timezone_offset: int | None = None) -> Json:  # fmt: skip
        return self.call("create_client_report", body=_report_body(filters, settings), language=language,
                         timezone_offset=timezone_offset)  # fmt: skip

    def create_telephony_report(self, start_time: datetime | None = None, end_time: datetime | None = None, *,
                                bot_ids: Sequence[str] | None = None, language: str | None = None,
                                timezone_offset: int | None = None) -> Json:  # fmt: skip
        return self.call("create_telephony_report", start_time=start_time, end_time=end_time, bot_ids=bot_ids,
                         language=language, timezone_offset=timezone_offset)  # fmt: skip

    def create_daily_report(self, day: date, settings: Mapping[str, Any] | None = None) -> Json:
        body: dict[str, Any] = {"date": format_api_date(day)}
        if settings is not None:
            body["settings"] = dict(settings)
        return self.call("create_daily_report", body=body)

    def create_client_list_report(self, filters: Filters = None, settings: Mapping[str, Any] | None = None) -> Json:
        return self.call("create_client_list_report", body=_report_body(filters, settings))

    def list_report_tasks(self) -> Json:
        return self.call("list_report_tasks")

    def get_report_task(self, task_id: str) -> Json:
        return self.call("get_report_task", task_id=task_id)

    def delete_report_task(self, task_id: str) -> None:
        self.call("delete_report_task", task_id=task_id)

    def delete_completed_report_tasks(self) -> None:
        self.call("delete_completed_report_tasks")

    def delete_all_report_tasks(self) -> None:
        self.call("delete_all_report_tasks")

    def wait_for_report(self, task_id: str, *, poll_interval: float = 2.0, timeout: float = 3600.0,
                        on_progress: Callable[[dict[str, Any]], None] | None = None) -> dict[str, Any]:  # fmt: skip
        """Poll a report task until COMPLETED (returned) or FAILED/STOPPED/DELETED or `timeout` (raised)."""
        deadline = time.monotonic() + timeout
        while True:
            task = self.get_report_task(task_id)
            if on_progress is not None:
                on_progress(task)
            status = task.get("status")
            if status in REPORT_DONE:
                return task
            if status in REPORT_FAILED:
                raise ReportTaskError(f"report task {task_id} ended {status}", operation="get_report_task")
            if time.monotonic() + poll_interval > deadline:
                raise ReportTaskError(f"report task {task_id} is still {status} after {timeout:g}s",
                                      operation="get_report_task")  # fmt: skip
            self._http._sleep(poll_interval)

    def download_report(self, task: Mapping[str, Any], destination: str | os.PathLike[str]) -> Path:
        """Save a COMPLETED task's file (its ``fileUrl``) to `destination` (a file, or a folder to put
        ``fileName`` in)."""
        url = task.get("fileUrl")
        if not url:
            raise ReportTaskError(f"report task {task.get('taskId')} has no fileUrl (status {task.get('status')})",
                                  operation="download_report")  # fmt: skip
        target = Path(destination)
        if target.is_dir():
            target = target / Path(str(task.get("fileName") or "report")).name
        self._http.download(str(url), target, name="download_report")
        return target

    # ---- filters ---------------------------------------------------------------------------------------

    def available_filters(self, section: str, *, language: str | None = None) -> Json:
        """The filters of an analytics section (CLIENTS or SESSIONS), with each key's type."""
        return self.call("available_filters", section=section, language=language)

    def filter_options(self, filter_key: str, section: str, filters: Filters = None, *, page: int | None = None,
                       size: int | None = None, language: str | None = None) -> Json:  # fmt: skip
        return self.call("filter_options", filter_key=filter_key, section=section, filters=filters, page=page,
                         size=size, language=language)  # fmt: skip

    def interval_filter_options(self, filter_key: str, section: str, filters: Filters = None, *,
                                language: str | None = None) -> Json:  # fmt: skip
        return self.call("interval_filter_options", filter_key=filter_key, section=section, filters=filters,
                         language=language)  # fmt: skip

    def get_filter_set(self, filter_set_id: str) -> Json:
        return self.call("get_filter_set", filter_set_id=filter_set_id)

    def save_filter_set(self, filters: Filters) -> str:
        """Save a filter combination; returns its filterSetId."""
        return str(self.call("save_filter_set", filters=filters))

    # ---- scenario experiments --------------------------------------------------------------------------

    def create_experiment(self, key: str, branches: Sequence[str | Mapping[str, Any]], *,
                          description: str | None = None, status: str | None = None) -> Json:  # fmt: skip
        """`branches`: branch keys, or {key, description} objects."""
        body: dict[str, Any] = {
            "key": key,
            "branches": [{"key": b} if isinstance(b, str) else dict(b) for b in branches],
        }
        if description is not None:
            body["description"] = description
        if status is not None:
            body["status"] = status
        return self.call("create_experiment", body=body)

    def list_experiments(self) -> Json:
        return self.call("list_experiments")

    def delete_experiment(self, key: str) -> None:
        self.call("delete_experiment", experiment_key=key)

    def stop_experiment(self, key: str) -> None:
        self.call("stop_experiment", experiment_key=key)

    def join_experiment(self, session_id: str, key: str, bot_id: str) -> str:
        """Put a session in an experiment; returns the branch key it got."""
        return str(self.call("join_experiment", session_id=session_id, experiment_key=key, bot_id=bot_id))

    def count_experiment_sessions(self) -> Json:
        return self.call("count_experiment_sessions")


def _priority_changes(priorities: Mapping[int, int]) -> list[dict[str, int]]:
    return [{"id": label_id, "newPriority": priority} for label_id, priority in priorities.items()]


def _bulk_body(label_ids: Sequence[int], object_ids: Sequence[str] | None, filters: Filters,
               comparison_type: str) -> dict[str, Any]:  # fmt: skip
    if object_ids is None and filters is None:
        raise ValueError("bulk labelling needs object ids or filters")
    body: dict[str, Any] = {"comparisonType": comparison_type, "labels": list(label_ids)}
    if object_ids is not None:
        body["objectIds"] = list(object_ids)
    if filters is not None:
        body["filters"] = {"filters": serialize_filters(filters)}
    return body


def _report_body(filters: Filters, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    return {"filters": serialize_filters(filters), "settings": dict(settings or report_settings())}
