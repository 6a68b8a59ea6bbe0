"""The Dagster UI against the simulator, seen in headless Chromium: every asset of the project is on the catalog,
and a screenshot is kept (build/ui/) for a human to look at.

Needs Debian's `chromium` (`make browser-deps`, part of `make test`); skipped with a reason when it is missing.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest

from dagster_defs import demo
from reporter_etl.simulator import Simulator, WorldConfig
from tests.fixed_dates import TEST_END_DATE

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "build" / "ui"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync",
                  "--hide-scrollbars"]  # fmt: skip
SCREEN = "--window-size=1600,1000"
# The catalog renders only the rows in view (a virtualized list): a tall window puts every row in view.
TALL = "--window-size=1600,6000"
ASSET_QUERY = "{ assetNodes { assetKey { path } } }"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def chromium(*args: str, timeout_s: float = 120) -> bytes:
    """One headless Chromium call with a fresh profile, in its own process group, killed whole on a timeout."""
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        argv = [CHROMIUM, *CHROMIUM_FLAGS, f"--user-data-dir={profile}", *args]
        process = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, start_new_session=True)
        try:
            out, _ = process.communicate(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            raise
        finally:
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGKILL)
        return out


def asset_paths_in_catalog(url: str, wanted: set[str], attempts: int = 3) -> set[str]:
    """Asset key paths linked from the catalog page after its JavaScript ran (the code location may still be
    loading on the first try)."""
    found: set[str] = set()
    for _ in range(attempts):
        dom = chromium(TALL, "--virtual-time-budget=20000", "--dump-dom", f"{url}/assets?view=flat")
        dom = dom.decode(errors="replace")
        found = set(re.findall(r'href="/assets/([^"?#]+)"', dom))
        if wanted <= found:
            break
        time.sleep(2)
    return found


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - 127.0.0.1
        return json.loads(answer.read())["data"]


@pytest.mark.slow
@pytest.mark.timeout(900)  # the UI's start-up and each Chromium call have their own, shorter limits
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: run `make browser-deps`")
def test_the_ui_shows_every_asset_of_the_project(tmp_path: Path) -> None:
    config = WorldConfig(seed=42, days=3, end_date=TEST_END_DATE, messages_per_day=150)
    with Simulator(config, token=demo.DEMO_TOKEN) as sim:
        setup = demo.prepare(tmp_path / "demo", short_name=sim.world.project_short_name, base_url=sim.base_url,
                             first_day=TEST_END_DATE - timedelta(days=2), last_day=TEST_END_DATE)  # fmt: skip
        assert demo.materialize(setup)
        with demo.dagster_ui(setup, free_port(), log_path=tmp_path / "ui.log") as url:
            served = {"/".join(node["assetKey"]["path"]) for node in graphql(url, ASSET_QUERY)["assetNodes"]}
            prefix = sim.world.project_short_name.replace("-", "_")
            assert {f"{prefix}/raw/{t}" for t in ("messages", "sessions", "clients", "api_daily_stats")} <= served
            found = asset_paths_in_catalog(url, served)
            assert served <= found, f"not on the catalog page: {sorted(served - found)}"

            SCREENSHOTS.mkdir(parents=True, exist_ok=True)
            for name, page in (("catalog", "assets?view=flat"), ("lineage", "asset-groups")):
                shot = SCREENSHOTS / f"dagster_{name}.png"
                shot.unlink(missing_ok=True)
                chromium(SCREEN, "--virtual-time-budget=20000", f"--screenshot={shot}", f"{url}/{page}")
                assert shot.exists() and shot.stat().st_size > 20_000, f"no screenshot of {page}"
