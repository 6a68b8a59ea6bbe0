"""The simulator's World: one deterministic synthetic Tovie Platform project behind the HTTP server.

The world is columnar: numpy arrays per message and per session row (see `generate.py`), strings as indices
into small vocabularies, API ids derived from integers when rendered (`ids.py`).  What is *visible* depends on
the clock `now`: a message is visible once its arrival time has passed (arrival = timestamp, except for the
delayed-ingestion share) or it was released early; a session once one of its messages is; labels, comments
and session results once their set-at time has passed.  Session and client aggregates (counts, first/last
phrase, end time, join and last-visit dates) are computed from the visible messages, so they always agree.

The agreed interface with the HTTP server is implemented name for name.  Additions: batch renderers
(`extended_messages`, `messages`, `session_infos`, `client_infos`: a page at a time, several times faster than
row by row), `state_routes` (StateRoutesInfo rows), `sessions_of_client`, `held_back_count` and `now_ms`.
Module map: generate (days), query (filters), render (dicts), discovery (filter metadata), catalog (labels,
experiments), annotations (labels and comments over time), stats (buckets), ids (ids and time stamps).
"""

from __future__ import annotations

import logging
import threading
from collections import OrderedDict
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from . import catalog as cat
from . import ids, render, stats, vocab
from .annotations import CommentStore, LabelStore, member
from .errors import FilterError, NotFound
from .filters import ANALYTICS_SECTIONS, KEYS, Condition, canonical, parse_filters
from .generate import DAY_MS, DayBlock, generate_day, make_clients, make_plan
from .query import Engine
from .texts import TEXTS

__all__ = ["Bot", "FilterError", "NotFound", "World", "WorldConfig"]

log = logging.getLogger(__name__)

QUERY_CACHE_SIZE = 8
OPTION_LIMIT = 1000  # filter-options for ids (sessions, clients) list the most recent ones only


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 42
    days: int = 30
    end_date: date | None = None  # last covered day; None = today in UTC
    messages_per_day: int = 2000  # average; the scale knob
    timezone: str = "UTC"  # IANA zone of the project: seasonality peaks follow local time
    delayed_share: float = 0.005  # share of messages whose ingestion is delayed (held back)


@dataclass(frozen=True)
class Bot:
    bot_id: str
    channel_type: str
    name: str


@dataclass
class _View:
    """Aggregates of what is visible at one clock reading (recomputed when the clock or visibility moves)."""

    vis: np.ndarray
    s_count: np.ndarray
    s_text: np.ndarray
    s_first_text: np.ndarray
    s_last_text: np.ndarray
    s_end: np.ndarray
    s_live: np.ndarray
    s_visible: np.ndarray
    c_visible: np.ndarray
    c_join: np.ndarray
    c_last: np.ndarray
    c_last_session: np.ndarray
    c_rank: np.ndarray


@dataclass
class _Annotations:
    message_labels: tuple[np.ndarray, np.ndarray]
    session_labels: tuple[np.ndarray, np.ndarray]
    comments: tuple[np.ndarray, np.ndarray]


_MESSAGE_COLUMNS = (
    "m_ts", "m_arrival", "m_kind", "m_q", "m_a", "m_event", "m_intent", "m_class", "m_state", "m_from", "m_rule",
    "m_conf", "m_proc", "m_status", "m_live", "m_oper", "m_page", "m_prev_page", "m_exc",
)  # fmt: skip
_SESSION_COLUMNS = (
    "s_bot", "s_client", "s_start", "s_rows", "s_result", "s_result_ms", "s_incoming", "s_call_task", "s_lang",
    "s_source", "s_exp",
)  # fmt: skip


def _to_ms(value: datetime | int) -> int:
    if isinstance(value, datetime):
        return ids.ms_of(value)
    return int(value)


class World:
    # --- construction --------------------------------------------------------------------------------------

    def __init__(self, config: WorldConfig) -> None:
        if config.days < 1:
            raise ValueError("WorldConfig.days must be at least 1")
        if config.messages_per_day < 1:
            raise ValueError("WorldConfig.messages_per_day must be at least 1")
        if not 0.0 <= config.delayed_share <= 1.0:
            raise ValueError("WorldConfig.delayed_share must be within [0, 1]")
        self.config = config
        end_date = config.end_date or datetime.now(UTC).date()
        self.end = datetime(end_date.year, end_date.month, end_date.day, tzinfo=UTC) + timedelta(days=1)
        self.start = self.end - timedelta(days=config.days)
        self.now = self.end
        self.version = 0
        self.lock = threading.RLock()
        self._plan = make_plan(config.seed, ids.ms_of(self.end), config.messages_per_day, config.timezone,
                               config.delayed_share)  # fmt: skip
        rng = np.random.default_rng([config.seed, 7])
        self.account_id = int(rng.integers(1_000_000, 10_000_000))
        word = vocab.PROJECT_WORDS[int(rng.integers(0, len(vocab.PROJECT_WORDS)))]
        letters = "".join(chr(65 + int(x)) for x in rng.integers(0, 26, 3))
        self.project_short_name = f"{word}-{self.account_id}-{letters}"
        numbers = rng.choice(900_000, size=len(vocab.BOT_PLAN), replace=False) + 100_000
        self.bots: list[Bot] = [
            Bot(f"{self.account_id}-{self.project_short_name}-{int(num)}", channel, name)
            for (channel, name, _), num in zip(vocab.BOT_PLAN, numbers, strict=True)
        ]
        self._bot_index = {b.bot_id: i for i, b in enumerate(self.bots)}
        self._pool = make_clients(self._plan)
        self._catalog = cat.LabelCatalog()
        self._msg_labels = LabelStore()
        self._sess_labels = LabelStore()
        self._comments = CommentStore(vocab.COMMENTS)
        self._experiments: list[cat.Experiment] = cat.planned_experiments(ids.ms_of(self.end), DAY_MS)
        self._all_experiments: dict[str, cat.Experiment] = {e.key: e for e in self._experiments}
        self._blocks: dict[int, tuple[bool, str | None, int | None, int | None]] = {}
        self._filter_sets: dict[str, dict[str, Any]] = {}
        self._engine = Engine(self)
        self._query_cache: OrderedDict[tuple[str, str, int], np.ndarray] = OrderedDict()
        self._vis_version = 0
        self._view_cache: tuple[int, _View] | None = None
        self._pending_release: np.ndarray | None = None  # rows released since the cached view, if only that
        self._ann_cache: tuple[int, _Annotations] | None = None
        self._sid_cache: dict[int, str] = {}
        self._client_strings: list[str] | None = None
        self._client_info_cache: list[dict[str, Any] | None] = [None] * len(self._pool.bot)
        self._client_lookup: dict[tuple[int, str], int] | None = None
        self._client_rank_static: np.ndarray | None = None
        self._by_id_cache: dict[str, list[int]] | None = None
        self._by_user_cache: dict[str, list[int]] | None = None
        self._init_columns()
        self._gen_end_ms = ids.ms_of(self.start)
        self._generate_until(ids.ms_of(self.end))

    def _init_columns(self) -> None:
        n_exp = len(self._plan.experiments)
        dtypes = {
            "m_ts": np.int64, "m_arrival": np.int64, "m_kind": np.int8, "m_q": np.int16, "m_a": np.int16,
            "m_event": np.int8, "m_intent": np.int16, "m_class": np.int16, "m_state": np.int16, "m_from": np.int16,
            "m_rule": np.int8, "m_conf": np.float32, "m_proc": np.int32, "m_status": np.int8, "m_live": bool,
            "m_oper": np.int8, "m_page": np.int8, "m_prev_page": np.int8, "m_exc": np.int8,
            "s_bot": np.int16, "s_client": np.int32, "s_start": np.int64, "s_rows": np.int64, "s_result": np.int8,
            "s_result_ms": np.int64, "s_incoming": np.int8, "s_call_task": np.int32, "s_lang": np.int8,
            "s_source": np.int8,
        }  # fmt: skip
        for name, dt in dtypes.items():
            setattr(self, name, np.zeros(0, dtype=dt))
        self.s_exp = np.zeros((0, n_exp), dtype=np.int8)
        self.m_sess = np.zeros(0, dtype=np.int64)
        self.m_mix = np.zeros(0, dtype=np.uint64)
        self.s_m0 = np.zeros(0, dtype=np.int64)
        self.s_mix = np.zeros(0, dtype=np.uint64)
        self._released = np.zeros(0, dtype=bool)
        self._days: dict[int, tuple[int, int, int, int]] = {}  # ordinal -> (session off, n, message off, n)

    def _generate_until(self, until_ms: int) -> None:
        """Generate every day that starts before `until_ms` (days are appended in order)."""
        blocks = []
        while self._gen_end_ms < until_ms:
            ordinal = (datetime.fromtimestamp(self._gen_end_ms / 1000, tz=UTC)).date().toordinal()
            blocks.append(generate_day(self._plan, ordinal))
            self._gen_end_ms += DAY_MS
        if blocks:
            self._append(blocks)

    def _append(self, blocks: list[DayBlock]) -> None:
        s_off, m_off = len(self.s_start), len(self.m_ts)
        m_sess, s_m0, m_mix, s_mix = [], [], [], []
        ml, sl, cm = [], [], []
        for b in blocks:
            n_s, n_m = b.n_sessions, b.n_messages
            self._days[b.day_ordinal] = (s_off, n_s, m_off, n_m)
            local_first = (np.cumsum(b.s_rows) - b.s_rows).astype(np.int64)
            m_sess.append(np.repeat(np.arange(n_s, dtype=np.int64), b.s_rows) + s_off)
            s_m0.append(local_first + m_off)
            m_mix.append(ids.mix60_np(self._keys(ids.TAG_MESSAGE, b.day_ordinal, n_m), self._plan.salt))
            s_mix.append(ids.mix60_np(self._keys(ids.TAG_SESSION, b.day_ordinal, n_s), self._plan.salt))
            ml.append((b.ml_rows + m_off, b.ml_labels, b.ml_ms))
            sl.append((b.sl_rows + s_off, b.sl_labels, b.sl_ms))
            cm.append((b.cm_rows + m_off, b.cm_text, b.cm_ms))
            s_off += n_s
            m_off += n_m
        for name in _MESSAGE_COLUMNS + _SESSION_COLUMNS:
            setattr(self, name, np.concatenate([getattr(self, name), *[getattr(b, name) for b in blocks]]))
        self.m_sess = np.concatenate([self.m_sess, *m_sess])
        self.s_m0 = np.concatenate([self.s_m0, *s_m0])
        self.m_mix = np.concatenate([self.m_mix, *m_mix])
        self.s_mix = np.concatenate([self.s_mix, *s_mix])
        self._released = np.concatenate([self._released, np.zeros(m_off - len(self._released), dtype=bool)])
        for store, parts in ((self._msg_labels, ml), (self._sess_labels, sl)):
            store.extend(*(np.concatenate([p[i] for p in parts]) for i in range(3)))
        self._comments.extend(*(np.concatenate([p[i] for p in cm]) for i in range(3)))
        self._m_order = np.lexsort((self.m_mix, self.m_ts))
        self._m_ts_sorted = self.m_ts[self._m_order]
        self._cs_order = np.argsort(self.s_client, kind="stable")
        self._cs_ptr = np.searchsorted(self.s_client[self._cs_order], np.arange(len(self._pool.bot) + 1))
        self._moved()
        self._vis_version += 1
        log.debug("world holds %d sessions and %d messages", len(self.s_start), len(self.m_ts))

    @staticmethod
    def _keys(tag: int, ordinal: int, n: int) -> np.ndarray:
        base = (tag << 56) | (ordinal << ids.DAY_SHIFT)
        return np.uint64(base) + np.arange(n, dtype=np.uint64)

    def _bump(self, visibility: bool = False) -> None:
        self.version += 1
        if visibility:
            self._vis_version += 1

    def _moved(self) -> None:
        """The clock or the rows changed: the next view is computed from scratch."""
        self._pending_release = None
        self._view_cache = None

    @property
    def now_ms(self) -> int:
        return ids.ms_of(self.now)

    # --- views ---------------------------------------------------------------------------------------------

    def _view(self) -> _View:
        if self._view_cache is not None and self._view_cache[0] == self._vis_version:
            return self._view_cache[1]
        if self._view_cache is not None and self._pending_release is not None:
            view = self._patch_view(self._view_cache[1], self._pending_release)
            self._pending_release = None
            self._view_cache = (self._vis_version, view)
            return view
        self._pending_release = None
        now = self.now_ms
        vis = (self.m_arrival <= now) | self._released
        n_m, n_s = len(self.m_ts), len(self.s_start)
        if n_s:
            starts = self.s_m0
            idx = np.arange(n_m, dtype=np.int64)
            text = vis & (self.m_kind == vocab.KIND_TEXT)
            s_count = np.add.reduceat(vis.astype(np.int64), starts)
            s_text = np.add.reduceat(text.astype(np.int64), starts)
            first_text = np.minimum.reduceat(np.where(text, idx, n_m), starts)
            first_text = np.where(first_text < n_m, first_text, -1)
            last_text = np.maximum.reduceat(np.where(text, idx, -1), starts)
            last_vis = np.maximum.reduceat(np.where(vis, idx, -1), starts)
            s_end = np.where(last_vis >= 0, self.m_ts[np.maximum(last_vis, 0)], self.s_start)
            s_live = np.maximum.reduceat((vis & self.m_live).astype(np.int8), starts) > 0
        else:
            s_count = s_text = first_text = last_text = s_end = np.zeros(0, dtype=np.int64)
            s_live = np.zeros(0, dtype=bool)
        s_visible = s_count > 0
        n_c = len(self._pool.bot)
        sv = np.flatnonzero(s_visible)
        cl = self.s_client[sv].astype(np.int64)
        c_visible = np.zeros(n_c, dtype=bool)
        c_join = np.zeros(n_c, dtype=np.int64)
        c_last = np.zeros(n_c, dtype=np.int64)
        c_last_session = np.full(n_c, -1, dtype=np.int64)
        uniq, first = np.unique(cl, return_index=True)
        c_visible[uniq] = True
        c_join[uniq] = self.s_start[sv[first]]
        uniq_r, first_r = np.unique(cl[::-1], return_index=True)
        c_last_session[uniq_r] = sv[len(sv) - 1 - first_r]
        np.maximum.at(c_last, cl, s_end[sv])
        c_rank = np.full(n_c, np.iinfo(np.int64).max, dtype=np.int64)
        if len(uniq):
            order = np.lexsort((self._client_static_rank()[uniq], -c_last[uniq]))
            c_rank[uniq[order]] = np.arange(len(uniq))
        view = _View(vis, s_count, s_text, first_text, last_text, s_end, s_live, s_visible, c_visible, c_join,
                     c_last, c_last_session, c_rank)  # fmt: skip
        self._view_cache = (self._vis_version, view)
        return view

    def _patch_view(self, view: _View, released: np.ndarray) -> _View:
        """The view after a few held-back messages became visible: only their sessions and clients change.

        The drift fault releases rows between page reads; recomputing the whole view each time would cost a
        full pass over every message of a large world per page.
        """
        view.vis[released] = True
        for s in np.unique(self.m_sess[released]).tolist():
            lo = int(self.s_m0[s])
            rows = np.arange(lo, lo + int(self.s_rows[s]), dtype=np.int64)
            rows = rows[view.vis[rows]]
            text = rows[self.m_kind[rows] == vocab.KIND_TEXT]
            view.s_count[s] = len(rows)
            view.s_text[s] = len(text)
            view.s_first_text[s] = text[0] if len(text) else -1
            view.s_last_text[s] = text[-1] if len(text) else -1
            view.s_end[s] = self.m_ts[rows[-1]]
            view.s_live[s] = bool(self.m_live[rows].any())
            view.s_visible[s] = True
        for c in np.unique(self.s_client[self.m_sess[released]]).tolist():
            srows = np.sort(self._cs_order[self._cs_ptr[c] : self._cs_ptr[c + 1]])
            srows = srows[view.s_visible[srows]]
            view.c_visible[c] = True
            view.c_join[c] = self.s_start[srows[0]]
            view.c_last_session[c] = srows[-1]
            view.c_last[c] = view.s_end[srows].max()
        uniq = np.flatnonzero(view.c_visible)
        order = np.lexsort((self._client_static_rank()[uniq], -view.c_last[uniq]))
        view.c_rank[:] = np.iinfo(np.int64).max
        view.c_rank[uniq[order]] = np.arange(len(uniq))
        return view

    def _annotations(self) -> _Annotations:
        if self._ann_cache is not None and self._ann_cache[0] == self.version:
            return self._ann_cache[1]
        now = self.now_ms
        ann = _Annotations(
            self._msg_labels.effective(now, self._catalog.message_label_ids()),
            self._sess_labels.effective(now, self._catalog.session_label_ids()),
            self._comments.effective(now),
        )
        self._ann_cache = (self.version, ann)
        return ann

    def _session_label_dtos(self) -> dict[int, dict[str, Any]]:
        return {lab.id: lab.dto() for lab in self._catalog.session_labels.values()}

    # --- per-row helpers used by the engine and the renderers ------------------------------------------

    def _intent_values(self, rows: np.ndarray) -> np.ndarray:
        intent = self.m_intent[rows].astype(np.int64)
        ok = (self.m_rule[rows] != vocab.RULE_NONE) & (intent >= 0) & (intent != TEXTS.catch_all)
        return np.where(ok, intent, -1)

    def _result_values(self, srows: np.ndarray) -> np.ndarray:
        res = self.s_result[srows].astype(np.int64)
        return np.where((res >= 0) & (self.s_result_ms[srows] <= self.now_ms), res, -1)

    def _session_data_keys(self) -> list[str]:
        return ["lang", "source", *[f"experiment.{k}" for k in self._all_experiments]]

    def _session_data_values(self, srows: np.ndarray, key: str) -> tuple[np.ndarray, list[str]]:
        """Value indices (-1 = key absent) of one sessionData key for sessions, and the value texts."""
        if key == "lang":
            return self.s_lang[srows].astype(np.int64), list(vocab.LANGS)
        if key == "source":
            return self.s_source[srows].astype(np.int64), list(vocab.SOURCES)
        exp = self._all_experiments.get(key[len("experiment."):]) if key.startswith("experiment.") else None
        if exp is None:
            return np.full(len(srows), -1, dtype=np.int64), []
        if exp.column is not None:
            values = self.s_exp[srows, exp.column].astype(np.int64)
            if exp.ended_ms is not None:
                values = np.where(self.s_start[srows] > exp.ended_ms, -1, values)
        else:
            values = np.full(len(srows), -1, dtype=np.int64)
        if exp.joined:
            joined_rows = np.array(sorted(exp.joined), dtype=np.int64)
            joined_vals = np.array([exp.joined[r] for r in joined_rows.tolist()], dtype=np.int64)
            pos = np.minimum(np.searchsorted(joined_rows, srows), len(joined_rows) - 1)
            hit = (joined_rows[pos] == srows) & (values < 0)
            values = np.where(hit, joined_vals[pos], values)
        return values, [k for k, _ in exp.branches]

    def _session_data_dicts(self, srows: np.ndarray) -> list[dict[str, str]]:
        lang = self.s_lang[srows].tolist()
        source = self.s_source[srows].tolist()
        exp_values = []
        for key in self._all_experiments:
            values, texts = self._session_data_values(srows, f"experiment.{key}")
            exp_values.append((f"experiment.{key}", values.tolist(), texts))
        out = []
        for i in range(len(srows)):
            d = {"lang": vocab.LANGS[lang[i]]}
            if source[i] >= 0:
                d["source"] = vocab.SOURCES[source[i]]
            for name, values, texts in exp_values:
                if values[i] >= 0:
                    d[name] = texts[values[i]]
            out.append(d)
        return out

    def _session_id_strs(self, srows: np.ndarray) -> list[str]:
        cache = self._sid_cache
        out = []
        missing = []
        for i, s in enumerate(srows.tolist()):
            text = cache.get(s)
            out.append(text)
            if text is None:
                missing.append(i)
        if missing:
            rows = np.asarray(srows)[missing]
            clients = self._client_strs()
            bots, cl = self.s_bot[rows].tolist(), self.s_client[rows].tolist()
            uuids = ids.uuids_from_mix(self.s_mix[rows])
            for i, s, b, c, u in zip(missing, rows.tolist(), bots, cl, uuids, strict=True):
                bot = self.bots[b]
                text = f"{bot.channel_type}-{bot.bot_id}-{clients[c]}.{u}"
                cache[s] = text
                out[i] = text
        return out

    def _client_strs(self) -> list[str]:
        if self._client_strings is None:
            channels = [self.bots[b].channel_type for b in range(len(self.bots))]
            out = []
            for b, num in zip(self._pool.bot.tolist(), self._pool.id_num.tolist(), strict=True):
                out.append(ids.uuid_from_mix(num) if channels[b] == "chatwidget" else str(num))
            self._client_strings = out
        return self._client_strings

    def _client_static_rank(self) -> np.ndarray:
        """Rank of each client by (botId, id) as strings: the tie-break of the clients order."""
        if self._client_rank_static is None:
            strs = self._client_strs()
            bots = self._pool.bot.tolist()
            order = sorted(range(len(strs)), key=lambda i: (self.bots[bots[i]].bot_id, strs[i]))
            rank = np.empty(len(strs), dtype=np.int64)
            rank[np.array(order, dtype=np.int64)] = np.arange(len(strs))
            self._client_rank_static = rank
        return self._client_rank_static

    def _username(self, c: int) -> str | None:
        no = int(self._pool.user_no[c])
        if no < 0 or self._pool.first[c] < 0:
            return None
        first = vocab.FIRST_NAMES[self._pool.first[c]].lower()
        last = vocab.LAST_NAMES[self._pool.last[c]].lower() if self._pool.last[c] >= 0 else ""
        return f"{first}_{last}{no}" if last else f"{first}{no}"

    def _client_info_dicts(self, crows: np.ndarray) -> list[dict[str, Any]]:
        cache = self._client_info_cache
        strs = None
        out = []
        for c in np.asarray(crows).tolist():
            d = cache[c]
            if d is None:
                strs = strs or self._client_strs()
                d = {"id": strs[c]}
                if self._pool.first[c] >= 0:
                    d["firstName"] = vocab.FIRST_NAMES[self._pool.first[c]]
                if self._pool.last[c] >= 0:
                    d["lastName"] = vocab.LAST_NAMES[self._pool.last[c]]
                user = self._username(c)
                if user is not None:
                    d["username"] = user
                cache[c] = d
            out.append(d)
        return out

    def _clients_named(self, options: tuple[str, ...]) -> np.ndarray:
        """Clients whose id equals an option, or whose first, last, full or user name does (any case)."""
        found: set[int] = set()
        first_names = [n.casefold() for n in vocab.FIRST_NAMES]
        last_names = [n.casefold() for n in vocab.LAST_NAMES]
        for opt in options:
            text = opt.strip()
            found.update(self._by_id_text().get(text, ()))
            fold = text.casefold()
            f_idx = [i for i, n in enumerate(first_names) if n == fold]
            l_idx = [i for i, n in enumerate(last_names) if n == fold]
            mask = np.isin(self._pool.first, f_idx) | np.isin(self._pool.last, l_idx)
            if " " in fold:
                a, b = fold.split(" ", 1)
                fa = [i for i, n in enumerate(first_names) if n == a]
                lb = [i for i, n in enumerate(last_names) if n == b.strip()]
                mask |= np.isin(self._pool.first, fa) & np.isin(self._pool.last, lb)
            found.update(np.flatnonzero(mask).tolist())
            found.update(self._by_username().get(fold, ()))
        return np.array(sorted(found), dtype=np.int64)

    def _by_id_text(self) -> dict[str, list[int]]:
        if self._by_id_cache is None:
            out: dict[str, list[int]] = {}
            for c, s in enumerate(self._client_strs()):
                out.setdefault(s, []).append(c)
            self._by_id_cache = out
        return self._by_id_cache

    def _by_username(self) -> dict[str, list[int]]:
        if self._by_user_cache is None:
            out: dict[str, list[int]] = {}
            for c in np.flatnonzero(self._pool.user_no >= 0).tolist():
                user = self._username(c)
                if user is not None:
                    out.setdefault(user.casefold(), []).append(c)
            self._by_user_cache = out
        return self._by_user_cache

    def _client_id_lookup(self) -> dict[tuple[int, str], int]:
        if self._client_lookup is None:
            pairs = zip(self._pool.bot.tolist(), self._client_strs(), strict=True)
            self._client_lookup = {(b, s): c for c, (b, s) in enumerate(pairs)}
        return self._client_lookup

    def _block_states(self, crows: np.ndarray) -> list[tuple[bool, str | None, int | None, int | None]]:
        v = self._view()
        now = self.now_ms
        out = []
        for c in np.asarray(crows).tolist():
            state = self._blocks.get(c)
            if state is None:
                when = int(v.c_join[c] + self._pool.block_delay_ms[c])
                if self._pool.blocked[c] and v.c_visible[c] and when <= now:
                    state = (True, vocab.BLOCK_REASONS[self._pool.block_reason[c]],
                             vocab.BLOCKED_BY_USERS[self._pool.blocked_by[c]], when)  # fmt: skip
                else:
                    state = (False, None, None, None)
            out.append(state)
        return out

    def _row_of_key(self, text: str, tag: int) -> int | None:
        mix = ids.mix_from_uuid(text)
        if mix is None:
            return None
        k_tag, ordinal, local = ids.split_key(ids.unmix60(mix, self._plan.salt))
        day = self._days.get(ordinal)
        if k_tag != tag or day is None:
            return None
        s_off, n_s, m_off, n_m = day
        if tag == ids.TAG_SESSION:
            return s_off + local if local < n_s else None
        return m_off + local if local < n_m else None

    def _session_row_of(self, session_id: str) -> int | None:
        """The session row of an id whether visible or not (None when not one of ours)."""
        if not isinstance(session_id, str) or "." not in session_id:
            return None
        row = self._row_of_key(session_id.rsplit(".", 1)[1], ids.TAG_SESSION)
        if row is None or self._session_id_strs(np.array([row]))[0] != session_id:
            return None
        return row

    # --- time moves ------------------------------------------------------------------------------------

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        self.now = self.now + delta
        self._generate_until(self.now_ms)
        self._moved()
        self._bump(visibility=True)

    def release_delayed(self, start: datetime, end: datetime, limit: int) -> int:
        lo, hi = _to_ms(start), _to_ms(end)
        now = self.now_ms
        a = int(np.searchsorted(self._m_ts_sorted, lo, "left"))
        b = int(np.searchsorted(self._m_ts_sorted, hi, "left"))
        rows = self._m_order[a:b]
        held = rows[(self.m_arrival[rows] > now) & ~self._released[rows] & (self.m_ts[rows] <= now)]
        chosen = held[: max(int(limit), 0)]
        if len(chosen):
            self._released[chosen] = True
            cached_now = self._view_cache is not None and self._view_cache[0] == self._vis_version
            if cached_now or self._pending_release is not None:
                previous = self._pending_release if self._pending_release is not None else chosen[:0]
                self._pending_release = np.concatenate([previous, chosen])
            self._bump(visibility=True)
        return len(chosen)

    def held_back_count(self) -> int:
        """How many messages with a past timestamp are still held back (delayed ingestion)."""
        now = self.now_ms
        return int(((self.m_ts <= now) & (self.m_arrival > now) & ~self._released).sum())

    # --- queries ---------------------------------------------------------------------------------------

    def _cached(self, entity: str, filters: list[dict] | None, compute: Any) -> np.ndarray:
        key = (entity, canonical(filters), self.version)
        hit = self._query_cache.get(key)
        if hit is not None:
            self._query_cache.move_to_end(key)
            return hit
        result = compute(parse_filters(filters))
        result.flags.writeable = False
        self._query_cache[key] = result
        while len(self._query_cache) > QUERY_CACHE_SIZE:
            self._query_cache.popitem(last=False)
        return result

    def query_messages(self, filters: list[dict] | None) -> np.ndarray:
        return self._cached("messages", filters, lambda conds: self._engine.messages(conds)[::-1].copy())

    def query_sessions(self, filters: list[dict] | None) -> np.ndarray:
        return self._cached("sessions", filters, lambda conds: self._engine.sessions(conds)[::-1].copy())

    def query_clients(self, filters: list[dict] | None) -> np.ndarray:
        def compute(conds: list[Condition]) -> np.ndarray:
            rows = self._engine.clients(conds)
            return rows[np.argsort(self._view().c_rank[rows], kind="stable")]

        return self._cached("clients", filters, compute)

    # --- rendering ---------------------------------------------------------------------------------------

    def extended_message(self, i: int) -> dict:
        return render.extended_messages(self, np.array([i], dtype=np.int64))[0]

    def message(self, i: int) -> dict:
        return render.messages(self, np.array([i], dtype=np.int64))[0]

    def session_info(self, i: int, with_labels: bool) -> dict:
        return render.session_infos(self, np.array([i], dtype=np.int64), with_labels)[0]

    def client_info(self, i: int) -> dict:
        return render.client_infos(self, np.array([i], dtype=np.int64))[0]

    # batch forms (a page at a time is several times faster than row by row)
    def extended_messages(self, rows: np.ndarray) -> list[dict]:
        return render.extended_messages(self, np.asarray(rows, dtype=np.int64))

    def messages(self, rows: np.ndarray) -> list[dict]:
        return render.messages(self, np.asarray(rows, dtype=np.int64))

    def session_infos(self, rows: np.ndarray, with_labels: bool) -> list[dict]:
        return render.session_infos(self, np.asarray(rows, dtype=np.int64), with_labels)

    def client_infos(self, rows: np.ndarray) -> list[dict]:
        return render.client_infos(self, np.asarray(rows, dtype=np.int64))

    # --- lookups ---------------------------------------------------------------------------------------

    def session_index(self, session_id: str) -> int | None:
        row = self._session_row_of(session_id)
        if row is None or not self._view().s_visible[row]:
            return None
        return row

    def message_index(self, question_id: str) -> int | None:
        if not isinstance(question_id, str):
            return None
        row = self._row_of_key(question_id, ids.TAG_MESSAGE)
        if row is None or not self._view().vis[row]:
            return None
        return row

    def client_index(self, bot_id: str, client_id: str) -> int | None:
        b = self._bot_index.get(bot_id)
        if b is None:
            return None
        c = self._client_id_lookup().get((b, str(client_id)))
        if c is None or not self._view().c_visible[c]:
            return None
        return c

    def messages_of_session(self, si: int, hide_empty: bool = False) -> np.ndarray:
        lo = int(self.s_m0[si])
        rows = np.arange(lo, lo + int(self.s_rows[si]), dtype=np.int64)
        keep = self._view().vis[rows]
        if hide_empty:
            keep &= self.m_kind[rows] == vocab.KIND_TEXT
        return rows[keep]

    def sessions_of_client(self, ci: int) -> np.ndarray:
        """Visible sessions of a client, oldest first."""
        srows = np.sort(self._cs_order[self._cs_ptr[ci] : self._cs_ptr[ci + 1]]).astype(np.int64)
        return srows[self._view().s_visible[srows]]

    def messages_of_client(self, ci: int, channel_type: str | None = None) -> np.ndarray:
        if channel_type is not None and self.bots[int(self._pool.bot[ci])].channel_type != channel_type:
            return np.zeros(0, dtype=np.int64)
        srows = self.sessions_of_client(ci)
        if not len(srows):
            return np.zeros(0, dtype=np.int64)
        rows = np.concatenate([np.arange(self.s_m0[s], self.s_m0[s] + self.s_rows[s]) for s in srows.tolist()])
        rows = rows[self._view().vis[rows]].astype(np.int64)
        return rows[np.lexsort((self.m_mix[rows], self.m_ts[rows]))]

    def clients_of_bot(self, bot_id: str, date_to: datetime) -> np.ndarray:
        b = self._bot_index.get(bot_id)
        if b is None:
            return np.zeros(0, dtype=np.int64)
        v = self._view()
        lo, hi = int(self._plan.pool_offsets[b]), int(self._plan.pool_offsets[b] + self._plan.pool_sizes[b])
        crows = np.arange(lo, hi, dtype=np.int64)
        crows = crows[v.c_visible[crows] & (v.c_join[crows] <= _to_ms(date_to))]
        return crows[np.argsort(v.c_rank[crows], kind="stable")]

    # --- statistics --------------------------------------------------------------------------------------

    def series(self, entity: str, filters: list[dict] | None, interval_type: str, step: int,
               tz_offset_minutes: int) -> list[tuple[int, float]]:  # fmt: skip
        stats.check_interval(interval_type, step)
        if entity == "messages":
            t = self.m_ts[self.query_messages(filters)]
        elif entity == "sessions":
            t = self.s_start[self.query_sessions(filters)]
        else:
            raise ValueError(f"unknown entity {entity!r}")
        return stats.count_by_bucket(t, interval_type, step, tz_offset_minutes)

    def label_series(self, kind: str, filters: list[dict] | None, interval_type: str, step: int,
                     tz_offset_minutes: int) -> list[dict]:  # fmt: skip
        stats.check_interval(interval_type, step)
        ann = self._annotations()
        if kind == "session":
            rows = np.sort(self.query_sessions(filters))
            pair_rows, pair_labels = ann.session_labels
            times = self.s_start
            ordered = [(lab.id, lab.dto()) for lab in sorted(self._catalog.session_labels.values(),
                                                              key=lambda s: (s.priority, s.id))]  # fmt: skip
        elif kind == "log":
            rows = np.sort(self.query_messages(filters))
            pair_rows, pair_labels = ann.message_labels
            times = self.m_ts
            ordered = [(lab.id, self._catalog.message_label(lab.id)) for lab in self._catalog.sorted_labels()]
        else:
            raise ValueError(f"unknown label kind {kind!r}")
        sel = member(rows, pair_rows)
        pr, pl = pair_rows[sel], pair_labels[sel]
        out = []
        for label_id, dto in ordered:
            hit = pr[pl == label_id]
            if not len(hit):
                continue
            series = stats.count_by_bucket(times[hit], interval_type, step, tz_offset_minutes)
            out.append({"label": dto, "tsToValues": stats.as_points(series), "totalCount": int(len(hit))})
        return out

    def _sessions_in_local_days(self, date_from: date, date_to: date, bot_ids: list[str] | None,
                                tz_offset_minutes: int) -> np.ndarray:  # fmt: skip
        lo, hi = stats.local_day_range_ms(date_from, date_to, tz_offset_minutes)
        srows = self._engine.session_candidates(lo, hi - 1)
        if bot_ids:
            wanted = [self._bot_index[b] for b in bot_ids if b in self._bot_index]
            srows = srows[np.isin(self.s_bot[srows], wanted)]
        return srows

    def switched_sessions(self, date_from: date, date_to: date, bot_ids: list[str] | None, method: str,
                          text_for_transfer: str | None, tz_offset_minutes: int
                          ) -> list[tuple[int, float]]:  # fmt: skip
        srows = self._sessions_in_local_days(date_from, date_to, bot_ids, tz_offset_minutes)
        if method == "SWITCH":
            srows = srows[self._view().s_live[srows]]
        elif method == "TEXT":
            text = (text_for_transfer or vocab.DEFAULT_TRANSFER_TEXT).casefold()
            answers = np.flatnonzero([text in a.casefold() for a in TEXTS.answers])
            if len(srows):
                rows = np.concatenate([np.arange(self.s_m0[s], self.s_m0[s] + self.s_rows[s])
                                       for s in srows.tolist()])  # fmt: skip
                rows = rows[self._view().vis[rows] & np.isin(self.m_a[rows], answers)]
                srows = np.unique(self.m_sess[rows])
        else:
            raise FilterError("reporter.stats.bad_method", "transferToOperatorMethod must be SWITCH or TEXT",
                              {"transferToOperatorMethod": str(method)})  # fmt: skip
        return stats.count_by_bucket(self.s_start[srows], "DAY", 1, tz_offset_minutes)

    def telephony_stats(self, date_from: date, date_to: date, bot_ids: list[str] | None,
                        tz_offset_minutes: int) -> dict:  # fmt: skip
        srows = self._sessions_in_local_days(date_from, date_to, bot_ids, tz_offset_minutes)
        srows = srows[self.s_incoming[srows] >= 0]
        v = self._view()
        duration = v.s_end[srows] - self.s_start[srows]
        avg = round(float(duration.mean()) / 1000, 3) if len(srows) else 0.0
        starts = self.s_start[srows]
        incoming = self.s_incoming[srows] == 1
        billed = v.s_text[srows] > 0  # an answered call: the client said something
        day = "DAY"
        return {
            "averageCallDurationInSeconds": avg,
            "billingCount": stats.as_points(stats.count_by_bucket(starts[billed], day, 1, tz_offset_minutes)),
            "incomingCount": stats.as_points(stats.count_by_bucket(starts[incoming], day, 1, tz_offset_minutes)),
            "outgoingCount": stats.as_points(stats.count_by_bucket(starts[~incoming], day, 1, tz_offset_minutes)),
        }

    def unique_clients(self) -> int:
        return int(self._view().c_visible.sum())

    def sessions_count(self) -> int:
        return int(self._view().s_visible.sum())

    def state_routes(self, filters: list[dict] | None, limit: int = 1000) -> list[dict]:
        """StateRoutesInfo rows: the distinct sequences of states of matching sessions, most frequent first.

        `stateRouteResult` is the session result shared by the route's sessions when they agree, else omitted.
        """
        srows = np.sort(self.query_sessions(filters))
        routes: dict[tuple[str, ...], list[int]] = {}
        states = TEXTS.states
        results = self._result_values(srows).tolist()
        for s, res in zip(srows.tolist(), results, strict=True):
            rows = self.messages_of_session(s)
            route = tuple(dict.fromkeys(states[x] for x in self.m_state[rows].tolist() if x >= 0))
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

    # --- filter discovery ----------------------------------------------------------------------------------

    @staticmethod
    def _check_section(section: str) -> None:
        if section not in ANALYTICS_SECTIONS:
            raise FilterError("reporter.filter.bad_section", f"analyticsSection must be one of "
                              f"{', '.join(ANALYTICS_SECTIONS)}", {"analyticsSection": str(section)})  # fmt: skip

    @staticmethod
    def _check_key(key: str) -> None:
        if key not in KEYS:
            raise FilterError("reporter.filter.unknown_key", f"Unknown filter key {key!r}", {"key": str(key)})

    def available_filters(self, section: str) -> list[dict]:
        from .discovery import filter_infos

        self._check_section(section)
        return filter_infos(self, section)

    def filter_options(self, key: str, section: str, filters: list[dict] | None) -> list[dict]:
        from .discovery import filter_options

        self._check_section(section)
        self._check_key(key)
        return filter_options(self, key, filters)

    def interval_filter_options(self, key: str, section: str, filters: list[dict] | None) -> dict:
        from .discovery import interval_options

        self._check_section(section)
        self._check_key(key)
        return interval_options(self, key, filters)

    # --- catalogs: labels ------------------------------------------------------------------------------

    def _write(self, result: Any = None) -> Any:
        self._bump()
        return result

    def message_labels(self) -> list[dict]:
        return self._catalog.message_labels()

    def message_label(self, id: int) -> dict:  # noqa: A002 - the interface's name
        return self._catalog.message_label(id)

    def create_message_label(self, body: dict) -> dict:
        return self._write(self._catalog.create_message_label(body))

    def update_message_label(self, id: int, body: dict) -> None:  # noqa: A002
        self._write(self._catalog.update_message_label(id, body))

    def delete_message_label(self, id: int) -> None:  # noqa: A002
        self._write(self._catalog.delete_message_label(id))

    def change_message_label_priorities(self, items: list[dict]) -> None:
        self._write(self._catalog.change_message_label_priorities(items))

    def create_message_labels(self, items: list[dict]) -> None:
        try:
            self._catalog.create_message_labels(items)
        finally:
            self._write()

    def update_message_labels(self, items: list[dict]) -> None:
        try:
            self._catalog.update_message_labels(items)
        finally:
            self._write()

    def label_groups(self) -> list[dict]:
        return self._catalog.label_groups()

    def label_group(self, id: int) -> dict:  # noqa: A002
        return self._catalog.label_group(id)

    def update_label_groups(self, items: list[dict]) -> None:
        try:
            self._catalog.update_label_groups(items)
        finally:
            self._write()

    def update_label_group(self, id: int, body: dict) -> None:  # noqa: A002
        self._write(self._catalog.update_label_group(id, body))

    def delete_label_group(self, id: int) -> None:  # noqa: A002
        self._write(self._catalog.delete_label_group(id))

    def change_label_group_priorities(self, items: list[dict]) -> None:
        self._write(self._catalog.change_label_group_priorities(items))

    def _message_row(self, question_id: str) -> int:
        row = self.message_index(question_id)
        if row is None:
            raise NotFound("reporter.message.not_found", f"No message with questionId {question_id}",
                           {"questionId": str(question_id)})  # fmt: skip
        return row

    def _session_row(self, session_id: str) -> int:
        row = self.session_index(session_id)
        if row is None:
            raise NotFound("reporter.session.not_found", f"No session with sessionId {session_id}",
                           {"sessionId": str(session_id)})  # fmt: skip
        return row

    def add_message_label(self, question_id: str, label_id: int) -> None:
        row, label = self._message_row(question_id), self._catalog.check_message_label(label_id)
        self._msg_labels.add(row, label, self.now_ms)
        self._write()

    def remove_message_label(self, question_id: str, label_id: int) -> None:
        row, label = self._message_row(question_id), self._catalog.check_message_label(label_id)
        self._msg_labels.remove(row, label)
        self._write()

    def set_message_labels(self, question_id: str, label_ids: list[int]) -> None:
        row = self._message_row(question_id)
        labels = [self._catalog.check_message_label(x) for x in _id_list(label_ids, "labelId")]
        self._msg_labels.replace(row, labels, self.now_ms)
        self._write()

    def bulk_label_messages(self, body: dict) -> int:
        rows, labels, add = self._bulk_targets(body, "objectIds", self.message_index, self.query_messages,
                                               self._catalog.check_message_label)  # fmt: skip
        self._apply_bulk(self._msg_labels, rows, labels, add)
        return len(rows)

    def session_labels(self) -> list[dict]:
        return self._catalog.session_label_list()

    def session_label(self, id: int) -> dict:  # noqa: A002
        return self._catalog.session_label(id)

    def create_session_label(self, body: dict) -> dict:
        return self._write(self._catalog.create_session_label(body))

    def update_session_label(self, id: int, body: dict) -> None:  # noqa: A002
        self._write(self._catalog.update_session_label(id, body))

    def delete_session_label(self, id: int) -> None:  # noqa: A002
        self._write(self._catalog.delete_session_label(id))

    def change_session_label_priorities(self, items: list[dict]) -> None:
        self._write(self._catalog.change_session_label_priorities(items))

    def update_session_labels(self, items: list[dict]) -> None:
        try:
            self._catalog.update_session_labels(items)
        finally:
            self._write()

    def add_session_label(self, session_id: str, label_id: int) -> None:
        row, label = self._session_row(session_id), self._catalog.check_session_label(label_id)
        self._sess_labels.add(row, label, self.now_ms)
        self._write()

    def remove_session_label(self, session_id: str, label_id: int) -> None:
        row, label = self._session_row(session_id), self._catalog.check_session_label(label_id)
        self._sess_labels.remove(row, label)
        self._write()

    def set_session_labels(self, session_id: str, label_ids: list[int]) -> None:
        row = self._session_row(session_id)
        labels = [self._catalog.check_session_label(x) for x in _id_list(label_ids, "labelId")]
        self._sess_labels.replace(row, labels, self.now_ms)
        self._write()

    def bulk_label_sessions(self, body: dict) -> int:
        rows, labels, add = self._bulk_targets(body, "objectIds", self.session_index, self.query_sessions,
                                               self._catalog.check_session_label)  # fmt: skip
        self._apply_bulk(self._sess_labels, rows, labels, add)
        return len(rows)

    def _bulk_targets(self, body: Any, ids_field: str, find: Any, query: Any, check: Any
                      ) -> tuple[list[int], list[int], bool]:  # fmt: skip
        """BulkLabelingDto: CONTAINS/EXISTS add `labels` to the targets, NOT_CONTAINS/NOT_EXISTS remove them;
        targets are `objectIds` when given, else every row matching `filters`."""
        if not isinstance(body, dict):
            raise FilterError("reporter.body.malformed", "BulkLabelingDto: the body must be a JSON object", {})
        comparison = body.get("comparisonType")
        if comparison not in ("NOT_IMPORTANT", "NOT_EXISTS", "EXISTS", "CONTAINS", "NOT_CONTAINS"):
            raise FilterError("reporter.body.bad_option", "BulkLabelingDto: comparisonType must be a "
                              "CheckboxComparisonType",
                              {"field": "comparisonType", "value": str(comparison)})  # fmt: skip
        labels = [check(x) for x in _id_list(body.get("labels"), "labels")]
        object_ids = body.get(ids_field)
        filters = body.get("filters")
        if object_ids:
            if not isinstance(object_ids, list):
                raise FilterError("reporter.body.malformed", "BulkLabelingDto: objectIds must be an array",
                                  {"field": ids_field})  # fmt: skip
            rows = [r for r in (find(str(x)) for x in object_ids) if r is not None]
        elif filters is not None:
            rows = query(filters.get("filters") if isinstance(filters, dict) else filters).tolist()
        else:
            raise FilterError("reporter.body.missing_field", "BulkLabelingDto needs objectIds or filters",
                              {"field": "objectIds"})  # fmt: skip
        if comparison == "NOT_IMPORTANT":
            return [], labels, True
        return list(dict.fromkeys(rows)), labels, comparison in ("CONTAINS", "EXISTS")

    def _apply_bulk(self, store: LabelStore, rows: list[int], labels: list[int], add: bool) -> None:
        now = self.now_ms
        for row in rows:
            for label in labels:
                if add:
                    store.add(row, label, now)
                else:
                    store.remove(row, label)
        self._write()

    def add_comment(self, question_id: str, text: str) -> None:
        row = self._message_row(question_id)
        if not isinstance(text, str) or not text.strip():
            raise FilterError("reporter.body.missing_field", "AddCommentDto: 'comment' must be a non-empty string",
                              {"field": "comment"})  # fmt: skip
        self._comments.set(row, text)
        self._write()

    def delete_comment(self, question_id: str) -> None:
        self._comments.delete(self._message_row(question_id))
        self._write()

    # --- clients -----------------------------------------------------------------------------------------

    def _client_row(self, bot_id: str, client_id: str) -> int:
        c = self.client_index(bot_id, client_id)
        if c is None:
            raise NotFound("reporter.client.not_found", f"No client {client_id} in bot {bot_id}",
                           {"botId": str(bot_id), "clientId": str(client_id)})  # fmt: skip
        return c

    def block_client(self, bot_id: str, client_id: str, reason: str | None, blocked_by: int) -> None:
        c = self._client_row(bot_id, client_id)
        if isinstance(blocked_by, bool) or not isinstance(blocked_by, int):
            raise FilterError("reporter.body.missing_field", "BlockClientDto: 'blockedBy' (a user id) is required",
                              {"field": "blockedBy"})  # fmt: skip
        if reason is not None and not isinstance(reason, str):
            raise FilterError("reporter.body.malformed", "BlockClientDto: 'blockReason' must be a string",
                              {"field": "blockReason"})  # fmt: skip
        self._blocks[c] = (True, reason, blocked_by, self.now_ms)
        self._write()

    def unblock_client(self, bot_id: str, client_id: str) -> None:
        self._blocks[self._client_row(bot_id, client_id)] = (False, None, None, None)
        self._write()

    # --- experiments -------------------------------------------------------------------------------------

    def _experiment(self, key: str) -> cat.Experiment:
        for e in self._experiments:
            if e.key == key:
                return e
        raise NotFound("reporter.experiment.not_found", f"No scenario experiment with key {key}",
                       {"experimentKey": str(key)})  # fmt: skip

    def experiments(self) -> list[dict]:
        now = self.now_ms
        return [e.dto(now) for e in self._experiments]

    def create_experiment(self, body: dict) -> dict:
        exp = cat.experiment_from_body(body)
        if any(e.key == exp.key for e in self._experiments):
            raise FilterError("reporter.experiment.duplicate", f"Scenario experiment {exp.key} already exists",
                              {"experimentKey": exp.key})  # fmt: skip
        old = self._all_experiments.get(exp.key)
        if old is not None and old.column is not None:  # re-created after deletion: keep its recorded branches
            exp.column = old.column
            if [k for k, _ in exp.branches] != [k for k, _ in old.branches]:
                exp.column = None  # other branches: the recorded indices would name the wrong ones
        self._experiments.append(exp)
        self._all_experiments[exp.key] = exp
        return self._write(exp.dto(self.now_ms))

    def delete_experiment(self, key: str) -> None:
        exp = self._experiment(key)
        self._experiments.remove(exp)
        exp.ended_ms = self.now_ms if exp.ended_ms is None else exp.ended_ms
        self._write()

    def stop_experiment(self, key: str) -> None:
        exp = self._experiment(key)
        exp.status_override = "STOPPED"
        exp.ended_ms = self.now_ms if exp.ended_ms is None else exp.ended_ms
        self._write()

    def join_experiment(self, session_id: str, key: str, bot_id: str) -> str:
        exp = self._experiment(key)
        row = self._session_row(session_id)
        if self.bots[int(self.s_bot[row])].bot_id != bot_id:
            raise NotFound("reporter.session.not_found", f"Session {session_id} does not belong to bot {bot_id}",
                           {"sessionId": str(session_id), "botId": str(bot_id)})  # fmt: skip
        values, texts = self._session_data_values(np.array([row]), f"experiment.{key}")
        if values[0] >= 0:
            return texts[int(values[0])]
        if exp.status(self.now_ms) == "STOPPED":
            raise FilterError("reporter.experiment.stopped", f"Scenario experiment {key} is stopped",
                              {"experimentKey": key})  # fmt: skip
        # sticky and deterministic: the branch follows from the session and the key
        h = ids.splitmix64(int(self.s_mix[row]) ^ (hash_text(key) & ids.MASK64)) / float(1 << 64)
        branch = int(np.searchsorted(np.cumsum(exp.shares)[:-1], h, side="right"))
        exp.joined[row] = branch
        if exp.status_override == "CREATED" or exp.status(self.now_ms) == "CREATED":
            exp.status_override = "RUNNING"
        self._write()
        return exp.branches[branch][0]

    def experiment_session_counts(self) -> list[dict]:
        v = self._view()
        out = []
        visible = np.flatnonzero(v.s_visible)
        for e in self._experiments:
            values, _ = self._session_data_values(visible, f"experiment.{e.key}")
            out.append({"key": e.key, "count": int((values >= 0).sum())})
        return out

    # --- filter sets -----------------------------------------------------------------------------------

    def save_filter_set(self, body: dict) -> str:
        if not isinstance(body, dict):
            raise FilterError("reporter.body.malformed", "FiltersDto: the body must be a JSON object", {})
        filters = body.get("filters") or []
        parse_filters(filters)
        n = len(self._filter_sets)
        mix = ids.mix60(ids.make_key(ids.TAG_FILTER_SET, 0, n), self._plan.salt)
        filter_set_id = ids.uuid_from_mix(mix)
        saved: dict[str, Any] = {"filterSetId": filter_set_id, "filters": filters}
        for name in ("intervalType", "step"):
            if body.get(name) is not None:
                saved[name] = body[name]
        self._filter_sets[filter_set_id] = saved
        return self._write(filter_set_id)

    def filter_set(self, filter_set_id: str) -> dict:
        saved = self._filter_sets.get(filter_set_id)
        if saved is None:
            raise NotFound("reporter.filter_set.not_found", f"User filter set {filter_set_id} not found",
                           {"filterSetId": str(filter_set_id)})  # fmt: skip
        return dict(saved)

    # --- ground truth for tests ----------------------------------------------------------------------------

    @staticmethod
    def _window_filter(key: str, start: datetime, end: datetime) -> list[dict]:
        return [{"key": key, "type": "DATE_TIME_RANGE", "from": ids.format_ms(_to_ms(start)),
                 "to": ids.format_ms(_to_ms(end) - 1)}]  # fmt: skip

    def truth_messages(self, start: datetime, end: datetime) -> list[dict]:
        return self.extended_messages(self.query_messages(self._window_filter("MESSAGE_TIME", start, end)))

    def truth_sessions(self, start: datetime, end: datetime) -> list[dict]:
        rows = self.query_sessions(self._window_filter("MESSAGE_TIME", start, end))
        return self.session_infos(rows, with_labels=True)

    def truth_clients(self, start: datetime, end: datetime) -> list[dict]:
        return self.client_infos(self.query_clients(self._window_filter("CLIENT_LAST_ACTIVITY_TIME", start, end)))


def hash_text(text: str) -> int:
    """A stable (process-independent) 64-bit hash of a string."""
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & ids.MASK64
    return h


def _id_list(values: Any, name: str) -> list[int]:
    if not isinstance(values, list):
        raise FilterError("reporter.body.malformed", f"'{name}' must be an array of ids", {"field": name})
    out = []
    for v in values:
        if isinstance(v, bool) or not isinstance(v, int | str):
            raise FilterError("reporter.body.malformed", f"'{name}' must hold integer ids", {"field": name})
        try:
            out.append(int(v))
        except ValueError:
            raise FilterError("reporter.body.malformed", f"'{name}' must hold integer ids", {"field": name}) from None
    return out
