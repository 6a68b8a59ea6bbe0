"""Everything that changes a world: label catalogs, labels and comments on rows, client blocks, experiments,
saved filter sets, and time (advancing the clock, releasing held-back messages).  Each write moves the model's
version, so cached query results and annotations are not reused across it."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, TypeVar

import numpy as np

from . import catalog as cat
from . import ids
from .annotations import LabelStore
from .errors import FilterError, NotFound
from .filters import parse_filters
from .model import NOT_BLOCKED, WorldModel, to_ms
from .query import Queries

T = TypeVar("T")
BULK_COMPARISONS = ("NOT_IMPORTANT", "NOT_EXISTS", "EXISTS", "CONTAINS", "NOT_CONTAINS")


class Writes:
    def __init__(self, queries: Queries) -> None:
        self.queries = queries
        self.model: WorldModel = queries.model

    def _done(self, result: T = None) -> T:  # type: ignore[assignment]
        self.model.bump()
        return result

    def catalog_write(self, change: Callable[[cat.LabelCatalog], T]) -> T:
        """One change to the label catalog."""
        return self._done(change(self.model.catalog))

    def catalog_batch(self, change: Callable[[cat.LabelCatalog], object]) -> None:
        """A batch of changes to the label catalog: the version moves even when it fails half way (its earlier
        items stay written)."""
        try:
            change(self.model.catalog)
        finally:
            self.model.bump()

    # --- labels and comments on rows -----------------------------------------------------------------------

    def message_row(self, question_id: str) -> int:
        row = self.model.message_index(question_id)
        if row is None:
            raise NotFound("reporter.message.not_found", f"No message with questionId {question_id}",
                           {"questionId": str(question_id)})  # fmt: skip
        return row

    def session_row(self, session_id: str) -> int:
        row = self.model.session_index(session_id)
        if row is None:
            raise NotFound("reporter.session.not_found", f"No session with sessionId {session_id}",
                           {"sessionId": str(session_id)})  # fmt: skip
        return row

    def _row_labels(self, kind: str) -> tuple[Callable[[str], int], Callable[[Any], int], LabelStore]:
        m = self.model
        if kind == "message":
            return self.message_row, m.catalog.check_message_label, m.message_label_store
        return self.session_row, m.catalog.check_session_label, m.session_label_store

    def add_label(self, kind: str, object_id: str, label_id: int) -> None:
        find, check, store = self._row_labels(kind)
        row, label = find(object_id), check(label_id)
        store.add(row, label, self.model.now_ms)
        self._done()

    def remove_label(self, kind: str, object_id: str, label_id: int) -> None:
        find, check, store = self._row_labels(kind)
        row, label = find(object_id), check(label_id)
        store.remove(row, label)
        self._done()

    def set_labels(self, kind: str, object_id: str, label_ids: list[int]) -> None:
        find, check, store = self._row_labels(kind)
        row = find(object_id)
        labels = [check(x) for x in id_list(label_ids, "labelId")]
        store.replace(row, labels, self.model.now_ms)
        self._done()

    def bulk_label(self, kind: str, body: Any) -> int:
        """BulkLabelingDto: CONTAINS/EXISTS add `labels` to the targets, NOT_CONTAINS/NOT_EXISTS remove them;
        targets are `objectIds` when given, else every row matching `filters`."""
        _, check, store = self._row_labels(kind)
        if kind == "message":
            find, query = self.model.message_index, self.queries.messages
        else:
            find, query = self.model.session_index, self.queries.sessions
        if not isinstance(body, dict):
            raise FilterError("reporter.body.malformed", "BulkLabelingDto: the body must be a JSON object", {})
        comparison = body.get("comparisonType")
        if comparison not in BULK_COMPARISONS:
            raise FilterError("reporter.body.bad_option", "BulkLabelingDto: comparisonType must be a "
                              "CheckboxComparisonType",
                              {"field": "comparisonType", "value": str(comparison)})  # fmt: skip
        labels = [check(x) for x in id_list(body.get("labels"), "labels")]
        object_ids = body.get("objectIds")
        filters = body.get("filters")
        if object_ids:
            if not isinstance(object_ids, list):
                raise FilterError("reporter.body.malformed", "BulkLabelingDto: objectIds must be an array",
                                  {"field": "objectIds"})  # fmt: skip
            rows = [r for r in (find(str(x)) for x in object_ids) if r is not None]
        elif filters is not None:
            rows = query(filters.get("filters") if isinstance(filters, dict) else filters).tolist()
        else:
            raise FilterError("reporter.body.missing_field", "BulkLabelingDto needs objectIds or filters",
                              {"field": "objectIds"})  # fmt: skip
        if comparison == "NOT_IMPORTANT":
            rows, add = [], True
        else:
            rows, add = list(dict.fromkeys(rows)), comparison in ("CONTAINS", "EXISTS")
        now = self.model.now_ms
        for row in rows:
            for label in labels:
                if add:
                    store.add(row, label, now)
                else:
                    store.remove(row, label)
        self._done()
        return len(rows)

    def add_comment(self, question_id: str, text: str) -> None:
        row = self.message_row(question_id)
        if not isinstance(text, str) or not text.strip():
            raise FilterError("reporter.body.missing_field", "AddCommentDto: 'comment' must be a non-empty string",
                              {"field": "comment"})  # fmt: skip
        self.model.comments.set(row, text)
        self._done()

    def delete_comment(self, question_id: str) -> None:
        self.model.comments.delete(self.message_row(question_id))
        self._done()

    # --- clients -------------------------------------------------------------------------------------------

    def _client_row(self, bot_id: str, client_id: str) -> int:
        c = self.model.client_index(bot_id, client_id)
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
        self.model.blocks[c] = (True, reason, blocked_by, self.model.now_ms)
        self._done()

    def unblock_client(self, bot_id: str, client_id: str) -> None:
        self.model.blocks[self._client_row(bot_id, client_id)] = NOT_BLOCKED
        self._done()

    # --- experiments ---------------------------------------------------------------------------------------

    def _experiment(self, key: str) -> cat.Experiment:
        for e in self.model.experiments:
            if e.key == key:
                return e
        raise NotFound("reporter.experiment.not_found", f"No scenario experiment with key {key}",
                       {"experimentKey": str(key)})  # fmt: skip

    def create_experiment(self, body: dict) -> dict:
        m = self.model
        exp = cat.experiment_from_body(body)
        if any(e.key == exp.key for e in m.experiments):
            raise FilterError("reporter.experiment.duplicate", f"Scenario experiment {exp.key} already exists",
                              {"experimentKey": exp.key})  # fmt: skip
        old = m.all_experiments.get(exp.key)
        if old is not None and old.column is not None:  # re-created after deletion: keep its recorded branches
            exp.column = old.column
            if [k for k, _ in exp.branches] != [k for k, _ in old.branches]:
                exp.column = None  # other branches: the recorded indices would name the wrong ones
        m.experiments.append(exp)
        m.all_experiments[exp.key] = exp
        return self._done(exp.dto(m.now_ms))

    def delete_experiment(self, key: str) -> None:
        exp = self._experiment(key)
        self.model.experiments.remove(exp)
        exp.ended_ms = self.model.now_ms if exp.ended_ms is None else exp.ended_ms
        self._done()

    def stop_experiment(self, key: str) -> None:
        exp = self._experiment(key)
        exp.status_override = "STOPPED"
        exp.ended_ms = self.model.now_ms if exp.ended_ms is None else exp.ended_ms
        self._done()

    def join_experiment(self, session_id: str, key: str, bot_id: str) -> str:
        m = self.model
        exp = self._experiment(key)
        row = self.session_row(session_id)
        if m.bots[int(m.tables.s_bot[row])].bot_id != bot_id:
            raise NotFound("reporter.session.not_found", f"Session {session_id} does not belong to bot {bot_id}",
                           {"sessionId": str(session_id), "botId": str(bot_id)})  # fmt: skip
        values, texts = m.session_data_values(np.array([row]), f"experiment.{key}")
        if values[0] >= 0:
            return texts[int(values[0])]
        if exp.status(m.now_ms) == "STOPPED":
            raise FilterError("reporter.experiment.stopped", f"Scenario experiment {key} is stopped",
                              {"experimentKey": key})  # fmt: skip
        # sticky and deterministic: the branch follows from the session and the key
        h = ids.splitmix64(int(m.tables.s_mix[row]) ^ (hash_text(key) & ids.MASK64)) / float(1 << 64)
        branch = int(np.searchsorted(np.cumsum(exp.shares)[:-1], h, side="right"))
        exp.joined[row] = branch
        if exp.status_override == "CREATED" or exp.status(m.now_ms) == "CREATED":
            exp.status_override = "RUNNING"
        self._done()
        return exp.branches[branch][0]

    # --- filter sets -----------------------------------------------------------------------------------------

    def save_filter_set(self, body: dict) -> str:
        m = self.model
        if not isinstance(body, dict):
            raise FilterError("reporter.body.malformed", "FiltersDto: the body must be a JSON object", {})
        filters = body.get("filters") or []
        parse_filters(filters)
        mix = ids.mix60(ids.make_key(ids.TAG_FILTER_SET, 0, len(m.filter_sets)), m.plan.salt)
        filter_set_id = ids.uuid_from_mix(mix)
        saved: dict[str, Any] = {"filterSetId": filter_set_id, "filters": filters}
        for name in ("intervalType", "step"):
            if body.get(name) is not None:
                saved[name] = body[name]
        m.filter_sets[filter_set_id] = saved
        return self._done(filter_set_id)

    # --- time --------------------------------------------------------------------------------------------------

    def advance(self, delta: timedelta) -> None:
        if delta < timedelta(0):
            raise ValueError("the clock only moves forward")
        m = self.model
        m.now = m.now + delta
        m.generate_until(m.now_ms)
        m.clock_moved()
        m.bump(visibility=True)

    def release_delayed(self, start: datetime, end: datetime, limit: int) -> int:
        """Make up to `limit` held-back messages with a timestamp in [start, end) visible now (paging drift)."""
        m, t = self.model, self.model.tables
        now = m.now_ms
        a = int(np.searchsorted(t.m_ts_sorted, to_ms(start), "left"))
        b = int(np.searchsorted(t.m_ts_sorted, to_ms(end), "left"))
        rows = t.m_order[a:b]
        held = rows[(t.m_arrival[rows] > now) & ~m.released[rows] & (t.m_ts[rows] <= now)]
        chosen = held[: max(int(limit), 0)]
        if len(chosen):
            m.released[chosen] = True
            m.note_released(chosen)
            m.bump(visibility=True)
        return len(chosen)


def hash_text(text: str) -> int:
    """A stable (process-independent) 64-bit hash of a string."""
    h = 0xCBF29CE484222325
    for byte in text.encode():
        h = ((h ^ byte) * 0x100000001B3) & ids.MASK64
    return h


def id_list(values: Any, name: str) -> list[int]:
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
