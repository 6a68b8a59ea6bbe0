"""The code location loads the way users start it, from the repository root, in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

# End-to-end and whole-program tests (-m "not heavy" leaves them out).
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTER_", "DAGSTER_"))}
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    env["DAGSTER_HOME"] = str(home)
    return env


@pytest.mark.slow
def test_dagster_definitions_validate_passes_in_the_repository_root(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "dagster"), "definitions", "validate"], cwd=ROOT, env=clean_env(tmp_path),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "Validation successful for code location reporter_etl" in output


@pytest.mark.slow
def test_dg_lists_every_asset_of_the_shipped_projects_file(tmp_path: Path) -> None:
    done = subprocess.run([str(BIN / "dg"), "list", "defs", "--json"], cwd=ROOT, env=clean_env(tmp_path),
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    for table in ("messages", "sessions", "clients", "message_label_links", "experiments", "api_daily_stats"):
        assert f"my_project/raw/{table}" in done.stdout, table
