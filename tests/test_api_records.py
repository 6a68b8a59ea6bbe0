"""Page items → Arrow with the fixed column contract: values typed, unknown fields kept, clear errors."""

import json
from datetime import UTC, datetime

import pyarrow as pa
import pytest

from reporter_etl.api.records import items_to_record_batch, unknown_field_names
from reporter_etl.entities import CLIENTS, MESSAGES, SESSIONS
from reporter_etl.errors import RecordContractError


def message(**overrides) -> dict:
    item = {
        "sessionId": "s1", "projectShortName": "p", "channelType": "telegram", "botId": "b1",
        "client": {"id": "c1", "firstName": "Ann"}, "sessionStartTime": "2026-01-01T10:00:00.000Z",
        "timestamp": "2026-01-01T10:00:01.234Z", "questionId": "q1", "isLivechat": False, "question": "hi",
        "nlpInfo": {"nlpClass": "/Hello", "confidence": 0.9}, "processingTime": 42, "callTaskId": 7,
        "requestData": {"a": [1, 2]}, "utterancesJson": ["x"],
        "labels": [{"id": 3, "name": "good", "priority": 1, "group": {"id": 9, "name": "quality", "priority": 0}}],
        "sessionLabels": [{"id": 4, "name": "sale", "priority": 2}],
    }  # fmt: skip
    item.update(overrides)
    return {k: v for k, v in item.items() if v is not ...}


def test_message_columns_are_typed_and_flattened():
    batch = items_to_record_batch([message()], MESSAGES)
    assert batch.schema == MESSAGES.schema
    row = batch.to_pylist()[0]
    assert row["message_time"] == datetime(2026, 1, 1, 10, 0, 1, 234000, tzinfo=UTC)
    assert (row["client_id"], row["client_first_name"], row["client_last_name"]) == ("c1", "Ann", None)
    assert (row["nlp_class"], row["nlp_confidence"], row["processing_time_ms"]) == ("/Hello", 0.9, 42)
    assert json.loads(row["request_data"]) == {"a": [1, 2]} and json.loads(row["utterances_json"]) == ["x"]
    assert row["labels"] == [{"id": 3, "name": "good", "priority": 1, "group_id": 9, "group_name": "quality",
                              "group_priority": 0}]  # fmt: skip
    assert row["session_labels"] == [{"id": 4, "name": "sale", "priority": 2}]
    assert row["extra"] is None


def test_unknown_fields_are_kept_in_extra_top_level_and_nested():
    item = message(newField={"x": 1}, client={"id": "c1", "avatar": "a.png"},
                   operatorInfo={"id": "o1", "photoUrl": "p.png", "team": "night"},
                   labels=[{"id": 3, "name": "g", "priority": 1, "group": {"name": "q"}, "color": "red"}])  # fmt: skip
    row = items_to_record_batch([item, message(questionId="q2")], MESSAGES).to_pylist()
    assert json.loads(row[0]["extra"]) == {
        "newField": {"x": 1}, "client": {"avatar": "a.png"}, "operatorInfo": {"team": "night"},
        "labels": [{"id": 3, "name": "g", "priority": 1, "group": {"name": "q"}, "color": "red"}],
    }  # fmt: skip
    assert row[0]["operator_id"] == "o1" and row[0]["operator_photo_url"] == "p.png"
    assert row[1]["extra"] is None


def test_unknown_field_names_are_reported_by_path():
    item = message(newField={"x": 1}, client={"id": "c1", "avatar": "a.png"},
                   operatorInfo={"id": "o1", "team": "night"},
                   labels=[{"id": 3, "name": "g", "priority": 1, "group": {"name": "q", "tone": 2}, "color": "red"}])
    table = items_to_record_batch([item, message(questionId="q2"), message(questionId="q3", mood="ok")], MESSAGES)
    assert unknown_field_names(table, MESSAGES) == {
        "newField", "client.avatar", "operatorInfo.team", "labels[].color", "labels[].group.tone", "mood",
    }  # fmt: skip
    assert unknown_field_names(items_to_record_batch([message()], MESSAGES), MESSAGES) == set()


@pytest.mark.parametrize(
    "overrides, message_part",
    [
        ({"questionId": ...}, "field 'questionId' is required but missing"),
        ({"client": {"firstName": "x"}}, "field 'client.id' is required"),
        ({"timestamp": "yesterday"}, "field 'timestamp' should be a date-time"),
        ({"timestamp": 1700000000000}, "field 'timestamp' should be a date-time"),
        ({"processingTime": 1.5}, "field 'processingTime' should be an integer but is 1.5"),
        ({"callTaskId": "7"}, "field 'callTaskId' should be an integer"),
        ({"isLivechat": "no"}, "field 'isLivechat' should be a boolean"),
        ({"question": 5}, "field 'question' should be a string"),
        ({"client": "c1"}, "field 'client' should be an object"),
        ({"requestData": "{}"}, "field 'requestData' should be an object"),
        ({"labels": [{"id": "x"}]}, "field 'labels' should be an array of labels"),
    ],
)
def test_contract_violations_name_the_field_and_the_item(overrides, message_part):
    with pytest.raises(RecordContractError, match="item 1 of 2") as info:
        items_to_record_batch([message(), message(**overrides)], MESSAGES)
    assert message_part in str(info.value)


def test_a_page_that_is_not_a_list_of_objects_is_refused():
    with pytest.raises(RecordContractError, match="item 0 of 1 on the page is a string"):
        items_to_record_batch(["q1"], MESSAGES)


def test_sessions_and_clients():
    session = {"sessionId": "s1", "projectShortName": "p", "channelType": "vk", "botId": "b", "client": {"id": "c"},
               "startTime": "2026-01-01T10:00:00.000Z", "isLivechat": True, "duration": 5000,
               "sessionData": {"experiment.greeting": "b"}, "customFields": {"phone": "1"}}  # fmt: skip
    row = items_to_record_batch([session], SESSIONS).to_pylist()[0]
    assert row["session_data"] == [("experiment.greeting", "b")] and row["duration_ms"] == 5000
    assert json.loads(row["custom_fields"]) == {"phone": "1"}
    client = {"id": "c", "accountId": 1, "projectShortName": "p", "channelType": "vk", "botId": "b",
              "lastSessionId": "s1", "joinDate": "2026-01-01T10:00:00.000Z",
              "lastVisitDate": "2026-01-02T10:00:00.000Z", "isBlocked": True, "blockedBy": 5,
              "blockDate": "2026-01-02T11:00:00.000Z"}  # fmt: skip
    row = items_to_record_batch([client], CLIENTS).to_pylist()[0]
    assert row["is_blocked"] and row["blocked_by"] == 5 and row["block_date"].hour == 11
    with pytest.raises(RecordContractError, match="sessionData' should be an object of strings"):
        items_to_record_batch([dict(session, sessionData={"k": 1})], SESSIONS)


def test_empty_page_gives_an_empty_batch_with_the_schema():
    batch = items_to_record_batch([], MESSAGES)
    assert batch.num_rows == 0 and batch.schema == MESSAGES.schema
    assert pa.Table.from_batches([batch]).schema == MESSAGES.schema
