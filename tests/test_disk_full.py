"""A sync that runs out of space (here: a file-size limit, `ulimit -f`, in the child that syncs) fails with one
clear line, leaves the warehouse as it was before the window it could not write, and the next run completes."""

from __future__ import annotations

import os
import resource
import signal
import subprocess
import sys
from datetime import date
from pathlib import Path

import pytest

from reporter_etl import Settings, open_sync
from reporter_etl.cli import main
from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.warehouse import open_readonly
from tests.sync_support import assert_equals_truth, table_snapshot

TOKEN = "disk-full-token-0b7e"
REPO = Path(__file__).resolve().parents[1]

pytestmark = [
    pytest.mark.skipif(not hasattr(signal, "SIGXFSZ"), reason="needs RLIMIT_FSIZE and SIGXFSZ"),
    pytest.mark.heavy,  # whole syncs in child processes
]


def sync(db: Path, env: dict[str, str], *args: str, file_limit: int | None = None) -> subprocess.CompletedProcess:
    def limit_file_size() -> None:  # runs in the child before exec; an ignored signal stays ignored across exec
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (file_limit, file_limit))

    return subprocess.run(
        [sys.executable, "-m", "reporter_etl.cli", "sync", "--db", str(db), "--no-progress", *args],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=180, check=False,
        preexec_fn=limit_file_size if file_limit is not None else None,
    )  # fmt: skip


def done_windows(db: Path) -> list[tuple]:
    con = open_readonly(db)
    try:
        return con.execute("select entity, window_start, row_count from meta.sync_state order by all").fetchall()
    finally:
        con.close()


def test_a_sync_out_of_space_fails_clearly_and_keeps_the_warehouse(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    db = tmp_path / "w.duckdb"
    config = WorldConfig(seed=5, days=6, end_date=date(2026, 11, 20), messages_per_day=400)
    with Simulator(config, token=TOKEN) as sim:
        env = {**os.environ, "REPORTER_TOKEN": TOKEN, "REPORTER_BASE_URL": sim.base_url}
        # The warehouse before: two days synced and the models built on them, as `reporter-etl sync` does (here in
        # process, through the same public calls; the children below are the CLI).
        with open_sync(Settings(db_path=db, token=TOKEN, base_url=sim.base_url)) as session:
            synced = session.sync_days(date(2026, 11, 15), date(2026, 11, 16), reconcile=True, refresh_catalogs=True)
            assert session.build_models(synced) is not None
        before_tables, before_windows = table_snapshot(db), done_windows(db)
        assert before_windows and db.stat().st_size > 300_000

        # The file is already larger than the limit, and the first window's write-ahead log outgrows it.
        full = sync(db, env, "--end", "2026-11-20", file_limit=300_000)
        assert full.returncode == 1, full.stdout + full.stderr
        lines = [line for line in full.stderr.splitlines() if line.strip()]
        assert len(lines) == 1 and "Traceback" not in full.stderr, full.stderr
        assert lines[0].startswith("error: ") and "disk is full" in lines[0] and "file size limit" in lines[0]
        assert str(db) in lines[0] and TOKEN not in full.stderr

        assert table_snapshot(db) == before_tables and done_windows(db) == before_windows
        assert not [p.name for p in tmp_path.iterdir() if p.name.endswith((".tmp", ".part"))]

        # The next run is the same command, in this process (only the failing run needs a child for its limit).
        monkeypatch.setenv("REPORTER_TOKEN", TOKEN)
        monkeypatch.setenv("REPORTER_BASE_URL", sim.base_url)
        assert main(["sync", "--db", str(db), "--no-progress", "--end", "2026-11-20"]) == 0
        assert_equals_truth(db, sim.world, sim.world.start, sim.world.end)
