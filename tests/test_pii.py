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


# ---- end to end: a sync with --pii against the simulator ---------------------------------------------------

TOKEN = "pii-sync-token-81d2"


def _sync(sim, db, pii: str, monkeypatch) -> None:  # noqa: ANN001
    from reporter_etl.cli import main

    monkeypatch.setenv("REPORTER_TOKEN", TOKEN)
    monkeypatch.setenv("REPORTER_BASE_URL", sim.base_url)
    monkeypatch.setenv(PII_KEY_ENV, KEY[PII_KEY_ENV])
    assert main(["sync", "--db", str(db), "--start", "2026-11-19", "--end", "2026-11-20", "--no-progress",
                 "--no-models", "--pii", pii]) == 0  # fmt: skip


def _all_text(db) -> str:  # noqa: ANN001
    from reporter_etl.warehouse import open_readonly

    con = open_readonly(db)
    try:
        chunks = []
        for table in ("messages", "sessions", "clients", "message_label_links", "session_label_links"):
            chunks.append(repr(con.execute(f"select * from raw.{table}").fetchall()))
        return "\n".join(chunks)
    finally:
        con.close()


def _joins(db) -> tuple[int, int, int]:  # noqa: ANN001
    from reporter_etl.warehouse import open_readonly

    con = open_readonly(db)
    try:
        return con.execute(
            "select (select count(*) from raw.messages m join raw.sessions s using (session_id, client_id)), "
            "(select count(*) from raw.sessions s join raw.clients c on c.client_id = s.client_id "
            "and c.bot_id = s.bot_id), (select count(*) from raw.clients c join raw.sessions s "
            "on s.session_id = c.last_session_id)").fetchone()  # fmt: skip
    finally:
        con.close()


@pytest.fixture(scope="module")
def synced_with_keep(tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The simulator and a warehouse synced from it with ``--pii keep``: what each mode is compared with."""
    from datetime import date

    from reporter_etl.simulator import Simulator, WorldConfig

    config = WorldConfig(seed=41, days=2, end_date=date(2026, 11, 20), messages_per_day=300)
    with Simulator(config, token=TOKEN) as sim, pytest.MonkeyPatch.context() as monkeypatch:
        keep = tmp_path_factory.mktemp("pii") / "keep.duckdb"
        _sync(sim, keep, "keep", monkeypatch)
        yield sim, keep


@pytest.mark.parametrize("mode", ["hash", "drop"])
def test_a_sync_with_pii_keeps_no_personal_value_and_joins_like_keep(
    synced_with_keep, tmp_path, monkeypatch, mode: str
) -> None:
    sim, keep = synced_with_keep
    _sync(sim, tmp_path / "pii.duckdb", mode, monkeypatch)
    truth_messages = sim.world.truth_messages(sim.world.start, sim.world.end)
    truth_clients = sim.world.truth_clients(sim.world.start, sim.world.end)
    phones = {c["id"] for c in truth_clients if c["channelType"] == "resterisk"}
    names = {c.get("firstName") for c in truth_clients if c.get("firstName")}
    texts = {m["question"] for m in truth_messages if m.get("question") and len(m["question"]) > 12}
    assert phones and names and texts, "the world should have phone clients, names and texts"
    kept = _all_text(keep)
    assert all(p in kept for p in phones) and any(n in kept for n in names)
    hidden = _all_text(tmp_path / "pii.duckdb")
    leaked = [v for v in phones | names | texts if f"'{v}'" in hidden or (v in phones and v in hidden)]
    assert not leaked, leaked[:5]
    assert _joins(tmp_path / "pii.duckdb") == _joins(keep)
