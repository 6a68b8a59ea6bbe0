"""Reading a request against the operation table: typed query, path and header parameters, the JSON body, and
the API's date-time format. Problems become `ApiError`s answered as `{error, message, args}`."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote

import orjson

from reporter_etl.simulator.operations import BODY_SCHEMAS, Operation, Param

MAX_PAGE_SIZE = 1000
MAX_TZ_OFFSET_MINUTES = 18 * 60

_DATE_TIME = re.compile(
    r"^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,9}))?(Z|[+\- ]\d{2}:?\d{2})$"
)
DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# ------------------------------------------------------------------------------------------------ errors


class ApiError(Exception):
    """An error answered as `{error, message, args}` with `status`; messages never carry the token."""

    def __init__(self, status: int, error: str, message: str, args: dict[str, str] | None = None,
                 headers: dict[str, str] | None = None) -> None:  # fmt: skip
        super().__init__(message)
        self.status = status
        self.error = error
        self.message = message
        self.args_map = args or {}
        self.headers = headers or {}

    def body(self) -> dict[str, Any]:
        return {"error": self.error, "message": self.message, "args": self.args_map}


def bad_request(error: str, message: str, **args: object) -> ApiError:
    return ApiError(400, f"reporter.request.{error}", message, {k: str(v) for k, v in args.items()})


# ------------------------------------------------------------------------------------------------ time formats


def parse_api_datetime(text: str) -> datetime:
    """`yyyy-MM-ddTHH:mm:ss.SSSZ`, also without millis or with a numeric offset (a `+` decoded to a space in a
    query string is taken for `+`)."""
    m = _DATE_TIME.match(text.strip() if text.endswith(" ") else text)
    if not m:
        raise ValueError(text)
    year, month, day, hour, minute, second, fraction, zone = m.groups()
    micro = int((fraction or "0")[:6].ljust(6, "0"))
    if zone == "Z":
        tz = UTC
    else:
        sign = -1 if zone[0] == "-" else 1
        digits = zone[1:].replace(":", "")
        tz = timezone(sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:])))
    return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)


def format_api_datetime(value: datetime) -> str:
    value = value.astimezone(UTC)
    return f"{value.year:04d}-" + value.strftime("%m-%dT%H:%M:%S.") + f"{value.microsecond // 1000:03d}Z"


# ------------------------------------------------------------------------------------------------ parameters


def _convert(param: Param, raw: list[str]) -> object:
    kind = param.kind
    if kind == "string[]":
        # Repeated (`?botIds=a&botIds=b`, the OpenAPI default) or comma-separated (Spring accepts both).
        return [part for value in raw for part in value.split(",") if part]
    text = raw[-1]
    if kind == "string":
        if param.enum is not None and text not in param.enum:
            raise bad_request("invalid_param", f"parameter '{param.name}' must be one of {', '.join(param.enum)}",
                              param=param.name, value=text)  # fmt: skip
        return text
    if kind in ("int32", "int64"):
        try:
            number = int(text.strip())
        except ValueError:
            raise bad_request("invalid_param", f"parameter '{param.name}' must be an integer",
                              param=param.name, value=text) from None  # fmt: skip
        limit = 2**31 if kind == "int32" else 2**63
        if not -limit <= number < limit:
            raise bad_request("invalid_param", f"parameter '{param.name}' is out of range for {kind}",
                              param=param.name, value=text)  # fmt: skip
        if param.minimum is not None and number < param.minimum:
            raise bad_request("invalid_param", f"parameter '{param.name}' must be at least {param.minimum}",
                              param=param.name, value=text)  # fmt: skip
        return number
    if kind == "bool":
        lowered = text.strip().lower()
        if lowered not in ("true", "false"):
            raise bad_request("invalid_param", f"parameter '{param.name}' must be true or false",
                              param=param.name, value=text)  # fmt: skip
        return lowered == "true"
    if kind == "date":
        try:
            if not DATE.match(text):
                raise ValueError(text)
            return date.fromisoformat(text)
        except ValueError:
            raise bad_request("invalid_date", f"parameter '{param.name}' must be a date in the form yyyy-MM-dd",
                              param=param.name, value=text) from None  # fmt: skip
    if kind == "date-time":
        try:
            return parse_api_datetime(text)
        except ValueError:
            raise bad_request("invalid_date", f"parameter '{param.name}' must be a date-time in the form "
                              "yyyy-MM-ddTHH:mm:ss.SSSZ", param=param.name, value=text) from None  # fmt: skip
    raise AssertionError(kind)


def parse_params(op: Operation, query: dict[str, list[str]], headers: Any, path: dict[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {}
    for param in op.params:
        if param.location == "query":
            raw = [v for v in query.get(param.name, ()) if v != ""]
        elif param.location == "path":
            raw = [unquote(path[param.name])]
        else:
            header = headers.get(param.name)
            raw = [header.strip()] if header is not None and header.strip() else []
        if not raw:
            if param.required:
                raise bad_request("missing_param", f"required {param.location} parameter '{param.name}' is missing",
                                  param=param.name)  # fmt: skip
            values[param.name] = param.default if param.kind != "string[]" else None
            continue
        values[param.name] = _convert(param, raw)
    if "size" in values and values["size"] > MAX_PAGE_SIZE:
        raise bad_request("page_size_too_large", f"page size must be at most {MAX_PAGE_SIZE}",
                          param="size", value=values["size"], max=MAX_PAGE_SIZE)  # fmt: skip
    tz = values.get("Timezone")
    if tz is not None and abs(tz) > MAX_TZ_OFFSET_MINUTES:
        raise bad_request("invalid_param", "header 'Timezone' must be an offset in minutes east of UTC "
                          f"between -{MAX_TZ_OFFSET_MINUTES} and {MAX_TZ_OFFSET_MINUTES}", param="Timezone", value=tz)
    return values


_JSON_TYPES: dict[str, Callable[[object], bool]] = {
    "string": lambda v: isinstance(v, str),
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, int | float) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "array": lambda v: isinstance(v, list),
    "object": lambda v: isinstance(v, dict),
}


def _check_object(schema: str, value: object, where: str) -> None:
    if not isinstance(value, dict):
        raise bad_request("invalid_body", f"{where} must be a JSON object ({schema})", schema=schema, field=where)
    required, types = BODY_SCHEMAS[schema]
    for name in required:
        if value.get(name) is None:
            raise bad_request("invalid_body", f"{where}.{name} is required", schema=schema, field=f"{where}.{name}")
    for name, json_type in types.items():
        item = value.get(name)
        if item is not None and not _JSON_TYPES[json_type](item):
            raise bad_request("invalid_body", f"{where}.{name} must be of JSON type {json_type}",
                              schema=schema, field=f"{where}.{name}")  # fmt: skip
    if schema in ("FiltersDto", "CreateReportDto"):
        for i, item in enumerate(value.get("filters") or ()):
            if not isinstance(item, dict):
                raise bad_request("invalid_body", f"{where}.filters[{i}] must be an object", field=f"filters[{i}]")


def parse_body(op: Operation, raw: bytes) -> Any:
    spec = op.body
    if spec is None:
        return None
    if not raw.strip():
        if spec.required:
            raise bad_request("missing_body", f"a JSON body ({spec.schema}{'[]' if spec.array else ''}) is required",
                              schema=spec.schema)  # fmt: skip
        return None
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request("malformed_json", f"the request body is not valid JSON: {exc}", schema=spec.schema) from None
    if spec.array:
        if not isinstance(data, list):
            raise bad_request("invalid_body", f"the body must be a JSON array of {spec.schema}", schema=spec.schema)
        for i, item in enumerate(data):
            _check_object(spec.schema, item, f"body[{i}]")
    elif data is not None:
        _check_object(spec.schema, data, "body")
    elif spec.required:
        raise bad_request("missing_body", f"a JSON body ({spec.schema}) is required", schema=spec.schema)
    return data
