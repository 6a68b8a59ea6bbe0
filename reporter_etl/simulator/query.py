"""Filter evaluation over the World's columns.

Conditions become vectorised predicates at their level (message, session or client row).  A MESSAGE_TIME
range narrows message candidates to a slice of the time-sorted permutation and a SESSION_START_TIME range to
a slice of the session rows (sessions are stored in start order), so a one-day query touches only that day.
Semantics (AND everywhere):
- messages match when they pass their own conditions and their session and client pass theirs;
- sessions match when they pass session and client conditions and, if there are message conditions, at
  least one of their visible messages passes all of them;
- clients match when one of their sessions matches as above and they pass client conditions.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

import numpy as np

from . import vocab
from .annotations import lookup, member
from .filters import (
    Checkbox,
    Composite,
    CompositeOption,
    Condition,
    CustomFields,
    DateRange,
    NumericRange,
    Radio,
    Text,
    canonical,
    level_of,
    parse_filters,
)
from .model import WorldModel
from .texts import TEXTS

Pred = Callable[[np.ndarray], np.ndarray]


# --- matching on vocabularies ---------------------------------------------------------------------------


def text_matches(texts: list[str] | tuple[str, ...], cond: Text) -> tuple[np.ndarray, bool]:
    """Per vocabulary entry whether it matches, and whether an absent text matches."""
    if cond.comparison == "NOT_IMPORTANT":
        return np.ones(len(texts), dtype=bool), True
    fold = (lambda s: s) if cond.case_sensitive else str.casefold
    values = [fold(v) for v in cond.values]
    out = np.zeros(len(texts), dtype=bool)
    for i, t in enumerate(texts):
        ft = fold(t)
        if cond.comparison == "EQUALS":
            out[i] = ft in values
        else:
            out[i] = any(v in ft for v in values)
    if cond.comparison == "NOT_CONTAINS":
        return ~out, True
    return out, False


def vocab_index_matches(texts: list[str] | tuple[str, ...], options: tuple[str, ...], tree: bool) -> np.ndarray:
    """Per vocabulary entry whether it is one of `options` (for trees: or below one of them)."""
    wanted = set(options)
    prefixes = tuple(o.rstrip("/") + "/" for o in options)
    out = np.zeros(len(texts), dtype=bool)
    for i, t in enumerate(texts):
        out[i] = t in wanted or (tree and t is not None and t.startswith(prefixes))
    return out


def apply_values(values: np.ndarray, match: np.ndarray, absent: bool) -> np.ndarray:
    """`match[values]` with -1 (absent) mapped to `absent`."""
    table = np.append(match, absent)
    return table[np.where(values < 0, len(match), values)]


def checkbox_on_values(values: np.ndarray, match_idx: np.ndarray, comparison: str) -> np.ndarray:
    """A CHECKBOX comparison on a single-valued attribute (`values` -1 = absent); `match_idx` = selected."""
    if comparison == "NOT_IMPORTANT":
        return np.ones(len(values), dtype=bool)
    if comparison == "EXISTS":
        return values >= 0
    if comparison == "NOT_EXISTS":
        return values < 0
    hit = np.isin(values, match_idx) & (values >= 0)
    return hit if comparison == "CONTAINS" else ~hit


def checkbox_on_sets(rows: np.ndarray, pair_rows: np.ndarray, pair_vals: np.ndarray, selected: np.ndarray,
                     comparison: str) -> np.ndarray:  # fmt: skip
    """A CHECKBOX comparison on a many-valued attribute given as sorted (row, value) pairs."""
    if comparison == "NOT_IMPORTANT":
        return np.ones(len(rows), dtype=bool)
    if comparison in ("EXISTS", "NOT_EXISTS"):
        has = member(np.unique(pair_rows), rows)
        return has if comparison == "EXISTS" else ~has
    hit = member(np.unique(pair_rows[np.isin(pair_vals, selected)]), rows)
    return hit if comparison == "CONTAINS" else ~hit


def in_range(values: np.ndarray, lo: float | None, hi: float | None) -> np.ndarray:
    out = np.ones(len(values), dtype=bool)
    if lo is not None:
        out &= values >= lo
    if hi is not None:
        out &= values <= hi
    return out


def composite_value_matches(texts: list[str], opt: CompositeOption) -> tuple[np.ndarray, bool]:
    """Per value of a sessionData key whether it passes one composite option; and the answer for an absent key."""
    if opt.comparison == "NOT_IMPORTANT":
        return np.ones(len(texts), dtype=bool), False  # "the key is present, whatever its value"
    fold = (lambda s: s) if opt.case_sensitive else str.casefold
    v = fold(opt.value or "")
    tests = {
        "EQUALS": lambda t: t == v,
        "NOT_EQUALS": lambda t: t != v,
        "CONTAINS": lambda t: v in t,
        "NOT_CONTAINS": lambda t: v not in t,
        "STARTS_WITH": lambda t: t.startswith(v),
        "ENDS_WITH": lambda t: t.endswith(v),
    }
    test = tests[opt.comparison]
    out = np.array([test(fold(t)) for t in texts], dtype=bool)
    return out, opt.comparison in ("NOT_EQUALS", "NOT_CONTAINS")


# --- the engine -----------------------------------------------------------------------------------------


class Engine:
    """Evaluates parsed conditions over the model: matching rows of each entity."""

    def __init__(self, model: WorldModel) -> None:
        self.w = model

    # candidates ---------------------------------------------------------------------------------------

    @staticmethod
    def _ranges(conds: list[Condition], key: str) -> tuple[int | None, int | None, bool]:
        lo: int | None = None
        hi: int | None = None
        found = False
        for c in conds:
            if isinstance(c, DateRange) and c.key == key:
                found = True
                if c.lo is not None:
                    lo = c.lo if lo is None else max(lo, c.lo)
                if c.hi is not None:
                    hi = c.hi if hi is None else min(hi, c.hi)
        return lo, hi, found

    def message_candidates(self, lo: int | None, hi: int | None) -> np.ndarray:
        """Visible message rows with timestamp in [lo, hi], ascending by (timestamp, questionId)."""
        w = self.w
        ts_sorted = w.tables.m_ts_sorted
        a = 0 if lo is None else int(np.searchsorted(ts_sorted, lo, "left"))
        b = len(ts_sorted) if hi is None else int(np.searchsorted(ts_sorted, hi, "right"))
        rows = w.tables.m_order[a:b] if a < b else w.tables.m_order[:0]
        return rows[w.view().visible[rows]]

    def session_candidates(self, lo: int | None, hi: int | None) -> np.ndarray:
        w = self.w
        a = 0 if lo is None else int(np.searchsorted(w.tables.s_start, lo, "left"))
        b = len(w.tables.s_start) if hi is None else int(np.searchsorted(w.tables.s_start, hi, "right"))
        rows = np.arange(a, max(a, b), dtype=np.int64)
        return rows[w.view().s_visible[rows]]

    # queries ------------------------------------------------------------------------------------------

    def split(self, conds: list[Condition]) -> dict[str, list[Condition]]:
        out: dict[str, list[Condition]] = {"message": [], "session": [], "client": [], "none": []}
        for c in conds:
            out[level_of(c)].append(c)
        return out

    def messages(self, conds: list[Condition]) -> np.ndarray:
        """Matching message rows, ascending (timestamp, questionId)."""
        parts = self.split(conds)
        lo, hi, _ = self._ranges(parts["message"], "MESSAGE_TIME")
        rows = self.message_candidates(lo, hi)
        for c in parts["message"]:
            if not (isinstance(c, DateRange) and c.key == "MESSAGE_TIME"):
                rows = rows[self.message_pred(c)(rows)]
        if parts["session"] or parts["client"]:
            sess = self.w.tables.m_sess[rows]
            keep = self._session_mask(np.unique(sess), parts["session"], parts["client"])
            rows = rows[member(keep, sess)]
        return rows

    def _session_mask(self, srows: np.ndarray, sconds: list[Condition], cconds: list[Condition]) -> np.ndarray:
        """The subset of (ascending) session rows passing session and client conditions."""
        for c in sconds:
            srows = srows[self.session_pred(c)(srows)]
        if cconds:
            clients = self.w.tables.s_client[srows]
            for c in cconds:
                srows, clients = srows[(m := self.client_pred(c)(clients))], clients[m]
        return srows

    def sessions(self, conds: list[Condition]) -> np.ndarray:
        """Matching session rows, ascending start time."""
        parts = self.split(conds)
        slo, shi, _ = self._ranges(parts["session"], "SESSION_START_TIME")
        if parts["message"]:
            lo, hi, _ = self._ranges(parts["message"], "MESSAGE_TIME")
            rows = self.message_candidates(lo, hi)
            for c in parts["message"]:
                if not (isinstance(c, DateRange) and c.key == "MESSAGE_TIME"):
                    rows = rows[self.message_pred(c)(rows)]
            srows = np.unique(self.w.tables.m_sess[rows]).astype(np.int64)
            if slo is not None or shi is not None:
                srows = srows[in_range(self.w.tables.s_start[srows], slo, shi)]
        else:
            srows = self.session_candidates(slo, shi)
        sconds = [c for c in parts["session"] if not (isinstance(c, DateRange) and c.key == "SESSION_START_TIME")]
        return self._session_mask(srows, sconds, parts["client"])

    def clients(self, conds: list[Condition]) -> np.ndarray:
        """Matching client rows (any order)."""
        parts = self.split(conds)
        if parts["message"] or parts["session"]:
            srows = self.sessions(parts["message"] + parts["session"])
            crows = np.unique(self.w.tables.s_client[srows]).astype(np.int64)
        else:
            crows = np.flatnonzero(self.w.view().c_visible).astype(np.int64)
        for c in parts["client"]:
            crows = crows[self.client_pred(c)(crows)]
        return crows

    # predicates ---------------------------------------------------------------------------------------

    def message_pred(self, c: Condition) -> Pred:
        w = self.w
        t = TEXTS
        if isinstance(c, DateRange):  # MESSAGE_TIME
            return lambda rows: in_range(w.tables.m_ts[rows], c.lo, c.hi)
        if isinstance(c, Text):
            if c.key == "MESSAGE_TEXT":
                match, absent = text_matches(t.questions, c)
                return lambda rows: apply_values(w.tables.m_q[rows], match, absent)
            if c.key == "ANSWER_TEXT":
                match, absent = text_matches(t.answers, c)
                return lambda rows: apply_values(w.tables.m_a[rows], match, absent)
            # COMMENT_TEXT
            crow, ctext = w.annotations().comments
            match, absent = text_matches(w.comments.texts, c)
            return lambda rows: apply_values(lookup(crow, ctext, rows), match, absent)
        if isinstance(c, Checkbox):
            if c.key == "LOG_LABELS":
                prow, plab = w.annotations().message_labels
                selected = w.catalog.resolve_message_labels(c.options)
                return lambda rows: checkbox_on_sets(rows, prow, plab, selected, c.comparison)
            if c.key in ("NLP_CLASS",):
                idx = np.flatnonzero(vocab_index_matches(t.classes, c.options, c.tree))
                return lambda rows: checkbox_on_values(w.tables.m_class[rows], idx, c.comparison)
            if c.key in ("NLP_STATE", "STATE_ROUTES"):
                idx = np.flatnonzero(vocab_index_matches(t.states, c.options, c.tree))
                return lambda rows: checkbox_on_values(w.tables.m_state[rows], idx, c.comparison)
            if c.key == "INTENT":
                idx = np.flatnonzero(vocab_index_matches(t.intent_names, c.options, c.tree))
                return lambda rows: checkbox_on_values(w.intent_values(rows), idx, c.comparison)
            if c.key == "MESSAGE_TYPE":
                idx = np.flatnonzero(vocab_index_matches(vocab.MESSAGE_TYPES, c.options, c.tree))
                return lambda rows: checkbox_on_values(w.tables.m_kind[rows].astype(np.int64), idx, c.comparison)
        if isinstance(c, Radio):
            if c.key == "WITHOUT_EMPTY_MESSAGES":
                if c.option == "YES":
                    return lambda rows: w.tables.m_kind[rows] == vocab.KIND_TEXT
                return _all
            if c.key == "EXCEPTION_EXISTENCE":
                if c.option == "YES":
                    return lambda rows: w.tables.m_exc[rows] >= 0
                if c.option == "NO":
                    return lambda rows: w.tables.m_exc[rows] < 0
                return _all
        raise AssertionError(f"no message predicate for {c}")  # pragma: no cover - parse_filters guards it

    def session_pred(self, c: Condition) -> Pred:
        w = self.w
        if isinstance(c, DateRange):
            if c.key == "SESSION_START_TIME":
                return lambda rows: in_range(w.tables.s_start[rows], c.lo, c.hi)
            return lambda rows: in_range(w.view().s_end[rows], c.lo, c.hi)  # SESSION_END_TIME
        if isinstance(c, NumericRange):  # MESSAGE_COUNT
            return lambda rows: in_range(w.view().s_count[rows], c.lo, c.hi)
        if isinstance(c, Radio):
            if c.key == "WITHOUT_EMPTY_SESSIONS":
                if c.option == "YES":
                    return lambda rows: w.view().s_text[rows] > 0
                return _all
            if c.key == "TRANSFER_TO_OPERATOR":
                if c.option == "WITH_TRANSFER":
                    return lambda rows: w.view().s_live[rows]
                if c.option == "WITHOUT_TRANSFER":
                    return lambda rows: ~w.view().s_live[rows]
                return _all
            if c.key == "INITIATOR":
                if c.option == "BOT":
                    return lambda rows: w.tables.s_incoming[rows] == 0
                if c.option == "CLIENT":
                    return lambda rows: w.tables.s_incoming[rows] != 0
                return _all
        if isinstance(c, Checkbox):
            if c.key == "SESSION_ID":
                found = [w.session_row_of(sid) for sid in c.options]
                idx = np.array(sorted({r for r in found if r is not None}), dtype=np.int64)
                return lambda rows: checkbox_on_values(rows, idx, c.comparison)
            if c.key == "SESSION_LABELS":
                prow, plab = w.annotations().session_labels
                selected = w.catalog.resolve_session_labels(c.options)
                return lambda rows: checkbox_on_sets(rows, prow, plab, selected, c.comparison)
            if c.key == "SESSION_RESULT":
                idx = np.flatnonzero(vocab_index_matches(vocab.SESSION_RESULTS, c.options, False))
                return lambda rows: checkbox_on_values(w.result_values(rows), idx, c.comparison)
            if c.key == "CALL_TASK_ID":
                wanted = np.array([int(o) for o in c.options if o.strip().lstrip("-").isdigit()], dtype=np.int64)
                return lambda rows: checkbox_on_values(w.tables.s_call_task[rows].astype(np.int64), wanted,
                                                       c.comparison)  # fmt: skip
            if c.key == "CHANNEL_TYPE":
                bots = np.array([i for i, b in enumerate(w.bots) if b.channel_type in c.options], dtype=np.int64)
                return lambda rows: checkbox_on_values(w.tables.s_bot[rows].astype(np.int64), bots, c.comparison)
            if c.key == "BOT_ID":
                bots = np.array([i for i, b in enumerate(w.bots) if b.bot_id in c.options], dtype=np.int64)
                return lambda rows: checkbox_on_values(w.tables.s_bot[rows].astype(np.int64), bots, c.comparison)
        if isinstance(c, Composite):  # SESSION_DATA
            return lambda rows: self._session_data(rows, c)
        if isinstance(c, CustomFields):  # pragma: no cover - level "none" never evaluated
            return _all
        raise AssertionError(f"no session predicate for {c}")  # pragma: no cover

    def _session_data(self, rows: np.ndarray, c: Composite) -> np.ndarray:
        out = np.ones(len(rows), dtype=bool)
        for opt in c.options:
            values, texts = self.w.session_data_values(rows, opt.key)
            match, absent = composite_value_matches(texts, opt)
            out &= apply_values(values, match, absent)
        return out

    def client_pred(self, c: Condition) -> Pred:
        w = self.w
        if isinstance(c, DateRange):
            if c.key == "CLIENT_JOIN_TIME":
                return lambda rows: in_range(w.view().c_join[rows], c.lo, c.hi)
            return lambda rows: in_range(w.view().c_last[rows], c.lo, c.hi)  # CLIENT_LAST_ACTIVITY_TIME
        if isinstance(c, Checkbox):  # CLIENT_ID_OR_NAME
            selected = w.clients_named(c.options)
            return lambda rows: checkbox_on_values(rows, selected, c.comparison)
        raise AssertionError(f"no client predicate for {c}")  # pragma: no cover


QUERY_CACHE_SIZE = 8


class Queries:
    """The rows each list operation returns for its filters, in the API's order; the last few results are
    cached by (entity, filters, model version), as paging asks the same query once per page."""

    def __init__(self, model: WorldModel) -> None:
        self.model = model
        self.engine = Engine(model)
        self._cache: OrderedDict[tuple[str, str, int], np.ndarray] = OrderedDict()

    def _cached(self, entity: str, filters: list[dict] | None, compute: Callable[[list[Condition]], np.ndarray]
                ) -> np.ndarray:  # fmt: skip
        key = (entity, canonical(filters), self.model.version)
        hit = self._cache.get(key)
        if hit is not None:
            self._cache.move_to_end(key)
            return hit
        result = compute(parse_filters(filters))
        result.flags.writeable = False
        self._cache[key] = result
        while len(self._cache) > QUERY_CACHE_SIZE:
            self._cache.popitem(last=False)
        return result

    def messages(self, filters: list[dict] | None) -> np.ndarray:
        """Matching message rows, newest first."""
        return self._cached("messages", filters, lambda conds: self.engine.messages(conds)[::-1].copy())

    def sessions(self, filters: list[dict] | None) -> np.ndarray:
        """Matching session rows, newest start first."""
        return self._cached("sessions", filters, lambda conds: self.engine.sessions(conds)[::-1].copy())

    def clients(self, filters: list[dict] | None) -> np.ndarray:
        """Matching client rows in the clients order."""

        def compute(conds: list[Condition]) -> np.ndarray:
            rows = self.engine.clients(conds)
            return rows[np.argsort(self.model.view().c_rank[rows], kind="stable")]

        return self._cached("clients", filters, compute)


def _all(rows: np.ndarray) -> np.ndarray:
    return np.ones(len(rows), dtype=bool)


def describe(conds: list[Condition]) -> list[dict[str, Any]]:  # pragma: no cover - debugging aid
    return [c.__dict__ for c in conds]
