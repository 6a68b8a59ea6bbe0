"""The operations that are more than one World call: paged lists, statistics, filter discovery and report
tasks. `Api.call` dispatches by operationId; operations marked "world" in the table call the World directly."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from reporter_etl.simulator import operations as ops
from reporter_etl.simulator.faults import NO_FAULT, FaultDecision
from reporter_etl.simulator.http_params import DATE, ApiError, bad_request, format_api_datetime, parse_api_datetime
from reporter_etl.simulator.operations import Operation
from reporter_etl.simulator.reports import REPORT_TYPES_BY_OPERATION, ReportStore, normalize_settings
from reporter_etl.simulator.world import World

TELEPHONY_CHANNEL_TYPES = frozenset({"resterisk", "telephony"})


@dataclass
class ApiRequest:
    op: Operation
    params: dict[str, Any]
    body: Any
    fault: FaultDecision = NO_FAULT

    @property
    def filters(self) -> list[dict] | None:
        body = self.body
        return body.get("filters") if isinstance(body, dict) else None

    @property
    def tz_offset(self) -> int:
        return int(self.params.get("Timezone") or 0)


def paged(items: Sequence[Any] | np.ndarray, page: int, size: int,
          render: Callable[[Any], list]) -> tuple[dict, list]:  # fmt: skip
    """The `paging` object and the rendered rows of one page; `render` takes a slice of `items` (a page at a
    time, as the World renders batches several times faster than single rows)."""
    total = len(items)
    chunk = items[page * size:(page + 1) * size] if page * size < total else items[:0]
    return {"pageNum": page, "pageSize": size, "totalCount": total}, render(chunk) if len(chunk) else []


def _json_path(data: Any, path: str) -> Any:
    for part in path.removeprefix("$.").split("."):
        if isinstance(data, dict) and part in data:
            data = data[part]
        else:
            return None
    return data


class Api:
    """The handlers named in operations.py; each returns the response payload (object, str or None)."""

    def __init__(self, world: World, reports: ReportStore) -> None:
        self.world = world
        self.reports = reports
        self.handlers: dict[str, Callable[[ApiRequest], Any]] = {}
        for op in ops.OPERATIONS:
            if op.handler != "world":
                self.handlers[op.operation_id] = getattr(self, op.handler)

    def call(self, req: ApiRequest) -> Any:
        handler = self.handlers.get(req.op.operation_id)
        if handler is not None:
            return handler(req)
        return self._world_call(req)

    def _world_call(self, req: ApiRequest) -> Any:
        call = req.op.world_call
        assert call is not None, req.op.operation_id
        args = []
        for source in call.args:
            where, _, name = source.partition(".")
            if where in ("query", "path"):
                args.append(req.params[name])
            elif where == "body" and not name:
                args.append(req.body)
            elif where == "body":
                args.append(req.body.get(name) if isinstance(req.body, dict) else None)
            elif where == "body[]":
                args.append([item.get(name) for item in req.body or ()])
            else:
                raise AssertionError(source)
        result = getattr(self.world, call.method)(*args)
        return None if req.op.response == "empty" else result

    # ---- lists

    def messages_filter(self, req: ApiRequest) -> dict:
        world = self.world
        paging, rows = paged(world.query_messages(req.filters), req.params["page"], req.params["size"],
                             world.extended_messages)  # fmt: skip
        return {"paging": paging, "messages": rows}

    def sessions_filter(self, req: ApiRequest) -> dict:
        world = self.world
        with_labels = bool(req.params["needToReturnSessionLabels"])
        paging, rows = paged(world.query_sessions(req.filters), req.params["page"], req.params["size"],
                             lambda rows: world.session_infos(rows, with_labels))  # fmt: skip
        return {"paging": paging, "sessions": rows}

    def clients_filter(self, req: ApiRequest) -> dict:
        world = self.world
        paging, rows = paged(world.query_clients(req.filters), req.params["page"], req.params["size"],
                             world.client_infos)  # fmt: skip
        return {"paging": paging, "clients": rows}

    def _require_bot(self, bot_id: str) -> None:
        if not any(bot.bot_id == bot_id for bot in self.world.bots):
            raise ApiError(404, "reporter.bot.not_found", "no channel with this botId", {"botId": bot_id})

    def clients_all_for_bot(self, req: ApiRequest) -> dict:
        world, p = self.world, req.params
        self._require_bot(p["botId"])
        paging, rows = paged(world.clients_of_bot(p["botId"], p["dateTo"]), p["page"], p["size"], world.client_infos)
        return {"paging": paging, "clients": rows}

    def _session(self, session_id: str, bot_id: str | None) -> int:
        si = self.world.session_index(session_id)
        if si is None:
            raise ApiError(404, "reporter.session.not_found", "no session with this sessionId",
                           {"sessionId": session_id})  # fmt: skip
        if bot_id is not None and self.world.session_info(si, False)["botId"] != bot_id:
            raise ApiError(404, "reporter.session.not_found", "no session with this sessionId for this botId",
                           {"sessionId": session_id, "botId": bot_id})  # fmt: skip
        return si

    def _client(self, bot_id: str, client_id: str) -> int:
        ci = self.world.client_index(bot_id, client_id)
        if ci is None:
            raise ApiError(404, "reporter.client.not_found", "no client with this id for this botId",
                           {"botId": bot_id, "clientId": client_id})  # fmt: skip
        return ci

    def _page_of_messages(self, indices: np.ndarray, start: datetime | None, page: int, size: int) -> tuple[dict, list]:
        """A page of Message dicts among `indices`, keeping only those at or after `start` when given."""
        if start is None:
            return paged(indices, page, size, self.world.messages)
        kept = [m for m in self.world.messages(indices) if parse_api_datetime(m["timestamp"]) >= start]
        return paged(kept, page, size, list)

    def messages_by_session(self, req: ApiRequest) -> dict:
        world, p = self.world, req.params
        si = self._session(p["sessionId"], p["botId"])
        paging, rows = self._page_of_messages(world.messages_of_session(si, bool(p["hideEmptyMessage"])),
                                              p["startTime"], p["page"], p["size"])  # fmt: skip
        session = world.session_info(si, True)
        if p["responseDataJsonPath"]:
            response_data = session.get("responseData") or {}
            found = {path: _json_path(response_data, path) for path in p["responseDataJsonPath"]}
            session["customFields"] = {k: v for k, v in found.items() if v is not None}
        return {"paging": paging, "session": session, "messages": rows}

    def messages_by_client(self, req: ApiRequest) -> dict:
        world, p = self.world, req.params
        ci = self._client(p["botId"], p["clientId"])
        paging, rows = self._page_of_messages(world.messages_of_client(ci, p["channelType"]), p["startTime"],
                                              p["page"], p["size"])  # fmt: skip
        return {"paging": paging, "client": world.client_info(ci), "messages": rows}

    def _page_of(self, indices: np.ndarray, question_id: str, size: int) -> dict:
        qi = self.world.message_index(question_id)
        positions = np.flatnonzero(np.asarray(indices) == qi) if qi is not None else ()
        if len(positions) == 0:
            raise ApiError(404, "reporter.message.not_found", "no message with this questionId here",
                           {"questionId": question_id})  # fmt: skip
        return {"pageNumber": int(positions[0]) // size}

    def page_in_session(self, req: ApiRequest) -> dict:
        p = req.params
        si = self._session(p["sessionId"], p["botId"])
        return self._page_of(self.world.messages_of_session(si), p["questionId"], p["size"])

    def page_in_client(self, req: ApiRequest) -> dict:
        p = req.params
        ci = self._client(p["botId"], p["clientId"])
        return self._page_of(self.world.messages_of_client(ci), p["questionId"], p["size"])

    def state_routes(self, req: ApiRequest) -> dict:
        routes = self.world.state_routes(req.filters)
        paging, rows = paged(routes, req.params["page"], req.params["size"], list)
        return {"paging": paging, "routes": rows}

    # ---- statistics

    def _series(self, entity: str, req: ApiRequest) -> dict:
        p = req.params
        points = self.world.series(entity, req.filters, p["intervalType"], p["step"], req.tz_offset)
        return _stats_dto(points)

    def message_stats(self, req: ApiRequest) -> dict:
        return self._series("messages", req)

    def session_stats(self, req: ApiRequest) -> dict:
        return self._series("sessions", req)

    def _label_stats(self, kind: str, req: ApiRequest) -> dict:
        p = req.params
        return {"stats": self.world.label_series(kind, req.filters, p["intervalType"], p["step"], req.tz_offset)}

    def session_label_stats(self, req: ApiRequest) -> dict:
        return self._label_stats("session", req)

    def log_label_stats(self, req: ApiRequest) -> dict:
        return self._label_stats("log", req)

    def _date_range(self, req: ApiRequest) -> tuple[date, date]:
        date_from, date_to = req.params["dateFrom"], req.params["dateTo"]
        if date_from > date_to:
            raise bad_request("invalid_param", "dateFrom must not be after dateTo", dateFrom=date_from, dateTo=date_to)
        return date_from, date_to

    def switched_sessions(self, req: ApiRequest) -> dict:
        p = req.params
        date_from, date_to = self._date_range(req)
        if p["transferToOperatorMethod"] == "TEXT" and not p["textForTransfer"]:
            raise bad_request("missing_param", "textForTransfer is required when transferToOperatorMethod is TEXT",
                              param="textForTransfer")  # fmt: skip
        points = self.world.switched_sessions(date_from, date_to, p["botIds"], p["transferToOperatorMethod"],
                                              p["textForTransfer"], req.tz_offset)  # fmt: skip
        return _stats_dto(points)

    def telephony_stats(self, req: ApiRequest) -> dict:
        date_from, date_to = self._date_range(req)
        return self.world.telephony_stats(date_from, date_to, req.params["botIds"], req.tz_offset)

    def unique_clients(self, req: ApiRequest) -> list:
        return [{"projectShortName": self.world.project_short_name, "totalCount": int(self.world.unique_clients())}]

    def sessions_count(self, req: ApiRequest) -> list:
        return [{"projectShortName": self.world.project_short_name, "amount": int(self.world.sessions_count())}]

    # ---- filter discovery

    def available_filters(self, req: ApiRequest) -> list:
        return self.world.available_filters(req.params["analyticsSection"])

    def filter_options(self, req: ApiRequest) -> list:
        p = req.params
        options = self.world.filter_options(p["filterKey"], p["analyticsSection"], req.filters)
        return options[p["page"] * p["size"]:(p["page"] + 1) * p["size"]]

    def interval_filter_options(self, req: ApiRequest) -> dict:
        p = req.params
        return self.world.interval_filter_options(p["filterKey"], p["analyticsSection"], req.filters)

    # ---- report tasks

    def report_create(self, req: ApiRequest) -> dict:
        world = self.world
        report_type = REPORT_TYPES_BY_OPERATION[req.op.operation_id]
        body = req.body if isinstance(req.body, dict) else {}
        settings = normalize_settings(body.get("settings"))
        filters: list[dict] | None = body.get("filters")
        if report_type == "TELEPHONY":
            filters = self._telephony_filters(req.params["startTime"], req.params["endTime"], req.params["botIds"])
        elif report_type == "DAILY":
            filters = self._day_filters(body.get("date"))
        query: Callable[[], Any]
        render: Callable[[np.ndarray], list[dict]]
        if report_type in ("SESSIONS", "TELEPHONY"):
            query, render = (lambda: world.query_sessions(filters)), (lambda rows: world.session_infos(rows, True))
        elif report_type in ("MESSAGES", "DAILY"):
            query, render = (lambda: world.query_messages(filters)), world.extended_messages
        else:
            query, render = (lambda: world.query_clients(filters)), world.client_infos
        if filters is None and report_type == "TELEPHONY":
            query = lambda: np.empty(0, dtype=np.int64)  # noqa: E731  (no telephony channel selected)
        return self.reports.create(report_type, settings, req.tz_offset, format_api_datetime(world.now),
                                   lambda: len(query()), lambda: render(query()))  # fmt: skip

    def _telephony_filters(self, start: datetime | None, end: datetime | None,
                           bot_ids: list[str] | None) -> list[dict] | None:  # fmt: skip
        bots = [b.bot_id for b in self.world.bots if b.channel_type in TELEPHONY_CHANNEL_TYPES]
        if bot_ids:
            bots = [b for b in bots if b in bot_ids]
        if not bots:
            return None
        filters: list[dict] = [{"key": "BOT_ID", "type": "CHECKBOX", "options": bots, "comparisonType": "CONTAINS"}]
        if start is not None or end is not None:
            window: dict[str, Any] = {"key": "SESSION_START_TIME", "type": "DATE_TIME_RANGE"}
            if start is not None:
                window["from"] = format_api_datetime(start)
            if end is not None:
                window["to"] = format_api_datetime(end)
            filters.append(window)
        return filters

    def _day_filters(self, day_text: object) -> list[dict]:
        """MESSAGE_TIME over one calendar day in the project's time zone."""
        try:
            if not isinstance(day_text, str) or not DATE.match(day_text):
                raise ValueError(day_text)
            day = date.fromisoformat(day_text)
        except ValueError:
            raise bad_request("invalid_date", "body.date must be a date in the form yyyy-MM-dd",
                              field="date", value=day_text) from None  # fmt: skip
        zone = ZoneInfo(self.world.config.timezone)
        start = datetime(day.year, day.month, day.day, tzinfo=zone)
        end = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=zone)
        return [{"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": format_api_datetime(start),
                 "to": format_api_datetime(end - timedelta(milliseconds=1))}]  # fmt: skip

    def reports_list(self, req: ApiRequest) -> dict:
        return {"tasks": self.reports.list()}

    def report_get(self, req: ApiRequest) -> dict:
        task = self.reports.poll(req.params["reportGenerationTaskId"])
        if task is None:
            raise _report_not_found(req.params["reportGenerationTaskId"])
        return task

    def report_delete(self, req: ApiRequest) -> None:
        if not self.reports.delete(req.params["reportGenerationTaskId"]):
            raise _report_not_found(req.params["reportGenerationTaskId"])

    def reports_delete_completed(self, req: ApiRequest) -> None:
        self.reports.delete_completed()

    def reports_delete_all(self, req: ApiRequest) -> None:
        self.reports.delete_all()


def error_args(exc: Exception) -> dict[str, str]:
    """The argument map of a World or report error (the interface calls it `args`, shadowing Exception.args)."""
    for name in ("details", "args_map", "args"):
        value = getattr(exc, name, None)
        if isinstance(value, dict):
            return {str(k): str(v) for k, v in value.items()}
    return {}


def _report_not_found(task_id: str) -> ApiError:
    return ApiError(404, "reporter.report.not_found", "no report generation task with this id", {"taskId": task_id})


def _stats_dto(points: list[tuple[int, float]]) -> dict:
    stats = [{"ts": int(ts), "value": float(value)} for ts, value in points]
    return {"stats": stats, "totalCount": float(sum(s["value"] for s in stats))}


def drift_window(world: World, filters: list[dict] | None) -> tuple[datetime, datetime]:
    """The MESSAGE_TIME window a paged request reads ([start, end)), for the drift fault."""
    start, end = world.start, world.now
    for item in filters or ():
        if isinstance(item, dict) and item.get("key") == "MESSAGE_TIME":
            try:
                if item.get("from"):
                    start = max(start, parse_api_datetime(str(item["from"])))
                if item.get("to"):
                    end = min(end, parse_api_datetime(str(item["to"])) + timedelta(milliseconds=1))
            except ValueError:
                pass  # the World reports the malformed date
    return start, end
