"""The generated tables of a world: columns per message row and per session row, and the indexes over them.

A `Tables` value never changes: generating more days (when the clock moves past the last one) makes a new one
with the days appended.  Message and session columns keep the generator's names (`m_*`, `s_*`, see
`generate.DayBlock`); strings are indices into `texts.TEXTS` and `vocab`.  Sessions are stored in start
order and own a contiguous run of message rows (`s_m0`, `s_rows`); `m_sess` is the way back.
"""

from __future__ import annotations

from dataclasses import dataclass, field, fields, replace

import numpy as np

from . import ids
from .generate import DayBlock, GeneratedColumns

GENERATED_COLUMNS = tuple(f.name for f in fields(GeneratedColumns))
_DTYPES = {
    "m_ts": np.int64, "m_arrival": np.int64, "m_kind": np.int8, "m_q": np.int16, "m_a": np.int16,
    "m_event": np.int8, "m_intent": np.int16, "m_class": np.int16, "m_state": np.int16, "m_from": np.int16,
    "m_rule": np.int8, "m_conf": np.float32, "m_proc": np.int32, "m_status": np.int8, "m_live": bool,
    "m_oper": np.int8, "m_page": np.int8, "m_prev_page": np.int8, "m_exc": np.int8,
    "s_bot": np.int16, "s_client": np.int32, "s_start": np.int64, "s_rows": np.int64, "s_result": np.int8,
    "s_result_ms": np.int64, "s_incoming": np.int8, "s_call_task": np.int32, "s_lang": np.int8,
    "s_source": np.int8, "m_sess": np.int64, "m_mix": np.uint64, "s_m0": np.int64, "s_mix": np.uint64,
    "m_order": np.int64, "m_ts_sorted": np.int64, "cs_order": np.int64, "cs_ptr": np.int64,
}  # fmt: skip


@dataclass(frozen=True)
class GeneratedAnnotations:
    """Labels and comments the generator scheduled, as (row, value, set-at ms) in world row numbers."""

    message_labels: tuple[np.ndarray, np.ndarray, np.ndarray]
    session_labels: tuple[np.ndarray, np.ndarray, np.ndarray]
    comments: tuple[np.ndarray, np.ndarray, np.ndarray]


@dataclass(frozen=True)
class Tables(GeneratedColumns):
    """The generated columns of every day so far, plus the links and indexes over them."""

    m_sess: np.ndarray  # session row of each message
    m_mix: np.ndarray  # the mixed key a questionId renders
    s_m0: np.ndarray  # first message row of each session
    s_mix: np.ndarray  # the mixed key a sessionId renders
    # indexes
    m_order: np.ndarray  # message rows by (timestamp, questionId)
    m_ts_sorted: np.ndarray  # m_ts[m_order]
    cs_order: np.ndarray  # session rows grouped by client ...
    cs_ptr: np.ndarray  # ... client c's sessions are cs_order[cs_ptr[c]:cs_ptr[c + 1]]
    days: dict[int, tuple[int, int, int, int]] = field(default_factory=dict)  # ordinal -> (s off, n, m off, n)

    @classmethod
    def empty(cls, n_experiments: int, n_clients: int) -> Tables:
        columns = {name: np.zeros(0, dtype=dtype) for name, dtype in _DTYPES.items()}
        columns["s_exp"] = np.zeros((0, n_experiments), dtype=np.int8)
        columns["cs_ptr"] = np.zeros(n_clients + 1, dtype=np.int64)
        return cls(**columns)

    @property
    def message_count(self) -> int:
        return len(self.m_ts)

    @property
    def session_count(self) -> int:
        return len(self.s_start)

    def columns(self) -> dict[str, np.ndarray]:
        """Every column and index by name."""
        return {f.name: getattr(self, f.name) for f in fields(self) if f.name != "days"}

    def appended(self, blocks: list[DayBlock], salt: int, n_clients: int) -> tuple[Tables, GeneratedAnnotations]:
        """These tables with the days of `blocks` (in order) appended, and the annotations those days schedule."""
        s_off, m_off = self.session_count, self.message_count
        days = dict(self.days)
        m_sess, s_m0, m_mix, s_mix = [], [], [], []
        ml, sl, cm = [], [], []
        for b in blocks:
            n_s, n_m = b.n_sessions, b.n_messages
            days[b.day_ordinal] = (s_off, n_s, m_off, n_m)
            local_first = (np.cumsum(b.s_rows) - b.s_rows).astype(np.int64)
            m_sess.append(np.repeat(np.arange(n_s, dtype=np.int64), b.s_rows) + s_off)
            s_m0.append(local_first + m_off)
            m_mix.append(ids.mix60_np(_keys(ids.TAG_MESSAGE, b.day_ordinal, n_m), salt))
            s_mix.append(ids.mix60_np(_keys(ids.TAG_SESSION, b.day_ordinal, n_s), salt))
            ml.append((b.ml_rows + m_off, b.ml_labels, b.ml_ms))
            sl.append((b.sl_rows + s_off, b.sl_labels, b.sl_ms))
            cm.append((b.cm_rows + m_off, b.cm_text, b.cm_ms))
            s_off += n_s
            m_off += n_m
        columns = {name: np.concatenate([getattr(self, name), *[getattr(b, name) for b in blocks]])
                   for name in GENERATED_COLUMNS}  # fmt: skip
        columns["m_sess"] = np.concatenate([self.m_sess, *m_sess])
        columns["s_m0"] = np.concatenate([self.s_m0, *s_m0])
        columns["m_mix"] = np.concatenate([self.m_mix, *m_mix])
        columns["s_mix"] = np.concatenate([self.s_mix, *s_mix])
        m_order = np.lexsort((columns["m_mix"], columns["m_ts"]))
        cs_order = np.argsort(columns["s_client"], kind="stable")
        cs_ptr = np.searchsorted(columns["s_client"][cs_order], np.arange(n_clients + 1))
        tables = replace(self, **columns, m_order=m_order, m_ts_sorted=columns["m_ts"][m_order], cs_order=cs_order,
                         cs_ptr=cs_ptr, days=days)  # fmt: skip
        generated = GeneratedAnnotations(*(tuple(np.concatenate([p[i] for p in parts]) for i in range(3))
                                           for parts in (ml, sl, cm)))  # fmt: skip
        return tables, generated

    # --- rows of rows ---------------------------------------------------------------------------------------

    def messages_of_session(self, session: int) -> np.ndarray:
        """Every message row of a session (visible or not), in order."""
        first = int(self.s_m0[session])
        return np.arange(first, first + int(self.s_rows[session]), dtype=np.int64)

    def messages_of_sessions(self, sessions: np.ndarray) -> np.ndarray:
        """Every message row of the sessions, session by session."""
        if not len(sessions):
            return np.zeros(0, dtype=np.int64)
        return np.concatenate([self.messages_of_session(s) for s in np.asarray(sessions).tolist()])

    def sessions_of_client(self, client: int) -> np.ndarray:
        """Every session row of a client (visible or not), oldest first."""
        return np.sort(self.cs_order[self.cs_ptr[client] : self.cs_ptr[client + 1]]).astype(np.int64)

    def row_of_key(self, text: str, tag: int, salt: int) -> int | None:
        """The message or session row (by `tag`) an id's UUID part names, or None when it names none."""
        mix = ids.mix_from_uuid(text)
        if mix is None:
            return None
        k_tag, ordinal, local = ids.split_key(ids.unmix60(mix, salt))
        day = self.days.get(ordinal)
        if k_tag != tag or day is None:
            return None
        s_off, n_s, m_off, n_m = day
        if tag == ids.TAG_SESSION:
            return s_off + local if local < n_s else None
        return m_off + local if local < n_m else None


def _keys(tag: int, ordinal: int, n: int) -> np.ndarray:
    base = (tag << 56) | (ordinal << ids.DAY_SHIFT)
    return np.uint64(base) + np.arange(n, dtype=np.uint64)
