"""Time buckets for the statistics endpoints: aligned to local midnight / hour at the caller's UTC offset."""

from __future__ import annotations

from datetime import date

import numpy as np

from .errors import FilterError

INTERVAL_TYPES = ("HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR")
HOUR_MS = 3_600_000
DAY_MS = 86_400_000


def check_interval(interval_type: str, step: int) -> None:
    if interval_type not in INTERVAL_TYPES:
        raise FilterError("reporter.stats.bad_interval", f"intervalType must be one of {', '.join(INTERVAL_TYPES)}",
                          {"intervalType": str(interval_type)})  # fmt: skip
    if isinstance(step, bool) or not isinstance(step, int) or step < 1:
        raise FilterError("reporter.stats.bad_step", "step must be a positive integer", {"step": str(step)})


def bucket_starts(t_ms: np.ndarray, interval_type: str, step: int, tz_offset_minutes: int) -> np.ndarray:
    """Epoch ms of the start of the bucket holding each time stamp.

    Buckets of `step` units counted from the local epoch (1970-01-01, weeks from Monday 1969-12-29), so the
    same time always falls in the same bucket whatever range is asked for.
    """
    check_interval(interval_type, step)
    off = int(tz_offset_minutes) * 60_000
    local = np.asarray(t_ms, dtype=np.int64) + off
    if interval_type in ("HOUR", "DAY"):
        unit = (HOUR_MS if interval_type == "HOUR" else DAY_MS) * step
        start = np.floor_divide(local, unit) * unit
    elif interval_type == "WEEK":
        days = np.floor_divide(local, DAY_MS) + 3  # days since Monday 1969-12-29
        weeks = np.floor_divide(days, 7 * step) * 7 * step
        start = (weeks - 3) * DAY_MS
    else:
        per = {"MONTH": 1, "QUARTER": 3, "YEAR": 12}[interval_type] * step
        months = local.astype("datetime64[ms]").astype("datetime64[M]").astype(np.int64)
        months = np.floor_divide(months, per) * per
        start = months.astype("datetime64[M]").astype("datetime64[ms]").astype(np.int64)
    return start - off


def count_by_bucket(t_ms: np.ndarray, interval_type: str, step: int, tz_offset_minutes: int) -> list[tuple[int, float]]:
    """(bucket start, count) for non-empty buckets, ascending."""
    starts = bucket_starts(t_ms, interval_type, step, tz_offset_minutes)
    uniq, counts = np.unique(starts, return_counts=True)
    return [(int(u), float(c)) for u, c in zip(uniq.tolist(), counts.tolist(), strict=True)]


def as_points(series: list[tuple[int, float]]) -> list[dict[str, float | int]]:
    return [{"ts": ts, "value": value} for ts, value in series]


def local_day_range_ms(date_from: date | str, date_to: date | str, tz_offset_minutes: int) -> tuple[int, int]:
    """[start, end) epoch ms covering local dates date_from..date_to inclusive."""
    d0, d1 = _as_date(date_from, "dateFrom"), _as_date(date_to, "dateTo")
    off = int(tz_offset_minutes) * 60_000
    epoch = date(1970, 1, 1).toordinal()
    return (d0.toordinal() - epoch) * DAY_MS - off, (d1.toordinal() + 1 - epoch) * DAY_MS - off


def _as_date(value: date | str, name: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise FilterError("reporter.stats.bad_date", f"{name} must be a date like 2024-01-31",
                          {name: str(value)}) from None  # fmt: skip
