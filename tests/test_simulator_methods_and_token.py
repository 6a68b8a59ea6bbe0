"""The simulator answers methods it does not serve as the platform's framework does (405, an ``Allow`` header and
the JSON error body), and reads its token from the environment so that it need not show in process arguments."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from reporter_etl.simulator import Simulator, WorldConfig
from tests.fixed_dates import TEST_END_DATE

TOKEN = "methods-token-5b9d"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WorldConfig(end_date=TEST_END_DATE, seed=8, days=1, messages_per_day=20), token=TOKEN) as simulator:
        yield simulator


def assert_405(response: requests.Response, allowed: set[str]) -> None:
    assert response.status_code == 405, response.text
    assert response.headers["Content-Type"].startswith("application/json")
    assert set(re.split(r",\s*", response.headers["Allow"])) == allowed
    body = response.json()
    assert body["error"] == "reporter.request.method_not_allowed" and response.request.method in body["message"]


@pytest.mark.parametrize("method", ["TRACE", "PROPFIND", "CONNECT-ISH"])
def test_a_method_it_does_not_serve_is_405_with_allow(sim: Simulator, method: str) -> None:
    assert_405(requests.request(method, f"{sim.api_url}/messages/filter", timeout=30), {"POST"})
    assert_405(requests.request(method, f"{sim.api_url}/message/labels", timeout=30), {"GET", "POST"})


def test_a_served_method_on_the_wrong_path_names_the_allowed_ones(sim: Simulator) -> None:
    assert_405(requests.get(f"{sim.api_url}/messages/filter", timeout=30), {"POST"})


def test_a_malformed_request_is_answered_in_json_too(sim: Simulator) -> None:
    import socket

    host, port = sim.base_url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"GET /api/reporter/p/x/message/labels HTTP/1.1 extra\r\n\r\n")
        answer = raw.recv(65536).decode("latin-1")
    assert answer.startswith("HTTP/1.1 400") and "application/json" in answer and "<html" not in answer.lower()


def test_the_cli_reads_the_token_from_the_environment() -> None:
    token = "env-only-secret-77c1"
    command = [sys.executable, "-m", "reporter_etl.cli", "simulator", "serve", "--port", "0", "--days", "1",
               "--messages-per-day", "20", "--end-date", "2024-05-31"]  # fmt: skip
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "REPORTER_TOKEN": token}
    env.pop("REPORTER_ETL_SIMULATOR_TOKEN", None)
    child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    line = ""
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        match = re.search(r"serving (http://127\.0\.0\.1:\d+)/api/reporter/p/\{token\}/", line)
        assert match, line
        base = match.group(1)
        assert requests.get(f"{base}/api/reporter/p/{token}/message/labels", timeout=30).status_code == 200
        assert requests.get(f"{base}/api/reporter/p/demo-token/message/labels", timeout=30).status_code == 401
        cmdline = Path(f"/proc/{child.pid}/cmdline")
        if cmdline.exists():
            assert token not in cmdline.read_text(errors="replace")
    finally:
        child.send_signal(signal.SIGTERM)
        out, err = child.communicate(timeout=30)
    assert child.returncode == 0, err
    assert token not in line + out + err
    assert "token from $REPORTER_TOKEN" in line  # says where the token came from, not what it is
