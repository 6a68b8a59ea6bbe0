"""The platform's own daily statistics beyond the message and session counts, kept to reconcile the marts against.

For one day window the sync asks the platform for:

- ``sessions_started``: ``stats/sessions/with-advanced-filters`` over the window's SESSION_START_TIME: sessions
  that began that local day (the ``sessions`` count the sync verifies with is of sessions *active* that day);
- ``transfers``: ``stats/switched-sessions`` (method SWITCH): sessions handed to an operator;
- ``calls`` by dimension ``incoming``, ``outgoing`` and ``billed``: ``stats/telephony``;
  ``call_duration_avg_s``: the same response's mean call duration;
- ``unique_clients`` / ``active``: ``clients/filter`` over the window's MESSAGE_TIME, one row asked for, its
  ``totalCount`` read: the clients (one per bot and client id) who wrote or were written to that day;
- ``unique_clients`` / ``all_time``: ``stats/unique-clients``, the project's clients of all time when the day
  was read (the endpoint takes no dates; kept for reference, not reconciled).

The two date-parameter endpoints bucket a session by the local day of its *start*, each day 24 hours at the
``Timezone`` offset sent (the offset at the window's local midnight, recorded in ``tz_offset_minutes``), so on a
DST day the platform's day is not the local day.  ``reporter_etl.reconcile`` buckets the warehouse the same way.
Decisions and reasons: docs/decisions.md ("Platform daily statistics").
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import UTC, datetime, timedelta
from typing import Any

from reporter_etl.api.client import ReporterClient
from reporter_etl.api.filters import DateTimeRange, message_time
from reporter_etl.windows import Window

log = logging.getLogger(__name__)

TRANSFER_METHOD = "SWITCH"
TELEPHONY_SERIES = {"incoming": "incomingCount", "outgoing": "outgoingCount", "billed": "billingCount"}
# Paged list operations this module calls once per window for a count only (one row asked for); request
# accounting that compares pages read with the pages needed leaves these out.
COUNT_REQUESTS_PER_WINDOW: Mapping[str, int] = {"filter_clients": 1}
REQUESTS_PER_WINDOW = 5  # sessions started, switched-sessions, telephony, the clients count, unique-clients


def _bucket_sum(points: Any, start_ms: int, end_ms: int) -> float:
    """The values of the TimestampToValue buckets that start inside [start_ms, end_ms)."""
    return float(sum(float(p["value"]) for p in points or () if start_ms <= int(p["ts"]) < end_ms))


def _row(window: Window, offset: int, metric: str, dimension: str, value: float) -> dict[str, Any]:
    return {"metric": metric, "dimension": dimension, "day": window.day, "value": value, "tz_offset_minutes": offset}


def platform_day_bounds(window: Window, tz_offset_minutes: int) -> tuple[int, int]:
    """Epoch ms of the platform's day for a date parameter: 24 hours from local midnight at the sent offset."""
    midnight = datetime(window.day.year, window.day.month, window.day.day, tzinfo=UTC)
    start = midnight - timedelta(minutes=tz_offset_minutes)
    return int(start.timestamp() * 1000), int((start + timedelta(days=1)).timestamp() * 1000)


def daily_platform_stats(client: ReporterClient, window: Window, tz_offset_minutes: int) -> list[dict[str, Any]]:
    """Rows for raw.api_daily_stats (metric, dimension, day, value, tz_offset_minutes) for one window."""
    day, offset = window.day, tz_offset_minutes
    lo, hi = platform_day_bounds(window, offset)
    started: Any = client.session_stats([DateTimeRange.window("SESSION_START_TIME", window.start, window.end)],
                                        interval_type="DAY", timezone_offset=offset)
    switched: Any = client.switched_sessions_stats(day, day, TRANSFER_METHOD, timezone_offset=offset)
    telephony: Any = client.telephony_stats(day, day, timezone_offset=offset)
    active: Any = client.call("filter_clients", filters=[message_time(window.start, window.end)], page=0, size=1)
    everyone: Any = client.unique_clients_stats()
    rows = [_row(window, offset, "sessions_started", "", float(started["totalCount"])),
            _row(window, offset, "transfers", "", _bucket_sum(switched.get("stats"), lo, hi))]
    rows += [_row(window, offset, "calls", dimension, _bucket_sum(telephony.get(field), lo, hi))
             for dimension, field in TELEPHONY_SERIES.items()]  # fmt: skip
    mean_call_s = float(telephony.get("averageCallDurationInSeconds") or 0)
    rows.append(_row(window, offset, "call_duration_avg_s", "", mean_call_s))
    rows.append(_row(window, offset, "unique_clients", "active", float(active["paging"]["totalCount"])))
    # One item per project the token reaches; the sync has checked that this is exactly one.
    total = sum(int(item.get("totalCount") or 0) for item in everyone or ())
    rows.append(_row(window, offset, "unique_clients", "all_time", float(total)))
    log.debug("%s: platform statistics %s", window, {(r["metric"], r["dimension"]): r["value"] for r in rows})
    return rows
