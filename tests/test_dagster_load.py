"""The code location loads the way users start it, from the repository root, in a fresh process."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

# End-to-end and whole-program tests (-m "not heavy" leaves them out).
pytestmark = pytest.mark.heavy

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent
COMMANDS = {
    "validate": [str(BIN / "dagster"), "definitions", "validate"],
    "list": [str(BIN / "dg"), "list", "defs", "--json"],
}


def clean_env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTER_", "DAGSTER_"))}
    home = tmp_path / "dagster_home"
    home.mkdir(exist_ok=True)
    env["DAGSTER_HOME"] = str(home)
    return env


@pytest.fixture(scope="module")
def started(tmp_path_factory: pytest.TempPathFactory) -> Iterator[dict[str, subprocess.Popen]]:
    """Both commands, started at once in fresh processes of their own (each spends most of its ~3 s importing
    Dagster, on one core); each test waits for its own and judges its output."""
    processes: dict[str, subprocess.Popen] = {}
    try:
        for name, command in COMMANDS.items():
            processes[name] = subprocess.Popen(command, cwd=ROOT, env=clean_env(tmp_path_factory.mktemp(name)),
                                               stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
        yield processes
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.kill()
            process.communicate()


def finished(process: subprocess.Popen) -> tuple[int, str, str]:
    stdout, stderr = process.communicate(timeout=300)
    return process.returncode, stdout, stderr


@pytest.mark.slow
def test_dagster_definitions_validate_passes_in_the_repository_root(started: dict[str, subprocess.Popen]) -> None:
    returncode, stdout, stderr = finished(started["validate"])
    output = stdout + stderr
    assert returncode == 0, output
    assert "Validation successful for code location reporter_etl" in output


@pytest.mark.slow
def test_dg_lists_every_asset_of_the_shipped_projects_file(started: dict[str, subprocess.Popen]) -> None:
    returncode, stdout, stderr = finished(started["list"])
    assert returncode == 0, stdout + stderr
    for table in ("messages", "sessions", "clients", "message_label_links", "experiments", "api_daily_stats"):
        assert f"my_project/raw/{table}" in stdout, table
