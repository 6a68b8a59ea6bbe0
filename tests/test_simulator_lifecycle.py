"""Server lifecycle, the CLI, keep-alive, and the World's clock moving (Python API and admin endpoint)."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests

from reporter_etl.cli import build_parser
from reporter_etl.simulator import FaultConfig, Simulator, WorldConfig
from reporter_etl.simulator.cli import fault_config_from_args
from reporter_etl.simulator.server import format_api_datetime
from tests.fixed_dates import TEST_END_DATE
from tests.http_pages import all_rows

TOKEN = "clock-token"


def when(api_time: str) -> datetime:
    return datetime.fromisoformat(api_time.replace("Z", "+00:00"))


def everything_until(far: datetime, sim: Simulator) -> list[dict]:
    return [{"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": format_api_datetime(sim.world.start),
             "to": format_api_datetime(far)}]  # fmt: skip


def snapshot(http: requests.Session, sim: Simulator) -> tuple[dict[str, dict], dict[str, list], dict[str, list]]:
    """(messages by id, message label ids by id, session label ids by session id) over all of time so far."""
    filters = everything_until(sim.world.now + timedelta(days=400), sim)
    messages = {m["questionId"]: m for m in all_rows(http, sim, "messages", filters)}
    message_labels = {q: sorted(label["id"] for label in m.get("labels", ())) for q, m in messages.items()}
    sessions = all_rows(http, sim, "sessions", filters, needToReturnSessionLabels="true")
    session_labels = {s["sessionId"]: sorted(label["id"] for label in s.get("labels", ())) for s in sessions}
    return messages, message_labels, session_labels


def assert_world_moved(before: tuple, after: tuple, old_now: datetime) -> None:
    messages_before, message_labels_before, session_labels_before = before
    messages_after, message_labels_after, session_labels_after = after
    new = [m for q, m in messages_after.items() if q not in messages_before]
    assert new, "advancing the clock should bring new messages"
    assert any(when(m["sessionStartTime"]) < old_now for m in new), "new messages should join existing sessions"
    changed = [q for q, labels in message_labels_before.items() if message_labels_after.get(q) != labels]
    changed += [s for s, labels in session_labels_before.items() if session_labels_after.get(s) != labels]
    assert changed, "advancing should label some earlier messages or sessions"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    # Seed, size and end date chosen so that a day brings both resumed sessions and late labels (deterministic).
    config = WorldConfig(end_date=TEST_END_DATE, seed=24, days=3, messages_per_day=400)
    with Simulator(config, token=TOKEN) as simulator:
        yield simulator


def test_python_api_advance_moves_the_world(sim: Simulator) -> None:
    with requests.Session() as http:
        before, old_now, old_version = snapshot(http, sim), sim.world.now, sim.world.version
        sim.advance(hours=24)
        assert sim.world.now == old_now + timedelta(hours=24)
        assert sim.world.version > old_version
        assert_world_moved(before, snapshot(http, sim), old_now)


def test_admin_endpoint_advances_the_world(sim: Simulator) -> None:
    with requests.Session() as http:
        health = http.get(f"{sim.base_url}/_simulator/health", timeout=30).json()
        assert health["status"] == "ok" and health["projectShortName"] == sim.world.project_short_name
        before, old_now = snapshot(http, sim), when(health["now"])
        moved = http.post(f"{sim.base_url}/_simulator/advance", params={"hours": 24}, timeout=60)
        assert moved.status_code == 200
        assert when(moved.json()["now"]) == old_now + timedelta(hours=24)
        assert moved.json()["version"] > health["version"]
        assert_world_moved(before, snapshot(http, sim), old_now)
        assert http.post(f"{sim.base_url}/_simulator/advance", params={"hours": -1}, timeout=30).status_code == 400


def test_keep_alive_and_both_prefixes(sim: Simulator) -> None:
    with requests.Session() as http:
        first = http.get(f"{sim.base_url}/api/reporter/p/{TOKEN}/message/labels", timeout=30)
        second = http.get(f"{sim.base_url}/reporter/p/{TOKEN}/message/labels", timeout=30)
        assert first.status_code == second.status_code == 200
        assert first.content == second.content
        assert first.raw.version == 11 and "close" not in first.headers.get("Connection", "")
        session_id = http.post(f"{sim.api_url}/sessions/filter", json={}, timeout=30).json()["sessions"][0]["sessionId"]
        # The help page names POST for by-session; the spec says GET. Both answer alike.
        by_post = http.post(f"{sim.api_url}/messages/by-session", params={"sessionId": session_id}, timeout=30)
        by_get = http.get(f"{sim.api_url}/messages/by-session", params={"sessionId": session_id}, timeout=30)
        assert by_post.status_code == 200 and by_post.content == by_get.content


def test_stop_frees_the_port_and_closes_idle_connections() -> None:
    simulator = Simulator(WorldConfig(end_date=TEST_END_DATE, seed=1, days=2, messages_per_day=30), token=TOKEN).start()
    base = simulator.base_url
    with requests.Session() as http:
        assert http.get(f"{base}/_simulator/health", timeout=30).status_code == 200  # leaves a keep-alive socket
        simulator.stop()
        with pytest.raises(requests.ConnectionError):
            http.get(f"{base}/_simulator/health", timeout=5)
    simulator.stop()  # idempotent


def test_faults_settable_at_construction() -> None:
    with Simulator(WorldConfig(end_date=TEST_END_DATE, seed=1, days=2, messages_per_day=30), token=TOKEN,
                   faults=FaultConfig(seed=1, rate_limit=1.0)) as simulator:  # fmt: skip
        assert requests.get(f"{simulator.api_url}/message/labels", timeout=30).status_code == 429


def test_cli_fault_flags_build_the_fault_config() -> None:
    args = build_parser().parse_args([
        "simulator", "serve", "--fault-seed", "4", "--fault-rate-limit", "0.1", "--fault-retry-after", "2",
        "--fault-server-error", "0.05", "--fault-html", "0.01", "--fault-drop", "0.02", "--fault-drop-mid-body",
        "0.03", "--fault-slow", "0.2", "--fault-slow-seconds", "0.5", "--fault-drift", "0.3", "--fault-drift-rows",
        "7", "--fault-operations", "getMessageDataByFilter,getSessionDataByFilter", "--fault-downloads",
        "--fault-hang", "0.04", "--fault-hang-seconds", "9",
    ])  # fmt: skip
    assert fault_config_from_args(args) == FaultConfig(
        seed=4, rate_limit=0.1, retry_after_seconds=2, server_error=0.05, html=0.01, drop=0.02, drop_mid_body=0.03,
        slow=0.2, slow_seconds=0.5, drift=0.3, drift_rows=7, hang=0.04, hang_seconds=9,
        operations=frozenset({"getMessageDataByFilter", "getSessionDataByFilter"}), include_downloads=True,
    )  # fmt: skip
    with pytest.raises(SystemExit):
        build_parser().parse_args(["simulator", "serve", "--fault-drop", "1.5"])


def test_cli_serves_until_terminated_without_printing_the_token() -> None:
    token = "cli-secret-token-42"
    command = [sys.executable, "-m", "reporter_etl.cli", "-v", "simulator", "serve", "--port", "0", "--days", "2",
               "--messages-per-day", "40", "--end-date", "2024-05-31", "--seed", "3", "--token", token]  # fmt: skip
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             env={**os.environ, "PYTHONUNBUFFERED": "1"})  # fmt: skip
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        match = re.search(r"serving (http://127\.0\.0\.1:\d+)/api/reporter/p/\{token\}/", line)
        assert match, line
        base = match.group(1)
        with requests.Session() as http:
            assert http.get(f"{base}/_simulator/health", timeout=30).json()["end"] == "2024-06-01T00:00:00.000Z"
            assert http.get(f"{base}/api/reporter/p/{token}/message/labels", timeout=30).status_code == 200
            assert http.get(f"{base}/api/reporter/p/wrong/message/labels", timeout=30).status_code == 401
    finally:
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert "/api/reporter/p/***/message/labels" in err  # -v logs requests, masked
    assert token not in out + err
