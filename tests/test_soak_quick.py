"""The soak's quick form (`python -m soak.run --quick`; `make soak` runs the full one): a few fault schedules,
SIGKILLs inside a window's commit, the catalog refresh and between requests, two concurrent writers and a reader
holding the file; after each, a nightly sync with the faults off must equal the simulator's ground truth."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

# End-to-end and whole-program tests: `make test` runs them after the fast suite (pytest -m heavy).
pytestmark = pytest.mark.heavy

REPO = Path(__file__).resolve().parents[1]


@pytest.mark.slow
def test_the_quick_soak_loses_and_doubles_nothing() -> None:
    done = subprocess.run([sys.executable, "-m", "soak.run", "--quick"], cwd=REPO, capture_output=True, text=True,
                          timeout=280, check=False)  # fmt: skip
    out = done.stdout
    totals = re.search(r"^totals: schedules (\d+), kills (\d+), lost rows (\d+), doubled rows (\d+), wrong rows (\d+), "
                       r"stale mart rows (\d+), failed reruns (\d+)$", out, re.MULTILINE)  # fmt: skip
    assert totals, f"exit {done.returncode}\n{out[-3000:]}\n{done.stderr[-3000:]}"
    schedules, kills, lost, doubled, wrong, stale, failed = map(int, totals.groups())
    assert (lost, doubled, wrong, stale, failed) == (0, 0, 0, 0, 0), out
    assert schedules >= 5 and kills >= 3, out
    for scenario in ("SIGKILL: in and around a window commit", "SIGKILL: catalog refresh", "SIGKILL: model build"):
        assert scenario in out
    assert done.returncode == 0, out + done.stderr[-2000:]
