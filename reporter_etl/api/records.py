"""The column contract between the Reporter API and the warehouse.

Each paged entity of the API (ExtendedMessage from ``messages/filter``, SessionInfo from ``sessions/filter``,
ClientExtendedInfo from ``clients/filter``) becomes Arrow record batches with exactly the schema below,
whatever the page held.  Nested objects are flattened into typed columns where SQL users filter on them
(client, nlpInfo, operatorInfo); free-form JSON objects are kept as JSON text; label lists become LIST<STRUCT>.
Fields the contract does not know are never dropped: they are gathered per row into the ``extra`` JSON column.

Column names are snake_case; ``api_field`` below says which response field each one comes from.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

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


# ---- JSON → Arrow -----------------------------------------------------------------------------------------
#
# A page's items become one record batch, column by column: each column's values are gathered with one list
# comprehension over the page and handed to pyarrow in one call (timestamps as strings, then one vectorised
# cast).  Measured (bench/api_conversion.py) this is several times faster than building flattened row dicts
# for `RecordBatch.from_pylist`; `pyarrow.json` on the raw bytes cannot produce the contract (JSON-text
# columns, flattened objects, the `extra` column) without the same Python pass.

_JSON_OBJECT_FIELDS = frozenset({"requestData", "data", "responseData", "customFields"})  # spec: ObjectNode
_JSON_ANY_FIELDS = frozenset({"utterancesJson"})  # spec: JsonNode, any JSON value
_LABEL_KEYS = frozenset({"id", "name", "priority", "group"})
_GROUP_KEYS = frozenset({"id", "name", "priority"})


class RecordContractError(ValueError):
    """Raised by the conversion; the client re-raises it as ``errors.RecordContractError`` with the operation."""


@dataclass(frozen=True)
class _ColumnPlan:
    column: Column
    kind: str  # str int bool float ts json json_any message_labels session_labels map extra
    top: str
    sub: str | None


@dataclass(frozen=True)
class _Plan:
    columns: tuple[_ColumnPlan, ...]
    known_top: frozenset[str]
    nested: dict[str, frozenset[str]]  # flattened object field -> the sub-fields that have columns


_plans: dict[str, _Plan] = {}


def _kind(column: Column) -> str:
    t = column.type
    if not column.api_field:
        return "extra"
    if pa.types.is_timestamp(t):
        return "ts"
    if pa.types.is_list(t):
        return "message_labels" if t.value_type == MESSAGE_LABEL else "session_labels"
    if pa.types.is_map(t):
        return "map"
    if pa.types.is_integer(t):
        return "int"
    if pa.types.is_boolean(t):
        return "bool"
    if pa.types.is_floating(t):
        return "float"
    if column.api_field in _JSON_OBJECT_FIELDS:
        return "json"
    if column.api_field in _JSON_ANY_FIELDS:
        return "json_any"
    return "str"


def _plan(contract: EntityContract) -> _Plan:
    plan = _plans.get(contract.name)
    if plan is None:
        columns = []
        nested: dict[str, set[str]] = {}
        for c in contract.columns:
            top, _, sub = c.api_field.partition(".")
            columns.append(_ColumnPlan(c, _kind(c), top, sub or None))
            if sub:
                nested.setdefault(top, set()).add(sub)
        plan = _Plan(tuple(columns), contract.known_top_level_fields, {k: frozenset(v) for k, v in nested.items()})
        _plans[contract.name] = plan
    return plan


def _fail(contract: EntityContract, field: str, problem: str, row: int, n: int) -> RecordContractError:
    return RecordContractError(f"{contract.name}: field '{field}' {problem} (item {row} of {n} on the page)")


def _first(values: list[Any], bad: Callable[[Any], bool]) -> int:
    return next((i for i, v in enumerate(values) if v is not None and bad(v)), 0)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)  # fmt: skip


def _build(cp: _ColumnPlan, values: list[Any], contract: EntityContract, extras: list[dict | None]) -> pa.Array:
    kind, column, n = cp.kind, cp.column, len(values)
    field = column.api_field
    try:
        if kind == "str":
            return pa.array(values, pa.string())
        if kind == "bool":
            return pa.array(values, pa.bool_())
        if kind == "float":
            if any(type(v) is bool for v in values):
                raise TypeError
            return pa.array(values, column.type)
        if kind == "int":
            inferred = pa.array(values)  # inference first: pa.array(..., int64) would truncate 1.5 silently
            if pa.types.is_null(inferred.type):
                return pa.nulls(n, column.type)
            if not pa.types.is_integer(inferred.type):
                raise TypeError
            return inferred.cast(column.type)
        if kind == "ts":
            strings = pa.array(values, pa.string())
            return strings.cast(column.type)
        if kind in ("json", "json_any"):
            if kind == "json" and any(v is not None and type(v) is not dict for v in values):
                raise TypeError
            return pa.array([None if v is None else orjson.dumps(v).decode() for v in values], pa.string())
        if kind == "map":
            if any(v is not None and type(v) is not dict for v in values):
                raise TypeError
            return pa.array([None if v is None else list(v.items()) for v in values], column.type)
        if kind in ("message_labels", "session_labels"):
            return pa.array(_labels(values, kind, field, extras), column.type)
    except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowTypeError, AttributeError):
        raise _describe_bad_value(cp, values, contract) from None
    raise AssertionError(kind)


def _labels(values: list[Any], kind: str, field: str, extras: list[dict | None]) -> list[Any]:
    out: list[Any] = []
    for row, labels in enumerate(values):
        if not labels:  # None or [] (most rows): nothing to reshape
            out.append(labels)
            continue
        if type(labels) is not list:
            raise TypeError
        converted = []
        keep = False
        for label in labels:
            if kind == "session_labels":
                converted.append(label)  # the struct's fields are the label's own; extra keys are ignored by Arrow
                keep = keep or bool(label.keys() - _GROUP_KEYS)
            else:
                group = label.get("group") or {}
                converted.append({
                    "id": label.get("id"), "name": label.get("name"), "priority": label.get("priority"),
                    "group_id": group.get("id"), "group_name": group.get("name"),
                    "group_priority": group.get("priority"),
                })  # fmt: skip
                keep = keep or bool(label.keys() - _LABEL_KEYS) or bool(group.keys() - _GROUP_KEYS)
        if keep:  # a label carries fields the struct does not: keep the list as sent
            extras[row] = {**(extras[row] or {}), field: labels}
        out.append(converted)
    return out


def _describe_bad_value(cp: _ColumnPlan, values: list[Any], contract: EntityContract) -> RecordContractError:
    kind, field, n = cp.kind, cp.column.api_field, len(values)
    expected = {
        "str": ("a string", lambda v: type(v) is not str),
        "bool": ("a boolean", lambda v: type(v) is not bool),
        "float": ("a number", lambda v: type(v) not in (int, float)),
        "int": ("an integer", lambda v: type(v) is not int),
        "ts": ("a date-time string like 2021-02-14T21:00:00.234Z", lambda v: not _is_timestamp_text(v)),
        "json": ("an object", lambda v: type(v) is not dict),
        "map": ("an object of strings", lambda v: type(v) is not dict or any(type(x) is not str for x in v.values())),
        "message_labels": ("an array of labels", lambda v: not _labels_ok(v, cp.column.type)),
        "session_labels": ("an array of labels", lambda v: not _labels_ok(v, cp.column.type)),
    }.get(kind, ("valid JSON", lambda v: True))
    row = _first(values, expected[1])
    value = values[row]
    if kind in ("message_labels", "session_labels"):
        shown = orjson.dumps(value).decode()
    else:
        shown = repr(value) if not isinstance(value, dict | list) else _type_name(value)
    return _fail(contract, field, f"should be {expected[0]} but is {shown[:80]}", row, n)


def _is_timestamp_text(value: Any) -> bool:
    if type(value) is not str:
        return False
    try:
        pa.array([value]).cast(TS)
    except (pa.ArrowInvalid, pa.ArrowTypeError):
        return False
    return True


def _labels_ok(value: Any, arrow_type: pa.DataType) -> bool:
    try:
        kind = "message_labels" if arrow_type.value_type == MESSAGE_LABEL else "session_labels"
        pa.array(_labels([value], kind, "", [None]), arrow_type)
    except (TypeError, ValueError, pa.ArrowInvalid, pa.ArrowTypeError, AttributeError):
        return False
    return True


def items_to_record_batch(items: list[Any], contract: EntityContract) -> pa.RecordBatch:
    """One page's items (API-shaped dicts) as a record batch with exactly ``contract.schema``.

    Raises ``RecordContractError`` naming the field when an item is not an object, a required field is
    missing or null, or a value has a type the spec does not allow.  Fields without a column land in ``extra``.
    """
    plan = _plan(contract)
    n = len(items)
    if n == 0:
        return pa.RecordBatch.from_pylist([], schema=contract.schema)
    if not all(type(it) is dict for it in items):
        row = next(i for i, it in enumerate(items) if type(it) is not dict)
        raise RecordContractError(f"{contract.name}: item {row} of {n} on the page is {_type_name(items[row])}, "
                                  f"not an object")  # fmt: skip

    extras: list[dict | None] = [None] * n
    known = plan.known_top
    for i, unknown in enumerate([it.keys() - known for it in items]):
        if unknown:
            item = items[i]
            extras[i] = {k: item[k] for k in sorted(unknown)}

    objects: dict[str, list[Any]] = {}
    for top, subs in plan.nested.items():
        objs = [it.get(top) for it in items]
        bad = next((i for i, o in enumerate(objs) if o is not None and type(o) is not dict), None)
        if bad is not None:
            raise _fail(contract, top, f"should be an object but is {_type_name(objs[bad])}", bad, n)
        for i, unknown in enumerate([o.keys() - subs if o else () for o in objs]):
            if unknown:
                extra = extras[i] or {}
                extra[top] = {k: objs[i][k] for k in sorted(unknown)}
                extras[i] = extra
        objects[top] = objs

    arrays: list[pa.Array] = []
    extra_index = -1
    for cp in plan.columns:
        if cp.kind == "extra":
            extra_index = len(arrays)
            arrays.append(None)  # type: ignore[arg-type]  # filled last: label columns may add to extras
            continue
        if cp.sub is None:
            values = [it.get(cp.top) for it in items]
        else:
            sub = cp.sub
            values = [o.get(sub) if o is not None else None for o in objects[cp.top]]
        array = _build(cp, values, contract, extras)
        if not cp.column.nullable and array.null_count:
            row = next(i for i, v in enumerate(values) if v is None)
            raise _fail(contract, cp.column.api_field, "is required but missing or null", row, n)
        arrays.append(array)
    if extra_index >= 0:
        arrays[extra_index] = pa.array(
            [None if e is None else orjson.dumps(e, option=orjson.OPT_SORT_KEYS).decode() for e in extras],
            pa.string(),
        )
    return pa.RecordBatch.from_arrays(arrays, schema=contract.schema)


def unknown_field_names(table: pa.Table | pa.RecordBatch, contract: EntityContract) -> set[str]:
    """The API fields the contract does not know that occur in ``table``'s ``extra`` column.

    A new top-level field is named as it is ("sentiment"); a new field inside a known object is named by its
    path ("nlpInfo.ruleType").  Only the rows that have an ``extra`` object are parsed: normally none.
    """
    if "extra" not in table.schema.names:
        return set()
    extra = table.column("extra")
    if extra.null_count == len(extra):
        return set()
    known = contract.known_top_level_fields
    names: set[str] = set()
    for text in pc.unique(pc.drop_null(extra)).to_pylist():
        for key, value in orjson.loads(text).items():
            if key in known and isinstance(value, dict):
                names.update(f"{key}.{sub}" for sub in value)
            elif key in known and isinstance(value, list):  # labels kept as sent because one carries more
                names.update(_new_label_fields(key, value))
            else:
                names.add(key)
    return names


def _new_label_fields(field: str, labels: list[Any]) -> set[str]:
    names: set[str] = set()
    for label in labels:
        if not isinstance(label, dict):
            continue
        group = label.get("group")
        own = _LABEL_KEYS if "group" in label else _GROUP_KEYS  # session labels have no group
        names.update(f"{field}[].{sub}" for sub in label.keys() - own)
        if isinstance(group, dict):
            names.update(f"{field}[].group.{sub}" for sub in group.keys() - _GROUP_KEYS)
    return names
