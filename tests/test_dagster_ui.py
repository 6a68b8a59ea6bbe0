"""The Dagster UI against the simulator, seen in headless Chromium: every asset of the project is on the catalog,
and a screenshot is kept (build/ui/) for a human to look at.

Needs Debian's `chromium` (`make browser-deps`, part of `make test`); skipped with a reason when it is missing.
One browser process (tests/headless_chromium.py) opens the pages and waits for what they render, no fixed waits.
"""

from __future__ import annotations

import json
import re
import shutil
import socket
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from pathlib import Path

import dagster as dg
import pytest

from dagster_defs import demo
from reporter_etl.simulator import Simulator, WorldConfig
from tests.fixed_dates import TEST_END_DATE
from tests.headless_chromium import HeadlessChromium, Page

# End-to-end and whole-program tests (the UI's own process, a browser); make test runs it as its own step.
pytestmark = [pytest.mark.heavy, pytest.mark.browser]

ROOT = Path(__file__).resolve().parent.parent
SCREENSHOTS = ROOT / "build" / "ui"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREEN = (1600, 1000)
# The catalog renders only the rows in view (a virtualized list): a tall viewport puts every row in view.
TALL = (1600, 6000)
ASSET_QUERY = "{ assetNodes { assetKey { path } } }"
LINKS = "[...document.querySelectorAll('a[href]')].map(a => a.getAttribute('href'))"
TEXT = "document.body ? document.body.innerText : ''"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def asset_paths(hrefs: list[str] | None) -> set[str]:
    """Asset key paths of the catalog's links (/assets/<path>, without a query or fragment)."""
    return {m.group(1) for href in hrefs or [] if (m := re.fullmatch(r"/assets/([^?#]+)(?:[?#].*)?", href))}


def asset_paths_in_catalog(page: Page, url: str, wanted: set[str]) -> set[str]:
    """Asset key paths linked from the catalog page once its JavaScript has rendered them all (or 90 s passed:
    the code location may still be loading at first)."""
    page.viewport(*TALL)
    page.goto(f"{url}/assets?view=flat")
    return asset_paths(page.wait_for(LINKS, lambda hrefs: wanted <= asset_paths(hrefs)))


def graphql(url: str, query: str) -> dict:
    request = urllib.request.Request(f"{url}/graphql", data=json.dumps({"query": query}).encode(),
                                     headers={"Content-Type": "application/json"})  # fmt: skip
    with urllib.request.urlopen(request, timeout=60) as answer:  # noqa: S310 - 127.0.0.1
        return json.loads(answer.read())["data"]


@pytest.mark.slow
@pytest.mark.timeout(600)  # the UI's start-up and each browser command have their own, shorter limits
@pytest.mark.skipif(CHROMIUM is None, reason="Debian's chromium is not installed: run `make browser-deps`")
def test_the_ui_shows_every_asset_of_the_project(tmp_path: Path) -> None:
    config = WorldConfig(seed=42, days=3, end_date=TEST_END_DATE, messages_per_day=150)
    with Simulator(config, token=demo.DEMO_TOKEN) as sim:
        setup = demo.prepare(tmp_path / "demo", short_name=sim.world.project_short_name, base_url=sim.base_url,
                             first_day=TEST_END_DATE - timedelta(days=2), last_day=TEST_END_DATE)  # fmt: skip
        # The instance's storage is made before two processes open it; then the run goes on (in a thread of this
        # process) while the UI starts (its own processes), and the pages are opened once the run is done.
        dg.DagsterInstance.from_config(str(setup.dagster_home)).dispose()
        with ThreadPoolExecutor(max_workers=1) as pool:
            materialized = pool.submit(demo.materialize, setup)
            # The instance is thrown away afterwards: the UI is killed instead of waiting for its clean shutdown.
            with demo.dagster_ui(setup, free_port(), log_path=tmp_path / "ui.log", stop_grace_s=0) as url, \
                    HeadlessChromium(CHROMIUM) as browser:  # fmt: skip
                assert materialized.result(timeout=300)
                _every_asset_in_the_browser(url, browser, sim.world.project_short_name.replace("-", "_"))


def _every_asset_in_the_browser(url: str, browser: HeadlessChromium, prefix: str) -> None:
    served = {"/".join(node["assetKey"]["path"]) for node in graphql(url, ASSET_QUERY)["assetNodes"]}
    assert {f"{prefix}/raw/{t}" for t in ("messages", "sessions", "clients", "api_daily_stats")} <= served
    page = browser.new_page()
    found = asset_paths_in_catalog(page, url, served)
    assert served <= found, f"not on the catalog page: {sorted(served - found)}"

    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.viewport(*SCREEN)
    # The statuses come after the rows: the screenshot waits for them.
    text = page.wait_for(TEXT, lambda text: "Loading" not in text)
    assert "Loading" not in text, text[-2000:]
    catalog = page.screenshot(SCREENSHOTS / "dagster_catalog.png")
    assert catalog.stat().st_size > 20_000, "the catalog's screenshot is blank"

    # The lineage: every group drawn, and their statuses fetched, before the screenshot.
    groups = {f"{prefix}_raw", "staging", "marts"}
    page.goto(f"{url}/asset-groups")
    text = page.wait_for(TEXT, lambda text: all(g in text for g in groups) and "fetching" not in text)
    assert all(g in text for g in groups) and "fetching" not in text, text[-2000:]
    lineage = page.screenshot(SCREENSHOTS / "dagster_lineage.png")
    assert lineage.stat().st_size > 20_000, "the lineage's screenshot is blank"
