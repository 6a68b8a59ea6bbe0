"""Rows to API-shaped dicts (camelCase, the spec's field order, absent optional fields omitted).

Batch functions: columns for the whole batch are gathered and formatted with numpy first, then each dict is
assembled from plain Python values, which keeps a 1000-row page to a few milliseconds.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from . import vocab
from .annotations import lookup
from .ids import format_ms_many, uuids_from_mix
from .model import WorldModel
from .texts import TEXTS
from .vocab import RULE_INTENT, RULE_NONE, RULE_TYPES

_OPERATORS = [
    {"id": oid, "firstName": first, "lastName": last, "channelType": vocab.OPERATOR_CHANNEL}
    for oid, first, last in vocab.OPERATORS
]
_STATUSES = vocab.MESSAGE_STATUSES


def _grouped(pair_rows: np.ndarray, pair_vals: np.ndarray, rows: np.ndarray) -> list[list[int]]:
    """For each of `rows`, the values paired with it in sorted (pair_rows, pair_vals)."""
    lo = np.searchsorted(pair_rows, rows, "left")
    hi = np.searchsorted(pair_rows, rows, "right")
    out: list[list[int]] = [[] for _ in range(len(rows))]
    for i in np.flatnonzero(hi > lo).tolist():
        out[i] = pair_vals[lo[i] : hi[i]].tolist()
    return out


def _nlp_infos(w: WorldModel, rows: np.ndarray) -> list[dict[str, Any] | None]:
    t = TEXTS
    classes, states, names, patterns = t.classes, t.states, t.intent_names, t.patterns
    cls = w.tables.m_class[rows].tolist()
    st = w.tables.m_state[rows].tolist()
    frm = w.tables.m_from[rows].tolist()
    rule = w.tables.m_rule[rows].tolist()
    intent = w.tables.m_intent[rows].tolist()
    conf = np.round(w.tables.m_conf[rows].astype(np.float64), 4).tolist()
    kind = w.tables.m_kind[rows].tolist()
    out: list[dict[str, Any] | None] = []
    for c, s, f, r, i, p, k in zip(cls, st, frm, rule, intent, conf, kind, strict=True):
        if c < 0 and s < 0:
            out.append(None)
            continue
        info: dict[str, Any] = {}
        if s >= 0:
            info["nlpState"] = states[s]
        if c >= 0:
            info["nlpClass"] = classes[c]
        if f >= 0:
            info["fromState"] = states[f]
        if r != RULE_NONE:
            if k == vocab.KIND_START:
                info["pattern"] = vocab.START_QUESTION
                info["effectivePattern"] = vocab.START_QUESTION
            elif r != RULE_INTENT:
                info["pattern"] = patterns[i]
                info["effectivePattern"] = patterns[i]
            if not math.isnan(p):
                info["confidence"] = p
            if k != vocab.KIND_START and i >= 0:
                info["rule"] = names[i]
            info["ruleType"] = RULE_TYPES[r]
        out.append(info)
    return out


class _MessageColumns:
    """Everything a Message dict needs, gathered for a batch of rows."""

    def __init__(self, w: WorldModel, rows: np.ndarray) -> None:
        t = TEXTS
        self.n = len(rows)
        self.timestamp = format_ms_many(w.tables.m_ts[rows])
        self.question_id = uuids_from_mix(w.tables.m_mix[rows])
        self.live = w.tables.m_live[rows].tolist()
        q, a = w.tables.m_q[rows].tolist(), w.tables.m_a[rows].tolist()
        self.question = [t.questions[x] if x >= 0 else None for x in q]
        self.answer = [t.answers[x] if x >= 0 else None for x in a]
        self.event = [vocab.EVENTS[x] if x >= 0 else None for x in w.tables.m_event[rows].tolist()]
        self.operator = [_OPERATORS[x] if x >= 0 else None for x in w.tables.m_oper[rows].tolist()]
        self.nlp = _nlp_infos(w, rows)
        self.page = [vocab.PAGES[x] if x >= 0 else None for x in w.tables.m_page[rows].tolist()]
        self.prev_page = [vocab.PAGES[x] if x >= 0 else None for x in w.tables.m_prev_page[rows].tolist()]
        self.exception = [vocab.EXCEPTIONS[x] if x >= 0 else None for x in w.tables.m_exc[rows].tolist()]
        self.proc = w.tables.m_proc[rows].tolist()
        ann = w.annotations()
        catalog = w.catalog
        grouped = _grouped(*ann.message_labels, rows)
        self.labels = [[catalog.label_dto(x) for x in ids] if ids else ids for ids in grouped]
        texts = w.comments.texts
        self.comment = [texts[x] if x >= 0 else None for x in lookup(*ann.comments, rows).tolist()]
        self.status = [_STATUSES[x] for x in w.tables.m_status[rows].tolist()]


def _add_message_body(d: dict[str, Any], c: _MessageColumns, i: int) -> None:
    """The fields Message and ExtendedMessage share after isLivechat, in the spec's order."""
    if c.question[i] is not None:
        d["question"] = c.question[i]
    if c.answer[i] is not None:
        d["textAnswer"] = c.answer[i]
    if c.event[i] is not None:
        d["event"] = c.event[i]
    if c.operator[i] is not None:
        d["operatorInfo"] = dict(c.operator[i])
    if c.nlp[i] is not None:
        d["nlpInfo"] = c.nlp[i]
    if c.page[i] is not None:
        d["pageName"] = c.page[i]
    if c.prev_page[i] is not None:
        d["previousPageName"] = c.prev_page[i]


def _session_head(session_id: str, project: str, bot: Any, client: dict[str, Any]) -> dict[str, Any]:
    """The fields ExtendedMessage and SessionInfo open with, in the spec's order."""
    return {"sessionId": session_id, "projectShortName": project, "channelType": bot.channel_type,
            "botId": bot.bot_id, "client": dict(client)}  # fmt: skip


def extended_messages(w: WorldModel, rows: np.ndarray) -> list[dict[str, Any]]:
    rows = np.asarray(rows, dtype=np.int64)
    c = _MessageColumns(w, rows)
    sess = w.tables.m_sess[rows]
    sid = w.session_ids(sess)
    start = format_ms_many(w.tables.s_start[sess])
    bot = w.tables.s_bot[sess].tolist()
    client = w.client_identities(w.tables.s_client[sess])
    call_task = w.tables.s_call_task[sess].tolist()
    incoming = w.tables.s_incoming[sess].tolist()
    ann = w.annotations()
    slabels = _grouped(*ann.session_labels, sess)
    sdto = w.session_label_dtos()
    psn = w.project_short_name
    bots = w.bots
    out = []
    for i in range(c.n):
        d = _session_head(sid[i], psn, bots[bot[i]], client[i])
        d["sessionStartTime"] = start[i]
        d["timestamp"] = c.timestamp[i]
        d["questionId"] = c.question_id[i]
        d["isLivechat"] = c.live[i]
        _add_message_body(d, c, i)
        if call_task[i] >= 0:
            d["callTaskId"] = call_task[i]
        if incoming[i] >= 0:
            d["isCallIncoming"] = incoming[i] == 1
        if c.exception[i] is not None:
            d["exception"] = c.exception[i]
        d["processingTime"] = c.proc[i]
        d["labels"] = c.labels[i]
        d["sessionLabels"] = [sdto[x] for x in slabels[i]]
        d["cleaned"] = False
        if c.comment[i] is not None:
            d["comment"] = c.comment[i]
        out.append(d)
    return out


def messages(w: WorldModel, rows: np.ndarray) -> list[dict[str, Any]]:
    rows = np.asarray(rows, dtype=np.int64)
    c = _MessageColumns(w, rows)
    sid = w.session_ids(w.tables.m_sess[rows])
    out = []
    for i in range(c.n):
        d: dict[str, Any] = {"timestamp": c.timestamp[i], "questionId": c.question_id[i], "isLivechat": c.live[i]}
        _add_message_body(d, c, i)
        if c.exception[i] is not None:
            d["exception"] = c.exception[i]
        d["processingTime"] = c.proc[i]
        d["labels"] = c.labels[i]
        d["cleaned"] = False
        if c.comment[i] is not None:
            d["comment"] = c.comment[i]
        d["status"] = c.status[i]
        d["sessionId"] = sid[i]
        out.append(d)
    return out


def _question_texts(w: WorldModel, rows: np.ndarray) -> list[str | None]:
    """The question text of each message row (None for -1 or a row without one)."""
    q = np.where(rows >= 0, w.tables.m_q[np.maximum(rows, 0)], -1).tolist()
    return [TEXTS.questions[x] if x >= 0 else None for x in q]


def session_infos(w: WorldModel, srows: np.ndarray, with_labels: bool) -> list[dict[str, Any]]:
    srows = np.asarray(srows, dtype=np.int64)
    v = w.view()
    sid = w.session_ids(srows)
    start = format_ms_many(w.tables.s_start[srows])
    client = w.client_identities(w.tables.s_client[srows])
    bot = w.tables.s_bot[srows].tolist()
    fq = _question_texts(w, v.s_first_text[srows])
    lq = _question_texts(w, v.s_last_text[srows])
    count = v.s_count[srows].tolist()
    duration = np.maximum(v.s_end[srows] - w.tables.s_start[srows], 0).tolist()
    call_task = w.tables.s_call_task[srows].tolist()
    incoming = w.tables.s_incoming[srows].tolist()
    result = w.result_values(srows).tolist()
    live = v.s_live[srows].tolist()
    data = w.session_data_dicts(srows)
    labels = _grouped(*w.annotations().session_labels, srows) if with_labels else None
    sdto = w.session_label_dtos()
    psn = w.project_short_name
    bots = w.bots
    out = []
    for i in range(len(srows)):
        b = bots[bot[i]]
        d = _session_head(sid[i], psn, b, client[i])
        d["startTime"] = start[i]
        if fq[i] is not None:
            d["firstQuestion"] = fq[i]
        if lq[i] is not None:
            d["lastQuestion"] = lq[i]
        d["questionCount"] = count[i]
        d["duration"] = duration[i]
        if call_task[i] >= 0:
            d["callTaskId"] = call_task[i]
        if incoming[i] >= 0:
            d["isCallIncoming"] = incoming[i] == 1
        if result[i] >= 0:
            d["sessionResult"] = vocab.SESSION_RESULTS[result[i]]
        if b.channel_type == vocab.TELEPHONY:
            d["audioFileUrl"] = f"https://records.example.com/{psn}/{sid[i].rsplit('.', 1)[-1]}.wav"
        d["sessionData"] = data[i]
        d["isLivechat"] = live[i]
        if labels is not None:
            d["labels"] = [sdto[x] for x in labels[i]]
        out.append(d)
    return out


def client_infos(w: WorldModel, crows: np.ndarray) -> list[dict[str, Any]]:
    crows = np.asarray(crows, dtype=np.int64)
    v = w.view()
    info = w.client_identities(crows)
    bot = w.clients.bot[crows].tolist()
    last_session = v.c_last_session[crows]
    last_sid = w.session_ids(np.maximum(last_session, 0))
    join = format_ms_many(v.c_join[crows])
    last = format_ms_many(v.c_last[crows])
    blocks = w.block_states(crows)
    psn = w.project_short_name
    account = w.account_id
    out = []
    for i in range(len(crows)):
        b = w.bots[bot[i]]
        d: dict[str, Any] = dict(info[i])
        d["accountId"] = account
        d["projectShortName"] = psn
        d["channelType"] = b.channel_type
        d["botId"] = b.bot_id
        d["lastSessionId"] = last_sid[i]
        d["joinDate"] = join[i]
        d["lastVisitDate"] = last[i]
        blocked, reason, by, when = blocks[i]
        d["isBlocked"] = blocked
        if blocked:
            if reason is not None:
                d["blockReason"] = reason
            d["blockedBy"] = by
            d["blockDate"] = format_ms_many(np.array([when]))[0]
        out.append(d)
    return out
