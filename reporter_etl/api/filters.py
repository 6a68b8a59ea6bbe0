"""Filters of the Reporter API as small value objects, and the date-time text format the API speaks.

Each class is one ``AnalyticsFilter`` type of the spec, bound to a ``FilterKey``; ``to_api()`` gives the JSON
object the API expects.  Which type each key takes is the server's to say (``GET filters``); the classes
check only what the spec fixes: known keys, known comparison values, the shape of each type.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any, ClassVar, Protocol, runtime_checkable

LEGACY_FILTER_KEYS = frozenset({
    "SESSION_ID", "SESSION_START_TIME", "SESSION_END_TIME", "SESSION_LABELS", "SESSION_RESULT", "INITIATOR",
    "CALL_TASK_ID", "CHANNEL_TYPE", "BOT_ID", "CLIENT_ID_OR_NAME", "CLIENT_JOIN_TIME", "CLIENT_LAST_ACTIVITY_TIME",
    "MESSAGE_TYPE", "MESSAGE_TIME", "MESSAGE_TEXT", "ANSWER_TEXT", "MESSAGE_COUNT", "LOG_LABELS", "COMMENT_TEXT",
    "NLP_CLASS", "NLP_STATE", "INTENT", "TRANSFER_TO_OPERATOR", "WITHOUT_EMPTY_SESSIONS", "WITHOUT_EMPTY_MESSAGES",
    "CUSTOM_FIELDS_IN_RESPONSE", "EXCEPTION_EXISTENCE", "SESSION_DATA", "STATE_ROUTES",
})  # fmt: skip
# Keys only the current API generation knows (reporter-api.md §5.2); accepted so the same objects serve both.
CURRENT_ONLY_FILTER_KEYS = frozenset({
    "MESSAGE_OR_ANSWER_TEXT", "TEXT_CAMPAIGN_ID", "TEXT_CAMPAIGN_RESULT", "SESSION_TOPIC", "SCENARIO_ACTION",
    "PERIOD", "CHANNEL_NAME", "BOT_REPLIES", "CLIENT_TYPE", "AUTOMATION_STATUS", "NPS", "WITHOUT_TEST_SESSIONS",
})  # fmt: skip
FILTER_KEYS = LEGACY_FILTER_KEYS | CURRENT_ONLY_FILTER_KEYS

TEXT_COMPARISONS = frozenset({"NOT_IMPORTANT", "CONTAINS", "NOT_CONTAINS", "EQUALS"})
CHECKBOX_COMPARISONS = frozenset({"NOT_IMPORTANT", "NOT_EXISTS", "EXISTS", "CONTAINS", "NOT_CONTAINS"})
COMPOSITE_COMPARISONS = frozenset(
    {"NOT_IMPORTANT", "CONTAINS", "NOT_CONTAINS", "EQUALS", "NOT_EQUALS", "STARTS_WITH", "ENDS_WITH"}
)

ONE_MS = timedelta(milliseconds=1)


# ---- date-time text ---------------------------------------------------------------------------------------


def format_api_datetime(moment: datetime) -> str:
    """``yyyy-MM-ddTHH:mm:ss.SSSZ`` in UTC, milliseconds truncated (the spec's format)."""
    if moment.tzinfo is None or moment.utcoffset() is None:
        raise ValueError(f"{moment.isoformat()} has no time zone; give an aware datetime (e.g. tzinfo=UTC)")
    utc = moment.astimezone(UTC)
    # Field by field, not strftime: %Y drops the leading zeros of years before 1000 on glibc, and strftime took
    # 41 us of CPU a call inside a sync (two calls a request), 12 times its cost alone.
    return (f"{utc.year:04d}-{utc.month:02d}-{utc.day:02d}T{utc.hour:02d}:{utc.minute:02d}:{utc.second:02d}."
            f"{utc.microsecond // 1000:03d}Z")


def parse_api_datetime(text: str) -> datetime:
    """Read the API's date-time text (``...Z``, with or without milliseconds, or a numeric offset)."""
    value = datetime.fromisoformat(text.replace("Z", "+00:00") if text.endswith("Z") else text)
    if value.tzinfo is None:
        raise ValueError(f"date-time {text!r} has no zone")
    return value.astimezone(UTC)


def format_api_date(day: date) -> str:
    if isinstance(day, datetime):
        raise TypeError("give a date, not a datetime, for a date parameter")
    return day.isoformat()


def floor_ms(moment: datetime) -> datetime:
    return moment.replace(microsecond=moment.microsecond - moment.microsecond % 1000)


# ---- filters ----------------------------------------------------------------------------------------------


@runtime_checkable
class Filter(Protocol):
    key: str

    def to_api(self) -> dict[str, Any]: ...


def _check_key(key: str) -> None:
    if key not in FILTER_KEYS:
        raise ValueError(f"unknown filter key {key!r}; known keys: {', '.join(sorted(LEGACY_FILTER_KEYS))}")


def _check_choice(what: str, value: str, allowed: frozenset[str]) -> None:
    if value not in allowed:
        raise ValueError(f"{what} {value!r} is not one of {', '.join(sorted(allowed))}")


def _strings(what: str, values: Iterable[str]) -> tuple[str, ...]:
    if isinstance(values, str):
        raise TypeError(f"{what} must be a list of strings, not one string")
    items = tuple(values)
    for v in items:
        if not isinstance(v, str):
            raise TypeError(f"{what} must hold strings; got {type(v).__name__}")
    return items


@dataclass(frozen=True)
class DateTimeRange:
    """``DATE_TIME_RANGE``: both bounds inclusive with millisecond precision, either may be open (None)."""

    key: str
    start: datetime | None = None
    end: datetime | None = None

    def __post_init__(self) -> None:
        _check_key(self.key)
        for bound in (self.start, self.end):
            if bound is not None:
                format_api_datetime(bound)  # rejects naive datetimes early
        if self.start is not None and self.end is not None and self.end < self.start:
            raise ValueError(f"{self.key}: end {self.end.isoformat()} is before start {self.start.isoformat()}")

    @classmethod
    def window(cls, key: str, start: datetime, end: datetime) -> DateTimeRange:
        """The half-open window ``[start, end)`` as the API's inclusive range (``to = end - 1 ms``)."""
        end_floor = floor_ms(end)
        last = end_floor - ONE_MS if end_floor == end else end_floor
        return cls(key, floor_ms(start) if floor_ms(start) == start else floor_ms(start) + ONE_MS, last)

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "type": "DATE_TIME_RANGE"}
        if self.start is not None:
            out["from"] = format_api_datetime(self.start)
        if self.end is not None:
            out["to"] = format_api_datetime(self.end)
        return out


@dataclass(frozen=True)
class NumericRange:
    """``NUMERIC_RANGE``: inclusive bounds, either may be open."""

    key: str
    minimum: float | None = None
    maximum: float | None = None

    def __post_init__(self) -> None:
        _check_key(self.key)
        for bound in (self.minimum, self.maximum):
            if bound is not None and (isinstance(bound, bool) or not isinstance(bound, int | float)):
                raise TypeError(f"{self.key}: bounds must be numbers")
        if self.minimum is not None and self.maximum is not None and self.maximum < self.minimum:
            raise ValueError(f"{self.key}: maximum {self.maximum} is below minimum {self.minimum}")

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {"key": self.key, "type": "NUMERIC_RANGE"}
        if self.minimum is not None:
            out["from"] = self.minimum
        if self.maximum is not None:
            out["to"] = self.maximum
        return out


@dataclass(frozen=True)
class _OptionsFilter:
    key: str
    options: Sequence[str] = ()
    comparison: str = "CONTAINS"
    api_type: ClassVar[str]

    def __post_init__(self) -> None:
        _check_key(self.key)
        object.__setattr__(self, "options", _strings(f"{self.key} options", self.options))
        _check_choice(f"{self.key} comparison", self.comparison, CHECKBOX_COMPARISONS)

    def to_api(self) -> dict[str, Any]:
        options = list(self.options)
        return {"key": self.key, "type": self.api_type, "options": options, "comparisonType": self.comparison}


@dataclass(frozen=True)
class Checkbox(_OptionsFilter):
    """``CHECKBOX``: options chosen from a list (labels, channels, bots...), compared as `comparison` says."""

    api_type: ClassVar[str] = "CHECKBOX"


@dataclass(frozen=True)
class Tree(_OptionsFilter):
    """``TREE``: options from a hierarchy (scenario states and classes)."""

    api_type: ClassVar[str] = "TREE"


@dataclass(frozen=True)
class Radio:
    """``RADIO``: one option, e.g. ``Radio("WITHOUT_EMPTY_SESSIONS", "YES")``."""

    key: str
    option: str

    def __post_init__(self) -> None:
        _check_key(self.key)
        if not isinstance(self.option, str) or not self.option:
            raise TypeError(f"{self.key}: option must be a non-empty string")

    def to_api(self) -> dict[str, Any]:
        return {"key": self.key, "type": "RADIO", "option": self.option}


@dataclass(frozen=True)
class Text:
    """``TEXT``: the field compared with any of `values`."""

    key: str
    values: Sequence[str] = ()
    comparison: str = "CONTAINS"
    case_sensitive: bool = False

    def __post_init__(self) -> None:
        _check_key(self.key)
        object.__setattr__(self, "values", _strings(f"{self.key} values", self.values))
        _check_choice(f"{self.key} comparison", self.comparison, TEXT_COMPARISONS)

    def to_api(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "type": "TEXT",
            "values": list(self.values),
            "comparisonType": self.comparison,
            "isCaseSensitive": self.case_sensitive,
        }


@dataclass(frozen=True)
class CustomFieldsInResponse:
    """``CUSTOM_FIELDS_IN_RESPONSE``: JSON paths into ``responseData`` to return as custom fields."""

    json_paths: Sequence[str] = ()
    key: str = "CUSTOM_FIELDS_IN_RESPONSE"

    def __post_init__(self) -> None:
        _check_key(self.key)
        object.__setattr__(self, "json_paths", _strings("json_paths", self.json_paths))

    def to_api(self) -> dict[str, Any]:
        return {"key": self.key, "type": "CUSTOM_FIELDS_IN_RESPONSE", "responseDataJsonPaths": list(self.json_paths)}


@dataclass(frozen=True)
class CompositeOption:
    """One key/value condition of a composite filter, e.g. a ``sessionData`` entry."""

    key: str
    comparison: str = "EQUALS"
    value: str | None = None
    case_sensitive: bool = False

    def __post_init__(self) -> None:
        _check_choice(f"composite option {self.key!r} comparison", self.comparison, COMPOSITE_COMPARISONS)

    def to_api(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "key": self.key, "comparisonOption": self.comparison, "caseSensitive": self.case_sensitive,
        }  # fmt: skip
        if self.value is not None:
            out["value"] = self.value
        return out


@dataclass(frozen=True)
class Composite:
    """``COMPOSITE_FILTER``: all `options` must hold (e.g. on ``SESSION_DATA``)."""

    key: str
    options: Sequence[CompositeOption] = field(default_factory=tuple)

    def __post_init__(self) -> None:
        _check_key(self.key)
        options = tuple(self.options)
        for option in options:
            if not isinstance(option, CompositeOption):
                raise TypeError(f"{self.key}: options must be CompositeOption objects")
        object.__setattr__(self, "options", options)

    def to_api(self) -> dict[str, Any]:
        return {"key": self.key, "type": "COMPOSITE_FILTER", "options": [o.to_api() for o in self.options]}


FilterLike = Filter | Mapping[str, Any]


def serialize_filters(filters: Iterable[FilterLike] | None) -> list[dict[str, Any]]:
    """The ``filters`` array of a FiltersDto.  Plain mappings pass through unchanged (an escape hatch for
    filter shapes the classes do not cover)."""
    if filters is None:
        return []
    if isinstance(filters, Filter | Mapping):
        filters = [filters]
    out: list[dict[str, Any]] = []
    for f in filters:
        if isinstance(f, Mapping):
            out.append(dict(f))
        elif isinstance(f, Filter):
            out.append(f.to_api())
        else:
            raise TypeError(f"not a filter: {type(f).__name__}")
    return out


def message_time(start: datetime, end: datetime) -> DateTimeRange:
    """MESSAGE_TIME over the half-open window ``[start, end)``."""
    return DateTimeRange.window("MESSAGE_TIME", start, end)
