"""The client's operation table agrees with the vendor's legacy OpenAPI file, operation by operation."""


import pytest

from reporter_etl.api.client import ReporterClient
from reporter_etl.api.operations import OPERATIONS, Retry
from tests.vendor_spec import legacy_spec

PREFIX = "/api/reporter/p/{token}"

pytestmark = pytest.mark.spec


@pytest.fixture(scope="module")
def spec_operations() -> dict[str, dict]:
    spec = legacy_spec()
    components = spec["components"]["parameters"]

    def resolve(p: dict) -> dict:
        return components[p["$ref"].rsplit("/", 1)[1]] if "$ref" in p else p

    found = {}
    for path, item in spec["paths"].items():
        shared = [resolve(p) for p in item.get("parameters", [])]
        for method, op in item.items():
            if method not in ("get", "post", "put", "delete"):
                continue
            params = {(p["in"], p["name"]): p for p in shared + [resolve(p) for p in op.get("parameters", [])]}
            params.pop(("path", "token"), None)
            found[op["operationId"]] = {
                "method": method.upper(), "path": path, "params": params, "body": op.get("requestBody"),
                "responses": op.get("responses", {}),
            }  # fmt: skip
    return found


def test_every_spec_operation_has_exactly_one_row(spec_operations):
    assert sorted(op.operation_id for op in OPERATIONS) == sorted(spec_operations)


@pytest.mark.parametrize("op", OPERATIONS, ids=lambda o: o.name)
def test_row_matches_spec(op, spec_operations):
    spec = spec_operations[op.operation_id]
    assert op.method == spec["method"]
    assert PREFIX + op.path == spec["path"]
    ours = {(p.location, p.api_name): p for p in op.params}
    assert set(ours) == set(spec["params"])
    for key, p in ours.items():
        assert p.required == bool(spec["params"][key].get("required")), key
    body = spec["body"]
    assert (op.body != "none") == (body is not None)
    if body is not None:
        assert op.body_required == bool(body.get("required"))
        schema = body["content"]["application/json"]["schema"]
        assert (op.body == "filters") == (schema.get("$ref", "").endswith("/FiltersDto"))
    ok = spec["responses"].get("200") or spec["responses"].get(200)
    has_content = "content" in ok or ok.get("$ref", "").endswith("/ReportGenerationTaskResponse")
    assert (op.response != "empty") == has_content
    if op.items_field:
        assert ("page", "query") in {(p.api_name, p.location) for p in op.params}


def test_every_row_has_a_client_method():
    for op in OPERATIONS:
        assert callable(getattr(ReporterClient, op.name, None)), op.name


def test_only_creating_writes_are_limited_to_unsent_retries():
    unsent = {op.name for op in OPERATIONS if op.retry is Retry.UNSENT}
    assert unsent == {
        "create_message_label", "create_message_labels", "create_session_label", "create_experiment",
        "save_filter_set", "create_session_report", "create_message_report", "create_client_report",
        "create_telephony_report", "create_daily_report", "create_client_list_report",
    }  # fmt: skip
