"""Same seed and end date: byte-identical answers from two servers; another seed: different answers."""

from __future__ import annotations

import functools
from datetime import date, timedelta

import requests

from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.simulator.server import format_api_datetime

END = date(2024, 5, 31)


def answers(seed: int) -> list[bytes]:
    config = WorldConfig(seed=seed, days=3, end_date=END, messages_per_day=80)
    with Simulator(config, token="t") as sim, requests.Session() as http:
        api, world = sim.api_url, sim.world
        whole = {"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": format_api_datetime(world.start),
                 "to": format_api_datetime(world.end)}  # fmt: skip
        window = {"filters": [whole]}
        day = {"dateFrom": str(world.start.date()), "dateTo": str((world.end - timedelta(days=1)).date())}
        calls: list[tuple[str, str, dict]] = [
            ("POST", "/messages/filter", {"params": {"size": 100}, "json": window}),
            ("POST", "/messages/filter", {"params": {"size": 100, "page": 2}, "json": window}),
            ("POST", "/sessions/filter", {"params": {"size": 100, "needToReturnSessionLabels": "true"},
                                          "json": window}),
            ("POST", "/clients/filter", {"params": {"size": 100}, "json": window}),
            ("POST", "/stats/messages/with-advanced-filters", {"params": {"intervalType": "HOUR"}, "json": window}),
            ("POST", "/stats/sessions/with-advanced-filters", {"json": window, "headers": {"Timezone": "180"}}),
            ("POST", "/stats/session-labels", {"json": window}),
            ("POST", "/stats/log-labels", {"json": window}),
            ("GET", "/stats/switched-sessions", {"params": {**day, "transferToOperatorMethod": "SWITCH"}}),
            ("GET", "/stats/telephony", {"params": day}),
            ("GET", "/stats/unique-clients", {}),
            ("GET", "/filters", {"params": {"analyticsSection": "SESSIONS"}}),
            ("POST", "/filter-options", {"params": {"filterKey": "NLP_CLASS", "analyticsSection": "SESSIONS"},
                                         "json": window}),
            ("GET", "/message/labels", {}),
            ("GET", "/logs/labels/sessions", {}),
            ("GET", "/scenario-exeperiments", {}),
            ("GET", "/scenario-exeperiments/count-sessions", {}),
        ]  # fmt: skip
        out = []
        for method, path, kwargs in calls:
            response = http.request(method, api + path, timeout=60, **kwargs)
            assert response.status_code == 200, f"{path}: {response.text[:300]}"
            out.append(response.content)
        first_session = http.post(f"{api}/sessions/filter", json=window, timeout=60).json()["sessions"][0]
        by_session = http.get(f"{api}/messages/by-session", params={"sessionId": first_session["sessionId"]},
                              timeout=60)  # fmt: skip
        out.append(by_session.content)
        return out


cached_answers = functools.cache(answers)


def test_same_seed_gives_byte_identical_answers() -> None:
    assert answers(21) == cached_answers(21)  # two servers, each with its own World


def test_another_seed_gives_other_answers() -> None:
    first, other = cached_answers(21), answers(22)
    assert first[0] != other[0]  # messages
    assert sum(a != b for a, b in zip(first, other, strict=True)) >= len(first) // 2
