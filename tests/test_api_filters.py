"""Filter value objects serialise exactly as the spec's AnalyticsFilter types."""

from datetime import UTC, datetime, timedelta, timezone

import pytest

from reporter_etl.api.filters import (
    Checkbox,
    Composite,
    CompositeOption,
    CustomFieldsInResponse,
    DateTimeRange,
    NumericRange,
    Radio,
    Text,
    Tree,
    format_api_datetime,
    message_time,
    parse_api_datetime,
    serialize_filters,
)

MSK = timezone(timedelta(hours=3))


def test_datetime_format_is_utc_with_milliseconds():
    assert format_api_datetime(datetime(2021, 2, 15, 0, 0, 0, 234567, tzinfo=MSK)) == "2021-02-14T21:00:00.234Z"
    assert format_api_datetime(datetime(2021, 2, 14, 21, tzinfo=UTC)) == "2021-02-14T21:00:00.000Z"
    with pytest.raises(ValueError, match="no time zone"):
        format_api_datetime(datetime(2021, 2, 14, 21))


def test_early_years_are_padded_to_four_digits():
    # strftime's %Y gives "1" for year 1 on glibc; the API's format has four digits.
    assert format_api_datetime(datetime(1, 1, 1, tzinfo=UTC)) == "0001-01-01T00:00:00.000Z"
    assert format_api_datetime(datetime(999, 12, 31, 23, 59, 59, tzinfo=UTC)) == "0999-12-31T23:59:59.000Z"


def test_datetime_parse_accepts_the_api_forms():
    expected = datetime(2021, 2, 14, 21, 0, 0, 234000, tzinfo=UTC)
    assert parse_api_datetime("2021-02-14T21:00:00.234Z") == expected
    assert parse_api_datetime("2021-02-15T00:00:00.234+03:00") == expected
    assert parse_api_datetime("2021-02-14T21:00:00Z") == expected.replace(microsecond=0)


def test_half_open_window_becomes_inclusive_range():
    # The platform's own example: a Moscow-local week.
    start, end = datetime(2021, 2, 15, tzinfo=MSK), datetime(2021, 2, 22, tzinfo=MSK)
    assert message_time(start, end).to_api() == {
        "key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE",
        "from": "2021-02-14T21:00:00.000Z", "to": "2021-02-21T20:59:59.999Z",
    }  # fmt: skip


def test_open_bounds_are_omitted():
    assert DateTimeRange("SESSION_START_TIME", start=datetime(2021, 1, 1, tzinfo=UTC)).to_api() == {
        "key": "SESSION_START_TIME", "type": "DATE_TIME_RANGE", "from": "2021-01-01T00:00:00.000Z",
    }  # fmt: skip
    assert NumericRange("MESSAGE_COUNT", maximum=50).to_api() == {"key": "MESSAGE_COUNT", "type": "NUMERIC_RANGE",
                                                                  "to": 50}  # fmt: skip


def test_every_type_serialises_with_its_spec_fields():
    got = serialize_filters([
        Radio("WITHOUT_EMPTY_SESSIONS", "YES"),
        NumericRange("MESSAGE_COUNT", 20, 50),
        Checkbox("CHANNEL_TYPE", ["telegram", "vk"]),
        Tree("NLP_STATE", ["/Start"], comparison="NOT_CONTAINS"),
        Text("MESSAGE_TEXT", ["order"], comparison="EQUALS", case_sensitive=True),
        CustomFieldsInResponse(["request.data.phone"]),
        Composite("SESSION_DATA", [CompositeOption("experiment.x", "EQUALS", "a")]),
        {"key": "BOT_ID", "type": "CHECKBOX", "options": ["b"]},  # raw mappings pass through
    ])  # fmt: skip
    assert got == [
        {"key": "WITHOUT_EMPTY_SESSIONS", "type": "RADIO", "option": "YES"},
        {"key": "MESSAGE_COUNT", "type": "NUMERIC_RANGE", "from": 20, "to": 50},
        {"key": "CHANNEL_TYPE", "type": "CHECKBOX", "options": ["telegram", "vk"], "comparisonType": "CONTAINS"},
        {"key": "NLP_STATE", "type": "TREE", "options": ["/Start"], "comparisonType": "NOT_CONTAINS"},
        {"key": "MESSAGE_TEXT", "type": "TEXT", "values": ["order"], "comparisonType": "EQUALS",
         "isCaseSensitive": True},
        {"key": "CUSTOM_FIELDS_IN_RESPONSE", "type": "CUSTOM_FIELDS_IN_RESPONSE",
         "responseDataJsonPaths": ["request.data.phone"]},
        {"key": "SESSION_DATA", "type": "COMPOSITE_FILTER",
         "options": [{"key": "experiment.x", "comparisonOption": "EQUALS", "caseSensitive": False, "value": "a"}]},
        {"key": "BOT_ID", "type": "CHECKBOX", "options": ["b"]},
    ]  # fmt: skip
    assert serialize_filters(None) == []
    assert serialize_filters(Radio("WITHOUT_EMPTY_SESSIONS", "YES")) == [
        {"key": "WITHOUT_EMPTY_SESSIONS", "type": "RADIO", "option": "YES"}
    ]


@pytest.mark.parametrize(
    "build, message",
    [
        (lambda: Radio("MESSAGE_TIMES", "YES"), "unknown filter key"),
        (lambda: Checkbox("CHANNEL_TYPE", "telegram"), "list of strings"),
        (lambda: Checkbox("CHANNEL_TYPE", ["x"], comparison="ANY"), "not one of"),
        (lambda: Text("MESSAGE_TEXT", ["x"], comparison="STARTS_WITH"), "not one of"),
        (lambda: NumericRange("MESSAGE_COUNT", 50, 20), "below minimum"),
        (lambda: DateTimeRange("MESSAGE_TIME", datetime(2021, 1, 2, tzinfo=UTC), datetime(2021, 1, 1, tzinfo=UTC)),
         "before start"),
        (lambda: DateTimeRange("MESSAGE_TIME", datetime(2021, 1, 1)), "no time zone"),
        (lambda: CompositeOption("a", "LIKE"), "not one of"),
    ],
)
def test_invalid_filters_fail_early_with_a_clear_message(build, message):
    with pytest.raises((ValueError, TypeError), match=message):
        build()
