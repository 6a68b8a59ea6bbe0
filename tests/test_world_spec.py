"""The World's renderings and filter discovery against the vendor's legacy OpenAPI file (skipped without it)."""

from __future__ import annotations

import re
from datetime import date

import orjson
import pytest

from reporter_etl.simulator.filters import KEYS
from reporter_etl.simulator.world import FilterError, World, WorldConfig
from tests.vendor_spec import legacy_spec

DATE_TIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")

pytestmark = pytest.mark.spec


@pytest.fixture(scope="module")
def spec() -> dict:
    return legacy_spec()


@pytest.fixture(scope="module")
def world() -> World:
    return World(WorldConfig(seed=13, days=4, end_date=date(2024, 6, 30), messages_per_day=400))


def _validator(spec: dict, name: str):
    jsonschema = pytest.importorskip("jsonschema")
    return jsonschema.Draft7Validator({"$ref": f"#/components/schemas/{name}", "components": spec["components"]})


def _check(spec: dict, name: str, items: list[dict]) -> None:
    schema = spec["components"]["schemas"][name]
    props = schema["properties"]
    validator = _validator(spec, name)
    orjson.dumps(items)  # plain Python values only (no numpy scalars), as the server serialises them
    for item in items:
        errors = sorted(validator.iter_errors(item), key=str)
        assert not errors, f"{name}: {errors[0].message} in {item}"
        known = set(props) | set(schema.get("required", []))  # StateRoutesInfo requires an undeclared `states`
        assert set(item) <= known, f"{name}: unknown fields {set(item) - known}"
        for field, value in item.items():
            if props.get(field, {}).get("format") == "date-time":
                assert DATE_TIME.match(value), (name, field, value)
            assert value is not None, (name, field)


def test_rendered_rows_match_the_spec(spec: dict, world: World) -> None:
    messages = world.query_messages(None)
    _check(spec, "ExtendedMessage", world.extended_messages(messages))
    _check(spec, "Message", world.messages(messages))
    sessions = world.query_sessions(None)
    _check(spec, "SessionInfo", world.session_infos(sessions, True))
    _check(spec, "ClientExtendedInfo", world.client_infos(world.query_clients(None)))
    _check(spec, "MessageLabelDto", world.message_labels())
    _check(spec, "MessageLabelGroupDto", world.label_groups())
    _check(spec, "SessionLabelDto", world.session_labels())
    _check(spec, "ScenarioExperimentDto", world.experiments())
    _check(spec, "ScenarioExperimentJoinedSessionsDto", world.experiment_session_counts())
    _check(spec, "TelephonyStats", [world.telephony_stats(date(2024, 6, 27), date(2024, 6, 30), None, 180)])
    _check(spec, "LogLabelStats", world.label_series("log", None, "DAY", 1, 0))
    _check(spec, "SessionLabelStats", world.label_series("session", None, "WEEK", 1, 0))
    _check(spec, "StateRoutesInfo", world.state_routes(None))
    for entity in ("messages", "sessions"):
        points = [{"ts": t, "value": v} for t, v in world.series(entity, None, "DAY", 1, 180)]
        _check(spec, "TimestampToValue", points)
    switched = world.switched_sessions(date(2024, 6, 27), date(2024, 6, 30), None, "SWITCH", None, 0)
    _check(spec, "TimestampToValue", [{"ts": t, "value": v} for t, v in switched])
    _check(spec, "UserFilterSetDto", [world.filter_set(world.save_filter_set({"filters": []}))])


def test_filter_keys_and_types_match_the_spec(spec: dict, world: World) -> None:
    schemas = spec["components"]["schemas"]
    assert set(KEYS) == set(schemas["FilterKey"]["enum"])
    mapping = schemas["FilterSettings"]["discriminator"]["mapping"]
    for section in schemas["AnalyticsSection"]["enum"]:
        infos = world.available_filters(section)
        _check(spec, "FilterInfo", infos)
        assert {i["key"]: i["type"] for i in infos} == {k: s.type for k, s in KEYS.items()}
        for info in infos:
            settings = info["settings"]
            assert settings["type"] == info["type"] and settings["key"] == info["key"]
            sub = mapping[settings["type"]].rsplit("/", 1)[1]
            errors = list(_validator(spec, sub).iter_errors(settings))
            assert not errors, (info["key"], errors[0].message)
            required = [r for part in schemas[sub].get("allOf", []) for r in part.get("required", [])]
            assert set(required) <= set(settings), info["key"]
    with pytest.raises(FilterError):
        world.available_filters("NOPE")


def _example(key: str, type_: str, world: World) -> dict:
    examples = {
        "TEXT": {"values": ["order"], "comparisonType": "CONTAINS", "isCaseSensitive": False},
        "DATE_TIME_RANGE": {"from": "2024-06-29T00:00:00.000Z", "to": "2024-06-29T23:59:59.999Z"},
        "NUMERIC_RANGE": {"from": 1, "to": "50"},
        "CHECKBOX": {"options": ["x"], "comparisonType": "NOT_CONTAINS"},
        "TREE": {"options": ["/Order"], "comparisonType": "CONTAINS"},
        "CUSTOM_FIELDS_IN_RESPONSE": {"responseDataJsonPaths": ["request.data.phone"]},
        "COMPOSITE_FILTER": {"options": [{"key": "lang", "value": "en", "comparisonOption": "EQUALS"}]},
    }
    if type_ == "RADIO":
        return {"key": key, "type": type_, "option": KEYS[key].radio_options[-1]}
    return {"key": key, "type": type_, **examples[type_]}


def test_every_legacy_key_is_accepted_with_its_type(spec: dict, world: World) -> None:
    for key in spec["components"]["schemas"]["FilterKey"]["enum"]:
        f = _example(key, KEYS[key].type, world)
        for query in (world.query_messages, world.query_sessions, world.query_clients):
            query([f])
        options = world.filter_options(key, "SESSIONS", [f])
        _check(spec, "FilterOption", options)
        if KEYS[key].type in ("NUMERIC_RANGE", "DATE_TIME_RANGE"):
            _check(spec, "IntervalFilterOptions", [world.interval_filter_options(key, "CLIENTS", [f])])
        wrong = "TEXT" if KEYS[key].type != "TEXT" else "RADIO"
        with pytest.raises(FilterError) as info:
            world.query_sessions([{**f, "type": wrong}])
        assert info.value.error == "reporter.filter.type_mismatch"


def test_filter_options_count_the_other_filters(world: World) -> None:
    options = world.filter_options("CHANNEL_TYPE", "SESSIONS", None)
    total = sum(o["frequency"] for o in options)
    assert total == len(world.query_sessions(None))
    only_vk = [{"key": "CHANNEL_TYPE", "type": "CHECKBOX", "options": ["vk"], "comparisonType": "CONTAINS"}]
    again = world.filter_options("CHANNEL_TYPE", "SESSIONS", only_vk)  # its own filter only marks the selection
    assert [o["frequency"] for o in again] == [o["frequency"] for o in options]
    assert [o["value"] for o in again if o["isSelected"]] == ["vk"]
    bots = world.filter_options("BOT_ID", "CLIENTS", only_vk)
    assert [o["value"] for o in bots] == [b.bot_id for b in world.bots if b.channel_type == "vk"]
    classes = world.filter_options("NLP_CLASS", "SESSIONS", None)
    order = next(o for o in classes if o["value"] == "/Order")
    assert "/Order/Status" in order["childValues"]
    status = next(o for o in classes if o["value"] == "/Order/Status")
    assert status["parentValue"] == "/Order"
    tree = [{"key": "NLP_CLASS", "type": "TREE", "options": ["/Order"], "comparisonType": "CONTAINS"}]
    assert order["frequency"] == len(world.query_messages(tree))
    labels = world.filter_options("LOG_LABELS", "SESSIONS", None)
    assert [o["value"] for o in labels] == [str(x["id"]) for x in world.message_labels()]
    interval = world.interval_filter_options("MESSAGE_COUNT", "SESSIONS", None)
    counts = [s["questionCount"] for s in world.session_infos(world.query_sessions(None), False)]
    assert interval == {"minValue": float(min(counts)), "maxValue": float(max(counts))}
    with pytest.raises(FilterError):
        world.interval_filter_options("CHANNEL_TYPE", "SESSIONS", None)
    with pytest.raises(FilterError):
        world.filter_options("NOT_A_KEY", "SESSIONS", None)
