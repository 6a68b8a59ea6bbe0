"""Each injected fault kind, seen on the wire by a plain requests client."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests

from reporter_etl.simulator import FaultConfig, Simulator, WorldConfig
from reporter_etl.simulator.server import format_api_datetime
from tests.fixed_dates import TEST_END_DATE

TOKEN = "fault-token"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    config = WorldConfig(end_date=TEST_END_DATE, seed=5, days=3, messages_per_day=150, delayed_share=0.08)
    with Simulator(config, token=TOKEN) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def no_faults_after(sim: Simulator) -> Iterator[None]:
    yield
    sim.faults = None


@pytest.fixture
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def labels(sim: Simulator, http: requests.Session) -> requests.Response:
    return http.get(f"{sim.api_url}/message/labels", timeout=30)


def whole_world(sim: Simulator) -> dict:
    return {"filters": [{"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": format_api_datetime(sim.world.start),
                         "to": format_api_datetime(sim.world.end)}]}  # fmt: skip


def test_faults_are_off_by_default(sim: Simulator, http: requests.Session) -> None:
    assert not sim.faults.enabled
    assert all(labels(sim, http).status_code == 200 for _ in range(20))


def test_rate_limit_answers_429_with_retry_after(sim: Simulator, http: requests.Session) -> None:
    sim.faults = FaultConfig(seed=1, rate_limit=1.0, retry_after_seconds=3)
    response = labels(sim, http)
    assert response.status_code == 429
    assert response.headers["Retry-After"] == "3"
    assert response.json()["error"] == "reporter.rate_limit.exceeded"


def test_server_errors_are_500_502_503(sim: Simulator, http: requests.Session) -> None:
    sim.faults = FaultConfig(seed=2, server_error=1.0)
    statuses = {labels(sim, http).status_code for _ in range(40)}
    assert statuses == {500, 502, 503}


def test_html_error_page_instead_of_json(sim: Simulator, http: requests.Session) -> None:
    sim.faults = FaultConfig(seed=3, html=1.0)
    seen = set()
    for _ in range(20):
        response = labels(sim, http)
        assert response.headers["Content-Type"].startswith("text/html")
        assert response.text.startswith("<html>")
        with pytest.raises(requests.JSONDecodeError):
            response.json()
        seen.add(response.status_code)
    assert seen == {200, 502}


def test_dropped_connection_raises_connection_error(sim: Simulator, http: requests.Session) -> None:
    sim.faults = FaultConfig(seed=4, drop=1.0)
    with pytest.raises(requests.ConnectionError):
        labels(sim, http)


def test_connection_dropped_mid_body(sim: Simulator, http: requests.Session) -> None:
    sim.faults = FaultConfig(seed=4, drop_mid_body=1.0)
    with pytest.raises((requests.exceptions.ChunkedEncodingError, requests.ConnectionError)):
        http.post(f"{sim.api_url}/messages/filter", params={"size": 200}, json=whole_world(sim), timeout=30)


def test_a_hung_request_is_never_answered_and_freed_when_the_client_gives_up(sim: Simulator) -> None:
    sim.faults = FaultConfig(seed=4, hang=1.0)
    with requests.Session() as http, pytest.raises(requests.ReadTimeout):
        http.get(f"{sim.api_url}/message/labels", timeout=(5, 0.3))
    assert sim.fault_counts == {"hang": 1}
    sim.faults = None  # the server still answers others: the held connection does not block it
    assert requests.get(f"{sim.api_url}/message/labels", timeout=30).status_code == 200


def test_html_with_status_200_only(sim: Simulator, http: requests.Session) -> None:
    sim.faults = FaultConfig(seed=3, html=1.0, html_ok_share=1.0)
    responses = [labels(sim, http) for _ in range(5)]
    assert {r.status_code for r in responses} == {200}
    assert all(r.headers["Content-Type"].startswith("text/html") for r in responses)


def test_slow_response_takes_at_least_the_delay(sim: Simulator, http: requests.Session) -> None:
    sim.faults = FaultConfig(seed=5, slow=1.0, slow_seconds=0.2)
    started = time.monotonic()
    response = labels(sim, http)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


def test_rows_arrive_between_two_page_reads(http: requests.Session) -> None:
    # Its own world with many delayed rows: the shared one may hold none back at its clock.
    config = WorldConfig(end_date=TEST_END_DATE, seed=5, days=1, messages_per_day=2000, delayed_share=0.5)
    with Simulator(config, token=TOKEN, faults=FaultConfig(seed=6, drift=1.0, drift_rows=3)) as sim:
        held = sim.world.held_back_count()
        assert held >= 3
        body = whole_world(sim)
        url = f"{sim.api_url}/messages/filter"
        first = http.post(url, params={"page": 0, "size": 50}, json=body, timeout=30).json()["paging"]["totalCount"]
        second = http.post(url, params={"page": 1, "size": 50}, json=body, timeout=30).json()["paging"]["totalCount"]
        assert second == first + 3
        assert sim.world.held_back_count() == held - 3
        assert sim.fault_counts.get("drift", 0) >= 1


def test_same_seed_same_fault_sequence(sim: Simulator, http: requests.Session) -> None:
    def sequence(config: FaultConfig) -> list[object]:
        sim.faults = config
        out: list[object] = []
        for _ in range(30):
            try:
                out.append(labels(sim, http).status_code)
            except requests.RequestException as exc:
                out.append(type(exc).__name__)
        return out

    mixed = FaultConfig(seed=9, rate_limit=0.2, server_error=0.2, html=0.1, drop=0.1)
    first = sequence(mixed)
    assert first == sequence(mixed)
    assert len(set(first)) >= 3
    assert first != sequence(FaultConfig(seed=10, rate_limit=0.2, server_error=0.2, html=0.1, drop=0.1))


def test_faults_spare_admin_and_other_operations(sim: Simulator, http: requests.Session) -> None:
    sim.faults = FaultConfig(seed=1, rate_limit=1.0, operations=frozenset({"getMessageLabels"}))
    assert labels(sim, http).status_code == 429
    assert http.get(f"{sim.api_url}/logs/labels/sessions", timeout=30).status_code == 200
    sim.faults = FaultConfig(seed=1, rate_limit=1.0)
    assert http.get(f"{sim.base_url}/_simulator/health", timeout=30).status_code == 200


def test_faults_set_through_the_admin_endpoint(sim: Simulator, http: requests.Session) -> None:
    response = http.put(f"{sim.base_url}/_simulator/faults", json={"seed": 1, "server_error": 1.0}, timeout=30)
    assert response.status_code == 200
    assert labels(sim, http).status_code in (500, 502, 503)
    assert http.get(f"{sim.base_url}/_simulator/faults", timeout=30).json()["counts"]["server_error"] >= 1
    assert http.put(f"{sim.base_url}/_simulator/faults", json={"nonsense": 1}, timeout=30).status_code == 400
    http.put(f"{sim.base_url}/_simulator/faults", json={}, timeout=30)
    assert labels(sim, http).status_code == 200


def test_fault_config_rejects_impossible_shares() -> None:
    with pytest.raises(ValueError):
        FaultConfig(rate_limit=0.7, server_error=0.5)
    with pytest.raises(ValueError):
        FaultConfig(slow=1.5)
