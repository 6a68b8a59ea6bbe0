"""`make dagster`: the bundled simulator, a demo warehouse synced through Dagster, and the Dagster UI on it.

    python -m dagster_defs.demo [--port 3000] [--days 14] [--dir .dagster-demo]

Starts the Reporter API simulator on a free 127.0.0.1 port, writes a projects file for it, materializes the
last days through the code location (so the UI opens on green assets with metadata), then runs `dagster dev`
on 127.0.0.1 until Ctrl-C.  The pieces are functions, so the browser test starts the same thing.
"""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

log = logging.getLogger(__name__)

# Not a secret: the simulator accepts whatever token it is started with.
DEMO_TOKEN = "demo-token"
DEMO_TOKEN_ENV = "REPORTER_TOKEN"
ROOT = Path(__file__).resolve().parent.parent
INSTANCE_SETTINGS = (
    "concurrency:\n  pools:\n    default_limit: 1\ntelemetry:\n  enabled: false\nnux:\n  enabled: false\n"
)


@dataclass(frozen=True)
class DemoSetup:
    directory: Path
    dagster_home: Path
    projects_file: Path
    db_path: Path
    first_day: date
    last_day: date

    def environment(self, base: Mapping[str, str] | None = None) -> dict[str, str]:
        """The environment the code location runs in: its instance, projects file and the demo token."""
        env = dict(os.environ if base is None else base)
        env.update({"DAGSTER_HOME": str(self.dagster_home), "REPORTER_ETL_PROJECTS": str(self.projects_file),
                    DEMO_TOKEN_ENV: DEMO_TOKEN})  # fmt: skip
        env.pop("REPORTER_ETL_DB", None)
        return env


def prepare(directory: Path, *, short_name: str, base_url: str, first_day: date, last_day: date) -> DemoSetup:
    """A Dagster home with the shipped dagster.yaml, and a projects file pointing at the simulator."""
    directory = directory.resolve()
    home = directory / "dagster_home"
    home.mkdir(parents=True, exist_ok=True)
    shipped = ROOT / "dagster.yaml"
    if shipped.exists():
        shutil.copyfile(shipped, home / "dagster.yaml")
    else:
        (home / "dagster.yaml").write_text(INSTANCE_SETTINGS, encoding="utf-8")
    db_path = directory / "demo.duckdb"
    projects_file = directory / "projects.toml"
    projects_file.write_text(
        "# written by `make dagster` for the bundled simulator\n"
        f'[warehouse]\npath = "{db_path}"\n\n'
        f'[[projects]]\nshort_name = "{short_name}"\ntoken_env = "{DEMO_TOKEN_ENV}"\ntimezone = "UTC"\n'
        f'start_date = "{first_day}"\nbase_url = "{base_url}"\nlookback_days = 2\nnightly_at = "03:30"\n',
        encoding="utf-8",
    )
    return DemoSetup(directory, home, projects_file, db_path, first_day, last_day)


def materialize(setup: DemoSetup, first: date | None = None, last: date | None = None) -> bool:
    """Every asset of the demo project for [first, last] in one run, recorded in the demo's Dagster home."""
    import dagster as dg

    from dagster_defs.definitions import build_definitions
    from dagster_defs.projects import load_location
    from dagster_defs.schedules import RANGE_END_TAG, RANGE_START_TAG

    env = setup.environment()
    saved = {key: os.environ.get(key) for key in env}
    os.environ.update(env)
    try:
        location = load_location(setup.projects_file)
        defs = build_definitions(location)
        job = defs.resolve_job_def(f"{location.projects[0].prefix}_nightly")
        tags = {RANGE_START_TAG: (first or setup.first_day).isoformat(),
                RANGE_END_TAG: (last or setup.last_day).isoformat()}  # fmt: skip
        with dg.DagsterInstance.get() as instance:
            quiet = {"loggers": {"console": {"config": {"log_level": "INFO"}}}}
            return job.execute_in_process(run_config=quiet, instance=instance, tags=tags, raise_on_error=False).success
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def _ready(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as answer:  # noqa: S310 - 127.0.0.1 only
            return answer.status == 200
    except OSError:
        return False


@contextlib.contextmanager
def dagster_ui(setup: DemoSetup, port: int, *, command: str = "dagster-webserver", startup_timeout_s: float = 180,
               log_path: Path | None = None, stop_grace_s: float = 20) -> Iterator[str]:  # fmt: skip
    """The Dagster UI on 127.0.0.1:port for the demo's code location, in its own process group; stopped (the
    whole group) on leaving.  ``command`` is "dagster-webserver" (UI only) or "dagster dev" (UI and daemon).
    ``stop_grace_s``: how long the UI may take to shut down cleanly after SIGTERM before it is killed; a caller
    that throws its instance away (a test) can pass 0 and skip the ~1 s shutdown."""
    bin_dir = Path(sys.executable).parent
    if command == "dagster dev":
        argv = [str(bin_dir / "dagster"), "dev", "-h", "127.0.0.1", "-p", str(port)]
    else:
        argv = [str(bin_dir / "dagster-webserver"), "-h", "127.0.0.1", "-p", str(port)]
    workspace = setup.directory / "workspace.yaml"
    workspace.write_text("load_from:\n  - python_module:\n      module_name: dagster_defs.definitions\n"
                         "      location_name: reporter_etl\n", encoding="utf-8")  # fmt: skip
    argv += ["-w", str(workspace)]
    output = open(log_path, "wb") if log_path else None  # noqa: SIM115 - closed below; None: this terminal
    # Run from the demo directory: the repository's dagster.yaml is copied into DAGSTER_HOME already.
    process = subprocess.Popen(
        argv, cwd=setup.directory, env=setup.environment(), stdout=output, stderr=subprocess.STDOUT,
        start_new_session=True,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + startup_timeout_s
        while not _ready(f"{url}/server_info"):
            if process.poll() is not None:
                raise RuntimeError(f"the Dagster UI exited with code {process.returncode} (log: {log_path})")
            if time.monotonic() > deadline:
                raise TimeoutError(f"the Dagster UI did not answer on {url} within {startup_timeout_s:.0f} s")
            time.sleep(0.1)
        yield url
    finally:
        stop_process_group(process, grace_s=stop_grace_s)
        if log_path:
            output.close()  # type: ignore[union-attr]


def stop_process_group(process: subprocess.Popen, grace_s: float = 20) -> None:
    """SIGTERM to the process's whole group (the webserver starts a code server child), then SIGKILL."""
    if process.poll() is not None:
        return
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGTERM)
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # children that outlived the leader


def main(argv: list[str] | None = None) -> int:
    from reporter_etl.simulator import Simulator, WorldConfig

    parser = argparse.ArgumentParser(prog="python -m dagster_defs.demo", description=__doc__.split("\n\n")[0])
    parser.add_argument("--port", type=int, default=3000, help="port of the Dagster UI (default 3000)")
    parser.add_argument("--days", type=int, default=14, help="days of simulated history (default 14)")
    parser.add_argument("--sync-days", type=int, default=7, help="days to materialize before the UI starts")
    parser.add_argument("--messages-per-day", type=int, default=1500, help="simulated volume (default 1500)")
    parser.add_argument("--dir", type=Path, default=ROOT / ".dagster-demo", help="demo files (default .dagster-demo)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)

    last_day = datetime.now(UTC).date() - timedelta(days=1)
    first_day = last_day - timedelta(days=args.days - 1)
    config = WorldConfig(seed=42, days=args.days, end_date=last_day, messages_per_day=args.messages_per_day)
    print(f"starting the Reporter API simulator ({args.days} days up to {last_day}) ...", flush=True)
    with Simulator(config, token=DEMO_TOKEN) as sim:
        setup = prepare(args.dir, short_name=sim.world.project_short_name, base_url=sim.base_url,
                        first_day=first_day, last_day=last_day)  # fmt: skip
        print(f"simulator on {sim.base_url}, project {sim.world.project_short_name}; Dagster home {setup.dagster_home}")
        sync_from = max(first_day, last_day - timedelta(days=args.sync_days - 1))
        print(f"materializing {sync_from}..{last_day} into {setup.db_path} (one run) ...", flush=True)
        if not materialize(setup, sync_from, last_day):
            print("the demo run failed; the UI shows why", file=sys.stderr)
        print(f"Dagster UI: http://127.0.0.1:{args.port}  (Ctrl-C stops it and the simulator)", flush=True)
        try:
            with dagster_ui(setup, args.port, command="dagster dev"):
                while True:
                    time.sleep(1)
        except KeyboardInterrupt:
            print("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
