"""The native page parser (pyarrow.json) against the exact Python conversion it stands in for.

Real pages come from the simulator over HTTP on 127.0.0.1; altered pages are those pages with one change.  On a
page it parses, the native parser must give exactly the table the Python conversion gives; on any page that raises
a contract question (a field the contract does not know, a retyped or missing required field, free-form JSON, an
integer too large for its column) it must decline (None), so the Python path keeps or refuses it as before.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import date, timedelta
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pytest
import requests

from reporter_etl.api import ReporterClient
from reporter_etl.api.native_pages import FastPageParser
from reporter_etl.api.records import items_to_record_batch
from reporter_etl.entities import ENTITIES
from reporter_etl.errors import RecordContractError
from reporter_etl.platform_stats import COUNT_REQUESTS_PER_WINDOW
from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.sync import Syncer
from reporter_etl.warehouse import Warehouse
from tests.sync_support import assert_equals_truth

TOKEN = "native-pages-token-51"
END = date(2026, 11, 20)
LISTS = {"messages": ("messages/filter", {}), "sessions": ("sessions/filter", {"needToReturnSessionLabels": "true"}),
         "clients": ("clients/filter", {})}  # fmt: skip


@pytest.fixture(scope="module")
def pages() -> Iterator[dict[str, bytes]]:
    """The first page of each list operation, as the simulator sends it."""
    config = WorldConfig(seed=5, days=2, end_date=END, messages_per_day=900)
    with Simulator(config, token=TOKEN) as sim:
        found = {}
        for entity, (path, params) in LISTS.items():
            response = requests.post(f"{sim.base_url}/api/reporter/p/{TOKEN}/{path}", params={"page": 0, "size": 1000,
                                     **params}, json={"filters": []}, timeout=60)  # fmt: skip
            response.raise_for_status()
            found[entity] = response.content
        yield found


def python_table(entity: str, body: bytes) -> pa.Table:
    return pa.Table.from_batches([items_to_record_batch(orjson.loads(body)[entity], ENTITIES[entity])])


def native(entity: str, body: bytes) -> pa.Table | None:
    page = FastPageParser(ENTITIES[entity], entity).parse(body)
    return None if page is None else page.table


@pytest.mark.parametrize("entity", list(LISTS))
def test_simulator_pages_parse_natively_to_exactly_the_python_table(pages: dict[str, bytes], entity: str) -> None:
    fast = native(entity, pages[entity])
    assert fast is not None, f"the native parser declined a plain {entity} page"
    expected = python_table(entity, pages[entity])
    assert fast.num_rows == expected.num_rows > 10
    assert fast.schema.equals(ENTITIES[entity].schema)
    for name in expected.column_names:
        assert fast.column(name).equals(expected.column(name)), name


def altered(body: bytes, entity: str, change: Callable[[dict[str, Any]], None], row: int = 3) -> bytes:
    page = orjson.loads(body)
    change(page[entity][row])
    return orjson.dumps(page)


def put(name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda item: item.__setitem__(name, value)


def drop(name: str) -> Callable[[dict[str, Any]], None]:
    return lambda item: item.pop(name)


def nested(top: str, name: str, value: Any) -> Callable[[dict[str, Any]], None]:
    return lambda item: item.__setitem__(top, {**(item.get(top) or {}), name: value})


DECLINED = [
    ("messages", put("sentiment", "positive")),  # a field the contract does not know
    ("messages", nested("nlpInfo", "modelVersion", "7")),  # ... inside a known object
    ("messages", put("labels", [{"id": 1, "name": "x", "priority": 1, "colour": "red"}])),  # ... inside a label
    ("messages", put("labels", [None])),  # a label that is not an object
    ("sessions", put("labels", [None])),
    ("messages", put("processingTime", "12")),  # retyped: a string where the spec says integer
    ("messages", put("processingTime", 1.5)),
    ("messages", put("processingTime", 2**40)),  # does not fit the column's int32
    ("messages", put("isLivechat", 1)),
    ("messages", put("timestamp", "yesterday")),
    ("messages", drop("questionId")),  # a required field missing
    ("messages", put("sessionId", None)),
    ("messages", put("requestData", {"query": "hi"})),  # free-form JSON kept as text: the Python path's job
    ("sessions", put("sessionData", {"lang": 5})),  # a map of strings holding a number
    ("sessions", put("customFields", {"phone": "1"})),
    ("clients", put("accountId", "5327655")),
]


@pytest.mark.parametrize(("entity", "change"), DECLINED)
def test_pages_with_a_contract_question_are_left_to_the_python_path(pages: dict[str, bytes], entity: str,
                                                                    change: Callable) -> None:  # fmt: skip
    assert native(entity, altered(pages[entity], entity, change)) is None


def test_malformed_bodies_are_declined(pages: dict[str, bytes]) -> None:
    body = pages["clients"]
    assert native("clients", body[: len(body) // 2]) is None
    assert native("clients", b'{"paging": {"pageNum": -1, "pageSize": 1000, "totalCount": 0}, "clients": []}') is None
    not_objects = b'{"paging": {"pageNum": 0, "pageSize": 1000, "totalCount": 2}, "clients": [1, 2]}'
    assert native("clients", not_objects) is None
    assert native("clients", b'{"paging": {"pageNum": 0, "pageSize": 1000, "totalCount": 0}}') is None


def test_an_empty_page_and_pretty_printed_json(pages: dict[str, bytes]) -> None:
    empty = native("clients", b'{"paging": {"pageNum": 3, "pageSize": 1000, "totalCount": 0}, "clients": []}')
    assert empty is not None and empty.num_rows == 0 and empty.schema.equals(ENTITIES["clients"].schema)
    pretty = orjson.dumps(orjson.loads(pages["clients"]), option=orjson.OPT_INDENT_2)
    assert native("clients", pretty).equals(python_table("clients", pages["clients"]))


def test_session_data_maps_agree_on_order_and_null_values(pages: dict[str, bytes]) -> None:
    def unordered(item: dict[str, Any]) -> None:
        item["sessionData"] = {"zeta": "z", "alpha": "a", "gone": None}

    body = altered(pages["sessions"], "sessions", unordered, row=0)
    fast, slow = native("sessions", body), python_table("sessions", body)
    assert fast is not None
    assert fast.column("session_data")[0].as_py() == slow.column("session_data")[0].as_py() == [
        ("alpha", "a"), ("zeta", "z")]  # fmt: skip


def test_a_declined_page_still_raises_the_field_named_error(pages: dict[str, bytes]) -> None:
    body = altered(pages["messages"], "messages", put("processingTime", "12"))
    with pytest.raises(RecordContractError, match="processingTime"):
        python_table("messages", body)


def test_a_sync_through_the_native_path_equals_the_ground_truth(tmp_path: Path) -> None:
    """Every page of a small bench-like world goes through the native parser (none declined), pages two at a time
    in flight, and the warehouse equals the simulator's ground truth row for row."""
    config = WorldConfig(seed=42, days=2, end_date=END, messages_per_day=1500)
    db = tmp_path / "w.duckdb"
    with Simulator(config, token=TOKEN) as sim, ReporterClient(sim.base_url, TOKEN) as client:
        assert client.page_concurrency == 2
        with Warehouse.open(db) as wh:
            result = Syncer(client, wh).run(start=END - timedelta(days=config.days - 1), end=END)
        counts = assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)
        parsers = client.page_parsers
        assert {name: p.declined for name, p in parsers.items()} == dict.fromkeys(parsers, 0)
        list_pages = sum(client.requests_by_operation[op] for op in ("filter_messages", "filter_sessions",
                                                                     "filter_clients"))  # fmt: skip
        counts_only = sum(n * len(result.windows) for n in COUNT_REQUESTS_PER_WINDOW.values())  # one row, a count
        assert sum(p.parsed for p in parsers.values()) == list_pages - counts_only
        assert counts["messages"] > 2500
        assert client.requests_by_operation["filter_messages"] > len(result.windows)  # windows of several pages
