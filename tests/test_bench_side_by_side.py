"""`bench/side_by_side.py --quick` (what `make bench-quick` runs; `make bench` at full size) runs and reports.

No timing is asserted: only that every contender ran against both servers, that they all read the same rows,
that the replay server answered every request from its recording, and that the sync's requests were the minimum.
dlt is left out here (it is in the `bench` extra, not the test one); `make bench-quick` includes it.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

# End-to-end and whole-program tests: `make test` runs them after the fast suite (pytest -m heavy).
pytestmark = pytest.mark.heavy

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_quick_side_by_side_runs_and_checks_itself(tmp_path: Path) -> None:
    results_path = tmp_path / "side_by_side.json"
    done = subprocess.run(
        [sys.executable, str(REPO / "bench" / "side_by_side.py"), "--quick", "--rounds", "1",
         "--skip", "dlt,models", "--json-out", str(results_path)],
        cwd=tmp_path, capture_output=True, text=True, timeout=280, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"exit {done.returncode}\n{done.stdout[-3000:]}\n{done.stderr[-3000:]}"
    assert "| simulator | reporter-etl sync |" in done.stdout

    results = json.loads(results_path.read_text())
    assert results["problems"] == []
    assert results["rows"]["messages"] > 1000 and results["rows"]["sessions"] > 0 and results["rows"]["clients"] > 0
    for server in ("simulator", "replay"):
        contenders = results["servers"][server]["contenders"]
        assert set(contenders) == {"transfer", "floor", "sync"}
        for part in contenders.values():
            assert part["wall_s"] > 0 and part["peak_rss_mib"] > 0 and part["ratio_to_floor"] > 0
    recorded = results["servers"]["replay"]["recorded"]
    assert recorded["misses"] == 0 and recorded["hits"] > 0 and recorded["frozen"]
    for entity, part in results["requests"]["paged"].items():
        assert part["made"] == part["minimum"] > 0, entity
    assert results["requests"]["session_messages"] == 0
    assert results["nightly"]["ratio"] > 0 and results["nightly"]["history_rows"]["messages"] > 1000
    assert results["rss"]["large_days"] > results["rss"]["days"]
    assert {t["target"] for t in results["targets"]} >= {"sync list requests at the minimum", "nightly ratio ≤ 1.5"}
