"""Planning of MESSAGE_TIME windows.

A window is a half-open interval ``[start, end)`` of one local day in the project's time zone, held as
aware UTC datetimes.  Days, not hours, because a Dagster partition is a day and the platform's own daily
statistics are per day; DST days are simply 23 or 25 hours long.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@dataclass(frozen=True, order=True)
class Window:
    start: datetime  # aware, UTC
    end: datetime  # aware, UTC, exclusive
    day: date  # the local day this window covers

    def __str__(self) -> str:
        return self.day.isoformat()


def zone(name: str) -> ZoneInfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r} (use an IANA name such as 'UTC' or 'Europe/Moscow')") from None


def day_window(day: date, tz: ZoneInfo) -> Window:
    start_local = datetime(day.year, day.month, day.day, tzinfo=tz)
    next_day = day + timedelta(days=1)
    end_local = datetime(next_day.year, next_day.month, next_day.day, tzinfo=tz)
    return Window(start_local.astimezone(UTC), end_local.astimezone(UTC), day)


def day_windows(first_day: date, last_day: date, tz: ZoneInfo) -> list[Window]:
    """Windows for every local day from ``first_day`` to ``last_day``, both included."""
    if last_day < first_day:
        return []
    return [day_window(first_day + timedelta(days=i), tz) for i in range((last_day - first_day).days + 1)]


def last_complete_day(now: datetime, tz: ZoneInfo) -> date:
    """The latest local day that has fully ended at ``now``."""
    return now.astimezone(tz).date() - timedelta(days=1)


def local_day_of(instant: datetime, tz: ZoneInfo) -> date:
    return instant.astimezone(tz).date()


_DURATION = re.compile(r"^\s*(\d+)\s*([dh]?)\s*$")


MAX_LOOKBACK = timedelta(days=3660)  # ten years: more is a typo, and timedelta overflows past 999,999,999 days


def parse_lookback(text: str) -> timedelta:
    """``2d`` (days, the default unit) or ``36h``; not negative, at most ten years."""
    if text.strip().startswith("-"):
        raise ValueError(f"lookback {text!r} is negative; give a duration like '2d' or '36h' (0 reads no day again)")
    match = _DURATION.match(text)
    if not match:
        raise ValueError(f"lookback {text!r} is not a duration like '2d' or '36h'")
    amount, unit = int(match.group(1)), match.group(2) or "d"
    days = amount if unit == "d" else amount / 24
    if days > MAX_LOOKBACK.days:
        raise ValueError(f"lookback {text!r} is too long: at most {MAX_LOOKBACK.days}d (ten years)")
    return timedelta(days=amount) if unit == "d" else timedelta(hours=amount)


def parse_day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a date in the form YYYY-MM-DD") from None
