"""The statistics operations over the model: counts per time bucket of messages, sessions and labels, operator
transfers and calls per day, and the routes sessions take through the bot's states (buckets: `stats.py`)."""

from __future__ import annotations

from datetime import date
from typing import Any

import numpy as np

from . import stats, vocab
from .annotations import member
from .errors import FilterError
from .query import Queries
from .texts import TEXTS


def series(q: Queries, entity: str, filters: list[dict] | None, interval_type: str, step: int,
           tz_offset_minutes: int) -> list[tuple[int, float]]:  # fmt: skip
    stats.check_interval(interval_type, step)
    t = q.model.tables
    if entity == "messages":
        times = t.m_ts[q.messages(filters)]
    elif entity == "sessions":
        times = t.s_start[q.sessions(filters)]
    else:
        raise ValueError(f"unknown entity {entity!r}")
    return stats.count_by_bucket(times, interval_type, step, tz_offset_minutes)


def label_series(q: Queries, kind: str, filters: list[dict] | None, interval_type: str, step: int,
                 tz_offset_minutes: int) -> list[dict]:  # fmt: skip
    stats.check_interval(interval_type, step)
    model = q.model
    ann, catalog = model.annotations(), model.catalog
    if kind == "session":
        rows = np.sort(q.sessions(filters))
        pair_rows, pair_labels = ann.session_labels
        times = model.tables.s_start
        ordered = [(lab.id, lab.dto()) for lab in sorted(catalog.session_labels.values(),
                                                          key=lambda s: (s.priority, s.id))]  # fmt: skip
    elif kind == "log":
        rows = np.sort(q.messages(filters))
        pair_rows, pair_labels = ann.message_labels
        times = model.tables.m_ts
        ordered = [(lab.id, catalog.message_label(lab.id)) for lab in catalog.sorted_labels()]
    else:
        raise ValueError(f"unknown label kind {kind!r}")
    sel = member(rows, pair_rows)
    pr, pl = pair_rows[sel], pair_labels[sel]
    out = []
    for label_id, dto in ordered:
        hit = pr[pl == label_id]
        if not len(hit):
            continue
        points = stats.count_by_bucket(times[hit], interval_type, step, tz_offset_minutes)
        out.append({"label": dto, "tsToValues": stats.as_points(points), "totalCount": int(len(hit))})
    return out


def _sessions_in_local_days(q: Queries, date_from: date, date_to: date, bot_ids: list[str] | None,
                            tz_offset_minutes: int) -> np.ndarray:  # fmt: skip
    lo, hi = stats.local_day_range_ms(date_from, date_to, tz_offset_minutes)
    srows = q.engine.session_candidates(lo, hi - 1)
    if bot_ids:
        index = q.model.bot_index
        wanted = [index[b] for b in bot_ids if b in index]
        srows = srows[np.isin(q.model.tables.s_bot[srows], wanted)]
    return srows


def switched_sessions(q: Queries, date_from: date, date_to: date, bot_ids: list[str] | None, method: str,
                      text_for_transfer: str | None, tz_offset_minutes: int) -> list[tuple[int, float]]:  # fmt: skip
    model, t = q.model, q.model.tables
    srows = _sessions_in_local_days(q, date_from, date_to, bot_ids, tz_offset_minutes)
    if method == "SWITCH":
        srows = srows[model.view().s_live[srows]]
    elif method == "TEXT":
        text = (text_for_transfer or vocab.DEFAULT_TRANSFER_TEXT).casefold()
        answers = np.flatnonzero([text in a.casefold() for a in TEXTS.answers])
        if len(srows):
            rows = t.messages_of_sessions(srows)
            rows = rows[model.view().visible[rows] & np.isin(t.m_a[rows], answers)]
            srows = np.unique(t.m_sess[rows])
    else:
        raise FilterError("reporter.stats.bad_method", "transferToOperatorMethod must be SWITCH or TEXT",
                          {"transferToOperatorMethod": str(method)})  # fmt: skip
    return stats.count_by_bucket(t.s_start[srows], "DAY", 1, tz_offset_minutes)


def telephony_stats(q: Queries, date_from: date, date_to: date, bot_ids: list[str] | None,
                    tz_offset_minutes: int) -> dict:  # fmt: skip
    t = q.model.tables
    srows = _sessions_in_local_days(q, date_from, date_to, bot_ids, tz_offset_minutes)
    srows = srows[t.s_incoming[srows] >= 0]
    v = q.model.view()
    duration = v.s_end[srows] - t.s_start[srows]
    avg = round(float(duration.mean()) / 1000, 3) if len(srows) else 0.0
    starts = t.s_start[srows]
    incoming = t.s_incoming[srows] == 1
    billed = v.s_text[srows] > 0  # an answered call: the client said something

    def per_day(selected: np.ndarray) -> list[dict[str, float | int]]:
        return stats.as_points(stats.count_by_bucket(starts[selected], "DAY", 1, tz_offset_minutes))

    return {
        "averageCallDurationInSeconds": avg,
        "billingCount": per_day(billed),
        "incomingCount": per_day(incoming),
        "outgoingCount": per_day(~incoming),
    }


def state_routes(q: Queries, filters: list[dict] | None, limit: int = 1000) -> list[dict]:
    """StateRoutesInfo rows: the distinct sequences of states of matching sessions, most frequent first.

    `stateRouteResult` is the session result shared by the route's sessions when they agree, else omitted.
    """
    model = q.model
    srows = np.sort(q.sessions(filters))
    routes: dict[tuple[str, ...], list[int]] = {}
    states = TEXTS.states
    results = model.result_values(srows).tolist()
    for s, res in zip(srows.tolist(), results, strict=True):
        rows = model.messages_of_session(s)
        route = tuple(dict.fromkeys(states[x] for x in model.tables.m_state[rows].tolist() if x >= 0))
        routes.setdefault(route, []).append(res)
    ranked = sorted(routes.items(), key=lambda kv: (-len(kv[1]), kv[0]))[:limit]
    out = []
    for route, res in ranked:
        d: dict[str, Any] = {"states": list(route), "stateRoutes": list(route)}
        if len(set(res)) == 1 and res[0] >= 0:
            d["stateRouteResult"] = vocab.SESSION_RESULTS[res[0]]
        d["sessionsCount"] = len(res)
        out.append(d)
    return out
