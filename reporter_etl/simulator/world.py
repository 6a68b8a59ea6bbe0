"""The simulator's World: one deterministic synthetic Tovie Platform project behind the HTTP server.

`World` is the interface the HTTP server calls (operations.py names its methods, name for name) and the ground
truth tests read.  It holds no logic of its own; each method hands over to the module that does the work:

    model.py      WorldModel, the read model: generated tables, identity, clients, clock, visibility, state
    tables.py     the generated columns (frozen; days appended as the clock moves) and their indexes
    view.py       what is visible now: session and client aggregates from the visible messages
    generate.py   one day of sessions and messages (texts.py: the string tables)
    query.py      filters -> matching rows (Engine) and the cached list queries (Queries)
    render.py     rows -> API-shaped dicts, a page at a time
    discovery.py  filter metadata and options
    analytics.py  statistics, operator transfers, telephony, state routes (stats.py: time buckets)
    writes.py     every change: labels, comments, blocks, experiments, filter sets, the clock
    catalog.py    label catalogs and experiments; annotations.py: labels and comments over time
"""

from __future__ import annotations

import threading
from datetime import date, datetime, timedelta

import numpy as np

from . import analytics, discovery, ids, render
from .errors import FilterError, NotFound
from .filters import ANALYTICS_SECTIONS, KEYS
from .model import Bot, WorldConfig, WorldModel, to_ms
from .query import Queries
from .writes import Writes

__all__ = ["Bot", "FilterError", "NotFound", "World", "WorldConfig"]


def _rows(rows: np.ndarray | list[int]) -> np.ndarray:
    return np.asarray(rows, dtype=np.int64)


class World:
    def __init__(self, config: WorldConfig) -> None:
        self.model = WorldModel(config)
        self.queries = Queries(self.model)
        self.writes = Writes(self.queries)
        self.lock = threading.RLock()  # the server holds it around every call

    # --- identity and clock ----------------------------------------------------------------------------------

    @property
    def config(self) -> WorldConfig:
        return self.model.config

    @property
    def start(self) -> datetime:
        return self.model.start

    @property
    def end(self) -> datetime:
        return self.model.end

    @property
    def now(self) -> datetime:
        return self.model.now

    @property
    def now_ms(self) -> int:
        return self.model.now_ms

    @property
    def version(self) -> int:
        return self.model.version

    @property
    def account_id(self) -> int:
        return self.model.account_id

    @property
    def project_short_name(self) -> str:
        return self.model.project_short_name

    @property
    def bots(self) -> list[Bot]:
        return self.model.bots

    def message_count(self) -> int:
        """Generated messages, visible or not."""
        return self.model.tables.message_count

    def session_count(self) -> int:
        """Generated sessions, visible or not."""
        return self.model.tables.session_count

    def advance(self, delta: timedelta) -> None:
        self.writes.advance(delta)

    def release_delayed(self, start: datetime, end: datetime, limit: int) -> int:
        return self.writes.release_delayed(start, end, limit)

    def held_back_count(self) -> int:
        return self.model.held_back_count()

    # --- lists -------------------------------------------------------------------------------------------

    def query_messages(self, filters: list[dict] | None) -> np.ndarray:
        return self.queries.messages(filters)

    def query_sessions(self, filters: list[dict] | None) -> np.ndarray:
        return self.queries.sessions(filters)

    def query_clients(self, filters: list[dict] | None) -> np.ndarray:
        return self.queries.clients(filters)

    # batch forms (a page at a time is several times faster than row by row)
    def extended_messages(self, rows: np.ndarray) -> list[dict]:
        return render.extended_messages(self.model, _rows(rows))

    def messages(self, rows: np.ndarray) -> list[dict]:
        return render.messages(self.model, _rows(rows))

    def session_infos(self, rows: np.ndarray, with_labels: bool) -> list[dict]:
        return render.session_infos(self.model, _rows(rows), with_labels)

    def client_infos(self, rows: np.ndarray) -> list[dict]:
        return render.client_infos(self.model, _rows(rows))

    def extended_message(self, i: int) -> dict:
        return self.extended_messages(_rows([i]))[0]

    def message(self, i: int) -> dict:
        return self.messages(_rows([i]))[0]

    def session_info(self, i: int, with_labels: bool) -> dict:
        return self.session_infos(_rows([i]), with_labels)[0]

    def client_info(self, i: int) -> dict:
        return self.client_infos(_rows([i]))[0]

    # --- lookups -----------------------------------------------------------------------------------------

    def session_index(self, session_id: str) -> int | None:
        return self.model.session_index(session_id)

    def message_index(self, question_id: str) -> int | None:
        return self.model.message_index(question_id)

    def client_index(self, bot_id: str, client_id: str) -> int | None:
        return self.model.client_index(bot_id, client_id)

    def messages_of_session(self, si: int, hide_empty: bool = False) -> np.ndarray:
        return self.model.messages_of_session(si, hide_empty)

    def sessions_of_client(self, ci: int) -> np.ndarray:
        return self.model.sessions_of_client(ci)

    def messages_of_client(self, ci: int, channel_type: str | None = None) -> np.ndarray:
        return self.model.messages_of_client(ci, channel_type)

    def clients_of_bot(self, bot_id: str, date_to: datetime) -> np.ndarray:
        return self.model.clients_of_bot(bot_id, date_to)

    # --- statistics --------------------------------------------------------------------------------------

    def series(self, entity: str, filters: list[dict] | None, interval_type: str, step: int,
               tz_offset_minutes: int) -> list[tuple[int, float]]:  # fmt: skip
        return analytics.series(self.queries, entity, filters, interval_type, step, tz_offset_minutes)

    def label_series(self, kind: str, filters: list[dict] | None, interval_type: str, step: int,
                     tz_offset_minutes: int) -> list[dict]:  # fmt: skip
        return analytics.label_series(self.queries, kind, filters, interval_type, step, tz_offset_minutes)

    def switched_sessions(self, date_from: date, date_to: date, bot_ids: list[str] | None, method: str,
                          text_for_transfer: str | None, tz_offset_minutes: int
                          ) -> list[tuple[int, float]]:  # fmt: skip
        return analytics.switched_sessions(self.queries, date_from, date_to, bot_ids, method, text_for_transfer,
                                           tz_offset_minutes)  # fmt: skip

    def telephony_stats(self, date_from: date, date_to: date, bot_ids: list[str] | None,
                        tz_offset_minutes: int) -> dict:  # fmt: skip
        return analytics.telephony_stats(self.queries, date_from, date_to, bot_ids, tz_offset_minutes)

    def unique_clients(self) -> int:
        return self.model.unique_clients()

    def sessions_count(self) -> int:
        return self.model.sessions_count()

    def state_routes(self, filters: list[dict] | None, limit: int = 1000) -> list[dict]:
        return analytics.state_routes(self.queries, filters, limit)

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
        self._check_section(section)
        return discovery.filter_infos(self.model, section)

    def filter_options(self, key: str, section: str, filters: list[dict] | None) -> list[dict]:
        self._check_section(section)
        self._check_key(key)
        return discovery.filter_options(self.queries.engine, key, filters)

    def interval_filter_options(self, key: str, section: str, filters: list[dict] | None) -> dict:
        self._check_section(section)
        self._check_key(key)
        return discovery.interval_options(self.queries.engine, key, filters)

    # --- label catalogs --------------------------------------------------------------------------------

    def message_labels(self) -> list[dict]:
        return self.model.catalog.message_labels()

    def message_label(self, id: int) -> dict:  # noqa: A002 - the interface's name
        return self.model.catalog.message_label(id)

    def label_groups(self) -> list[dict]:
        return self.model.catalog.label_groups()

    def label_group(self, id: int) -> dict:  # noqa: A002
        return self.model.catalog.label_group(id)

    def session_labels(self) -> list[dict]:
        return self.model.catalog.session_label_list()

    def session_label(self, id: int) -> dict:  # noqa: A002
        return self.model.catalog.session_label(id)

    def create_message_label(self, body: dict) -> dict:
        return self.writes.catalog_write(lambda c: c.create_message_label(body))

    def update_message_label(self, id: int, body: dict) -> None:  # noqa: A002
        self.writes.catalog_write(lambda c: c.update_message_label(id, body))

    def delete_message_label(self, id: int) -> None:  # noqa: A002
        self.writes.catalog_write(lambda c: c.delete_message_label(id))

    def change_message_label_priorities(self, items: list[dict]) -> None:
        self.writes.catalog_write(lambda c: c.change_message_label_priorities(items))

    def create_message_labels(self, items: list[dict]) -> None:
        self.writes.catalog_batch(lambda c: c.create_message_labels(items))

    def update_message_labels(self, items: list[dict]) -> None:
        self.writes.catalog_batch(lambda c: c.update_message_labels(items))

    def update_label_groups(self, items: list[dict]) -> None:
        self.writes.catalog_batch(lambda c: c.update_label_groups(items))

    def update_label_group(self, id: int, body: dict) -> None:  # noqa: A002
        self.writes.catalog_write(lambda c: c.update_label_group(id, body))

    def delete_label_group(self, id: int) -> None:  # noqa: A002
        self.writes.catalog_write(lambda c: c.delete_label_group(id))

    def change_label_group_priorities(self, items: list[dict]) -> None:
        self.writes.catalog_write(lambda c: c.change_label_group_priorities(items))

    def create_session_label(self, body: dict) -> dict:
        return self.writes.catalog_write(lambda c: c.create_session_label(body))

    def update_session_label(self, id: int, body: dict) -> None:  # noqa: A002
        self.writes.catalog_write(lambda c: c.update_session_label(id, body))

    def delete_session_label(self, id: int) -> None:  # noqa: A002
        self.writes.catalog_write(lambda c: c.delete_session_label(id))

    def change_session_label_priorities(self, items: list[dict]) -> None:
        self.writes.catalog_write(lambda c: c.change_session_label_priorities(items))

    def update_session_labels(self, items: list[dict]) -> None:
        self.writes.catalog_batch(lambda c: c.update_session_labels(items))

    # --- labels and comments on rows -----------------------------------------------------------------------

    def add_message_label(self, question_id: str, label_id: int) -> None:
        self.writes.add_label("message", question_id, label_id)

    def remove_message_label(self, question_id: str, label_id: int) -> None:
        self.writes.remove_label("message", question_id, label_id)

    def set_message_labels(self, question_id: str, label_ids: list[int]) -> None:
        self.writes.set_labels("message", question_id, label_ids)

    def bulk_label_messages(self, body: dict) -> int:
        return self.writes.bulk_label("message", body)

    def add_session_label(self, session_id: str, label_id: int) -> None:
        self.writes.add_label("session", session_id, label_id)

    def remove_session_label(self, session_id: str, label_id: int) -> None:
        self.writes.remove_label("session", session_id, label_id)

    def set_session_labels(self, session_id: str, label_ids: list[int]) -> None:
        self.writes.set_labels("session", session_id, label_ids)

    def bulk_label_sessions(self, body: dict) -> int:
        return self.writes.bulk_label("session", body)

    def add_comment(self, question_id: str, text: str) -> None:
        self.writes.add_comment(question_id, text)

    def delete_comment(self, question_id: str) -> None:
        self.writes.delete_comment(question_id)

    # --- clients, experiments, filter sets -------------------------------------------------------------

    def block_client(self, bot_id: str, client_id: str, reason: str | None, blocked_by: int) -> None:
        self.writes.block_client(bot_id, client_id, reason, blocked_by)

    def unblock_client(self, bot_id: str, client_id: str) -> None:
        self.writes.unblock_client(bot_id, client_id)

    def experiments(self) -> list[dict]:
        now = self.model.now_ms
        return [e.dto(now) for e in self.model.experiments]

    def create_experiment(self, body: dict) -> dict:
        return self.writes.create_experiment(body)

    def delete_experiment(self, key: str) -> None:
        self.writes.delete_experiment(key)

    def stop_experiment(self, key: str) -> None:
        self.writes.stop_experiment(key)

    def join_experiment(self, session_id: str, key: str, bot_id: str) -> str:
        return self.writes.join_experiment(session_id, key, bot_id)

    def experiment_session_counts(self) -> list[dict]:
        m = self.model
        visible = np.flatnonzero(m.view().s_visible)
        out = []
        for e in m.experiments:
            values, _ = m.session_data_values(visible, f"experiment.{e.key}")
            out.append({"key": e.key, "count": int((values >= 0).sum())})
        return out

    def save_filter_set(self, body: dict) -> str:
        return self.writes.save_filter_set(body)

    def filter_set(self, filter_set_id: str) -> dict:
        saved = self.model.filter_sets.get(filter_set_id)
        if saved is None:
            raise NotFound("reporter.filter_set.not_found", f"User filter set {filter_set_id} not found",
                           {"filterSetId": str(filter_set_id)})  # fmt: skip
        return dict(saved)

    # --- ground truth for tests ----------------------------------------------------------------------------

    @staticmethod
    def _window_filter(key: str, start: datetime, end: datetime) -> list[dict]:
        return [{"key": key, "type": "DATE_TIME_RANGE", "from": ids.format_ms(to_ms(start)),
                 "to": ids.format_ms(to_ms(end) - 1)}]  # fmt: skip

    def truth_messages(self, start: datetime, end: datetime) -> list[dict]:
        return self.extended_messages(self.query_messages(self._window_filter("MESSAGE_TIME", start, end)))

    def truth_sessions(self, start: datetime, end: datetime) -> list[dict]:
        rows = self.query_sessions(self._window_filter("MESSAGE_TIME", start, end))
        return self.session_infos(rows, with_labels=True)

    def truth_clients(self, start: datetime, end: datetime) -> list[dict]:
        return self.client_infos(self.query_clients(self._window_filter("CLIENT_LAST_ACTIVITY_TIME", start, end)))
