"""A Dagster run of the code location masks every project's token in every record of every logger and in what
the step prints: a real sync against the simulator, plus a test-only asset that logs the token through a logger
the code has never heard of (warning, error, a traceback), through ``context.log`` and with print() to stdout and
stderr. Nothing the instance keeps on disk (event log, run records, compute logs) nor any file of the test holds a
token, and the masked records are there."""

import logging
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import quote

import dagster as dg
import pytest
import yaml

from dagster_defs.assets import BACKFILL_POLICY, partitions_for, raw_day_asset, raw_key
from dagster_defs.projects import ProjectConfig, load_location
from dagster_defs.resources import api_resource_key
from reporter_etl.api.redaction import MASK
from reporter_etl.simulator import Simulator, WorldConfig
from tests.dagster_support import SimProject, materializations, quick_resources, write_projects_file
from tests.fixed_dates import TEST_END_DATE

# End-to-end and whole-program tests (-m "not heavy" leaves them out).
pytestmark = pytest.mark.heavy

REPO = Path(__file__).resolve().parents[1]
TOKEN = "DagsterMask7c1e:4b9f2a6d0e8c3f5a1b7d9e2c4a6f8b0d"  # ":" so the URL-encoded form differs
OTHER_TOKEN = "DagsterMaskOther-0e5d3b1a9c7f"  # the second project's: never used in this run, masked all the same
TOKEN_ENV = "REPORTER_MASK_TEST_TOKEN"
OTHER_TOKEN_ENV = "REPORTER_MASK_TEST_OTHER_TOKEN"
STRANGER = "somebody.else.entirely"


def leaky_asset(project: ProjectConfig) -> dg.AssetsDefinition:
    """Logs and prints the tokens every way a step can, with the project's API resource, after its sync."""

    @dg.asset(
        key=[project.prefix, "leaky"],
        partitions_def=partitions_for(project),
        backfill_policy=BACKFILL_POLICY,
        deps=[raw_key(project, "messages")],
        required_resource_keys={api_resource_key(project)},
    )
    def leaky(context: dg.AssetExecutionContext) -> None:
        token, other = os.environ[TOKEN_ENV], os.environ[OTHER_TOKEN_ENV]
        stranger = logging.getLogger(STRANGER)
        stranger.warning("stranger-warning GET /api/reporter/p/%s/sessions", token)
        stranger.error("stranger-error " + token + " and " + other)
        stranger.warning("stranger-encoded /p/%s/x", quote(token, safe=""))
        try:
            raise RuntimeError(f"stranger-exc failed at /p/{token}/messages")
        except RuntimeError:
            stranger.exception("stranger-traceback")
        context.log.info(f"context-info {token}")
        context.log.warning("context-warning %s", other)
        print(f"print-stdout {token}")
        print(f"print-stderr {token}", file=sys.stderr)
        sys.stdout.flush()
        sys.stderr.flush()

    return leaky


def files_holding(root: Path, *secrets: str) -> list[str]:
    return [str(path.relative_to(root)) for path in root.rglob("*")
            if path.is_file() and any(s.encode() in path.read_bytes() for s in secrets)]  # fmt: skip


def read_all(paths: list[Path]) -> str:
    return "\n".join(path.read_text(encoding="utf-8", errors="replace") for path in paths)


@pytest.fixture
def restored_logging(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """The run masks the process's logging and standard streams; put them back for the next test."""
    monkeypatch.setattr(sys, "stdout", sys.stdout)
    monkeypatch.setattr(sys, "stderr", sys.stderr)
    factory = logging.getLogRecordFactory()
    # A handler on the root logger writing to stderr, as a user's logging.basicConfig() installs one.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("root-handler %(name)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    try:
        yield
    finally:
        root.removeHandler(handler)
        logging.setLogRecordFactory(factory)


def test_a_dagster_run_masks_the_tokens_in_every_log_record_and_captured_output(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, restored_logging: None
) -> None:
    monkeypatch.setenv(TOKEN_ENV, TOKEN)
    monkeypatch.setenv(OTHER_TOKEN_ENV, OTHER_TOKEN)
    secrets = (TOKEN, OTHER_TOKEN, quote(TOKEN, safe=""))
    home = tmp_path / "dagster_home"
    home.mkdir()
    # The shipped instance settings, plus every Python logger's records into the event log (the root logger is
    # managed): the strictest place for a token to land.
    settings = yaml.safe_load((REPO / "dagster.yaml").read_text(encoding="utf-8"))
    settings["python_logs"] = {"managed_python_loggers": ["root"]}
    config = WorldConfig(seed=41, days=1, end_date=TEST_END_DATE, messages_per_day=40)
    with (
        Simulator(config, token=TOKEN) as sim,
        dg.instance_for_test(overrides=settings, temp_dir=str(home)) as instance,
    ):
        projects = [
            SimProject(sim.world.project_short_name, sim.base_url, TOKEN_ENV, "UTC", TEST_END_DATE),
            SimProject("another-project", sim.base_url, OTHER_TOKEN_ENV, "UTC", TEST_END_DATE),
        ]
        location = load_location(write_projects_file(tmp_path / "projects.toml", tmp_path / "w.duckdb", projects))
        project = location.projects[0]
        result = dg.materialize(
            [raw_day_asset(project, partitions_for(project)), leaky_asset(project)],
            resources=quick_resources(location),
            instance=instance,
            partition_key=TEST_END_DATE.isoformat(),
        )
        assert result.success
        assert materializations(result)[f"{project.prefix}/raw/messages"]["rows_loaded"] > 0  # a real sync ran

        # The event log, through the instance: every entry as stored (message and event), none with a token.
        entries = instance.all_logs(result.run_id)
        stored = [dg.serialize_value(entry) for entry in entries]
        leaked = [text for text in stored if any(s in text for s in secrets)]
        assert not leaked, "\n".join(leaked)
        messages = "\n".join(entry.user_message for entry in entries)
        for expected in (f"stranger-warning GET /api/reporter/p/{MASK}/sessions", f"stranger-error {MASK} and {MASK}",
                         f"stranger-encoded /p/{MASK}/x", "stranger-traceback", f"context-info {MASK}",
                         f"context-warning {MASK}"):  # fmt: skip
            assert expected in messages, f"{expected!r} was not stored in the event log"

        # The captured stdout and stderr of the run, as files under DAGSTER_HOME.
        out = read_all(sorted(home.rglob("compute_logs/**/*.out")))
        err = read_all(sorted(home.rglob("compute_logs/**/*.err")))
        assert f"print-stdout {MASK}" in out
        assert f"print-stderr {MASK}" in err
        assert f"RuntimeError: stranger-exc failed at /p/{MASK}/messages" in err  # a traceback, masked
        assert f"root-handler {STRANGER} ERROR stranger-error {MASK} and {MASK}" in err  # the user's handler
        assert f"context-info {MASK}" in err  # Dagster's console logger

        # Every byte the instance and the test wrote: storage, run records, compute logs, warehouse, projects file.
        assert list(home.rglob("*.db")), "the instance should keep its storage under DAGSTER_HOME"
        assert files_holding(tmp_path, *secrets) == []


LOAD_AND_LOG = """
    import logging, sys
    from dagster_defs.definitions import defs
    defs()  # as Dagster loads the code location, in the code server and in every run
    stranger = logging.getLogger("somebody.else.entirely")
    stranger.warning("loaded-warning /p/%s/x", sys.argv[1])
    try:
        raise ValueError("loaded-exc " + sys.argv[2])
    except ValueError:
        stranger.exception("loaded-traceback")
    print("loaded-print", sys.argv[1], sys.argv[2])
"""


def test_loading_the_code_location_masks_every_projects_token(tmp_path: Path) -> None:
    """Before any run or resource: a fresh process that loads the definitions of a two-project file masks both
    tokens (the token variables are the projects file's) in records of unknown loggers and in printed output."""
    projects = [SimProject("first-project", "http://127.0.0.1:9", TOKEN_ENV, "UTC", TEST_END_DATE),
                SimProject("second-project", "http://127.0.0.1:9", OTHER_TOKEN_ENV, "UTC", TEST_END_DATE)]  # fmt: skip
    projects_file = write_projects_file(tmp_path / "projects.toml", tmp_path / "w.duckdb", projects)
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REPORTER_", "DAGSTER_"))}
    env.update({"REPORTER_ETL_PROJECTS": str(projects_file), TOKEN_ENV: TOKEN, OTHER_TOKEN_ENV: OTHER_TOKEN,
                "DAGSTER_HOME": str(tmp_path)})  # fmt: skip
    done = subprocess.run([sys.executable, "-c", textwrap.dedent(LOAD_AND_LOG), TOKEN, OTHER_TOKEN], cwd=REPO,
                          env=env, capture_output=True, text=True, timeout=120, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    output = done.stdout + done.stderr
    assert f"loaded-warning /p/{MASK}/x" in done.stderr
    assert f"ValueError: loaded-exc {MASK}" in done.stderr
    assert f"loaded-print {MASK} {MASK}" in done.stdout
    assert TOKEN not in output and OTHER_TOKEN not in output
