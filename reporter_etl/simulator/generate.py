"""Generation of the synthetic project, one day at a time.

Each day draws from its own generator seeded with (seed, day ordinal), so a day's sessions and messages do
not depend on how many other days the world holds.  A day owns the sessions that *start* on it (UTC); their
messages may land later (sessions crossing midnight, sessions resumed 1-5 days later), and their labels,
results and comments carry a set-at time that can lie days ahead.  Everything is columnar: numpy arrays of
numbers, strings as indices into `vocab` tables.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import numpy as np

from . import ids, vocab
from .texts import TEXTS
from .vocab import KIND_EVENT, KIND_START, KIND_TEXT, RULE_INTENT, RULE_NONE, RULE_PATTERN

DAY_MS = 86_400_000
MINUTE_MS = 60_000
HOUR_MS = 3_600_000

# Rows per session the generator produces on average (measured over many days; the knob that turns
# `messages_per_day` into a session rate).
MEAN_ROWS_PER_SESSION = 8.3
WEEKEND_FACTOR = 2 / 3
CLIENT_MESSAGES_MEDIAN = 4.0
CLIENT_MESSAGES_SIGMA = 1.22  # lognormal sigma giving a 95th percentile near 30
EMPTY_SHARE = 0.13
TRANSFER_SHARE = 0.11  # of non-empty sessions
RESUME_SHARE = 0.03  # of sessions with 2+ client phrases: the tail continues 1-5 days later
POOL_DAYS = 10  # client pool per bot = POOL_DAYS x that bot's sessions per day


# --- the plan: everything derived from the config that days share ----------------------------------------


@dataclass(frozen=True)
class ExperimentWindow:
    key: str
    shares: np.ndarray
    start_ms: int
    stop_ms: int | None


@dataclass(frozen=True)
class Plan:
    seed: int
    salt: int
    tz: ZoneInfo
    end_ms: int  # end of the configured period (exclusive), experiments are placed relative to it
    sessions_per_day: float  # average over a week
    delayed_share: float
    bot_channels: tuple[str, ...]
    bot_weights: np.ndarray
    pool_sizes: np.ndarray
    pool_offsets: np.ndarray
    experiments: tuple[ExperimentWindow, ...]
    weight_norm: float = field(default=1.0)


def _hour_profile(local_hour: np.ndarray) -> np.ndarray:
    """Traffic by local hour of day: quiet nights, peaks late morning and early evening."""

    def bump(centre: float, width: float) -> np.ndarray:
        d = np.abs(local_hour - centre)
        d = np.minimum(d, 24 - d)
        return np.exp(-(d**2) / (2 * width**2))

    return 0.06 + bump(11.0, 2.0) + 0.9 * bump(19.5, 2.2)


def _profile_norm() -> float:
    hours = (np.arange(1440) + 0.5) / 60
    return float(_hour_profile(hours).mean()) * (5 + 2 * WEEKEND_FACTOR) / 7


def make_plan(seed: int, end_ms: int, messages_per_day: int, timezone: str, delayed_share: float) -> Plan:
    sessions_per_day = max(messages_per_day, 1) / MEAN_ROWS_PER_SESSION
    weights = np.array([w for _, _, w in vocab.BOT_PLAN])
    weights = weights / weights.sum()
    pools = np.maximum(30, np.ceil(sessions_per_day * weights * POOL_DAYS)).astype(np.int64)
    offsets = np.concatenate([[0], np.cumsum(pools)[:-1]]).astype(np.int64)
    exps = []
    for e in vocab.EXPERIMENTS:
        shares = np.array([s for _, _, s in e.branches], dtype=float)
        stop = None if e.stop_days_before_end is None else end_ms - e.stop_days_before_end * DAY_MS
        exps.append(ExperimentWindow(e.key, shares / shares.sum(), end_ms - e.start_days_before_end * DAY_MS, stop))
    return Plan(
        seed=seed,
        salt=ids.seed_salt(seed),
        tz=ZoneInfo(timezone),
        end_ms=end_ms,
        sessions_per_day=sessions_per_day,
        delayed_share=delayed_share,
        bot_channels=tuple(c for c, _, _ in vocab.BOT_PLAN),
        bot_weights=weights,
        pool_sizes=pools,
        pool_offsets=offsets,
        experiments=tuple(exps),
        weight_norm=_profile_norm(),
    )


def day_start_ms(day_ordinal: int) -> int:
    d = date.fromordinal(day_ordinal)
    return int(datetime(d.year, d.month, d.day, tzinfo=UTC).timestamp()) * 1000


def minute_weights(tz: ZoneInfo, start_ms: int) -> np.ndarray:
    """Session start intensity for each minute of one UTC day, following the project's local time."""
    base = datetime.fromtimestamp(start_ms / 1000, tz=UTC)
    offsets = np.array([(base + timedelta(hours=h)).astimezone(tz).utcoffset().total_seconds() for h in range(24)])
    minutes = np.arange(1440)
    local_s = start_ms / 1000 + minutes * 60 + 30 + offsets[minutes // 60]
    local_hour = (local_s % 86400) / 3600
    weekday = ((local_s // 86400).astype(np.int64) + 3) % 7  # 1970-01-01 was a Thursday (Monday = 0)
    return _hour_profile(local_hour) * np.where(weekday >= 5, WEEKEND_FACTOR, 1.0)


# --- clients ------------------------------------------------------------------------------------------------


@dataclass
class ClientPool:
    """Static attributes of every client a bot may ever see (ids and names are drawn once, by bot)."""

    bot: np.ndarray  # int16
    num: np.ndarray  # int64, number within the bot's pool
    first: np.ndarray  # int16 index into FIRST_NAMES, -1 none
    last: np.ndarray  # int16, -1 none
    user_no: np.ndarray  # int16, -1 = no username
    blocked: np.ndarray  # bool: blocked some time after joining
    block_delay_ms: np.ndarray  # int64, after the join date
    block_reason: np.ndarray  # int8
    blocked_by: np.ndarray  # int8 index into BLOCKED_BY_USERS
    id_num: np.ndarray  # uint64: numeric id / phone / uuid mix value, by channel


def make_clients(plan: Plan) -> ClientPool:
    parts: list[dict[str, np.ndarray]] = []
    for b, channel in enumerate(plan.bot_channels):
        n = int(plan.pool_sizes[b])
        rng = np.random.default_rng([plan.seed, 500, b])
        num = np.arange(n, dtype=np.int64)
        named = channel in ("telegram", "viber", "vk")
        first = rng.integers(0, len(vocab.FIRST_NAMES), n).astype(np.int16)
        if not named:
            first = np.where(rng.random(n) < (0.12 if channel == "chatwidget" else 0.0), first, -1).astype(np.int16)
        last_share = {"telegram": 0.55, "viber": 0.95, "vk": 0.97}.get(channel, 0.0)
        last = np.where(rng.random(n) < last_share, rng.integers(0, len(vocab.LAST_NAMES), n), -1).astype(np.int16)
        user_no = np.where((channel == "telegram") & (rng.random(n) < 0.5), rng.integers(1, 1000, n), -1)
        blocked = rng.random(n) < 0.02
        delay = np.clip(np.exp(rng.normal(math.log(2 * DAY_MS), 1.0, n)), HOUR_MS, 20 * DAY_MS).astype(np.int64)
        reason = rng.integers(0, len(vocab.BLOCK_REASONS), n).astype(np.int8)
        by = rng.integers(0, len(vocab.BLOCKED_BY_USERS), n).astype(np.int8)
        if channel == "chatwidget":
            prefix = (ids.TAG_CLIENT << 56) | (b << 40)
            keys = np.uint64(prefix) | num.astype(np.uint64)
            id_num = ids.mix60_np(keys, plan.salt)
        elif channel == vocab.TELEPHONY:
            id_num = np.uint64(12_000_000_000) + ids.mixn_np(num, 30, plan.salt ^ b)
        else:
            id_num = np.uint64(100_000_000) + ids.mixn_np(num, 32, plan.salt ^ (b * 7919))
        parts.append(
            dict(bot=np.full(n, b, dtype=np.int16), num=num, first=first, last=last, user_no=user_no.astype(np.int16),
                 blocked=blocked, block_delay_ms=delay, block_reason=reason, blocked_by=by, id_num=id_num)
        )  # fmt: skip
    return ClientPool(**{k: np.concatenate([p[k] for p in parts]) for k in parts[0]})


# --- one day ------------------------------------------------------------------------------------------------


@dataclass
class DayBlock:
    """Sessions starting on one UTC day and all their messages; indices are local to the block."""

    day_ordinal: int
    # sessions
    s_bot: np.ndarray
    s_client: np.ndarray
    s_start: np.ndarray
    s_rows: np.ndarray  # messages per session (contiguous, chronological)
    s_result: np.ndarray
    s_result_ms: np.ndarray
    s_incoming: np.ndarray  # int8: 1 incoming call, 0 outgoing, -1 not telephony
    s_call_task: np.ndarray  # int32, -1 none
    s_lang: np.ndarray
    s_source: np.ndarray
    s_exp: np.ndarray  # int8 [sessions, experiments], -1 not in the experiment
    # messages
    m_ts: np.ndarray
    m_arrival: np.ndarray
    m_kind: np.ndarray
    m_q: np.ndarray
    m_a: np.ndarray
    m_event: np.ndarray
    m_intent: np.ndarray
    m_class: np.ndarray
    m_state: np.ndarray
    m_from: np.ndarray
    m_rule: np.ndarray
    m_conf: np.ndarray
    m_proc: np.ndarray
    m_status: np.ndarray
    m_live: np.ndarray
    m_oper: np.ndarray
    m_page: np.ndarray
    m_prev_page: np.ndarray
    m_exc: np.ndarray
    # annotations set later: (local row, value, set-at ms)
    ml_rows: np.ndarray
    ml_labels: np.ndarray
    ml_ms: np.ndarray
    sl_rows: np.ndarray
    sl_labels: np.ndarray
    sl_ms: np.ndarray
    cm_rows: np.ndarray
    cm_text: np.ndarray
    cm_ms: np.ndarray

    @property
    def n_sessions(self) -> int:
        return len(self.s_start)

    @property
    def n_messages(self) -> int:
        return len(self.m_ts)


def _lognormal_ms(rng: np.random.Generator, median_ms: float, sigma: float, n: int) -> np.ndarray:
    return np.exp(rng.normal(math.log(median_ms), sigma, n))


def _pick(rng: np.random.Generator, shares: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(np.cumsum(shares)[:-1], rng.random(n), side="right")


def generate_day(plan: Plan, day_ordinal: int) -> DayBlock:
    rng = np.random.default_rng([plan.seed, day_ordinal, 1])
    t = TEXTS
    d0 = day_start_ms(day_ordinal)
    w = minute_weights(plan.tz, d0)
    n = int(rng.poisson(plan.sessions_per_day * w.mean() / plan.weight_norm))

    # sessions: when, where, who
    start = d0 + rng.choice(1440, size=n, p=w / w.sum()).astype(np.int64) * MINUTE_MS + rng.integers(0, MINUTE_MS, n)
    start.sort()
    ar = np.arange(n, dtype=np.int64)
    start = np.maximum.accumulate(start - ar) + ar  # strictly increasing: start times identify sessions' order
    bot = _pick(rng, plan.bot_weights, n).astype(np.int16)
    client = plan.pool_offsets[bot] + np.floor(plan.pool_sizes[bot] * rng.random(n) ** 1.7).astype(np.int64)
    channel_of_bot = np.array([vocab.CHANNELS.index(c) for c in plan.bot_channels])
    chan = channel_of_bot[bot]
    tel = chan == vocab.CHANNELS.index(vocab.TELEPHONY)
    incoming = tel & (rng.random(n) < 0.6)
    outgoing = tel & ~incoming
    empty = rng.random(n) < np.where(outgoing, 0.30, EMPTY_SHARE)
    k = np.clip(np.rint(np.exp(rng.normal(math.log(CLIENT_MESSAGES_MEDIAN), CLIENT_MESSAGES_SIGMA, n))), 1, 150)
    k = np.where(empty, 0, k).astype(np.int64)
    has_start = (empty | tel | (rng.random(n) < 0.85)).astype(np.int64)
    transfer = ~empty & (rng.random(n) < TRANSFER_SHARE)
    t_pos = np.floor(rng.random(n) * np.maximum(k - 1, 1)).astype(np.int64)  # an operator answer follows
    event = np.full(n, -1, dtype=np.int64)
    event[empty & ~tel & (rng.random(n) < 0.35)] = vocab.EVENT_TIME_LIMIT
    event[transfer & ~tel & (rng.random(n) < 0.7)] = vocab.EVENT_LIVECHAT_FINISHED
    event[tel] = vocab.EVENT_HANGUP
    rows = has_start + k + (event >= 0)
    resume = (k >= 2) & (rng.random(n) < RESUME_SHARE)
    resume_pos = 1 + np.floor(rng.random(n) * np.maximum(k - 1, 1)).astype(np.int64)
    resume_gap = rng.integers(1, 6, n) * DAY_MS + rng.integers(0, 10 * HOUR_MS, n)
    operator = rng.integers(0, len(vocab.OPERATORS), n)

    # messages: layout [/start] [client phrases...] [event]
    total = int(rows.sum())
    off = (np.cumsum(rows) - rows).astype(np.int64)
    sid = np.repeat(ar, rows)
    pos = np.arange(total, dtype=np.int64) - off[sid]
    tb = has_start[sid]
    kind = np.where(pos < tb, KIND_START, np.where(pos < tb + k[sid], KIND_TEXT, KIND_EVENT)).astype(np.int8)
    is_text = kind == KIND_TEXT
    tp = pos - tb
    transfer_row = is_text & transfer[sid] & (tp == t_pos[sid])
    after = is_text & transfer[sid] & (tp > t_pos[sid])  # operator answers
    live = transfer_row | after
    row_tel = tel[sid]
    ev_row = np.where(kind == KIND_EVENT, event[sid], -1)

    # timing
    gap = _lognormal_ms(rng, 20_000, 0.9, total)
    gap = np.where(row_tel, _lognormal_ms(rng, 7_000, 0.6, total), gap)
    gap = np.where(after, _lognormal_ms(rng, 60_000, 0.8, total), gap)
    gap = np.where(rng.random(total) < 0.02, rng.uniform(5 * MINUTE_MS, 120 * MINUTE_MS, total), gap)
    gap = np.where(ev_row == vocab.EVENT_TIME_LIMIT, rng.uniform(10 * MINUTE_MS, 30 * MINUTE_MS, total), gap)
    gap = np.where(ev_row == vocab.EVENT_LIVECHAT_FINISHED, rng.uniform(MINUTE_MS, 10 * MINUTE_MS, total), gap)
    gap = np.where(ev_row == vocab.EVENT_HANGUP, rng.uniform(1_000, 5_000, total), gap)
    gap = np.clip(gap, 300, None).astype(np.int64)
    gap += np.where(is_text & resume[sid] & (tp == resume_pos[sid]), resume_gap[sid], 0)
    gap[off] = 0
    cs = np.cumsum(gap)
    ts = start[sid] + cs - cs[off][sid]

    # what was said
    intent = _pick(rng, t.weights, total)
    intent = np.where(rng.random(total) < vocab.CATCH_ALL_SHARE, t.catch_all, intent)
    intent = np.where(transfer_row, t.operator, intent)
    intent = np.where(is_text, intent, -1).astype(np.int16)
    ii = np.maximum(intent, 0)
    u_q, u_a, u_s = rng.random(total), rng.random(total), rng.random(total)
    q = np.where(kind == KIND_START, t.start_q, np.where(is_text, t.q_base[ii] + np.floor(u_q * t.q_count[ii]), -1))
    a = np.where(is_text, t.a_base[ii] + np.floor(u_a * t.a_count[ii]), -1)
    a = np.where(after, t.operator_a_base + np.floor(u_a * len(vocab.OPERATOR_ANSWERS)), a)
    a = np.where(kind == KIND_START, t.start_a, a)
    a = np.where(ev_row >= 0, t.event_a[np.maximum(ev_row, 0)], a)
    bot_text = is_text & ~after
    nlp_class = np.where(kind == KIND_START, t.start_class, np.where(bot_text, t.class_of[ii], -1))
    state = np.where(bot_text, t.state_base[ii] + np.floor(u_s * t.state_count[ii]), -1)
    state = np.where(kind == KIND_START, t.start_state, state)
    state = np.where(ev_row >= 0, t.event_state[np.maximum(ev_row, 0)], state).astype(np.int16)
    prev_state = np.concatenate([[t.root_state], state[:-1]]).astype(np.int16)
    prev_state[off] = t.root_state
    from_state = np.where(state >= 0, prev_state, -1).astype(np.int16)
    rule = np.where(bot_text & (intent != t.catch_all), np.where(rng.random(total) < 0.8, RULE_INTENT, RULE_PATTERN),
                    RULE_NONE)  # fmt: skip
    rule = np.where(kind == KIND_START, RULE_PATTERN, rule).astype(np.int8)
    conf = np.where(rule == RULE_INTENT, np.round(rng.uniform(0.55, 0.99, total), 4), np.nan)
    conf = np.where(rule == RULE_PATTERN, 1.0, conf).astype(np.float32)
    proc = _lognormal_ms(rng, 120, 0.55, total) * np.where(row_tel, 2.5, 1.0)
    proc = np.where(kind == KIND_EVENT, proc * 0.5, proc)
    proc = np.where(after, rng.uniform(15, 40, total), proc)
    proc = np.clip(proc, 3, 30_000).astype(np.int32)
    shares = np.array([vocab.STATUS_SHARES[c] for c in vocab.CHANNELS])
    cum = np.cumsum(shares, axis=1)
    status = (rng.random(total)[:, None] >= cum[chan[sid]][:, :-1]).sum(axis=1).astype(np.int8)
    oper = np.where(after, operator[sid], -1).astype(np.int8)
    widget = chan[sid] == vocab.CHANNELS.index("chatwidget")
    page = np.where(widget & (kind != KIND_EVENT), rng.integers(0, len(vocab.PAGES), total), -1).astype(np.int8)
    prev_page = np.concatenate([[-1], page[:-1]]).astype(np.int8)
    prev_page[off] = -1
    prev_page = np.where(page >= 0, prev_page, -1).astype(np.int8)
    exc = np.where(bot_text & (rng.random(total) < 0.003), rng.integers(0, len(vocab.EXCEPTIONS), total), -1)
    delayed = rng.random(total) < plan.delayed_share
    delay = np.clip(_lognormal_ms(rng, 2 * HOUR_MS, 1.0, total), 5 * MINUTE_MS, 3 * DAY_MS).astype(np.int64)
    arrival = np.where(delayed, ts + delay, ts)

    # session outcome
    last = off + rows - 1
    end = ts[last]
    text_intent = np.where(is_text & ~after, intent, -1)
    last_intent = np.full(n, -1, dtype=np.int64)
    np.maximum.at(last_intent, sid, np.where(text_intent >= 0, pos * 100 + text_intent, -1))
    last_intent = np.where(last_intent >= 0, last_intent % 100, -1)
    names = {name: i for i, name in enumerate(t.intent_names)}
    result = np.full(n, vocab.RESULT_ANSWERED, dtype=np.int8)
    result[last_intent == names["order.status"]] = vocab.RESULT_STATUS
    result[last_intent == names["order.cancel"]] = vocab.RESULT_CANCELLED
    result[last_intent == names["order.create"]] = vocab.RESULT_PLACED
    result[transfer] = vocab.RESULT_TRANSFERRED
    result[incoming & ~transfer] = np.where(rng.random(int((incoming & ~transfer).sum())) < 0.5,
                                            vocab.RESULT_ANSWERED, vocab.RESULT_STATUS)  # fmt: skip
    result[outgoing] = np.where(rng.random(int(outgoing.sum())) < 0.75, vocab.RESULT_CALL_DONE, vocab.RESULT_CALL_BACK)
    result[outgoing & empty] = vocab.RESULT_NO_ANSWER
    has_result = np.where(empty & ~tel, False, rng.random(n) < 0.85)
    result = np.where(has_result, result, -1).astype(np.int8)
    result_ms = end + _lognormal_ms(rng, 30_000, 1.0, n).astype(np.int64)
    late_result = rng.random(n) < 0.10
    result_ms = np.where(late_result, result_ms + rng.integers(HOUR_MS, 3 * DAY_MS, n), result_ms)
    call_task = np.where(outgoing, np.array(vocab.CALL_TASK_IDS)[rng.integers(0, len(vocab.CALL_TASK_IDS), n)], -1)
    lang = _pick(rng, np.array(vocab.LANG_SHARES), n).astype(np.int8)
    source = np.where(chan == vocab.CHANNELS.index("chatwidget"), _pick(rng, np.array(vocab.SOURCE_SHARES), n), -1)
    exp = np.full((n, len(plan.experiments)), -1, dtype=np.int8)
    for j, e in enumerate(plan.experiments):
        inside = (start >= e.start_ms) & ((start < e.stop_ms) if e.stop_ms is not None else True)
        exp[:, j] = np.where(inside, _pick(rng, e.shares, n), -1)

    # session labels, set by reviewers after the session
    sl_on = np.where(empty, ~tel & (rng.random(n) < 0.04), rng.random(n) < 0.20)
    sl_label = np.where(result == vocab.RESULT_PLACED, 2005, 2001)
    sl_label = np.where(transfer, np.where(rng.random(n) < 0.6, 2002, 2003), sl_label)
    sl_label = np.where(empty, 2004, sl_label)
    sl_ms = end + np.clip(_lognormal_ms(rng, 6 * HOUR_MS, 1.0, n), 2 * MINUTE_MS, 5 * DAY_MS).astype(np.int64)
    sl_idx = np.flatnonzero(sl_on)

    # message labels and comments, set after the message
    ca = is_text & ~after & (intent == t.catch_all)
    topic = np.where(is_text & ~after, t.topic_label[ii], -1)
    ml_label = np.where(ca, np.array([1002, 1003, 1008])[rng.integers(0, 3, total)], np.where(topic >= 0, topic, 1001))
    ml_p = np.where(ca, 0.25, np.where(topic >= 0, 0.04, np.where(is_text & ~after, 0.01, 0.0)))
    ml_idx = np.flatnonzero(rng.random(total) < ml_p)
    ml_ms = ts + np.clip(_lognormal_ms(rng, 8 * HOUR_MS, 1.1, total), MINUTE_MS, 5 * DAY_MS).astype(np.int64)
    cm_idx = np.flatnonzero(is_text & (rng.random(total) < 0.004))
    cm_text = rng.integers(0, len(vocab.COMMENTS), total)
    cm_ms = ts + np.clip(_lognormal_ms(rng, 12 * HOUR_MS, 1.0, total), MINUTE_MS, 5 * DAY_MS).astype(np.int64)

    return DayBlock(
        day_ordinal=day_ordinal,
        s_bot=bot,
        s_client=client.astype(np.int32),
        s_start=start.astype(np.int64),
        s_rows=rows.astype(np.int64),
        s_result=result,
        s_result_ms=result_ms.astype(np.int64),
        s_incoming=np.where(tel, incoming, -1).astype(np.int8),
        s_call_task=call_task.astype(np.int32),
        s_lang=lang,
        s_source=source.astype(np.int8),
        s_exp=exp,
        m_ts=ts.astype(np.int64),
        m_arrival=arrival.astype(np.int64),
        m_kind=kind,
        m_q=q.astype(np.int16),
        m_a=a.astype(np.int16),
        m_event=ev_row.astype(np.int8),
        m_intent=intent,
        m_class=nlp_class.astype(np.int16),
        m_state=state,
        m_from=from_state,
        m_rule=rule,
        m_conf=conf,
        m_proc=proc,
        m_status=status,
        m_live=live,
        m_oper=oper,
        m_page=page,
        m_prev_page=prev_page,
        m_exc=exc.astype(np.int8),
        ml_rows=ml_idx.astype(np.int64),
        ml_labels=ml_label[ml_idx].astype(np.int64),
        ml_ms=ml_ms[ml_idx],
        sl_rows=sl_idx.astype(np.int64),
        sl_labels=sl_label[sl_idx].astype(np.int64),
        sl_ms=sl_ms[sl_idx],
        cm_rows=cm_idx.astype(np.int64),
        cm_text=cm_text[cm_idx].astype(np.int64),
        cm_ms=cm_ms[cm_idx],
    )
