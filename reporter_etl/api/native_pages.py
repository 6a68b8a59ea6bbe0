"""A page's raw JSON bytes straight to the contract's Arrow columns, parsed in C++ (pyarrow.json), no dicts.

The Python conversion (``records.items_to_record_batch``) costs about four times ``orjson.loads`` per page, all
under the GIL.  ``pyarrow.json`` parses the page once, with the GIL released, into typed columns, and it is
strict: with an explicit schema a value of another JSON type, an integer that does not fit, or a timestamp that
does not parse is an error, and fields it was not told of show up as extra (inferred) fields.  So a page that
parses here and whose types are exactly the explicit ones keeps plainly to the contract, and its columns equal
what the Python conversion makes of it.  Any other page (a field the contract does not know, a retyped or
missing required field, free-form JSON objects kept as text, a malformed body) gets None, and the caller takes
the exact Python path, which keeps unknown fields in ``extra`` and names the field in its error.  The fast path
never answers a contract question itself; it only recognises the pages that raise none.

One difference is documented (docs/decisions.md): a map column (``sessionData``) read here has no entries for
keys whose value is JSON null, where the Python path keeps them with a null value.
"""

from __future__ import annotations

import io
import threading
from dataclasses import dataclass
from typing import Any

import pyarrow as pa
import pyarrow.json as pa_json

from reporter_etl.api.records import _plan
from reporter_etl.entities import MESSAGE_LABEL, Entity

_PAGING = pa.struct([("pageNum", pa.int64()), ("pageSize", pa.int64()), ("totalCount", pa.int64())])
_GROUP = pa.struct([("id", pa.int64()), ("name", pa.string()), ("priority", pa.int64())])
_LABEL = {
    "message_labels": pa.list_(pa.struct([("id", pa.int64()), ("name", pa.string()), ("priority", pa.int64()),
                                          ("group", _GROUP)])),  # fmt: skip
    "session_labels": pa.list_(pa.struct([("id", pa.int64()), ("name", pa.string()), ("priority", pa.int64())])),
}
_SCALAR = {"str": pa.string(), "bool": pa.bool_(), "float": pa.float64(), "int": pa.int64()}
_NOT_HERE = frozenset({"json", "json_any"})  # free-form JSON kept as text: only the Python path can


@dataclass
class FastPage:
    page_num: int
    page_size: int
    total_count: int
    table: pa.Table  # exactly the contract's schema
    content: bytes  # the raw body, should anyone want the items as dicts

    @property
    def item_count(self) -> int:
        return self.table.num_rows


class FastPageParser:
    """Parses the pages of one entity (see the module docstring).  Thread-safe; it counts the pages it parsed
    (``parsed``) and those it left to the Python path (``declined``)."""

    def __init__(self, contract: Entity, items_field: str) -> None:
        self.contract = contract
        self.items_field = items_field  # the page body's list of items: "messages", "sessions", "clients"
        self._columns = _plan(contract).columns
        fields: dict[str, Any] = {}
        nested: dict[str, list[pa.Field]] = {}
        self._maps: set[tuple[str, str | None]] = set()
        for cp in self._columns:
            if cp.kind == "extra" or cp.kind in _NOT_HERE:
                continue
            arrow_type = self._parse_type(cp.kind, cp.column.type)
            if cp.kind == "map":
                self._maps.add((cp.top, cp.sub))
            if cp.sub is None:
                fields[cp.top] = arrow_type
            else:
                nested.setdefault(cp.top, []).append(pa.field(cp.sub, arrow_type))
                fields.setdefault(cp.top, None)
        item_fields = [pa.field(name, t if t is not None else pa.struct(nested[name])) for name, t in fields.items()]
        self._item_type = pa.struct(item_fields)
        self._schema = pa.schema([("paging", _PAGING), (items_field, pa.list_(self._item_type))])
        self._parse_options = pa_json.ParseOptions(explicit_schema=self._schema, newlines_in_values=True,
                                                   unexpected_field_behavior="infer")  # fmt: skip
        self._count_lock = threading.Lock()
        self.parsed = 0
        self.declined = 0

    @staticmethod
    def _parse_type(kind: str, contract_type: pa.DataType) -> pa.DataType:
        if kind == "ts":
            return contract_type
        if kind in _LABEL:
            return _LABEL[kind]
        if kind == "map":
            return pa.struct([])  # its keys are inferred, then checked to be strings
        return _SCALAR[kind]

    def parse(self, content: bytes) -> FastPage | None:
        """The page, or None when only the exact Python path may decide what it holds."""
        page = self._parse(content)
        with self._count_lock:
            if page is None:
                self.declined += 1
            else:
                self.parsed += 1
        return page

    def _parse(self, content: bytes) -> FastPage | None:
        try:
            parsed = pa_json.read_json(io.BytesIO(content), read_options=pa_json.ReadOptions(
                use_threads=False, block_size=len(content) + 64), parse_options=self._parse_options)  # fmt: skip
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None
        if parsed.num_rows != 1:
            return None
        paging = parsed.column("paging").combine_chunks()
        items_field = self.items_field
        if items_field not in parsed.column_names or paging.null_count:
            return None
        numbers = [paging.field(name)[0].as_py() for name in ("pageNum", "pageSize", "totalCount")]
        if any(n is None or n < 0 for n in numbers):
            return None
        lists = parsed.column(items_field).combine_chunks()
        if lists.null_count or not self._types_match(lists.type.value_type):
            return None
        items: pa.StructArray = lists.values
        if items.null_count:
            return None  # an item that is not an object
        try:
            table = self._contract_table(items)
        except (pa.ArrowInvalid, pa.ArrowNotImplementedError, pa.ArrowTypeError):
            return None  # e.g. an integer too large for its column: the Python path names it
        if any(table.column(c.name).null_count for c in self.contract.columns if not c.nullable):
            return None
        return FastPage(numbers[0], numbers[1], numbers[2], table, content)

    def _types_match(self, found: pa.DataType) -> bool:
        """Exactly the explicit item type, but for the map columns, whose inferred keys must all be strings."""
        expected = self._item_type
        if found.num_fields != expected.num_fields:
            return False  # a field the contract does not know, or a JSON object kept as text
        for i in range(expected.num_fields):
            want, got = expected.field(i), found.field(i)
            if want.name != got.name:
                return False
            if (want.name, None) in self._maps:
                if not _string_map(got.type):
                    return False
            elif pa.types.is_struct(want.type) and any((want.name, want.type.field(j).name) in self._maps
                                                       for j in range(want.type.num_fields)):  # fmt: skip
                return False  # maps nested in objects do not occur in the contract
            elif not got.type.equals(want.type):
                return False
        return True

    def _contract_table(self, items: pa.StructArray) -> pa.Table:
        n = len(items)
        tops = dict(zip(self._item_type.names, items.flatten(), strict=True))
        flat: dict[str, dict[str, pa.Array]] = {}
        arrays = []
        for cp in self._columns:
            column = cp.column
            if cp.kind == "extra" or cp.kind in _NOT_HERE:
                arrays.append(pa.nulls(n, column.type))
                continue
            if cp.sub is None:
                values = tops[cp.top]
            else:
                if cp.top not in flat:
                    parent = tops[cp.top]
                    flat[cp.top] = dict(zip(parent.type.names, parent.flatten(), strict=True))
                values = flat[cp.top][cp.sub]
            if cp.kind in ("message_labels", "session_labels") and values.values.null_count:
                raise pa.ArrowInvalid("a null label")  # the Python path refuses it with the field named
            if cp.kind == "message_labels":
                values = _message_labels(values)
            elif cp.kind == "map":
                values = _map_from_struct(values)
            arrays.append(values.cast(column.type, safe=True))
        return pa.Table.from_arrays(arrays, schema=self.contract.schema)


def _string_map(found: pa.DataType) -> bool:
    return pa.types.is_struct(found) and all(
        pa.types.is_string(found.field(i).type) or pa.types.is_null(found.field(i).type)
        for i in range(found.num_fields)
    )


def _message_labels(lists: pa.ListArray) -> pa.ListArray:
    """list<{id, name, priority, group{id, name, priority}}> -> the contract's flat MESSAGE_LABEL list."""
    labels: pa.StructArray = lists.values
    own = dict(zip(labels.type.names, labels.flatten(), strict=True))
    group = dict(zip(own["group"].type.names, own["group"].flatten(), strict=True))
    flat = pa.StructArray.from_arrays(
        [own["id"], own["name"], own["priority"], group["id"], group["name"], group["priority"]],
        names=["id", "name", "priority", "group_id", "group_name", "group_priority"],
        mask=labels.is_null() if labels.null_count else None,
    )
    flat = flat.cast(MESSAGE_LABEL, safe=True)
    return pa.ListArray.from_arrays(lists.offsets, flat, mask=lists.is_null() if lists.null_count else None)


def _map_from_struct(objects: pa.StructArray) -> pa.MapArray:
    """An inferred struct of string fields -> map<string, string>, one entry per non-null value, row by row."""
    n = len(objects)
    names = objects.type.names
    if not names:
        offsets = pa.array([0] * (n + 1), pa.int32())
        return pa.MapArray.from_arrays(offsets, pa.array([], pa.string()), pa.array([], pa.string()),
                                       mask=objects.is_null())  # fmt: skip
    import numpy as np
    import pyarrow.compute as pc

    order = sorted(range(len(names)), key=lambda i: names[i])  # entries in key order, as the Python path has them
    names = [names[i] for i in order]
    flattened = objects.flatten()
    children = [flattened[i].cast(pa.string()) for i in order]
    # present[k, row]: row has a non-null value for key k (absent and null look alike in a struct)
    present = np.vstack([c.is_valid().to_numpy(zero_copy_only=False) for c in children])
    counts = present.sum(axis=0)
    offsets = np.zeros(n + 1, dtype=np.int32)
    np.cumsum(counts, out=offsets[1:])
    rows, keys = np.nonzero(present.T)  # row-major: a row's entries stay together, keys in field order
    key_array = pc.take(pa.array(names, pa.string()), pa.array(keys, pa.int64()))
    stacked = pa.concat_arrays(children)
    value_array = pc.take(stacked, pa.array(keys.astype(np.int64) * n + rows, pa.int64()))
    return pa.MapArray.from_arrays(pa.array(offsets), key_array, value_array, mask=objects.is_null())


__all__ = ["FastPage", "FastPageParser"]
