"""`bench/run.py --quick` (the reduced benchmarks, as `make bench` runs them at full size) exits 0 and prints its
numbers.  No timing is asserted: only that every benchmark ran and that the sync benchmark found the sync exact
and its requests at the minimum."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
NUMBER = r"[\d,]+(?:\.\d+)?"


@pytest.mark.slow
@pytest.mark.timeout(420)
def test_the_quick_benchmarks_run_and_report(tmp_path: Path) -> None:
    results_path = tmp_path / "sync.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "run.py"), "--quick", "--json-out", str(results_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=360, check=False,
    )  # fmt: skip
    out = done.stdout
    assert done.returncode == 0, f"exit {done.returncode}\n{out[-3000:]}\n{done.stderr[-3000:]}"
    for pattern in (
        rf"build: {NUMBER} s, {NUMBER} messages",  # world_build
        rf"served {NUMBER} messages in {NUMBER}s",  # simulator_serve
        rf"column-wise \+ pa\.array \(used\)\s+{NUMBER} rows/s",  # api_conversion
        rf"fresh windows .* = \s*{NUMBER} rows/s",  # warehouse_load
        rf"download only \(the floor\)\s+{NUMBER}\s+{NUMBER}",  # sync_vs_download
        rf"sync, read-ahead \(open\+run\+close\)\s+{NUMBER}\s+{NUMBER}",
        rf"ratio sync / download: {NUMBER}",
        r"session_messages \(messages/by-session\)\s+0\n",
        rf"full\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}",  # models_build
        rf"one day\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}\s+{NUMBER}",
    ):
        assert re.search(pattern, out), f"no match for {pattern!r} in:\n{out}"
    assert re.findall(r"^(\w+)\s+ok\s", out, re.MULTILINE) == [
        "world_build", "simulator_serve", "api_conversion", "warehouse_load", "sync_vs_download",
        "models_build"]  # fmt: skip

    results = json.loads(results_path.read_text())
    assert results["problems"] == []
    assert results["rows"]["messages"] > 10_000
    for entity, part in results["requests"]["paged"].items():
        assert part["made"] == part["minimum"] > 0, entity  # no faults, no drift: not one page more than needed
    assert results["requests"]["session_messages"] == 0
