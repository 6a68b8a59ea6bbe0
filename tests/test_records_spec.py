"""The column contract covers every field of the list items the vendor's OpenAPI file describes.

A field the contract misses is not lost (it lands in ``extra``), but it would be reported as "new" on every
sync and be awkward to query; this test names it instead.
"""

from __future__ import annotations

from typing import Any

import pytest

from reporter_etl.api.operations import operation
from reporter_etl.entities import CLIENTS, MESSAGES, SESSIONS, Entity
from tests.vendor_spec import legacy_spec

# Objects the contract flattens into columns one level deep; anything else is kept whole.
FLATTENED = {"client", "operatorInfo", "nlpInfo"}


@pytest.fixture(scope="module")
def schemas() -> dict[str, Any]:
    return legacy_spec()["components"]["schemas"]


def resolve(schemas: dict[str, Any], schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = schemas[schema["$ref"].rsplit("/", 1)[-1]]
    return schema


def item_fields(schemas: dict[str, Any], page_schema: str, items_field: str) -> set[str]:
    item = resolve(schemas, resolve(schemas, schemas[page_schema])["properties"][items_field]["items"])
    names: set[str] = set()
    for name, prop in item["properties"].items():
        prop = resolve(schemas, prop)
        if name in FLATTENED:
            names.update(f"{name}.{sub}" for sub in prop["properties"])
        else:
            names.add(name)
    return names


@pytest.mark.parametrize(("contract", "page_schema"),
                         [(MESSAGES, "MessageData"), (SESSIONS, "SessionsData"), (CLIENTS, "ClientsData")])  # fmt: skip
def test_contract_matches_the_openapi_item(schemas: dict[str, Any], contract: Entity, page_schema: str) -> None:
    items_field = operation(contract.operation).items_field
    assert items_field is not None
    spec_fields = item_fields(schemas, page_schema, items_field)
    ours = {column.api_field for column in contract.columns if column.api_field}
    assert spec_fields - ours == set(), "fields of the API the contract does not map"
    assert ours - spec_fields == set(), "contract fields the API does not describe"
