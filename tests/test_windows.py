from datetime import UTC, date, datetime, timedelta

import pytest

from reporter_etl.windows import day_windows, last_complete_day, parse_day, parse_lookback, zone


def test_utc_day_windows_are_contiguous_and_half_open():
    windows = day_windows(date(2026, 3, 1), date(2026, 3, 3), zone("UTC"))
    assert [w.day for w in windows] == [date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)]
    assert windows[0].start == datetime(2026, 3, 1, tzinfo=UTC)
    for left, right in zip(windows, windows[1:], strict=False):
        assert left.end == right.start
    assert all(w.end - w.start == timedelta(days=1) for w in windows)


def test_moscow_windows_match_the_platform_example_week():
    # The platform's own example filter 2021-02-14T21:00Z .. 2021-02-21T20:59:59Z is a Moscow-local week.
    windows = day_windows(date(2021, 2, 15), date(2021, 2, 21), zone("Europe/Moscow"))
    assert windows[0].start == datetime(2021, 2, 14, 21, tzinfo=UTC)
    assert windows[-1].end == datetime(2021, 2, 21, 21, tzinfo=UTC)


def test_dst_day_is_23_hours():
    (window,) = day_windows(date(2026, 3, 29), date(2026, 3, 29), zone("Europe/Berlin"))
    assert window.end - window.start == timedelta(hours=23)


def test_last_complete_day_depends_on_zone():
    now = datetime(2026, 11, 25, 22, 30, tzinfo=UTC)
    assert last_complete_day(now, zone("UTC")) == date(2026, 11, 24)
    assert last_complete_day(now, zone("Europe/Moscow")) == date(2026, 11, 25)


def test_parsers_reject_bad_input_with_clear_messages():
    assert parse_lookback("2d") == timedelta(days=2)
    assert parse_lookback("36h") == timedelta(hours=36)
    assert parse_lookback("3") == timedelta(days=3)
    with pytest.raises(ValueError, match="lookback"):
        parse_lookback("two days")
    with pytest.raises(ValueError, match="YYYY-MM-DD"):
        parse_day("25.11.2026")
    with pytest.raises(ValueError, match="time zone"):
        zone("Mars/Olympus")
