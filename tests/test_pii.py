"""PII at ingest: keep, a keyed hash that keeps joins, or drop; `hash` refuses to run without a key."""

from __future__ import annotations

import pyarrow as pa
import pytest

from reporter_etl.errors import ConfigurationError
from reporter_etl.pii import PII_KEY_ENV, PiiPolicy
from tests.warehouse_rows import client, clients, message, messages, session, sessions

KEY = {PII_KEY_ENV: "a-long-enough-test-key-9f3"}
PHONE = "79161234567"
PHONE_SESSION = f"resterisk-1001-p-1-{PHONE}.0b9e2d6c-1f3a-4e5b-9c7d-2a4b6c8d0e1f"


def phone_rows() -> tuple[pa.Table, pa.Table, pa.Table]:
    m = message("q1", session_id=PHONE_SESSION, question="my card 4111 1111 1111 1111")
    m.update(client_id=PHONE, client_first_name="Ivan", client_username="ivan_p", text_answer="Hello Ivan",
             request_data='{"query": "my card"}', extra='{"newField": "x"}')  # fmt: skip
    s = session(PHONE_SESSION)
    s.update(client_id=PHONE, client_first_name="Ivan", first_question="my card", audio_file_url="https://rec/1.wav",
             session_data={"experiment.e1": "a", "phone": PHONE})  # fmt: skip
    c = client(PHONE)
    c.update(first_name="Ivan", username="ivan_p", last_session_id=PHONE_SESSION, block_reason="rude to Ivan")
    other = message("q2", session_id="chatwidget-1001-p-1-abc.uuid", question="hi")
    other.update(client_first_name="Anna")
    return messages(m, other), sessions(s), clients(c)


def test_keep_changes_nothing() -> None:
    m, s, c = phone_rows()
    keep = PiiPolicy.from_mode("keep", {})
    assert keep.apply(m, "messages").equals(m) and keep.apply(s, "sessions").equals(s)
    assert keep.apply(c, "clients").equals(c)


@pytest.mark.parametrize("mode", ["hash", "drop"])
def test_hash_and_drop_need_a_key(mode: str) -> None:
    for environ in ({}, {PII_KEY_ENV: "short"}):
        with pytest.raises(ConfigurationError, match=PII_KEY_ENV):
            PiiPolicy.from_mode(mode, environ)
    with pytest.raises(ConfigurationError, match="keep, hash, drop"):
        PiiPolicy.from_mode("mask", KEY)
    assert KEY[PII_KEY_ENV] not in repr(PiiPolicy.from_mode(mode, KEY))


def test_hash_keeps_joins_and_hides_every_personal_value() -> None:
    policy = PiiPolicy.from_mode("hash", KEY)
    m, s, c = (policy.apply(t, e) for t, e in zip(phone_rows(), ("messages", "sessions", "clients"), strict=True))
    first = m.to_pylist()[0]
    # One client, one session: equal everywhere, and none of it readable.
    assert first["client_id"] == s.column("client_id")[0].as_py() == c.column("client_id")[0].as_py()
    assert first["session_id"] == s.column("session_id")[0].as_py() == c.column("last_session_id")[0].as_py()
    assert first["client_id"].startswith("h:") and PHONE not in first["session_id"]
    assert first["session_id"].startswith("resterisk-1001-p-1-h:")
    assert first["session_id"].endswith(PHONE_SESSION.split(".", 1)[1])
    for value in (first["client_first_name"], first["client_username"], first["question"], first["text_answer"]):
        assert value.startswith("h:")
    assert first["request_data"] is None and first["extra"] is None
    assert m.to_pylist()[1]["client_first_name"] == policy.digest("Anna")
    assert m.to_pylist()[1]["session_id"] == "chatwidget-1001-p-1-abc.uuid"  # not a phone: kept
    assert s.column("audio_file_url")[0].as_py() is None
    assert s.column("session_data")[0].as_py() == [("experiment.e1", "a")]
    assert c.column("first_name")[0].as_py() == first["client_first_name"]  # the same name hashes the same
    every_value = repr([t.to_pylist() for t in (m, s, c)])
    for secret in (PHONE, "Ivan", "ivan_p", "4111", "rec/1.wav"):
        assert secret not in every_value
    # The same key gives the same values on the next run; another key other values.
    again = PiiPolicy.from_mode("hash", KEY).apply(phone_rows()[0], "messages")
    assert again.equals(m)
    other_key = PiiPolicy.from_mode("hash", {PII_KEY_ENV: "another-key-0123456789"}).apply(phone_rows()[0], "messages")
    assert other_key.column("client_id")[0].as_py() != first["client_id"]


def test_drop_nulls_names_and_texts_and_still_hashes_phone_ids() -> None:
    policy = PiiPolicy.from_mode("drop", KEY)
    m, s, c = (policy.apply(t, e) for t, e in zip(phone_rows(), ("messages", "sessions", "clients"), strict=True))
    first = m.to_pylist()[0]
    assert first["client_first_name"] is None and first["question"] is None and first["text_answer"] is None
    assert s.column("first_question")[0].as_py() is None and c.column("block_reason")[0].as_py() is None
    assert first["client_id"] == c.column("client_id")[0].as_py() == policy.digest(PHONE)
    assert first["question_id"] == "q1" and m.schema.equals(phone_rows()[0].schema)
    assert PHONE not in repr([t.to_pylist() for t in (m, s, c)])
