"""API items → Arrow batches of an entity's column contract (described in ``reporter_etl.entities``).

Each paged entity of the API (ExtendedMessage from ``messages/filter``, SessionInfo from ``sessions/filter``,
ClientExtendedInfo from ``clients/filter``) becomes Arrow record batches with exactly its ``Entity.schema``,
whatever the page held.  Nested objects are flattened into typed columns where SQL users filter on them
(client, nlpInfo, operatorInfo); free-form JSON is kept as JSON text; label lists become LIST<STRUCT>.
Fields the description does not know are never dropped: they are gathered per row into the ``extra`` JSON column.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.compute as pc

# The descriptions are re-exported for bench/, which imports them from here; new code imports reporter_etl.entities.
from reporter_etl.entities import CLIENTS, MESSAGE_LABEL, MESSAGES, SESSION_LABEL, SESSIONS, TS, Column, Entity
from reporter_etl.errors import RecordContractError

__all__ = ["CLIENTS", "MESSAGES", "MESSAGE_LABEL", "SESSIONS", "SESSION_LABEL", "items_to_record_batch",
           "unknown_field_names"]  # fmt: skip

# ---- JSON → Arrow -----------------------------------------------------------------------------------------
#
# A page's items become one record batch, column by column: each column's values are gathered with one list
# comprehension over the page and handed to pyarrow in one call (timestamps as strings, then one vectorised
# cast).  Measured (bench/api_conversion.py) this is several times faster than building flattened row dicts
# for `RecordBatch.from_pylist`; `pyarrow.json` on the raw bytes cannot produce the contract (JSON-text
# columns, flattened objects, the `extra` column) without the same Python pass.

_LABEL_KEYS = frozenset({"id", "name", "priority", "group"})
_GROUP_KEYS = frozenset({"id", "name", "priority"})


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


_plans: dict[int, tuple[Entity, _Plan]] = {}  # by id(entity); the entity is kept so that the id stays its own


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
    if column.json == "object":
        return "json"
    if column.json == "any":
        return "json_any"
    return "str"


def _plan(contract: Entity) -> _Plan:
    cached = _plans.get(id(contract))
    plan = cached[1] if cached is not None else None
    if plan is None:
        columns = []
        nested: dict[str, set[str]] = {}
        for c in contract.columns:
            top, _, sub = c.api_field.partition(".")
            columns.append(_ColumnPlan(c, _kind(c), top, sub or None))
            if sub:
                nested.setdefault(top, set()).add(sub)
        plan = _Plan(tuple(columns), contract.known_top_level_fields, {k: frozenset(v) for k, v in nested.items()})
        _plans[id(contract)] = (contract, plan)
    return plan


def _fail(contract: Entity, field: str, problem: str, row: int, n: int) -> RecordContractError:
    return RecordContractError(f"{contract.name}: field '{field}' {problem} (item {row} of {n} on the page)")


def _first(values: list[Any], bad: Callable[[Any], bool]) -> int:
    return next((i for i, v in enumerate(values) if v is not None and bad(v)), 0)


def _type_name(value: Any) -> str:
    return {dict: "an object", list: "an array", str: "a string", bool: "a boolean", int: "an integer",
            float: "a number"}.get(type(value), type(value).__name__)  # fmt: skip


def _build(cp: _ColumnPlan, values: list[Any], contract: Entity, extras: list[dict | None]) -> pa.Array:
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
            # Entries in key order, without keys whose value is null: a map is read by key, and this is what
            # the native page parser (native_pages.py) makes of it too (docs/decisions.md).
            return pa.array([None if v is None else sorted((k, x) for k, x in v.items() if x is not None)
                             for v in values], column.type)  # fmt: skip
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


def _describe_bad_value(cp: _ColumnPlan, values: list[Any], contract: Entity) -> RecordContractError:
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


def items_to_record_batch(items: list[Any], contract: Entity) -> pa.RecordBatch:
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


def unknown_field_names(table: pa.Table | pa.RecordBatch, contract: Entity) -> set[str]:
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
