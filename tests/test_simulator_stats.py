"""The statistics endpoints reconcile with the lists: totals and per-bucket counts of
stats/{messages,sessions}/with-advanced-filters equal what paging messages/filter and sessions/filter yields."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests

from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.simulator.server import format_api_datetime
from tests.fixed_dates import TEST_END_DATE
from tests.http_pages import all_rows

TOKEN = "stats-token"
BUCKET_MS = {"HOUR": 3_600_000, "DAY": 86_400_000}


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    config = WorldConfig(end_date=TEST_END_DATE, seed=17, days=4, messages_per_day=150, timezone="Europe/Moscow")
    with Simulator(config, token=TOKEN) as s:
        yield s


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def time_range(key: str, start: datetime, end: datetime) -> dict:
    """[start, end) as the API's inclusive range."""
    return {"key": key, "type": "DATE_TIME_RANGE", "from": format_api_datetime(start),
            "to": format_api_datetime(end - timedelta(milliseconds=1))}  # fmt: skip


def windows(sim: Simulator) -> dict[str, tuple[datetime, datetime]]:
    start, end = sim.world.start, sim.world.end
    return {
        "whole world": (start, end),
        "one day": (start + timedelta(days=1), start + timedelta(days=2)),
        "odd window": (start + timedelta(days=1, hours=13, minutes=17), start + timedelta(days=2, hours=8, minutes=5)),
    }


EXTRA_FILTERS = {
    "no extra": [],
    "telegram only": [{"key": "CHANNEL_TYPE", "type": "CHECKBOX", "options": ["telegram"],
                       "comparisonType": "CONTAINS"}],
    "without empty sessions": [{"key": "WITHOUT_EMPTY_SESSIONS", "type": "RADIO", "option": "YES"}],
    "3 to 10 phrases": [{"key": "MESSAGE_COUNT", "type": "NUMERIC_RANGE", "from": "3", "to": 10}],
}  # fmt: skip


def bucket_of(api_time: str, interval: str, tz_minutes: int) -> int:
    """Start (epoch ms) of the HOUR/DAY bucket holding `api_time`, aligned to local time at the offset."""
    ms = int(datetime.fromisoformat(api_time.replace("Z", "+00:00")).timestamp() * 1000)
    shift = tz_minutes * 60_000
    return (ms + shift) // BUCKET_MS[interval] * BUCKET_MS[interval] - shift


def stats(sim: Simulator, http: requests.Session, entity: str, filters: list[dict], interval: str,
          tz_minutes: int) -> dict:  # fmt: skip
    response = http.post(f"{sim.api_url}/stats/{entity}/with-advanced-filters",
                         params={"intervalType": interval, "step": 1}, headers={"Timezone": str(tz_minutes)},
                         json={"filters": filters}, timeout=60)  # fmt: skip
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize("extra", list(EXTRA_FILTERS))
@pytest.mark.parametrize("window", ["whole world", "one day", "odd window"])
def test_stats_reconcile_with_lists(sim: Simulator, http: requests.Session, window: str, extra: str) -> None:
    start, end = windows(sim)[window]
    filters = [time_range("MESSAGE_TIME", start, end), *EXTRA_FILTERS[extra]]
    messages = all_rows(http, sim, "messages", filters)
    sessions = all_rows(http, sim, "sessions", filters)
    assert messages and sessions, "the case should select something"
    for interval, tz in (("DAY", 180), ("HOUR", 0)):
        for entity, rows, time_field in (("messages", messages, "timestamp"), ("sessions", sessions, "startTime")):
            dto = stats(sim, http, entity, filters, interval, tz)
            assert dto["totalCount"] == len(rows), f"{entity} {interval}"
            got = {point["ts"]: point["value"] for point in dto["stats"] if point["value"]}
            expected = Counter(bucket_of(row[time_field], interval, tz) for row in rows)
            assert got == dict(expected), f"{entity} per {interval} at UTC{tz:+d} min"


def test_session_start_time_filter_reconciles(sim: Simulator, http: requests.Session) -> None:
    start, end = windows(sim)["one day"]
    filters = [time_range("SESSION_START_TIME", start, end)]
    sessions = all_rows(http, sim, "sessions", filters)
    dto = stats(sim, http, "sessions", filters, "DAY", 0)
    assert dto["totalCount"] == len(sessions) > 0
    assert all(start <= datetime.fromisoformat(s["startTime"].replace("Z", "+00:00")) < end for s in sessions)


def test_unique_clients_and_session_count_match_the_lists(sim: Simulator, http: requests.Session) -> None:
    whole = [time_range("MESSAGE_TIME", sim.world.start, sim.world.end)]
    [count] = http.get(f"{sim.api_url}/projects/sessions/count", timeout=30).json()
    [unique] = http.get(f"{sim.api_url}/stats/unique-clients", timeout=30).json()
    assert count["projectShortName"] == unique["projectShortName"] == sim.world.project_short_name
    assert count["amount"] == len(all_rows(http, sim, "sessions", whole))
    assert unique["totalCount"] == len(all_rows(http, sim, "clients", []))
