"""`bench/run.py --smoke --json` (every benchmark at its smallest size, as `make bench` runs them at full size)
exits 0 and writes every benchmark's numbers.  No timing is asserted: only that every benchmark ran, measured
something, and that the sync benchmark found the sync exact and its requests at the minimum."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
BENCHMARKS = ["world_build", "simulator_serve", "api_conversion", "warehouse_load", "sync_vs_download", "models_build"]


@pytest.mark.slow
def test_the_smoke_benchmarks_run_and_report(tmp_path: Path) -> None:
    report_path = tmp_path / "bench.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--smoke", "--json", str(report_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=240, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    report = json.loads(report_path.read_text())
    assert report["size"] == "smoke"
    assert list(report["benchmarks"]) == BENCHMARKS
    for name, outcome in report["benchmarks"].items():
        assert outcome["exit_code"] == 0 and outcome["results"] is not None, name
    results = {name: outcome["results"] for name, outcome in report["benchmarks"].items()}

    world = results["world_build"]
    assert world["visible_messages"] <= world["messages"] and world["sessions"] > 0
    assert set(world["render_ms"]) == {"ExtendedMessage", "Message", "SessionInfo", "ClientExtendedInfo"}

    served = results["simulator_serve"]
    assert served["complete"] and served["received"] == served["total_count"] > served["page_size"]
    assert served["messages_per_s"] > 0 and served["within_memory_budget"]

    conversion = results["api_conversion"]
    assert conversion["source"] == "simulator World" and len(conversion["rows_per_s"]) == 3
    assert all(rate > 0 for rate in conversion["rows_per_s"].values())

    load = results["warehouse_load"]
    assert [p["messages"] for p in load["passes"].values()] == [load["rows"], load["rows"]]
    assert load["raw_messages"] == load["distinct_question_ids"] == load["rows"] + load["window"] // 2

    sync = results["sync_vs_download"]
    assert sync["problems"] == []
    assert sync["sync"]["rows"] == sync["rows"] and sync["rows"]["messages"] > 0
    for entity, part in sync["requests"]["paged"].items():
        assert part["made"] == part["minimum"] > 0, entity  # no faults, no drift: not one page more than needed
    assert sync["requests"]["paged"]["messages"]["made"] > sync["world"]["windows"]  # some window took two pages
    assert sync["requests"]["session_messages"] == 0

    models = results["models_build"]
    assert models["messages"] > 0 and models["sessions"] > 0
    assert models["full_seconds"] > 0 and models["one_day_seconds"] > 0 and models["peak_rss_mib"] > 0
