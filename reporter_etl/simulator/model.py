"""The World's read model: the generated tables, the project's identity and clients, the clock and the state
writes leave behind (labels, comments, blocks, experiments), read through public attributes and methods.

The query engine (`query.py`), the renderers (`render.py`), filter discovery (`discovery.py`) and statistics
(`stats.py`) read a `WorldModel`; only the operations in `writes.py` change its state.  What is visible
depends on the clock `now`: a message once its arrival time has passed (arrival = timestamp, except for the
delayed-ingestion share) or it was released early; a session once one of its messages is; labels, comments and
session results once their set-at time has passed.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

import numpy as np

from . import catalog as cat
from . import ids, vocab
from .annotations import CommentStore, LabelStore
from .generate import DAY_MS, generate_day, make_clients, make_plan
from .tables import Tables
from .texts import TEXTS
from .view import VisibleView, compute_view, patch_view

log = logging.getLogger(__name__)

BlockState = tuple[bool, str | None, int | None, int | None]  # blocked, reason, by, when (ms)
NOT_BLOCKED: BlockState = (False, None, None, None)


@dataclass(frozen=True)
class WorldConfig:
    seed: int = 42
    days: int = 30
    end_date: date | None = None  # last covered day; None = today in UTC
    messages_per_day: int = 2000  # average; the scale knob
    timezone: str = "UTC"  # IANA zone of the project: seasonality peaks follow local time
    delayed_share: float = 0.005  # share of messages whose ingestion is delayed (held back)

    def check(self) -> None:
        if self.days < 1:
            raise ValueError("WorldConfig.days must be at least 1")
        if self.messages_per_day < 1:
            raise ValueError("WorldConfig.messages_per_day must be at least 1")
        if not 0.0 <= self.delayed_share <= 1.0:
            raise ValueError("WorldConfig.delayed_share must be within [0, 1]")


@dataclass(frozen=True)
class Bot:
    bot_id: str
    channel_type: str
    name: str


@dataclass(frozen=True)
class Annotations:
    """Labels and comments visible now, as sorted (row, value) pairs."""

    message_labels: tuple[np.ndarray, np.ndarray]
    session_labels: tuple[np.ndarray, np.ndarray]
    comments: tuple[np.ndarray, np.ndarray]


def to_ms(value: datetime | int) -> int:
    if isinstance(value, datetime):
        return ids.ms_of(value)
    return int(value)


class WorldModel:
    def __init__(self, config: WorldConfig) -> None:
        config.check()
        self.config = config
        end_date = config.end_date or datetime.now(UTC).date()
        self.end = datetime(end_date.year, end_date.month, end_date.day, tzinfo=UTC) + timedelta(days=1)
        self.start = self.end - timedelta(days=config.days)
        self.now = self.end
        self.version = 0  # moves with every write and every clock move (query results are cached by it)
        self.visibility_version = 0  # moves when which messages are visible may have changed
        self.plan = make_plan(config.seed, ids.ms_of(self.end), config.messages_per_day, config.timezone,
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
        self.bot_index = {b.bot_id: i for i, b in enumerate(self.bots)}
        self.clients = make_clients(self.plan)
        self.n_clients = len(self.clients.bot)
        # the state writes change
        self.catalog = cat.LabelCatalog()
        self.message_label_store = LabelStore()
        self.session_label_store = LabelStore()
        self.comments = CommentStore(vocab.COMMENTS)
        self.experiments: list[cat.Experiment] = cat.planned_experiments(ids.ms_of(self.end), DAY_MS)
        self.all_experiments: dict[str, cat.Experiment] = {e.key: e for e in self.experiments}  # deleted too
        self.blocks: dict[int, BlockState] = {}  # client row -> written block state
        self.filter_sets: dict[str, dict[str, Any]] = {}
        self.released = np.zeros(0, dtype=bool)  # held-back messages released early
        # caches
        self._view_cache: tuple[int, VisibleView] | None = None
        self._pending_release: np.ndarray | None = None  # rows released since the cached view, if only that
        self._annotations_cache: tuple[int, Annotations] | None = None
        self._session_ids: dict[int, str] = {}
        self._client_ids: list[str] | None = None
        self._client_infos: list[dict[str, Any] | None] = [None] * self.n_clients
        self._client_lookup: dict[tuple[int, str], int] | None = None
        self._client_tie_rank: np.ndarray | None = None
        self._by_id: dict[str, list[int]] | None = None
        self._by_username: dict[str, list[int]] | None = None
        self.tables = Tables.empty(len(self.plan.experiments), self.n_clients)
        self.generated_until_ms = ids.ms_of(self.start)
        self.generate_until(ids.ms_of(self.end))

    # --- growth and versions -------------------------------------------------------------------------------

    def generate_until(self, until_ms: int) -> None:
        """Generate every day that starts before `until_ms` (days are appended in order)."""
        blocks = []
        while self.generated_until_ms < until_ms:
            ordinal = datetime.fromtimestamp(self.generated_until_ms / 1000, tz=UTC).date().toordinal()
            blocks.append(generate_day(self.plan, ordinal))
            self.generated_until_ms += DAY_MS
        if not blocks:
            return
        self.tables, generated = self.tables.appended(blocks, self.plan.salt, self.n_clients)
        self.released = np.concatenate([self.released, np.zeros(self.tables.message_count - len(self.released),
                                                                dtype=bool)])  # fmt: skip
        self.message_label_store.extend(*generated.message_labels)
        self.session_label_store.extend(*generated.session_labels)
        self.comments.extend(*generated.comments)
        self.clock_moved()
        self.visibility_version += 1
        log.debug("world holds %d sessions and %d messages", self.tables.session_count, self.tables.message_count)

    def bump(self, visibility: bool = False) -> None:
        self.version += 1
        if visibility:
            self.visibility_version += 1

    def clock_moved(self) -> None:
        """The clock or the rows changed: the next view is computed from scratch."""
        self._pending_release = None
        self._view_cache = None

    def note_released(self, rows: np.ndarray) -> None:
        """Held-back `rows` were just released: the cached view can be patched rather than recomputed."""
        cached_now = self._view_cache is not None and self._view_cache[0] == self.visibility_version
        if cached_now or self._pending_release is not None:
            previous = self._pending_release if self._pending_release is not None else rows[:0]
            self._pending_release = np.concatenate([previous, rows])

    @property
    def now_ms(self) -> int:
        return ids.ms_of(self.now)

    # --- what is visible now -------------------------------------------------------------------------------

    def view(self) -> VisibleView:
        if self._view_cache is not None and self._view_cache[0] == self.visibility_version:
            return self._view_cache[1]
        if self._view_cache is not None and self._pending_release is not None:
            view = patch_view(self._view_cache[1], self.tables, self._pending_release, self.client_tie_rank())
        else:
            t = self.tables
            view = compute_view(t, (t.m_arrival <= self.now_ms) | self.released, self.n_clients,
                                self.client_tie_rank())  # fmt: skip
        self._pending_release = None
        self._view_cache = (self.visibility_version, view)
        return view

    def annotations(self) -> Annotations:
        if self._annotations_cache is not None and self._annotations_cache[0] == self.version:
            return self._annotations_cache[1]
        now = self.now_ms
        ann = Annotations(
            self.message_label_store.effective(now, self.catalog.message_label_ids()),
            self.session_label_store.effective(now, self.catalog.session_label_ids()),
            self.comments.effective(now),
        )
        self._annotations_cache = (self.version, ann)
        return ann

    def session_label_dtos(self) -> dict[int, dict[str, Any]]:
        return {lab.id: lab.dto() for lab in self.catalog.session_labels.values()}

    # --- values per row ------------------------------------------------------------------------------------

    def intent_values(self, rows: np.ndarray) -> np.ndarray:
        """The recognised intent of each message row (-1: none, or the catch-all)."""
        t = self.tables
        intent = t.m_intent[rows].astype(np.int64)
        ok = (t.m_rule[rows] != vocab.RULE_NONE) & (intent >= 0) & (intent != TEXTS.catch_all)
        return np.where(ok, intent, -1)

    def result_values(self, srows: np.ndarray) -> np.ndarray:
        """The session result set by now (-1 none)."""
        t = self.tables
        res = t.s_result[srows].astype(np.int64)
        return np.where((res >= 0) & (t.s_result_ms[srows] <= self.now_ms), res, -1)

    def session_data_keys(self) -> list[str]:
        return ["lang", "source", *[f"experiment.{k}" for k in self.all_experiments]]

    def session_data_values(self, srows: np.ndarray, key: str) -> tuple[np.ndarray, list[str]]:
        """Value indices (-1 = key absent) of one sessionData key for sessions, and the value texts."""
        t = self.tables
        if key == "lang":
            return t.s_lang[srows].astype(np.int64), list(vocab.LANGS)
        if key == "source":
            return t.s_source[srows].astype(np.int64), list(vocab.SOURCES)
        exp = self.all_experiments.get(key[len("experiment."):]) if key.startswith("experiment.") else None
        if exp is None:
            return np.full(len(srows), -1, dtype=np.int64), []
        if exp.column is not None:
            values = t.s_exp[srows, exp.column].astype(np.int64)
            if exp.ended_ms is not None:
                values = np.where(t.s_start[srows] > exp.ended_ms, -1, values)
        else:
            values = np.full(len(srows), -1, dtype=np.int64)
        if exp.joined:
            joined_rows = np.array(sorted(exp.joined), dtype=np.int64)
            joined_vals = np.array([exp.joined[r] for r in joined_rows.tolist()], dtype=np.int64)
            pos = np.minimum(np.searchsorted(joined_rows, srows), len(joined_rows) - 1)
            hit = (joined_rows[pos] == srows) & (values < 0)
            values = np.where(hit, joined_vals[pos], values)
        return values, [k for k, _ in exp.branches]

    def session_data_dicts(self, srows: np.ndarray) -> list[dict[str, str]]:
        lang = self.tables.s_lang[srows].tolist()
        source = self.tables.s_source[srows].tolist()
        exp_values = []
        for key in self.all_experiments:
            values, texts = self.session_data_values(srows, f"experiment.{key}")
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

    def session_ids(self, srows: np.ndarray) -> list[str]:
        """The sessionId of each session row."""
        cache = self._session_ids
        out = []
        missing = []
        for i, s in enumerate(srows.tolist()):
            text = cache.get(s)
            out.append(text)
            if text is None:
                missing.append(i)
        if missing:
            t = self.tables
            rows = np.asarray(srows)[missing]
            clients = self.client_ids()
            bots, cl = t.s_bot[rows].tolist(), t.s_client[rows].tolist()
            uuids = ids.uuids_from_mix(t.s_mix[rows])
            for i, s, b, c, u in zip(missing, rows.tolist(), bots, cl, uuids, strict=True):
                bot = self.bots[b]
                text = f"{bot.channel_type}-{bot.bot_id}-{clients[c]}.{u}"
                cache[s] = text
                out[i] = text
        return out

    # --- clients -------------------------------------------------------------------------------------------

    def client_ids(self) -> list[str]:
        """The id of every client row (a UUID in the web widget, a number elsewhere)."""
        if self._client_ids is None:
            channels = [self.bots[b].channel_type for b in range(len(self.bots))]
            out = []
            for b, num in zip(self.clients.bot.tolist(), self.clients.id_num.tolist(), strict=True):
                out.append(ids.uuid_from_mix(num) if channels[b] == "chatwidget" else str(num))
            self._client_ids = out
        return self._client_ids

    def client_tie_rank(self) -> np.ndarray:
        """Rank of each client by (botId, id) as strings: the tie-break of the clients order."""
        if self._client_tie_rank is None:
            strs = self.client_ids()
            bots = self.clients.bot.tolist()
            order = sorted(range(len(strs)), key=lambda i: (self.bots[bots[i]].bot_id, strs[i]))
            rank = np.empty(len(strs), dtype=np.int64)
            rank[np.array(order, dtype=np.int64)] = np.arange(len(strs))
            self._client_tie_rank = rank
        return self._client_tie_rank

    def username(self, c: int) -> str | None:
        pool = self.clients
        no = int(pool.user_no[c])
        if no < 0 or pool.first[c] < 0:
            return None
        first = vocab.FIRST_NAMES[pool.first[c]].lower()
        last = vocab.LAST_NAMES[pool.last[c]].lower() if pool.last[c] >= 0 else ""
        return f"{first}_{last}{no}" if last else f"{first}{no}"

    def client_identities(self, crows: np.ndarray) -> list[dict[str, Any]]:
        """The `id` and names of each client (shared dicts: copy before changing)."""
        cache = self._client_infos
        pool = self.clients
        out = []
        for c in np.asarray(crows).tolist():
            d = cache[c]
            if d is None:
                d = {"id": self.client_ids()[c]}
                if pool.first[c] >= 0:
                    d["firstName"] = vocab.FIRST_NAMES[pool.first[c]]
                if pool.last[c] >= 0:
                    d["lastName"] = vocab.LAST_NAMES[pool.last[c]]
                user = self.username(c)
                if user is not None:
                    d["username"] = user
                cache[c] = d
            out.append(d)
        return out

    def clients_named(self, options: tuple[str, ...]) -> np.ndarray:
        """Clients whose id equals an option, or whose first, last, full or user name does (any case)."""
        pool = self.clients
        found: set[int] = set()
        first_names = [n.casefold() for n in vocab.FIRST_NAMES]
        last_names = [n.casefold() for n in vocab.LAST_NAMES]
        for opt in options:
            text = opt.strip()
            found.update(self._clients_by_id().get(text, ()))
            fold = text.casefold()
            f_idx = [i for i, n in enumerate(first_names) if n == fold]
            l_idx = [i for i, n in enumerate(last_names) if n == fold]
            mask = np.isin(pool.first, f_idx) | np.isin(pool.last, l_idx)
            if " " in fold:
                a, b = fold.split(" ", 1)
                fa = [i for i, n in enumerate(first_names) if n == a]
                lb = [i for i, n in enumerate(last_names) if n == b.strip()]
                mask |= np.isin(pool.first, fa) & np.isin(pool.last, lb)
            found.update(np.flatnonzero(mask).tolist())
            found.update(self._clients_by_username().get(fold, ()))
        return np.array(sorted(found), dtype=np.int64)

    def _clients_by_id(self) -> dict[str, list[int]]:
        if self._by_id is None:
            out: dict[str, list[int]] = {}
            for c, s in enumerate(self.client_ids()):
                out.setdefault(s, []).append(c)
            self._by_id = out
        return self._by_id

    def _clients_by_username(self) -> dict[str, list[int]]:
        if self._by_username is None:
            out: dict[str, list[int]] = {}
            for c in np.flatnonzero(self.clients.user_no >= 0).tolist():
                user = self.username(c)
                if user is not None:
                    out.setdefault(user.casefold(), []).append(c)
            self._by_username = out
        return self._by_username

    def block_states(self, crows: np.ndarray) -> list[BlockState]:
        """Whether each client is blocked now: a written state, else the generated one once its time has come."""
        v = self.view()
        pool = self.clients
        now = self.now_ms
        out = []
        for c in np.asarray(crows).tolist():
            state = self.blocks.get(c)
            if state is None:
                when = int(v.c_join[c] + pool.block_delay_ms[c])
                if pool.blocked[c] and v.c_visible[c] and when <= now:
                    state = (True, vocab.BLOCK_REASONS[pool.block_reason[c]],
                             vocab.BLOCKED_BY_USERS[pool.blocked_by[c]], when)  # fmt: skip
                else:
                    state = NOT_BLOCKED
            out.append(state)
        return out

    # --- lookups by id (None when not visible) -------------------------------------------------------------

    def session_row_of(self, session_id: str) -> int | None:
        """The session row of an id whether visible or not (None when not one of ours)."""
        if not isinstance(session_id, str) or "." not in session_id:
            return None
        row = self.tables.row_of_key(session_id.rsplit(".", 1)[1], ids.TAG_SESSION, self.plan.salt)
        if row is None or self.session_ids(np.array([row]))[0] != session_id:
            return None
        return row

    def session_index(self, session_id: str) -> int | None:
        row = self.session_row_of(session_id)
        if row is None or not self.view().s_visible[row]:
            return None
        return row

    def message_index(self, question_id: str) -> int | None:
        if not isinstance(question_id, str):
            return None
        row = self.tables.row_of_key(question_id, ids.TAG_MESSAGE, self.plan.salt)
        if row is None or not self.view().visible[row]:
            return None
        return row

    def client_index(self, bot_id: str, client_id: str) -> int | None:
        b = self.bot_index.get(bot_id)
        if b is None:
            return None
        if self._client_lookup is None:
            pairs = zip(self.clients.bot.tolist(), self.client_ids(), strict=True)
            self._client_lookup = {(bot, s): c for c, (bot, s) in enumerate(pairs)}
        c = self._client_lookup.get((b, str(client_id)))
        if c is None or not self.view().c_visible[c]:
            return None
        return c

    # --- visible rows of rows ------------------------------------------------------------------------------

    def messages_of_session(self, si: int, hide_empty: bool = False) -> np.ndarray:
        rows = self.tables.messages_of_session(si)
        keep = self.view().visible[rows]
        if hide_empty:
            keep &= self.tables.m_kind[rows] == vocab.KIND_TEXT
        return rows[keep]

    def sessions_of_client(self, ci: int) -> np.ndarray:
        """Visible sessions of a client, oldest first."""
        srows = self.tables.sessions_of_client(ci)
        return srows[self.view().s_visible[srows]]

    def messages_of_client(self, ci: int, channel_type: str | None = None) -> np.ndarray:
        if channel_type is not None and self.bots[int(self.clients.bot[ci])].channel_type != channel_type:
            return np.zeros(0, dtype=np.int64)
        t = self.tables
        rows = t.messages_of_sessions(self.sessions_of_client(ci))
        rows = rows[self.view().visible[rows]].astype(np.int64)
        return rows[np.lexsort((t.m_mix[rows], t.m_ts[rows]))]

    def clients_of_bot(self, bot_id: str, date_to: datetime) -> np.ndarray:
        b = self.bot_index.get(bot_id)
        if b is None:
            return np.zeros(0, dtype=np.int64)
        v = self.view()
        lo = int(self.plan.pool_offsets[b])
        crows = np.arange(lo, lo + int(self.plan.pool_sizes[b]), dtype=np.int64)
        crows = crows[v.c_visible[crows] & (v.c_join[crows] <= to_ms(date_to))]
        return crows[np.argsort(v.c_rank[crows], kind="stable")]

    def unique_clients(self) -> int:
        return int(self.view().c_visible.sum())

    def sessions_count(self) -> int:
        return int(self.view().s_visible.sum())

    def held_back_count(self) -> int:
        """How many messages with a past timestamp are still held back (delayed ingestion)."""
        now, t = self.now_ms, self.tables
        return int(((t.m_ts <= now) & (t.m_arrival > now) & ~self.released).sum())
