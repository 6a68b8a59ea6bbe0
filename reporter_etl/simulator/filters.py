"""Filter keys, their types, and validation of `FiltersDto.filters` into plain condition objects.

Which `type` each key takes is not stated by the spec (the live `GET filters` is the authority); the mapping
below follows reporter-api.md 5.3.  Each key also has a *level*: the row a condition is about (a message,
a session or a client).  `query.py` evaluates conditions; this module only checks and normalises input.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass
from typing import Any, Literal

from .errors import FilterError
from .ids import parse_datetime_ms

Level = Literal["message", "session", "client", "none"]

FILTER_TYPES = (
    "TEXT", "DATE_TIME_RANGE", "NUMERIC_RANGE", "CHECKBOX", "RADIO", "TREE", "CUSTOM_FIELDS_IN_RESPONSE",
    "COMPOSITE_FILTER",
)  # fmt: skip
TEXT_COMPARISONS = ("NOT_IMPORTANT", "CONTAINS", "NOT_CONTAINS", "EQUALS")
CHECKBOX_COMPARISONS = ("NOT_IMPORTANT", "NOT_EXISTS", "EXISTS", "CONTAINS", "NOT_CONTAINS")
COMPOSITE_COMPARISONS = (
    "NOT_IMPORTANT", "CONTAINS", "NOT_CONTAINS", "EQUALS", "NOT_EQUALS", "STARTS_WITH", "ENDS_WITH",
)  # fmt: skip
YES_NO = ("NO", "YES")
YES_NO_NOT_IMPORTANT = ("NO", "YES", "NOT_IMPORTANT")
INITIATOR_TYPES = ("ANY", "CLIENT", "BOT")
TRANSFER_TYPES = ("ANY", "WITH_TRANSFER", "WITHOUT_TRANSFER")
ANALYTICS_SECTIONS = ("CLIENTS", "SESSIONS")


@dataclass(frozen=True)
class KeySpec:
    key: str
    type: str
    level: Level
    label: str
    radio_options: tuple[str, ...] = ()
    is_default: bool = False


KEY_SPECS: tuple[KeySpec, ...] = (
    KeySpec("SESSION_ID", "CHECKBOX", "session", "Session ID"),
    KeySpec("SESSION_START_TIME", "DATE_TIME_RANGE", "session", "Session start time"),
    KeySpec("SESSION_END_TIME", "DATE_TIME_RANGE", "session", "Session end time"),
    KeySpec("SESSION_LABELS", "CHECKBOX", "session", "Session labels"),
    KeySpec("SESSION_RESULT", "CHECKBOX", "session", "Session result"),
    KeySpec("INITIATOR", "RADIO", "session", "Dialog initiator", INITIATOR_TYPES),
    KeySpec("CALL_TASK_ID", "CHECKBOX", "session", "Call campaign ID"),
    KeySpec("CHANNEL_TYPE", "CHECKBOX", "session", "Channel type"),
    KeySpec("BOT_ID", "CHECKBOX", "session", "Channel ID"),
    KeySpec("CLIENT_ID_OR_NAME", "CHECKBOX", "client", "Client ID or name"),
    KeySpec("CLIENT_JOIN_TIME", "DATE_TIME_RANGE", "client", "Client first visit"),
    KeySpec("CLIENT_LAST_ACTIVITY_TIME", "DATE_TIME_RANGE", "client", "Client last activity"),
    KeySpec("MESSAGE_TYPE", "CHECKBOX", "message", "Message type"),
    KeySpec("MESSAGE_TIME", "DATE_TIME_RANGE", "message", "Message time", is_default=True),
    KeySpec("MESSAGE_TEXT", "TEXT", "message", "Client phrase"),
    KeySpec("ANSWER_TEXT", "TEXT", "message", "Bot answer"),
    KeySpec("MESSAGE_COUNT", "NUMERIC_RANGE", "session", "Number of phrases"),
    KeySpec("LOG_LABELS", "CHECKBOX", "message", "Phrase labels"),
    KeySpec("COMMENT_TEXT", "TEXT", "message", "Comment"),
    KeySpec("NLP_CLASS", "TREE", "message", "Class"),
    KeySpec("NLP_STATE", "TREE", "message", "State"),
    KeySpec("INTENT", "CHECKBOX", "message", "Intent"),
    KeySpec("TRANSFER_TO_OPERATOR", "RADIO", "session", "Transfer to an agent", TRANSFER_TYPES),
    KeySpec("WITHOUT_EMPTY_SESSIONS", "RADIO", "session", "Hide empty sessions", YES_NO),
    KeySpec("WITHOUT_EMPTY_MESSAGES", "RADIO", "message", "Hide empty messages", YES_NO),
    KeySpec("CUSTOM_FIELDS_IN_RESPONSE", "CUSTOM_FIELDS_IN_RESPONSE", "none", "Custom fields in response"),
    KeySpec("EXCEPTION_EXISTENCE", "RADIO", "message", "Script errors", YES_NO_NOT_IMPORTANT),
    KeySpec("SESSION_DATA", "COMPOSITE_FILTER", "session", "Session data"),
    KeySpec("STATE_ROUTES", "TREE", "message", "State routes"),
)
KEYS: dict[str, KeySpec] = {s.key: s for s in KEY_SPECS}


# --- conditions -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class DateRange:
    key: str
    lo: int | None  # epoch ms, inclusive
    hi: int | None


@dataclass(frozen=True)
class NumericRange:
    key: str
    lo: float | None
    hi: float | None


@dataclass(frozen=True)
class Checkbox:
    """CHECKBOX and TREE conditions (TREE options also match their descendants)."""

    key: str
    options: tuple[str, ...]
    comparison: str
    tree: bool = False


@dataclass(frozen=True)
class Radio:
    key: str
    option: str


@dataclass(frozen=True)
class Text:
    key: str
    values: tuple[str, ...]
    comparison: str
    case_sensitive: bool


@dataclass(frozen=True)
class CompositeOption:
    key: str
    value: str | None
    case_sensitive: bool
    comparison: str


@dataclass(frozen=True)
class Composite:
    key: str
    options: tuple[CompositeOption, ...]


@dataclass(frozen=True)
class CustomFields:
    key: str
    paths: tuple[str, ...]


Condition = DateRange | NumericRange | Checkbox | Radio | Text | Composite | CustomFields


def level_of(cond: Condition) -> Level:
    return KEYS[cond.key].level


# --- parsing --------------------------------------------------------------------------------------------


def _err(code: str, message: str, **args: Any) -> FilterError:
    return FilterError(f"reporter.filter.{code}", message, {k: str(v) for k, v in args.items()})


def _string_list(item: dict[str, Any], name: str, key: str, required: bool) -> tuple[str, ...]:
    raw = item.get(name)
    if raw is None:
        if required:
            raise _err("missing_field", f"Filter {key} needs the field '{name}'", key=key, field=name)
        return ()
    if not isinstance(raw, list):
        raise _err("malformed", f"Filter {key}: '{name}' must be an array of strings", key=key, field=name)
    out = []
    for v in raw:
        if isinstance(v, bool) or not isinstance(v, str | int | float):
            raise _err("malformed", f"Filter {key}: '{name}' must be an array of strings", key=key, field=name)
        out.append(v if isinstance(v, str) else (str(int(v)) if float(v).is_integer() else str(v)))
    return tuple(out)


def _enum(item: dict[str, Any], name: str, key: str, allowed: tuple[str, ...], default: str | None) -> str:
    raw = item.get(name)
    if raw is None:
        if default is None:
            raise _err("missing_field", f"Filter {key} needs the field '{name}'", key=key, field=name)
        return default
    if raw not in allowed:
        raise _err("bad_option", f"Filter {key}: '{name}' must be one of {', '.join(allowed)}, got {raw!r}",
                   key=key, field=name, value=raw, allowed=",".join(allowed))  # fmt: skip
    return raw


def _bool(item: dict[str, Any], name: str, key: str) -> bool:
    raw = item.get(name)
    if raw is None:
        return False
    if not isinstance(raw, bool):
        raise _err("malformed", f"Filter {key}: '{name}' must be true or false", key=key, field=name, value=raw)
    return raw


def _date(item: dict[str, Any], name: str, key: str) -> int | None:
    raw = item.get(name)
    if raw is None:
        return None
    ms = parse_datetime_ms(raw) if isinstance(raw, str) else None
    if ms is None:
        raise _err("bad_date", f"Filter {key}: '{name}' must be a date-time like 2021-02-14T21:00:00.000Z, "
                   f"got {raw!r}", key=key, field=name, value=raw)  # fmt: skip
    return ms


def _number(item: dict[str, Any], name: str, key: str) -> float | None:
    raw = item.get(name)
    if raw is None:
        return None
    value: float | None = None
    if isinstance(raw, int | float) and not isinstance(raw, bool):
        value = float(raw)
    elif isinstance(raw, str):
        try:
            value = float(raw.strip())
        except ValueError:
            value = None
    if value is None or math.isnan(value) or math.isinf(value):
        raise _err("bad_number", f"Filter {key}: '{name}' must be a number, got {raw!r}", key=key, field=name,
                   value=raw)  # fmt: skip
    return value


def parse_filter(item: Any) -> Condition:
    if not isinstance(item, dict):
        raise _err("malformed", "Each filter must be an object with 'key' and 'type'", value=item)
    key, ftype = item.get("key"), item.get("type")
    if key is None:
        raise _err("missing_field", "A filter needs the field 'key'", field="key")
    if not isinstance(key, str) or key not in KEYS:
        raise _err("unknown_key", f"Unknown filter key {key!r}", key=key)
    if ftype is None:
        raise _err("missing_field", f"Filter {key} needs the field 'type'", key=key, field="type")
    if ftype not in FILTER_TYPES:
        raise _err("unknown_type", f"Filter {key}: unknown type {ftype!r}", key=key, type=ftype)
    spec = KEYS[key]
    if ftype != spec.type:
        raise _err("type_mismatch", f"Filter {key} takes type {spec.type}, not {ftype}", key=key, type=ftype,
                   expectedType=spec.type)  # fmt: skip
    if ftype == "DATE_TIME_RANGE":
        return DateRange(key, _date(item, "from", key), _date(item, "to", key))
    if ftype == "NUMERIC_RANGE":
        return NumericRange(key, _number(item, "from", key), _number(item, "to", key))
    if ftype in ("CHECKBOX", "TREE"):
        options = _string_list(item, "options", key, required=True)
        comparison = _enum(item, "comparisonType", key, CHECKBOX_COMPARISONS, "CONTAINS")
        return Checkbox(key, options, comparison, tree=ftype == "TREE")
    if ftype == "RADIO":
        return Radio(key, _enum(item, "option", key, spec.radio_options, None))
    if ftype == "TEXT":
        values = _string_list(item, "values", key, required=True)
        comparison = _enum(item, "comparisonType", key, TEXT_COMPARISONS, None)
        return Text(key, values, comparison, _bool(item, "isCaseSensitive", key))
    if ftype == "COMPOSITE_FILTER":
        raw = item.get("options")
        if raw is None:
            raw = []
        if not isinstance(raw, list):
            raise _err("malformed", f"Filter {key}: 'options' must be an array", key=key, field="options")
        opts = []
        for i, o in enumerate(raw):
            where = f"options[{i}]"
            if not isinstance(o, dict):
                raise _err("malformed", f"Filter {key}: {where} must be an object", key=key, field=where)
            okey = o.get("key")
            if not isinstance(okey, str) or not okey:
                raise _err("missing_field", f"Filter {key}: {where} needs a string 'key'", key=key,
                           field=f"{where}.key")  # fmt: skip
            comparison = _enum(o, "comparisonOption", key, COMPOSITE_COMPARISONS, None)
            value = o.get("value")
            if value is not None and not isinstance(value, str):
                raise _err("malformed", f"Filter {key}: {where}.value must be a string", key=key,
                           field=f"{where}.value")  # fmt: skip
            if value is None and comparison != "NOT_IMPORTANT":
                raise _err("missing_field", f"Filter {key}: {where} with {comparison} needs a 'value'", key=key,
                           field=f"{where}.value")  # fmt: skip
            opts.append(CompositeOption(okey, value, _bool(o, "caseSensitive", key), comparison))
        return Composite(key, tuple(opts))
    return CustomFields(key, _string_list(item, "responseDataJsonPaths", key, required=False))


def parse_filters(filters: Any) -> list[Condition]:
    """Validate the `filters` list of a FiltersDto (None = no filters) into conditions, in order."""
    if filters is None:
        return []
    if isinstance(filters, dict) and "filters" in filters:  # tolerate a whole FiltersDto
        return parse_filters(filters["filters"])
    if not isinstance(filters, list):
        raise _err("malformed", "'filters' must be an array of filter objects")
    return [parse_filter(f) for f in filters]


def canonical(filters: Any) -> str:
    """A stable text of the filters as sent, for cache keys (key order does not matter)."""
    return json.dumps(filters, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)
