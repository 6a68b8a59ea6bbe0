"""Report tasks of the simulated legacy API: lifecycle, and the XLSX/CSV files they produce.

A task is CREATED when asked for, STARTED on the next poll (writeCount rising over further polls) and COMPLETED
once `polls_to_complete` polls have been made; the file is then built from the rows the filters select at that
moment and served at a token-free `fileUrl` until the task is deleted.
"""

from __future__ import annotations

import csv
import io
import random
import re
import threading
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from reporter_etl.simulator.operations import FILE_TYPES

DEFAULT_SETTINGS: dict[str, Any] = {"withHeader": True, "delimiter": ",", "dateTimeFormat": "yyyy-MM-dd HH:mm:ss.SSS"}
REPORT_TYPES_BY_OPERATION = {
    "createSessionReport": "SESSIONS",
    "createMessageReport": "MESSAGES",
    "createClientReport": "CLIENTS",
    "createTelephonyReport": "TELEPHONY",
    "createDailyReport": "DAILY",
    "createClientListReport": "CLIENTS_LIST",
}


class BadReportRequest(ValueError):
    """Invalid report settings; the server answers 400 with these fields."""

    def __init__(self, error: str, message: str, args: dict[str, str]) -> None:
        super().__init__(message)
        self.error = error
        self.message = message
        self.args_map = args


# ---------------------------------------------------------------------------------------------- date formats

_JAVA_TOKEN = re.compile(r"'([^']*)'|([A-Za-z])\2*|[^A-Za-z']+")
_MONTHS = ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October",
           "November", "December")  # fmt: skip
_DAYS = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")


def _offset_text(dt: datetime, colon: bool, z_for_zero: bool) -> str:
    minutes = int((dt.utcoffset() or timedelta()).total_seconds() // 60)
    if minutes == 0 and z_for_zero:
        return "Z"
    sign = "+" if minutes >= 0 else "-"
    hours, mins = divmod(abs(minutes), 60)
    return f"{sign}{hours:02d}:{mins:02d}" if colon else f"{sign}{hours:02d}{mins:02d}"


def _field(letter: str, width: int) -> Callable[[datetime], str]:
    if letter in "yu":
        return (lambda d: f"{d.year % 100:02d}") if width == 2 else (lambda d: f"{d.year:0{max(width, 4)}d}")
    if letter in "ML":
        if width >= 4:
            return lambda d: _MONTHS[d.month - 1]
        if width == 3:
            return lambda d: _MONTHS[d.month - 1][:3]
        return lambda d: f"{d.month:0{width}d}"
    simple = {"d": "day", "H": "hour", "m": "minute", "s": "second"}
    if letter in simple:
        attr = simple[letter]
        return lambda d: f"{getattr(d, attr):0{width}d}"
    if letter == "h":
        return lambda d: f"{(d.hour % 12) or 12:0{width}d}"
    if letter == "S":
        return lambda d: f"{d.microsecond:06d}"[:width].ljust(width, "0")
    if letter == "a":
        return lambda d: "AM" if d.hour < 12 else "PM"
    if letter == "E":
        return (lambda d: _DAYS[d.weekday()]) if width >= 4 else (lambda d: _DAYS[d.weekday()][:3])
    if letter == "X":
        return lambda d: _offset_text(d, colon=width >= 3, z_for_zero=True)
    if letter in "xZ":
        return lambda d: _offset_text(d, colon=width >= 3 and letter == "x", z_for_zero=False)
    raise BadReportRequest(
        "reporter.report.bad_date_time_format",
        f"dateTimeFormat pattern letter '{letter}' is not supported",
        {"letter": letter},
    )


def compile_java_datetime_format(pattern: str) -> Callable[[datetime], str]:
    """A formatter for the subset of java.time.format.DateTimeFormatter patterns reports use."""
    parts: list[Callable[[datetime], str] | str] = []
    for m in _JAVA_TOKEN.finditer(pattern):
        quoted, letter = m.group(1), m.group(2)
        if quoted is not None:
            parts.append(quoted or "'")
        elif letter:
            parts.append(_field(letter, len(m.group(0))))
        else:
            parts.append(m.group(0))

    def render(dt: datetime) -> str:
        return "".join(p if isinstance(p, str) else p(dt) for p in parts)

    return render


# ---------------------------------------------------------------------------------------------- settings


def normalize_settings(settings: object) -> dict[str, Any]:
    """Settings with defaults filled in; 400-worthy problems raise BadReportRequest."""
    if settings is None:
        settings = {"fileType": "XLSX"}
    if not isinstance(settings, dict):
        raise BadReportRequest("reporter.report.bad_settings", "settings must be an object", {"field": "settings"})
    file_type = settings.get("fileType")
    if file_type is None:
        raise BadReportRequest("reporter.report.bad_settings", "settings.fileType is required",
                               {"field": "settings.fileType"})  # fmt: skip
    if file_type not in FILE_TYPES:
        raise BadReportRequest("reporter.report.bad_settings",
                               f"settings.fileType must be one of {', '.join(FILE_TYPES)}",
                               {"field": "settings.fileType", "value": str(file_type)})  # fmt: skip
    result = {**DEFAULT_SETTINGS, **{k: v for k, v in settings.items() if v is not None}}
    if not isinstance(result["withHeader"], bool):
        raise BadReportRequest("reporter.report.bad_settings", "settings.withHeader must be a boolean",
                               {"field": "settings.withHeader"})  # fmt: skip
    delimiter = result["delimiter"]
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise BadReportRequest("reporter.report.bad_settings", "settings.delimiter must be a single character",
                               {"field": "settings.delimiter"})  # fmt: skip
    if not isinstance(result["dateTimeFormat"], str) or not result["dateTimeFormat"]:
        raise BadReportRequest("reporter.report.bad_settings", "settings.dateTimeFormat must be a non-empty string",
                               {"field": "settings.dateTimeFormat"})  # fmt: skip
    compile_java_datetime_format(result["dateTimeFormat"])  # fail at creation, not at completion
    return result


# ---------------------------------------------------------------------------------------------- columns

Row = dict[str, Any]
Cell = str | int | float | None


@dataclass(frozen=True)
class CellContext:
    tz: timezone
    format_datetime: Callable[[datetime], str]

    def when(self, api_time: str | None) -> str | None:
        if not api_time:
            return None
        dt = datetime.fromisoformat(api_time.replace("Z", "+00:00"))
        return self.format_datetime(dt.astimezone(self.tz))


def _client_name(client: dict[str, Any] | None) -> str:
    client = client or {}
    return " ".join(part for part in (client.get("firstName"), client.get("lastName")) if part)


def _label_names(labels: Iterable[dict[str, Any]] | None) -> str:
    return ", ".join(label.get("name", "") for label in labels or ())


def _hms(milliseconds: int | None) -> str | None:
    if milliseconds is None:
        return None
    seconds = int(milliseconds) // 1000
    return f"{seconds // 3600:02d}:{seconds % 3600 // 60:02d}:{seconds % 60:02d}"


def _yes_no(value: bool | None) -> str:
    return "yes" if value else "no"


def _session_end(row: Row, ctx: CellContext) -> str | None:
    if not row.get("startTime") or row.get("duration") is None:
        return None
    start = datetime.fromisoformat(row["startTime"].replace("Z", "+00:00"))
    return ctx.format_datetime((start + timedelta(milliseconds=int(row["duration"]))).astimezone(ctx.tz))


def _call_direction(row: Row) -> str | None:
    incoming = row.get("isCallIncoming")
    return None if incoming is None else ("incoming" if incoming else "outgoing")


Column = tuple[str, Callable[[Row, CellContext], Cell]]

# Which session a row belongs to: the first columns of the session and message exports.
_SESSION_IDENTITY: tuple[Column, ...] = (
    ("Project", lambda r, c: r.get("projectShortName")),
    ("Channel type", lambda r, c: r.get("channelType")),
    ("Channel ID", lambda r, c: r.get("botId")),
    ("Client ID", lambda r, c: (r.get("client") or {}).get("id")),
    ("Client name", lambda r, c: _client_name(r.get("client"))),
    ("Session ID", lambda r, c: r.get("sessionId")),
)

# The UI's session export columns (help page on dialog logs), in its order.
SESSION_COLUMNS: tuple[Column, ...] = (
    *_SESSION_IDENTITY,
    ("Session start", lambda r, c: c.when(r.get("startTime"))),
    ("Session end", _session_end),
    ("First phrase", lambda r, c: r.get("firstQuestion")),
    ("Last phrase", lambda r, c: r.get("lastQuestion")),
    ("Duration", lambda r, c: _hms(r.get("duration"))),
    ("Phrase count", lambda r, c: r.get("questionCount")),
    ("Session labels", lambda r, c: _label_names(r.get("labels"))),
    ("Session result", lambda r, c: r.get("sessionResult")),
    ("Transfer to an agent", lambda r, c: _yes_no(r.get("isLivechat"))),
    ("Call direction", lambda r, c: _call_direction(r)),
    ("Call campaign ID", lambda r, c: r.get("callTaskId")),
)

# The help pages list no message or client export columns; these follow the session export's style.
MESSAGE_COLUMNS: tuple[Column, ...] = (
    *_SESSION_IDENTITY,
    ("Message ID", lambda r, c: r.get("questionId")),
    ("Message time", lambda r, c: c.when(r.get("timestamp"))),
    ("Client phrase", lambda r, c: r.get("question")),
    ("Bot answer", lambda r, c: r.get("textAnswer")),
    ("Class", lambda r, c: (r.get("nlpInfo") or {}).get("nlpClass")),
    ("State", lambda r, c: (r.get("nlpInfo") or {}).get("nlpState")),
    ("Phrase labels", lambda r, c: _label_names(r.get("labels"))),
    ("Comment", lambda r, c: r.get("comment")),
    ("Transfer to an agent", lambda r, c: _yes_no(r.get("isLivechat"))),
)

CLIENT_COLUMNS: tuple[Column, ...] = (
    ("Project", lambda r, c: r.get("projectShortName")),
    ("Channel type", lambda r, c: r.get("channelType")),
    ("Channel ID", lambda r, c: r.get("botId")),
    ("Client ID", lambda r, c: r.get("id")),
    ("Client name", lambda r, c: _client_name(r)),
    ("Username", lambda r, c: r.get("username")),
    ("First visit", lambda r, c: c.when(r.get("joinDate"))),
    ("Last visit", lambda r, c: c.when(r.get("lastVisitDate"))),
    ("Last session ID", lambda r, c: r.get("lastSessionId")),
    ("Blocked", lambda r, c: _yes_no(r.get("isBlocked"))),
    ("Block reason", lambda r, c: r.get("blockReason")),
)

COLUMNS_BY_REPORT_TYPE: dict[str, tuple[Column, ...]] = {
    "SESSIONS": SESSION_COLUMNS,
    "TELEPHONY": SESSION_COLUMNS,
    "MESSAGES": MESSAGE_COLUMNS,
    "DAILY": MESSAGE_COLUMNS,
    "CLIENTS": CLIENT_COLUMNS,
    "CLIENTS_LIST": CLIENT_COLUMNS,
}


def table(
    report_type: str, rows: Iterable[Row], settings: dict[str, Any], tz_offset_minutes: int
) -> Iterable[list[Cell]]:
    """Header (if asked for) and one list of cells per row, in the report type's column order."""
    columns = COLUMNS_BY_REPORT_TYPE[report_type]
    tz = timezone(timedelta(minutes=tz_offset_minutes))
    ctx = CellContext(tz, compile_java_datetime_format(settings["dateTimeFormat"]))
    if settings["withHeader"]:
        yield [name for name, _ in columns]
    for row in rows:
        yield [get(row, ctx) for _, get in columns]


def build_file(report_type: str, rows: Iterable[Row], settings: dict[str, Any], tz_offset_minutes: int) -> bytes:
    lines = table(report_type, rows, settings, tz_offset_minutes)
    if settings["fileType"] == "CSV":
        text = io.StringIO()
        writer = csv.writer(text, delimiter=settings["delimiter"], lineterminator="\r\n")
        writer.writerows(lines)
        return text.getvalue().encode("utf-8")
    from openpyxl import Workbook  # imported here: only report downloads need it

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(title=report_type.lower())
    for line in lines:
        sheet.append(line)
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


# ---------------------------------------------------------------------------------------------- tasks


@dataclass
class ReportTask:
    task_id: str
    report_type: str
    creation_time: str
    settings: dict[str, Any]
    tz_offset_minutes: int
    count_rows: Callable[[], int]
    render_rows: Callable[[], Sequence[Row]]
    status: str = "CREATED"
    polls: int = 0
    total_count: int = 0
    write_count: int = 0
    file_id: str | None = None
    file_name: str | None = None
    content: bytes | None = field(default=None, repr=False)


class ReportStore:
    """All report tasks of the simulated account. Callers hold the World's lock while calling into it."""

    def __init__(self, *, seed: int, account_id: int, project_short_name: str, polls_to_complete: int = 2) -> None:
        self._rng = random.Random(seed ^ 0x5E9027)
        self._lock = threading.RLock()
        self.account_id = account_id
        self.project_short_name = project_short_name
        self.polls_to_complete = max(1, polls_to_complete)
        self.base_url = ""
        self._tasks: dict[str, ReportTask] = {}

    def _new_id(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def create(self, report_type: str, settings: dict[str, Any], tz_offset_minutes: int, creation_time: str,
               count_rows: Callable[[], int], render_rows: Callable[[], Sequence[Row]]) -> dict[str, Any]:  # fmt: skip
        with self._lock:
            task = ReportTask(self._new_id(), report_type, creation_time, settings, tz_offset_minutes, count_rows,
                              render_rows)  # fmt: skip
            task.total_count = count_rows()
            self._tasks[task.task_id] = task
            return self.dto(task)

    def get(self, task_id: str) -> ReportTask | None:
        with self._lock:
            return self._tasks.get(task_id)

    def poll(self, task_id: str) -> dict[str, Any] | None:
        """The task as a poll sees it, moving it one step along its lifecycle."""
        with self._lock:
            task = self._tasks.get(task_id)
            if task is None:
                return None
            if task.status in ("CREATED", "STARTED"):
                task.polls += 1
                if task.polls >= self.polls_to_complete:
                    self._complete(task)
                else:
                    task.status = "STARTED"
                    task.write_count = task.total_count * task.polls // self.polls_to_complete
            return self.dto(task)

    def _complete(self, task: ReportTask) -> None:
        rows = task.render_rows()
        task.content = build_file(task.report_type, rows, task.settings, task.tz_offset_minutes)
        task.total_count = task.write_count = len(rows)
        task.file_id = self._new_id().replace("-", "")
        stamp = task.creation_time[:19].replace("-", "").replace(":", "").replace("T", "-")
        extension = task.settings["fileType"].lower()
        task.file_name = f"{task.report_type.lower()}-{self.project_short_name}-{stamp}.{extension}"
        task.status = "COMPLETED"

    def file_url(self, task: ReportTask) -> str:
        return f"{self.base_url}/reporter/files/{task.file_id}/{task.file_name}"

    def dto(self, task: ReportTask) -> dict[str, Any]:
        data: dict[str, Any] = {
            "taskId": task.task_id,
            "accountId": self.account_id,
            "creationTime": task.creation_time,
            "status": task.status,
            "reportType": task.report_type,
            "settings": task.settings,
            "projectShortName": self.project_short_name,
            "writeCount": task.write_count,
            "totalCount": task.total_count,
        }
        if task.status == "COMPLETED":
            data["fileUrl"] = self.file_url(task)
            data["fileName"] = task.file_name
        return data

    def list(self) -> list[dict[str, Any]]:
        with self._lock:
            return [self.dto(task) for task in self._tasks.values()]

    def delete(self, task_id: str) -> bool:
        with self._lock:
            return self._tasks.pop(task_id, None) is not None

    def delete_completed(self) -> int:
        with self._lock:
            done = [tid for tid, task in self._tasks.items() if task.status == "COMPLETED"]
            for tid in done:
                del self._tasks[tid]
            return len(done)

    def delete_all(self) -> int:
        with self._lock:
            count = len(self._tasks)
            self._tasks.clear()
            return count

    def file(self, file_id: str, file_name: str) -> tuple[bytes, str] | None:
        """(content, content type) of a completed task's file, or None."""
        with self._lock:
            for task in self._tasks.values():
                if task.file_id == file_id and task.file_name == file_name and task.content is not None:
                    content_type = (
                        "text/csv; charset=utf-8"
                        if task.settings["fileType"] == "CSV"
                        else "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
                    )
                    return task.content, content_type
            return None
