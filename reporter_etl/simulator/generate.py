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
        delay = np.clip(_lognormal_ms(rng, 2 * DAY_MS, 1.0, n), HOUR_MS, 20 * DAY_MS).astype(np.int64)
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


# --- one day, step by step ------------------------------------------------------------------------------------
# Each step draws from the day's generator in a fixed order: reordering draws, or drawing in a step that did
# not before, changes every later draw and so the whole day (tests/test_world_pinned.py pins the result).

# sessions
INCOMING_CALL_SHARE = 0.6  # of telephony sessions; the rest are outgoing calls
UNANSWERED_CALL_SHARE = 0.30  # outgoing calls nobody picks up (empty sessions)
START_COMMAND_SHARE = 0.85  # non-telephony sessions with phrases that begin with /start
MAX_CLIENT_PHRASES = 150
RETURNING_CLIENT_SKEW = 1.7  # exponent on a uniform draw of the client: low numbers come back more often
TIME_LIMIT_SHARE = 0.35  # empty chats the bot pings ("are you still there?")
LIVECHAT_FINISHED_SHARE = 0.7  # transferred chats that end with the operator leaving
RESUME_AFTER_DAYS = (1, 6)  # integers(lo, hi): 1-5 whole days ...
RESUME_EXTRA_MS = 10 * HOUR_MS  # ... plus up to this much
# gaps before a row: lognormal (median ms, sigma) or uniform [lo, hi) ms
PHRASE_GAP = (20_000, 0.9)
CALL_PHRASE_GAP = (7_000, 0.6)
OPERATOR_GAP = (60_000, 0.8)
PAUSE_SHARE = 0.02  # rows after a long pause
PAUSE_MS = (5 * MINUTE_MS, 120 * MINUTE_MS)
TIME_LIMIT_MS = (10 * MINUTE_MS, 30 * MINUTE_MS)
LIVECHAT_FINISHED_MS = (MINUTE_MS, 10 * MINUTE_MS)
HANGUP_MS = (1_000, 5_000)
MIN_GAP_MS = 300
# the bot's side of a row
INTENT_RULE_SHARE = 0.8  # recognised phrases matched by intent; the rest by pattern
CONFIDENCE_RANGE = (0.55, 0.99)
PROCESSING_MS = (120, 0.55)  # lognormal (median, sigma)
CALL_PROCESSING_FACTOR = 2.5
EVENT_PROCESSING_FACTOR = 0.5
OPERATOR_PROCESSING_MS = (15, 40)
PROCESSING_CLIP_MS = (3, 30_000)
EXCEPTION_SHARE = 0.003  # of bot answers
INGESTION_DELAY_MS = (2 * HOUR_MS, 1.0)  # delayed messages arrive this much later (lognormal)
INGESTION_DELAY_CLIP_MS = (5 * MINUTE_MS, 3 * DAY_MS)
# session outcome
ANSWERED_CALL_SHARE = 0.5  # incoming calls without transfer answered by the bot; the rest gave an order status
CALL_DONE_SHARE = 0.75  # answered outgoing calls completed; the rest asked to call back
RESULT_SHARE = 0.85  # sessions that record a result (empty chats never do)
RESULT_DELAY_MS = (30_000, 1.0)  # after the session's last row (lognormal)
LATE_RESULT_SHARE = 0.10
LATE_RESULT_MS = (HOUR_MS, 3 * DAY_MS)
# reviewers: session labels, message labels and comments set some time after the row
SESSION_LABEL_SHARE = 0.20
EMPTY_SESSION_LABEL_SHARE = 0.04  # empty chats (never empty calls) marked as spam
NEEDS_REVIEW_SHARE = 0.6  # transferred sessions marked "needs review"; the rest "complaint"
SESSION_LABEL_DELAY_MS = (6 * HOUR_MS, 1.0, 2 * MINUTE_MS, 5 * DAY_MS)  # (median, sigma, clip lo, clip hi)
CATCH_ALL_LABELS = (vocab.LABEL_WRONG_INTENT, vocab.LABEL_NO_ANSWER_FOUND, vocab.LABEL_ADD_TRAINING_PHRASE)
CATCH_ALL_LABEL_SHARE = 0.25
TOPIC_LABEL_SHARE = 0.04
CORRECT_ANSWER_LABEL_SHARE = 0.01  # other bot answers
MESSAGE_LABEL_DELAY_MS = (8 * HOUR_MS, 1.1, MINUTE_MS, 5 * DAY_MS)
COMMENT_SHARE = 0.004  # of client phrases
COMMENT_DELAY_MS = (12 * HOUR_MS, 1.0, MINUTE_MS, 5 * DAY_MS)

_CHANNEL_OF_NAME = {name: i for i, name in enumerate(vocab.CHANNELS)}
_TELEPHONY = _CHANNEL_OF_NAME[vocab.TELEPHONY]
_WIDGET = _CHANNEL_OF_NAME["chatwidget"]
_STATUS_CUMULATIVE = np.cumsum(np.array([vocab.STATUS_SHARES[c] for c in vocab.CHANNELS]), axis=1)
_INTENT_OF_NAME = {name: i for i, name in enumerate(TEXTS.intent_names)}


@dataclass(frozen=True)
class GeneratedColumns:
    """Session and message columns as the generator makes them (strings as indices into texts and vocab)."""

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


@dataclass(frozen=True)
class DayBlock(GeneratedColumns):
    """Sessions starting on one UTC day and all their messages; indices are local to the block."""

    day_ordinal: int
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


def _clipped_delay_ms(rng: np.random.Generator, spec: tuple[float, float, float, float], n: int) -> np.ndarray:
    median_ms, sigma, lo, hi = spec
    return np.clip(_lognormal_ms(rng, median_ms, sigma, n), lo, hi).astype(np.int64)


def _pick(rng: np.random.Generator, shares: np.ndarray, n: int) -> np.ndarray:
    return np.searchsorted(np.cumsum(shares)[:-1], rng.random(n), side="right")


@dataclass
class _Sessions:
    """Per session of the day: who, when, through which bot, and the shape of the conversation."""

    start: np.ndarray
    bot: np.ndarray
    client: np.ndarray
    channel: np.ndarray
    telephony: np.ndarray
    incoming: np.ndarray
    outgoing: np.ndarray
    empty: np.ndarray
    phrases: np.ndarray  # client phrases
    has_start: np.ndarray  # 1 when the session opens with /start
    transfer: np.ndarray
    transfer_at: np.ndarray  # the phrase that asks for an operator; operator answers follow it
    event: np.ndarray  # the closing event, -1 none
    rows: np.ndarray
    resume: np.ndarray
    resume_at: np.ndarray  # the phrase that comes days later
    resume_gap: np.ndarray
    operator: np.ndarray

    @property
    def n(self) -> int:
        return len(self.start)


@dataclass
class _Layout:
    """Per message row: [/start] [client phrases...] [event], where each row sits in its session."""

    total: int
    first_row: np.ndarray  # per session
    session: np.ndarray  # per row: local session index
    position: np.ndarray  # within the session
    phrase_no: np.ndarray  # position among the client phrases
    kind: np.ndarray
    is_text: np.ndarray
    transfer_row: np.ndarray
    operator_answer: np.ndarray  # phrases answered by the operator (after the transfer)
    telephony: np.ndarray
    event: np.ndarray  # the event of an event row, -1 otherwise

    @property
    def bot_answer(self) -> np.ndarray:
        return self.is_text & ~self.operator_answer


@dataclass
class _Said:
    """Per message row: what the client said and how the bot (or operator) answered."""

    intent: np.ndarray
    question: np.ndarray
    answer: np.ndarray
    nlp_class: np.ndarray
    state: np.ndarray
    from_state: np.ndarray
    rule: np.ndarray
    confidence: np.ndarray
    processing_ms: np.ndarray
    status: np.ndarray
    operator: np.ndarray
    page: np.ndarray
    prev_page: np.ndarray
    exception: np.ndarray


@dataclass
class _Outcome:
    result: np.ndarray
    result_ms: np.ndarray
    call_task: np.ndarray
    lang: np.ndarray
    source: np.ndarray
    experiments: np.ndarray


def _draw_sessions(rng: np.random.Generator, plan: Plan, day_start: int) -> _Sessions:
    minute_weight = minute_weights(plan.tz, day_start)
    n = int(rng.poisson(plan.sessions_per_day * minute_weight.mean() / plan.weight_norm))
    minute = rng.choice(1440, size=n, p=minute_weight / minute_weight.sum()).astype(np.int64)
    start = day_start + minute * MINUTE_MS + rng.integers(0, MINUTE_MS, n)
    start.sort()
    index = np.arange(n, dtype=np.int64)
    start = np.maximum.accumulate(start - index) + index  # strictly increasing: start times identify sessions' order
    bot = _pick(rng, plan.bot_weights, n).astype(np.int16)
    returning = np.floor(plan.pool_sizes[bot] * rng.random(n) ** RETURNING_CLIENT_SKEW).astype(np.int64)
    client = plan.pool_offsets[bot] + returning
    channel = np.array([_CHANNEL_OF_NAME[c] for c in plan.bot_channels])[bot]
    telephony = channel == _TELEPHONY
    incoming = telephony & (rng.random(n) < INCOMING_CALL_SHARE)
    outgoing = telephony & ~incoming
    empty = rng.random(n) < np.where(outgoing, UNANSWERED_CALL_SHARE, EMPTY_SHARE)
    phrases = _lognormal_ms(rng, CLIENT_MESSAGES_MEDIAN, CLIENT_MESSAGES_SIGMA, n)  # a count, drawn alike
    phrases = np.clip(np.rint(phrases), 1, MAX_CLIENT_PHRASES)
    phrases = np.where(empty, 0, phrases).astype(np.int64)
    has_start = (empty | telephony | (rng.random(n) < START_COMMAND_SHARE)).astype(np.int64)
    transfer = ~empty & (rng.random(n) < TRANSFER_SHARE)
    transfer_at = np.floor(rng.random(n) * np.maximum(phrases - 1, 1)).astype(np.int64)
    event = np.full(n, -1, dtype=np.int64)
    event[empty & ~telephony & (rng.random(n) < TIME_LIMIT_SHARE)] = vocab.EVENT_TIME_LIMIT
    event[transfer & ~telephony & (rng.random(n) < LIVECHAT_FINISHED_SHARE)] = vocab.EVENT_LIVECHAT_FINISHED
    event[telephony] = vocab.EVENT_HANGUP
    resume = (phrases >= 2) & (rng.random(n) < RESUME_SHARE)
    resume_at = 1 + np.floor(rng.random(n) * np.maximum(phrases - 1, 1)).astype(np.int64)
    resume_gap = rng.integers(*RESUME_AFTER_DAYS, n) * DAY_MS + rng.integers(0, RESUME_EXTRA_MS, n)
    operator = rng.integers(0, len(vocab.OPERATORS), n)
    return _Sessions(start=start, bot=bot, client=client, channel=channel, telephony=telephony, incoming=incoming,
                     outgoing=outgoing, empty=empty, phrases=phrases, has_start=has_start, transfer=transfer,
                     transfer_at=transfer_at, event=event, rows=has_start + phrases + (event >= 0), resume=resume,
                     resume_at=resume_at, resume_gap=resume_gap, operator=operator)  # fmt: skip


def _lay_out_rows(s: _Sessions) -> _Layout:
    total = int(s.rows.sum())
    first_row = (np.cumsum(s.rows) - s.rows).astype(np.int64)
    session = np.repeat(np.arange(s.n, dtype=np.int64), s.rows)
    position = np.arange(total, dtype=np.int64) - first_row[session]
    starts = s.has_start[session]
    text_or_event = np.where(position < starts + s.phrases[session], KIND_TEXT, KIND_EVENT)
    kind = np.where(position < starts, KIND_START, text_or_event).astype(np.int8)
    is_text = kind == KIND_TEXT
    phrase_no = position - starts
    transferred = is_text & s.transfer[session]
    transfer_row = transferred & (phrase_no == s.transfer_at[session])
    operator_answer = transferred & (phrase_no > s.transfer_at[session])
    return _Layout(total=total, first_row=first_row, session=session, position=position, phrase_no=phrase_no,
                   kind=kind, is_text=is_text, transfer_row=transfer_row, operator_answer=operator_answer,
                   telephony=s.telephony[session],
                   event=np.where(kind == KIND_EVENT, s.event[session], -1))  # fmt: skip


def _draw_timestamps(rng: np.random.Generator, s: _Sessions, rows: _Layout) -> np.ndarray:
    """Each row's time: the session's start plus the gaps before it (a resumed tail jumps days ahead)."""
    total = rows.total
    gap = _lognormal_ms(rng, *PHRASE_GAP, total)
    gap = np.where(rows.telephony, _lognormal_ms(rng, *CALL_PHRASE_GAP, total), gap)
    gap = np.where(rows.operator_answer, _lognormal_ms(rng, *OPERATOR_GAP, total), gap)
    gap = np.where(rng.random(total) < PAUSE_SHARE, rng.uniform(*PAUSE_MS, total), gap)
    gap = np.where(rows.event == vocab.EVENT_TIME_LIMIT, rng.uniform(*TIME_LIMIT_MS, total), gap)
    gap = np.where(rows.event == vocab.EVENT_LIVECHAT_FINISHED, rng.uniform(*LIVECHAT_FINISHED_MS, total), gap)
    gap = np.where(rows.event == vocab.EVENT_HANGUP, rng.uniform(*HANGUP_MS, total), gap)
    gap = np.clip(gap, MIN_GAP_MS, None).astype(np.int64)
    resumed = rows.is_text & s.resume[rows.session] & (rows.phrase_no == s.resume_at[rows.session])
    gap += np.where(resumed, s.resume_gap[rows.session], 0)
    gap[rows.first_row] = 0
    elapsed = np.cumsum(gap)
    return s.start[rows.session] + elapsed - elapsed[rows.first_row][rows.session]


def _previous_in_session(values: np.ndarray, first_row: np.ndarray, before_first: int, dtype: type) -> np.ndarray:
    """Each row's predecessor's value within its session (`before_first` for a session's first row)."""
    previous = np.concatenate([[before_first], values[:-1]]).astype(dtype)
    previous[first_row] = before_first
    return previous


def _draw_conversation(rng: np.random.Generator, s: _Sessions, rows: _Layout) -> _Said:
    t = TEXTS
    total, kind, is_text, bot_answer = rows.total, rows.kind, rows.is_text, rows.bot_answer
    is_start, after_transfer = kind == KIND_START, rows.operator_answer
    intent = _pick(rng, t.weights, total)
    intent = np.where(rng.random(total) < vocab.CATCH_ALL_SHARE, t.catch_all, intent)
    intent = np.where(rows.transfer_row, t.operator, intent)
    intent = np.where(is_text, intent, -1).astype(np.int16)
    of_intent = np.maximum(intent, 0)
    u_question, u_answer, u_state = rng.random(total), rng.random(total), rng.random(total)
    phrase = np.where(is_text, t.q_base[of_intent] + np.floor(u_question * t.q_count[of_intent]), -1)
    question = np.where(is_start, t.start_q, phrase)
    answer = np.where(is_text, t.a_base[of_intent] + np.floor(u_answer * t.a_count[of_intent]), -1)
    answer = np.where(after_transfer, t.operator_a_base + np.floor(u_answer * len(vocab.OPERATOR_ANSWERS)), answer)
    answer = np.where(is_start, t.start_a, answer)
    of_event = np.maximum(rows.event, 0)
    answer = np.where(rows.event >= 0, t.event_a[of_event], answer)
    nlp_class = np.where(is_start, t.start_class, np.where(bot_answer, t.class_of[of_intent], -1))
    state = np.where(bot_answer, t.state_base[of_intent] + np.floor(u_state * t.state_count[of_intent]), -1)
    state = np.where(is_start, t.start_state, state)
    state = np.where(rows.event >= 0, t.event_state[of_event], state).astype(np.int16)
    previous_state = _previous_in_session(state, rows.first_row, t.root_state, np.int16)
    from_state = np.where(state >= 0, previous_state, -1).astype(np.int16)
    by_intent = np.where(rng.random(total) < INTENT_RULE_SHARE, RULE_INTENT, RULE_PATTERN)
    rule = np.where(bot_answer & (intent != t.catch_all), by_intent, RULE_NONE)
    rule = np.where(is_start, RULE_PATTERN, rule).astype(np.int8)
    confidence = np.where(rule == RULE_INTENT, np.round(rng.uniform(*CONFIDENCE_RANGE, total), 4), np.nan)
    confidence = np.where(rule == RULE_PATTERN, 1.0, confidence).astype(np.float32)
    processing = _lognormal_ms(rng, *PROCESSING_MS, total) * np.where(rows.telephony, CALL_PROCESSING_FACTOR, 1.0)
    processing = np.where(kind == KIND_EVENT, processing * EVENT_PROCESSING_FACTOR, processing)
    processing = np.where(after_transfer, rng.uniform(*OPERATOR_PROCESSING_MS, total), processing)
    processing = np.clip(processing, *PROCESSING_CLIP_MS).astype(np.int32)
    channel = s.channel[rows.session]
    status = (rng.random(total)[:, None] >= _STATUS_CUMULATIVE[channel][:, :-1]).sum(axis=1).astype(np.int8)
    operator = np.where(after_transfer, s.operator[rows.session], -1).astype(np.int8)
    on_page = (channel == _WIDGET) & (kind != KIND_EVENT)
    page = np.where(on_page, rng.integers(0, len(vocab.PAGES), total), -1).astype(np.int8)
    prev_page = _previous_in_session(page, rows.first_row, -1, np.int8)
    prev_page = np.where(page >= 0, prev_page, -1).astype(np.int8)
    failed = bot_answer & (rng.random(total) < EXCEPTION_SHARE)
    exception = np.where(failed, rng.integers(0, len(vocab.EXCEPTIONS), total), -1)
    return _Said(intent=intent, question=question, answer=answer, nlp_class=nlp_class, state=state,
                 from_state=from_state, rule=rule, confidence=confidence, processing_ms=processing, status=status,
                 operator=operator, page=page, prev_page=prev_page, exception=exception)  # fmt: skip


def _draw_arrivals(rng: np.random.Generator, plan: Plan, timestamp: np.ndarray) -> np.ndarray:
    """When each message becomes visible: at once, except the delayed-ingestion share."""
    delayed = rng.random(len(timestamp)) < plan.delayed_share
    delay = np.clip(_lognormal_ms(rng, *INGESTION_DELAY_MS, len(timestamp)), *INGESTION_DELAY_CLIP_MS)
    return np.where(delayed, timestamp + delay.astype(np.int64), timestamp)


def _last_intent(s: _Sessions, rows: _Layout, intent: np.ndarray) -> np.ndarray:
    """Per session, the intent of its last phrase the bot answered (-1 none)."""
    answered = np.where(rows.bot_answer, intent, -1)
    last = np.full(s.n, -1, dtype=np.int64)
    np.maximum.at(last, rows.session, np.where(answered >= 0, rows.position * 100 + answered, -1))
    return np.where(last >= 0, last % 100, -1)


def _draw_outcomes(rng: np.random.Generator, plan: Plan, s: _Sessions, last_intent: np.ndarray,
                   end: np.ndarray) -> _Outcome:  # fmt: skip
    n = s.n
    result = np.full(n, vocab.RESULT_ANSWERED, dtype=np.int8)
    result[last_intent == _INTENT_OF_NAME["order.status"]] = vocab.RESULT_STATUS
    result[last_intent == _INTENT_OF_NAME["order.cancel"]] = vocab.RESULT_CANCELLED
    result[last_intent == _INTENT_OF_NAME["order.create"]] = vocab.RESULT_PLACED
    result[s.transfer] = vocab.RESULT_TRANSFERRED
    answered_call = s.incoming & ~s.transfer
    result[answered_call] = np.where(rng.random(int(answered_call.sum())) < ANSWERED_CALL_SHARE,
                                     vocab.RESULT_ANSWERED, vocab.RESULT_STATUS)  # fmt: skip
    result[s.outgoing] = np.where(rng.random(int(s.outgoing.sum())) < CALL_DONE_SHARE,
                                  vocab.RESULT_CALL_DONE, vocab.RESULT_CALL_BACK)  # fmt: skip
    result[s.outgoing & s.empty] = vocab.RESULT_NO_ANSWER
    has_result = np.where(s.empty & ~s.telephony, False, rng.random(n) < RESULT_SHARE)
    result = np.where(has_result, result, -1).astype(np.int8)
    result_ms = end + _lognormal_ms(rng, *RESULT_DELAY_MS, n).astype(np.int64)
    late = rng.random(n) < LATE_RESULT_SHARE
    result_ms = np.where(late, result_ms + rng.integers(*LATE_RESULT_MS, n), result_ms)
    task = np.array(vocab.CALL_TASK_IDS)[rng.integers(0, len(vocab.CALL_TASK_IDS), n)]
    call_task = np.where(s.outgoing, task, -1)
    lang = _pick(rng, np.array(vocab.LANG_SHARES), n).astype(np.int8)
    source = np.where(s.channel == _WIDGET, _pick(rng, np.array(vocab.SOURCE_SHARES), n), -1)
    branches = np.full((n, len(plan.experiments)), -1, dtype=np.int8)
    for j, e in enumerate(plan.experiments):
        inside = (s.start >= e.start_ms) & ((s.start < e.stop_ms) if e.stop_ms is not None else True)
        branches[:, j] = np.where(inside, _pick(rng, e.shares, n), -1)
    return _Outcome(result=result, result_ms=result_ms, call_task=call_task, lang=lang, source=source,
                    experiments=branches)  # fmt: skip


def _draw_session_labels(rng: np.random.Generator, s: _Sessions, result: np.ndarray,
                         end: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:  # fmt: skip
    """(session, label, set-at ms) of the labels reviewers put on sessions after they end."""
    n = s.n
    labelled = np.where(s.empty, ~s.telephony & (rng.random(n) < EMPTY_SESSION_LABEL_SHARE),
                        rng.random(n) < SESSION_LABEL_SHARE)  # fmt: skip
    label = np.where(result == vocab.RESULT_PLACED, vocab.SESSION_LABEL_LEAD, vocab.SESSION_LABEL_RESOLVED)
    transferred = np.where(rng.random(n) < NEEDS_REVIEW_SHARE, vocab.SESSION_LABEL_NEEDS_REVIEW,
                           vocab.SESSION_LABEL_COMPLAINT)  # fmt: skip
    label = np.where(s.transfer, transferred, label)
    label = np.where(s.empty, vocab.SESSION_LABEL_SPAM, label)
    set_ms = end + _clipped_delay_ms(rng, SESSION_LABEL_DELAY_MS, n)
    chosen = np.flatnonzero(labelled)
    return chosen.astype(np.int64), label[chosen].astype(np.int64), set_ms[chosen]


def _draw_message_reviews(rng: np.random.Generator, rows: _Layout, intent: np.ndarray, timestamp: np.ndarray
                          ) -> tuple[tuple[np.ndarray, np.ndarray, np.ndarray], ...]:  # fmt: skip
    """(row, label, set-at ms) of message labels and (row, comment, set-at ms) of comments reviewers add."""
    total, bot_answer = rows.total, rows.bot_answer
    catch_all = bot_answer & (intent == TEXTS.catch_all)
    topic = np.where(bot_answer, TEXTS.topic_label[np.maximum(intent, 0)], -1)
    catch_all_label = np.array(CATCH_ALL_LABELS)[rng.integers(0, len(CATCH_ALL_LABELS), total)]
    label = np.where(catch_all, catch_all_label, np.where(topic >= 0, topic, vocab.LABEL_CORRECT_ANSWER))
    other_share = np.where(bot_answer, CORRECT_ANSWER_LABEL_SHARE, 0.0)
    share = np.where(catch_all, CATCH_ALL_LABEL_SHARE, np.where(topic >= 0, TOPIC_LABEL_SHARE, other_share))
    labelled = np.flatnonzero(rng.random(total) < share)
    label_ms = timestamp + _clipped_delay_ms(rng, MESSAGE_LABEL_DELAY_MS, total)
    commented = np.flatnonzero(rows.is_text & (rng.random(total) < COMMENT_SHARE))
    comment = rng.integers(0, len(vocab.COMMENTS), total)
    comment_ms = timestamp + _clipped_delay_ms(rng, COMMENT_DELAY_MS, total)
    return ((labelled.astype(np.int64), label[labelled].astype(np.int64), label_ms[labelled]),
            (commented.astype(np.int64), comment[commented].astype(np.int64), comment_ms[commented]))  # fmt: skip


def generate_day(plan: Plan, day_ordinal: int) -> DayBlock:
    """The sessions starting on one UTC day, their messages and what reviewers will set on them later."""
    rng = np.random.default_rng([plan.seed, day_ordinal, 1])
    sessions = _draw_sessions(rng, plan, day_start_ms(day_ordinal))
    rows = _lay_out_rows(sessions)
    timestamp = _draw_timestamps(rng, sessions, rows)
    said = _draw_conversation(rng, sessions, rows)
    arrival = _draw_arrivals(rng, plan, timestamp)
    end = timestamp[rows.first_row + sessions.rows - 1]
    outcome = _draw_outcomes(rng, plan, sessions, _last_intent(sessions, rows, said.intent), end)
    sl_rows, sl_labels, sl_ms = _draw_session_labels(rng, sessions, outcome.result, end)
    (ml_rows, ml_labels, ml_ms), (cm_rows, cm_text, cm_ms) = _draw_message_reviews(rng, rows, said.intent,
                                                                                   timestamp)  # fmt: skip
    s = sessions
    return DayBlock(
        day_ordinal=day_ordinal,
        s_bot=s.bot,
        s_client=s.client.astype(np.int32),
        s_start=s.start.astype(np.int64),
        s_rows=s.rows.astype(np.int64),
        s_result=outcome.result,
        s_result_ms=outcome.result_ms.astype(np.int64),
        s_incoming=np.where(s.telephony, s.incoming, -1).astype(np.int8),
        s_call_task=outcome.call_task.astype(np.int32),
        s_lang=outcome.lang,
        s_source=outcome.source.astype(np.int8),
        s_exp=outcome.experiments,
        m_ts=timestamp.astype(np.int64),
        m_arrival=arrival.astype(np.int64),
        m_kind=rows.kind,
        m_q=said.question.astype(np.int16),
        m_a=said.answer.astype(np.int16),
        m_event=rows.event.astype(np.int8),
        m_intent=said.intent,
        m_class=said.nlp_class.astype(np.int16),
        m_state=said.state,
        m_from=said.from_state,
        m_rule=said.rule,
        m_conf=said.confidence,
        m_proc=said.processing_ms,
        m_status=said.status,
        m_live=rows.transfer_row | rows.operator_answer,
        m_oper=said.operator,
        m_page=said.page,
        m_prev_page=said.prev_page,
        m_exc=said.exception.astype(np.int8),
        ml_rows=ml_rows,
        ml_labels=ml_labels,
        ml_ms=ml_ms,
        sl_rows=sl_rows,
        sl_labels=sl_labels,
        sl_ms=sl_ms,
        cm_rows=cm_rows,
        cm_text=cm_text,
        cm_ms=cm_ms,
    )
