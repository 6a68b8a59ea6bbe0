"""Every legacy operation, called over HTTP with valid inputs, answers what the vendor's OpenAPI file declares.

The spec lives beside the repository (../shared/reference); the tests skip when it is absent. Its OpenAPI 3.0
schemas are converted to JSON Schema 2020-12: `$ref`s resolve through a `referencing` registry, discriminators
become if/then branches, `format: date-time` must be the API's `yyyy-MM-ddTHH:mm:ss.SSSZ`, integer formats get
their bounds, and objects reject properties the spec does not name (so a misspelt field fails).
"""

from __future__ import annotations

import copy
from datetime import timedelta
from typing import Any

import pytest
import requests

from reporter_etl.simulator import OPERATIONS, Simulator, WorldConfig
from reporter_etl.simulator.server import format_api_datetime
from tests.fixed_dates import TEST_END_DATE
from tests.vendor_spec import legacy_spec

jsonschema = pytest.importorskip("jsonschema")
referencing = pytest.importorskip("referencing")

pytestmark = pytest.mark.spec

SPEC_URI = "urn:reporter-api-legacy"
PREFIX = "/api/reporter/p/{token}"
HTTP_METHODS = ("get", "post", "put", "delete", "patch")
TOKEN = "spec-token"


# ------------------------------------------------------------------------------------------ the spec


@pytest.fixture(scope="module")
def spec() -> dict[str, Any]:
    return legacy_spec()


def _resolve(spec: dict, node: dict) -> dict:
    while "$ref" in node:
        target: Any = spec
        for part in node["$ref"].removeprefix("#/").split("/"):
            target = target[part]
        node = target
    return node


def spec_operations(spec: dict) -> dict[str, dict[str, Any]]:
    """operationId -> {method, path, params, body, response schema} read from the spec."""
    result = {}
    for path, item in spec["paths"].items():
        shared = item.get("parameters", [])
        for method in HTTP_METHODS:
            if method not in item:
                continue
            op = item[method]
            params = {}
            for raw in shared + op.get("parameters", []):
                param = _resolve(spec, raw)
                params[(param["in"], param["name"])] = param
            body = op.get("requestBody")
            responses = {str(k): _resolve(spec, v) for k, v in op["responses"].items()}
            content = responses["200"].get("content", {}).get("application/json")
            result[op["operationId"]] = {
                "method": method.upper(), "path": path, "params": params, "body": body,
                "response": content["schema"] if content else None,
            }  # fmt: skip
    return result


def _param_kind(spec: dict, schema: dict) -> tuple[str, tuple[str, ...] | None]:
    schema = _resolve(spec, schema)
    if "enum" in schema:
        return "string", tuple(schema["enum"])
    kind = {"boolean": "bool", "array": "string[]"}.get(schema["type"])
    if kind:
        return kind, None
    if schema["type"] == "integer":
        return schema.get("format", "int64"), None
    return schema.get("format", "string"), None


# ------------------------------------------------------------------------------------------ schema conversion


DATE_TIME_PATTERN = r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$"
INT_BOUNDS = {"int32": (-(2**31), 2**31 - 1), "int64": (-(2**63), 2**63 - 1)}


def _convert(node: Any, strict: bool, part_of_all_of: bool = False) -> Any:
    if isinstance(node, list):
        return [_convert(item, strict, part_of_all_of) for item in node]
    if not isinstance(node, dict):
        return node
    out = {k: _convert(v, strict, k == "allOf") for k, v in node.items()
           if k not in ("discriminator", "nullable", "example")}  # fmt: skip
    if "$ref" in out:
        out["$ref"] = SPEC_URI + out["$ref"]
    if node.get("nullable") and "type" in out:
        out["type"] = [out["type"], "null"]
    fmt = node.get("format")
    if fmt == "date-time":
        out["pattern"] = DATE_TIME_PATTERN
    elif fmt == "date":
        out["pattern"] = r"^\d{4}-\d{2}-\d{2}$"
    elif fmt in INT_BOUNDS:
        out["minimum"], out["maximum"] = INT_BOUNDS[fmt]
    has_shape = "properties" in node or "allOf" in node
    # A part of an allOf must not close the object: the whole (which is strict itself) sees all parts' properties.
    if strict and has_shape and not part_of_all_of and "additionalProperties" not in node:
        # Required names the spec forgot to list (StateRoutesInfo.states) are allowed, not invented.
        out.setdefault("properties", {})
        for name in node.get("required", ()):
            out["properties"].setdefault(name, {})
        out["unevaluatedProperties"] = False
    return out


def json_schema_registry(spec: dict) -> referencing.Registry:
    """The spec's components as a JSON Schema 2020-12 resource; discriminated bases validate their subtype."""
    schemas = spec["components"]["schemas"]
    converted: dict[str, Any] = {}
    bases = {name: s["discriminator"] for name, s in schemas.items() if "discriminator" in s}
    for name, schema in schemas.items():
        schema = copy.deepcopy(schema)
        for part in schema.get("allOf", ()):  # subtypes extend the base's core, not the dispatching base
            base = part.get("$ref", "").rsplit("/", 1)[-1]
            if base in bases:
                part["$ref"] = f"#/components/schemas/{base}__core"
        if name in bases:
            core = {k: v for k, v in schema.items() if k != "discriminator"}
            converted[f"{name}__core"] = _convert(core, strict=False)
            prop = bases[name]["propertyName"]
            branches = [
                {"if": {"properties": {prop: {"const": value}}, "required": [prop]},
                 "then": {"$ref": SPEC_URI + target}}
                for value, target in bases[name]["mapping"].items()
            ]  # fmt: skip
            converted[name] = {"allOf": [{"$ref": f"{SPEC_URI}#/components/schemas/{name}__core"}, *branches],
                               "unevaluatedProperties": False}  # fmt: skip
        else:
            converted[name] = _convert(schema, strict=True)
    document = {"components": {"schemas": converted}}
    resource = referencing.Resource.from_contents(document, default_specification=referencing.jsonschema.DRAFT202012)
    return referencing.Registry().with_resource(SPEC_URI, resource)


def validator_for(spec: dict, registry: referencing.Registry, schema: dict) -> jsonschema.Validator:
    return jsonschema.Draft202012Validator(_convert(schema, strict=True), registry=registry)


# ------------------------------------------------------------------------------------------ the table vs the spec


def test_served_operations_are_exactly_the_specs(spec: dict) -> None:
    declared = {(o["method"], o["path"]) for o in spec_operations(spec).values()}
    served = {(op.method, op.spec_path) for op in OPERATIONS}
    assert len(OPERATIONS) == 72
    assert served == declared


def test_operation_table_matches_the_spec(spec: dict) -> None:
    problems = []
    for op in OPERATIONS:
        theirs = spec_operations(spec)[op.operation_id]
        assert (op.method, op.spec_path) == (theirs["method"], theirs["path"]), op.operation_id
        declared = {(where, name): p for (where, name), p in theirs["params"].items() if name != "token"}
        ours = {(p.location, p.name): p for p in op.params}
        if set(ours) != set(declared):
            problems.append(f"{op.operation_id}: params {sorted(ours)} != {sorted(declared)}")
            continue
        for key, param in declared.items():
            kind, enum = _param_kind(spec, param["schema"])
            mine = ours[key]
            if (mine.kind, mine.required, mine.enum) != (kind, bool(param.get("required")), enum):
                problems.append(f"{op.operation_id} {key}: {(mine.kind, mine.required, mine.enum)} != "
                                f"{(kind, bool(param.get('required')), enum)}")  # fmt: skip
            if "minimum" in param["schema"] and mine.minimum != param["schema"]["minimum"]:
                problems.append(f"{op.operation_id} {key}: minimum {mine.minimum}")
        body = theirs["body"]
        if (body is None) != (op.body is None):
            problems.append(f"{op.operation_id}: body presence differs")
        elif body is not None:
            schema = body["content"]["application/json"]["schema"]
            array = schema.get("type") == "array"
            name = (schema["items"] if array else schema)["$ref"].rsplit("/", 1)[-1]
            assert op.body is not None
            if (op.body.schema, op.body.array, op.body.required) != (name, array, bool(body.get("required"))):
                problems.append(f"{op.operation_id}: body {op.body} != {name}, array={array}")
        response = theirs["response"]
        if response is None:
            expected = None
        elif response.get("type") == "array":
            expected = response["items"]["$ref"].rsplit("/", 1)[-1] + "[]"
        else:
            expected = response.get("$ref", "").rsplit("/", 1)[-1] or response["type"]
        if op.response_schema != expected:
            problems.append(f"{op.operation_id}: response {op.response_schema} != {expected}")
        if (expected is None) != (op.response == "empty"):
            problems.append(f"{op.operation_id}: response kind {op.response} with schema {expected}")
    assert not problems, "\n".join(problems)


# ------------------------------------------------------------------------------------------ every operation over HTTP


@pytest.fixture(scope="module")
def sim():
    config = WorldConfig(end_date=TEST_END_DATE, seed=11, days=4, messages_per_day=120)
    with Simulator(config, token=TOKEN) as simulator:
        yield simulator


class Caller:
    """Calls operations by operationId and keeps the last response of each."""

    def __init__(self, sim: Simulator) -> None:
        self.sim = sim
        self.http = requests.Session()
        self.responses: dict[str, requests.Response] = {}
        self.paths = {op.operation_id: (op.method, op.path) for op in OPERATIONS}

    def __call__(self, operation_id: str, path_params: dict | None = None, *, params: dict | None = None,
                 json: Any = None, headers: dict | None = None) -> requests.Response:  # fmt: skip
        method, path = self.paths[operation_id]
        url = self.sim.api_url + path.format(**(path_params or {}))
        response = self.http.request(method, url, params=params, json=json, headers=headers, timeout=60)
        self.responses[operation_id] = response
        if response.status_code != 200:
            raise AssertionError(f"{operation_id}: {response.status_code} {response.text[:500]}")
        return response


def _run_every_operation(call: Caller) -> None:
    """One scenario touching all 72 operations; later calls use ids earlier ones returned."""
    sim = call.sim
    world = sim.world
    day0, day_last = world.start.date(), (world.end - timedelta(days=1)).date()
    window = [{"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": format_api_datetime(world.start),
               "to": format_api_datetime(world.now - timedelta(milliseconds=1))}]  # fmt: skip
    filters = {"filters": window}
    tz = {"Timezone": "180"}

    messages = call("getMessageDataByFilter", params={"page": 0, "size": 50}, json=filters).json()["messages"]
    message = next(m for m in messages if m.get("question"))
    sid, qid, bot, client = message["sessionId"], message["questionId"], message["botId"], message["client"]["id"]
    stats_params = {"intervalType": "DAY", "step": 1}
    call("getSwitchedSessionCountByDay", params={"dateFrom": day0, "dateTo": day_last,
                                                 "transferToOperatorMethod": "SWITCH"}, headers=tz)  # fmt: skip
    call("getTelephonyStats", params={"dateFrom": day0, "dateTo": day_last}, headers=tz)
    call("getAllProjectsUniqueClients")
    call("getMessageStats", params=stats_params, json=filters, headers=tz)
    call("getSessionStats", params=stats_params, json=filters, headers=tz)
    call("getSessionLabelStats", params=stats_params, json=filters, headers=tz)
    call("getLogLabelStats", params=stats_params, json=filters, headers=tz)
    call("getSessionDataByFilter", params={"needToReturnSessionLabels": "true", "size": 50}, json=filters)
    call("countAllProjectsSessions")
    call("getClientDataByFilter", params={"size": 50}, json=filters)
    call("blockClient", params={"botId": bot, "clientId": client}, json={"blockReason": "spam", "blockedBy": 7})
    call("unblockClient", params={"botId": bot, "clientId": client})
    call("getAllClientDataForBot", params={"botId": bot, "dateTo": format_api_datetime(world.now), "size": 50})
    call("getMessagesForSession", params={"sessionId": sid, "responseDataJsonPath": ["a.b"]})
    call("getMessagesForClient", params={"botId": bot, "clientId": client})
    call("getMessagePageInSession", params={"sessionId": sid, "questionId": qid, "size": 2})
    call("getMessagePageInClient", params={"botId": bot, "clientId": client, "questionId": qid, "size": 2})
    call("getStateRoutesDataByFilter", params={"size": 10}, json=filters)

    # message labels and groups
    call("getMessageLabels")
    label = call("createMessageLabel", json={"name": "spec label", "priority": 90,
                                             "group": {"name": "spec group"}}).json()  # fmt: skip
    label_id, group_id = label["id"], label["group"]["id"]
    call("getMessageLabel", {"id": label_id})
    call("updateMessageLabel", {"id": label_id}, json={"name": "spec label 2", "groupId": group_id, "priority": 91})
    call("updateMessageLabelsPriority", json=[{"id": label_id, "newPriority": 92}])
    call("getLabelGroups")
    call("getLabelGroup", {"id": group_id})
    call("updateMessageLabelGroups", json=[{"id": group_id, "name": "spec group 2"}])
    call("updateMessageLabelGroup", {"id": group_id}, json={"name": "spec group 3", "priority": 40})
    call("updateGroupsPriority", json=[{"id": group_id, "newPriority": 41}])
    call("createMessageLabels", json=[{"name": "doomed label", "priority": 93, "group": {"name": "doomed group"}}])
    call("updateMessageLabels", json=[{"id": label_id, "name": "spec label 3"}])
    call("addLabelToMessage", params={"questionId": qid}, json={"labelId": label_id})
    call("deleteLabelFromMessage", params={"questionId": qid}, json={"labelId": label_id})
    call("setMessageLabels", params={"questionId": qid}, json=[{"labelId": label_id}])
    call("setLabelToMessages", json={"comparisonType": "CONTAINS", "labels": [label_id], "objectIds": [qid]})
    doomed = next(x for x in call("getMessageLabels").json() if x["name"] == "doomed label")
    call("deleteMessageLabel", {"id": doomed["id"]})
    call("deleteMessageLabelGroup", {"id": doomed["group"]["id"]})

    # session labels
    call("getSessionLabels")
    session_label_id = call("createSessionLabel", json={"name": "spec session label", "priority": 60}).json()["id"]
    call("getSessionLabel", {"id": session_label_id})
    call("updateSessionLabel", {"id": session_label_id}, json={"name": "spec session label 2", "priority": 61})
    call("updateSessionsPriority", json=[{"id": session_label_id, "newPriority": 62}])
    call("updateSessionLabels", json=[{"id": session_label_id, "name": "spec session label 3"}])
    call("addLabelToSession", params={"sessionId": sid}, json={"labelId": session_label_id})
    call("deleteLabelFromSession", params={"sessionId": sid}, json={"labelId": session_label_id})
    call("setSessionLabels", params={"sessionId": sid}, json=[{"labelId": session_label_id}])
    call("setLabelToSessions", json={"comparisonType": "CONTAINS", "labels": [session_label_id], "objectIds": [sid]})

    # comments
    call("addCommentToMessage", {"questionId": qid}, json={"questionId": qid, "questionid": qid, "comment": "spec"})
    call("deleteCommentFromMessage", {"questionId": qid})

    # filters
    call("getAvailableFilters", params={"analyticsSection": "SESSIONS"}, headers={"language": "en"})
    call("getFilterOptions", params={"filterKey": "CHANNEL_TYPE", "analyticsSection": "SESSIONS"}, json=filters)
    call("getIntervalFilterOptions", params={"filterKey": "MESSAGE_COUNT", "analyticsSection": "SESSIONS"},
         json=filters)  # fmt: skip
    filter_set_id = call("createFilterSetId", json=filters).json()
    call("getUserFilterSet", {"filterSetId": filter_set_id})

    # experiments
    experiment = {"key": "spec-exp", "description": "spec", "branches": [{"key": "a"}, {"key": "b"}],
                  "status": "RUNNING"}  # fmt: skip
    call("createScenarioExperiment", json=experiment)
    call("getScenarioExperiments")
    call("joinScenarioExperiment", params={"sessionId": sid, "experimentKey": "spec-exp", "botId": bot})
    call("countScenarioExperimentSessions")
    call("stopScenarioExperiment", params={"experimentKey": "spec-exp"})
    call("deleteScenarioExperiment", params={"experimentKey": "spec-exp"})

    # reports
    csv_settings = {"fileType": "CSV", "withHeader": True, "delimiter": ";"}
    task = call("createSessionReport", json={"filters": window, "settings": csv_settings}, headers=tz).json()
    call("createMessageReport", json={"filters": window, "settings": {"fileType": "XLSX"}}, headers=tz)
    call("createClientReport", json={"filters": window, "settings": csv_settings})
    call("createTelephonyReport", params={"startTime": format_api_datetime(world.start),
                                          "endTime": format_api_datetime(world.now)})  # fmt: skip
    call("createDailyReport", json={"date": str(day_last), "settings": {"fileType": "CSV"}})
    call("createClientListReport", json={"filters": [], "settings": {"fileType": "CSV"}})
    call("getNotDeletedReportGenerationTasks")
    for _ in range(3):
        call("getReportGenerationTask", {"reportGenerationTaskId": task["taskId"]})
    call("deleteReportGenerationTask", {"reportGenerationTaskId": task["taskId"]})
    call("deleteCompletedReportGenerationTasks")
    call("deleteAllReportGenerationTasks")
    call("deleteSessionLabel", {"id": session_label_id})
    call("deleteMessageLabel", {"id": label_id})


@pytest.fixture(scope="module")
def responses(spec: dict, sim: Simulator) -> dict[str, requests.Response | str]:
    """Each operation's response, or for operations the scenario never reached, why it stopped."""
    call = Caller(sim)
    try:
        _run_every_operation(call)
    except Exception as exc:  # a failed step fails its own test and leaves the later ones explaining why
        stopped = f"the scenario stopped before this call: {exc}"
        return {**{op.operation_id: stopped for op in OPERATIONS}, **call.responses}
    return dict(call.responses)


@pytest.fixture(scope="module")
def registry(spec: dict) -> referencing.Registry:
    return json_schema_registry(spec)


@pytest.mark.parametrize("operation_id", [op.operation_id for op in OPERATIONS])
def test_operation_answers_its_declared_schema(operation_id: str, spec: dict, registry, responses: dict) -> None:
    response = responses.get(operation_id, f"{operation_id} was not called")
    assert not isinstance(response, str), response
    assert response.status_code == 200, response.text[:500]
    declared = spec_operations(spec)[operation_id]["response"]
    if declared is None:
        assert response.content == b"", "the spec declares no body"
        return
    assert response.headers["Content-Type"].startswith("application/json")
    errors = sorted(validator_for(spec, registry, declared).iter_errors(response.json()), key=str)
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors[:10])


def test_report_task_moves_to_completed_with_a_file_url(responses: dict) -> None:
    assert not isinstance(responses["getReportGenerationTask"], str), responses["getReportGenerationTask"]
    final = responses["getReportGenerationTask"].json()
    assert final["status"] == "COMPLETED"
    assert final["fileUrl"].startswith("http://127.0.0.1:") and TOKEN not in final["fileUrl"]


def test_the_validation_is_not_vacuous(spec: dict, registry, responses: dict) -> None:
    response = responses["getMessageDataByFilter"]
    assert not isinstance(response, str), response
    data = response.json()
    message = data["messages"][0]
    message["questionid"] = message.pop("questionId")  # misspelt and missing
    message["timestamp"] = message["timestamp"].replace(".000Z", "Z").replace("Z", "+00:00")
    validator = validator_for(spec, registry, spec_operations(spec)["getMessageDataByFilter"]["response"])
    problems = " ".join(e.message for e in validator.iter_errors(data))
    assert "'questionId' is a required property" in problems
    assert "questionid" in problems and "does not match" in problems
