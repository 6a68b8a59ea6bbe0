"""What is visible at one clock reading: per message whether it is, and the session and client aggregates
(counts, first/last phrase, end time, join and last-visit dates, the clients order) computed from the visible
messages only, so they always agree with what the lists show."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from . import vocab
from .tables import Tables

_LAST = np.iinfo(np.int64).max


@dataclass
class VisibleView:
    visible: np.ndarray  # per message
    s_count: np.ndarray  # visible messages per session
    s_text: np.ndarray  # visible client phrases per session
    s_first_text: np.ndarray  # message row of the first visible phrase, -1 none
    s_last_text: np.ndarray
    s_end: np.ndarray  # time of the last visible message (the start when none)
    s_live: np.ndarray  # a visible message went to an operator
    s_visible: np.ndarray
    c_visible: np.ndarray
    c_join: np.ndarray  # start of the client's first visible session
    c_last: np.ndarray  # the latest end of its visible sessions
    c_last_session: np.ndarray
    c_rank: np.ndarray  # position in the clients order (last visit descending, then botId and id)


def compute_view(t: Tables, visible: np.ndarray, n_clients: int, client_tie_rank: np.ndarray) -> VisibleView:
    """The view for `visible` messages, from scratch."""
    n_m, n_s = t.message_count, t.session_count
    if n_s:
        starts = t.s_m0
        idx = np.arange(n_m, dtype=np.int64)
        text = visible & (t.m_kind == vocab.KIND_TEXT)
        s_count = np.add.reduceat(visible.astype(np.int64), starts)
        s_text = np.add.reduceat(text.astype(np.int64), starts)
        first_text = np.minimum.reduceat(np.where(text, idx, n_m), starts)
        first_text = np.where(first_text < n_m, first_text, -1)
        last_text = np.maximum.reduceat(np.where(text, idx, -1), starts)
        last_vis = np.maximum.reduceat(np.where(visible, idx, -1), starts)
        s_end = np.where(last_vis >= 0, t.m_ts[np.maximum(last_vis, 0)], t.s_start)
        s_live = np.maximum.reduceat((visible & t.m_live).astype(np.int8), starts) > 0
    else:
        s_count = s_text = first_text = last_text = s_end = np.zeros(0, dtype=np.int64)
        s_live = np.zeros(0, dtype=bool)
    s_visible = s_count > 0
    sv = np.flatnonzero(s_visible)
    cl = t.s_client[sv].astype(np.int64)
    c_visible = np.zeros(n_clients, dtype=bool)
    c_join = np.zeros(n_clients, dtype=np.int64)
    c_last = np.zeros(n_clients, dtype=np.int64)
    c_last_session = np.full(n_clients, -1, dtype=np.int64)
    uniq, first = np.unique(cl, return_index=True)
    c_visible[uniq] = True
    c_join[uniq] = t.s_start[sv[first]]
    uniq_r, first_r = np.unique(cl[::-1], return_index=True)
    c_last_session[uniq_r] = sv[len(sv) - 1 - first_r]
    np.maximum.at(c_last, cl, s_end[sv])
    c_rank = np.full(n_clients, _LAST, dtype=np.int64)
    if len(uniq):
        order = np.lexsort((client_tie_rank[uniq], -c_last[uniq]))
        c_rank[uniq[order]] = np.arange(len(uniq))
    return VisibleView(visible, s_count, s_text, first_text, last_text, s_end, s_live, s_visible, c_visible, c_join,
                       c_last, c_last_session, c_rank)  # fmt: skip


def patch_view(view: VisibleView, t: Tables, released: np.ndarray, client_tie_rank: np.ndarray) -> VisibleView:
    """The view after a few held-back messages became visible: only their sessions and clients change.

    The drift fault releases rows between page reads; recomputing the whole view each time would cost a
    full pass over every message of a large world per page.
    """
    view.visible[released] = True
    for s in np.unique(t.m_sess[released]).tolist():
        rows = t.messages_of_session(s)
        rows = rows[view.visible[rows]]
        text = rows[t.m_kind[rows] == vocab.KIND_TEXT]
        view.s_count[s] = len(rows)
        view.s_text[s] = len(text)
        view.s_first_text[s] = text[0] if len(text) else -1
        view.s_last_text[s] = text[-1] if len(text) else -1
        view.s_end[s] = t.m_ts[rows[-1]]
        view.s_live[s] = bool(t.m_live[rows].any())
        view.s_visible[s] = True
    for c in np.unique(t.s_client[t.m_sess[released]]).tolist():
        srows = t.sessions_of_client(c)
        srows = srows[view.s_visible[srows]]
        view.c_visible[c] = True
        view.c_join[c] = t.s_start[srows[0]]
        view.c_last_session[c] = srows[-1]
        view.c_last[c] = view.s_end[srows].max()
    uniq = np.flatnonzero(view.c_visible)
    order = np.lexsort((client_tie_rank[uniq], -view.c_last[uniq]))
    view.c_rank[:] = _LAST
    view.c_rank[uniq[order]] = np.arange(len(uniq))
    return view
