"""Personal data at ingest: keep it, replace it with a keyed hash, or drop it, before a row reaches the warehouse.

``--pii keep`` (the default) stores what the API sends.  ``hash`` and ``drop`` change these columns of the three
paged entities (nothing else in the warehouse holds them):

============================  =====================================  ===================================
what                          hash                                   drop
============================  =====================================  ===================================
client names, usernames       HMAC-SHA256 (``h:`` + 32 hex)          NULL
message texts                 HMAC (equal texts stay equal)          NULL
phone-number client ids       HMAC, also inside session ids          HMAC, also inside session ids
raw payloads, ``extra``       NULL                                   NULL
============================  =====================================  ===================================

Message texts are the client's question, the bot's answer, a session's first and last question, operators'
comments and block reasons.  Raw payloads are the JSON the bot saw (``request_data``, ``data``,
``response_data``, ``utterances_json``), error texts, custom fields, call recording URLs, and ``session_data``
except its ``experiment.*`` keys; ``extra`` (fields the platform adds later) is emptied because nobody can say
yet whether a new field is personal.

Ids are keys: a phone number that is a client id (telephony) is replaced by its hash in every table, and inside
the session ids that embed it (``{channel}-{botId}-{clientId}.{uuid}``), with one key, so joins between
messages, sessions and clients still work, and the next run maps the same client to the same value.  The key
(``REPORTER_PII_KEY``, 16 characters or more) is what makes the hash safe: a phone number has too few
possibilities for a plain hash to hide it.  Keep the key: another key gives other values, and the rows of the
two runs would no longer join.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import pyarrow as pa
import pyarrow.compute as pc

from reporter_etl.api.redaction import register_secret
from reporter_etl.errors import ConfigurationError

PiiMode = Literal["keep", "hash", "drop"]
PII_MODES: tuple[str, ...] = ("keep", "hash", "drop")
PII_KEY_ENV = "REPORTER_PII_KEY"
MIN_KEY_LENGTH = 16
HASH_PREFIX = "h:"

# A client id that is a phone number: 10 to 15 digits, an optional leading +.
_PHONE = re.compile(r"^\+?\d{10,15}$")

_PERSON = {
    "messages": ("client_first_name", "client_last_name", "client_username"),
    "sessions": ("client_first_name", "client_last_name", "client_username"),
    "clients": ("first_name", "last_name", "username"),
}
_TEXT = {
    "messages": ("question", "text_answer", "comment"),
    "sessions": ("first_question", "last_question"),
    "clients": ("block_reason",),
}
_PAYLOAD = {
    "messages": ("request_data", "data", "response_data", "utterances_json", "exception", "extra"),
    "sessions": ("response_data", "custom_fields", "audio_file_url", "extra"),
    "clients": ("extra",),
}
_SESSION_ID_COLUMNS = {"messages": "session_id", "sessions": "session_id", "clients": "last_session_id"}
_KEPT_SESSION_DATA_PREFIX = "experiment."


@dataclass(frozen=True)
class PiiPolicy:
    """What to do with personal data; build it with ``PiiPolicy.from_mode`` (which checks the key)."""

    mode: PiiMode = "keep"
    key: bytes = b""

    def __repr__(self) -> str:
        return f"PiiPolicy(mode={self.mode!r}, key=***)"

    @classmethod
    def from_mode(cls, mode: str, environ: Mapping[str, str] | None = None) -> PiiPolicy:
        if mode not in PII_MODES:
            raise ConfigurationError(f"--pii {mode!r} is not one of {', '.join(PII_MODES)}")
        if mode == "keep":
            return cls()
        key = (os.environ if environ is None else environ).get(PII_KEY_ENV, "")
        if len(key.strip()) < MIN_KEY_LENGTH:
            raise ConfigurationError(
                f"--pii {mode} needs a secret key of at least {MIN_KEY_LENGTH} characters in {PII_KEY_ENV} "
                f"(phone-number client ids are hashed with it{' as well' if mode == 'drop' else ''}); keep the "
                f"key: the same key gives the same values, so rows of later runs still join"
            )
        register_secret(key.strip())
        return cls(mode=mode, key=key.strip().encode())  # type: ignore[arg-type]

    @property
    def changes_rows(self) -> bool:
        return self.mode != "keep"

    def digest(self, value: str) -> str:
        mac = hmac.new(self.key, value.encode("utf-8"), hashlib.sha256).hexdigest()
        return HASH_PREFIX + mac[:32]

    def apply(self, table: pa.Table, entity: str) -> pa.Table:
        """``table`` (one of the paged entities, in its column contract) with the policy applied."""
        if not self.changes_rows or entity not in _PERSON or table.num_rows == 0:
            return table
        texts = self.mode == "hash"
        for column in _PERSON[entity] + _TEXT[entity]:
            table = _set(table, column, _map_strings(table.column(column), self.digest) if texts else None)
        for column in _PAYLOAD[entity]:
            table = _set(table, column, None)
        if entity == "sessions":
            table = _set(table, "session_data", _experiment_keys_only(table.column("session_data")))
        return self._hash_phone_ids(table, entity)

    def _hash_phone_ids(self, table: pa.Table, entity: str) -> pa.Table:
        ids = table.column("client_id").to_pylist()
        phones = {value for value in set(ids) if value and _PHONE.match(value)}
        if not phones:
            return table
        hashed = {value: self.digest(value) for value in phones}
        session_column = _SESSION_ID_COLUMNS[entity]
        sessions = table.column(session_column).to_pylist()
        # The session id embeds the client id ("{channel}-{botId}-{clientId}.{uuid}"): the same replacement there
        # keeps session ids equal across messages, sessions and clients.last_session_id.
        new_sessions = [
            session.replace(f"-{client}.", f"-{hashed[client]}.") if client in hashed and session else session
            for client, session in zip(ids, sessions, strict=True)
        ]
        table = _set(table, "client_id", pa.array([hashed.get(v, v) for v in ids], pa.string()))
        return _set(table, session_column, pa.array(new_sessions, pa.string()))


def _set(table: pa.Table, column: str, values: pa.Array | pa.ChunkedArray | None) -> pa.Table:
    index = table.schema.get_field_index(column)
    field = table.schema.field(index)
    if values is None:
        values = pa.nulls(table.num_rows, field.type)
    return table.set_column(index, field, values)


def _map_strings(column: pa.ChunkedArray, digest: Callable[[str], str]) -> pa.Array:
    """Each distinct non-null value hashed once."""
    distinct = pc.unique(column).drop_null()
    mapped = pa.array([digest(v) for v in distinct.to_pylist()], pa.string())
    positions = pc.index_in(column, value_set=distinct)
    return pc.take(mapped, positions)


def _experiment_keys_only(column: pa.ChunkedArray) -> pa.Array:
    kept = []
    for entries in column.to_pylist():
        if entries is None:
            kept.append(None)
            continue
        pairs = entries.items() if isinstance(entries, dict) else entries
        kept.append([(k, v) for k, v in pairs if k.startswith(_KEPT_SESSION_DATA_PREFIX)])
    return pa.array(kept, column.type)
