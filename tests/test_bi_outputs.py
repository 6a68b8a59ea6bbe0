"""The published copy for BI tools: every staging and mart table, readable while a sync holds the warehouse,
replaced atomically under an open reader, and readable by DuckDB 1.x (as BI drivers bundle it)."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import textwrap
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from reporter_etl.api import ReporterClient
from reporter_etl.cli import main
from reporter_etl.models import ModelsConfig, build, load_models
from reporter_etl.models.docs import model_docs
from reporter_etl.publish import PUBLISH_STORAGE_VERSION, default_publish_path, publish, published_objects
from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.sync import Syncer
from reporter_etl.warehouse import Warehouse, WarehouseBusyError, open_readonly
from tests.conftest import made_once, own_copy

REPO = Path(__file__).resolve().parents[1]
DUCKDB1 = REPO / ".venv" / "duckdb1"
TOKEN = "publish-test-token-0b7e"
END = date(2026, 3, 4)


def sync_build_and_publish(folder: Path) -> None:
    db = folder / "w.duckdb"
    config = WorldConfig(seed=3, days=5, end_date=END, messages_per_day=300)
    with Simulator(config, token=TOKEN) as sim, ReporterClient(sim.base_url, TOKEN) as client, Warehouse.open(db) as wh:
        Syncer(client, wh, timezone="Europe/Moscow").run(start=END - timedelta(days=3), end=END)
        build(wh.con, load_models(), config=ModelsConfig(timezone="Europe/Moscow"))
        expected = {f"{schema}.{name}": wh.con.execute(f"select count(*) from {schema}.{name}").fetchone()[0]
                    for schema, name, _, _ in published_objects(wh.con)}  # fmt: skip
        result = publish(wh.con, default_publish_path(db))
    assert result.rows == expected
    # Checked here, where the copy was written (the tests read copies of these files).
    assert result.path == db.with_name("w.published.duckdb")
    assert not list(folder.glob(f".{result.path.name}*")), "no temporary file is left behind"
    (folder / "expected.json").write_text(json.dumps(expected))


@pytest.fixture(scope="module")
def published(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path, dict[str, int]]:
    """(warehouse, published copy, rows per published table as the warehouse has them): this module's copies of
    files synced, built and published once per run (see conftest.made_once)."""
    made = made_once(tmp_path_factory, "publish", sync_build_and_publish)
    folder = tmp_path_factory.mktemp("publish")
    for name in ("w.duckdb", "w.published.duckdb"):
        shutil.copy(made / name, folder / name)
    return folder / "w.duckdb", folder / "w.published.duckdb", json.loads((made / "expected.json").read_text())


def test_every_staging_view_and_mart_is_a_table_in_the_copy(published) -> None:
    db, copy, expected = published
    assert copy == db.with_name("w.published.duckdb")
    assert any(name.startswith("staging.") for name in expected) and any(n.startswith("marts.") for n in expected)
    assert expected["marts.daily_conversations"] > 0 and expected["staging.messages"] > 0
    con = duckdb.connect(str(copy), read_only=True)
    try:
        tables = {f"{s}.{t}" for s, t in con.execute(
            "select schema_name, table_name from duckdb_tables() where schema_name in ('staging', 'marts')").fetchall()}
        assert tables == set(expected)  # views became tables: they work without raw.* and the session's variables
        assert {name: con.execute(f"select count(*) from {name}").fetchone()[0] for name in expected} == expected
        assert dict(con.execute("select table_name, row_count from meta.published").fetchall()) == expected
        assert con.execute("select count(*) from duckdb_schemas() where schema_name = 'raw'").fetchone()[0] == 0
        tags = con.execute("select tags from duckdb_databases() where database_name = current_database()").fetchone()
        assert tags[0].get("storage_version", "").startswith(PUBLISH_STORAGE_VERSION), tags
    finally:
        con.close()
    assert not list(copy.parent.glob(f".{copy.name}*")), "no temporary file is left behind"


HOLD_THE_WAREHOUSE = textwrap.dedent("""
    import sys
    from reporter_etl.warehouse import Warehouse
    with Warehouse.open(sys.argv[1]) as wh:
        wh.con.execute("create or replace table raw.writer_was_here as select 1 as x")
        print("holding", flush=True)
        sys.stdin.read()
""")


def test_the_copy_opens_read_only_while_another_process_writes_the_warehouse(published) -> None:
    db, copy, expected = published
    writer = subprocess.Popen([sys.executable, "-c", HOLD_THE_WAREHOUSE, str(db)], stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, text=True, cwd=REPO)  # fmt: skip
    try:
        assert writer.stdout is not None and writer.stdout.readline().strip() == "holding"
        with pytest.raises(WarehouseBusyError):
            open_readonly(db)  # the warehouse itself is locked by the writer
        con = duckdb.connect(str(copy), read_only=True)
        try:
            assert con.execute("select count(*) from marts.daily_conversations").fetchone()[0] == expected[
                "marts.daily_conversations"]  # fmt: skip
        finally:
            con.close()
    finally:
        writer.communicate("", timeout=60)
    assert writer.returncode == 0


def test_a_new_copy_replaces_the_old_one_under_an_open_reader(published, tmp_path: Path) -> None:
    db, copy, expected = published
    target = tmp_path / "bi.duckdb"
    with Warehouse.open(db) as wh:
        wh.con.execute("set variable timezone = 'Europe/Moscow'")
        publish(wh.con, target)
        reader = duckdb.connect(str(target), read_only=True)
        first = reader.execute("select max(published_at) from meta.published").fetchone()[0]
        wh.con.execute("create or replace table marts.extra_for_this_test as select 42 as answer")
        try:
            publish(wh.con, target)
        finally:
            wh.con.execute("drop table marts.extra_for_this_test")
    try:  # the open reader still reads the copy it opened, whole
        assert reader.execute("select count(*) from marts.daily_conversations").fetchone()[0] == expected[
            "marts.daily_conversations"]  # fmt: skip
        assert reader.execute("select count(*) from duckdb_tables() where table_name = 'extra_for_this_test'"
                              ).fetchone()[0] == 0  # fmt: skip
    finally:
        reader.close()
    fresh = duckdb.connect(str(target), read_only=True)
    try:
        assert fresh.execute("select answer from marts.extra_for_this_test").fetchone()[0] == 42
        assert fresh.execute("select max(published_at) from meta.published").fetchone()[0] > first
    finally:
        fresh.close()


READ_WITH_DUCKDB1 = textwrap.dedent("""
    import json, sys
    import duckdb
    con = duckdb.connect(sys.argv[1], read_only=True)
    names = [r[0] for r in con.execute("select table_name from meta.published").fetchall()]
    counts = {n: con.execute(f"select count(*) from {n}").fetchone()[0] for n in names}
    # every column of every table decodes (times as text: DuckDB 1.x needs pytz to return them as objects)
    for n in names:
        con.execute(f"select columns(*)::varchar from {n}").fetchall()
    print(json.dumps({"version": duckdb.__version__, "counts": counts}))
""")


def test_duckdb_1_opens_the_copy(published) -> None:
    if not (DUCKDB1 / "duckdb").is_dir():
        pytest.skip(f"no DuckDB 1.x at {DUCKDB1}: `make .venv/.installed` puts one there "
                    "(pip install --target .venv/duckdb1 'duckdb>=1.1,<2')")  # fmt: skip
    _, copy, expected = published
    env = {**os.environ, "PYTHONPATH": str(DUCKDB1)}
    done = subprocess.run([sys.executable, "-c", READ_WITH_DUCKDB1, str(copy)], env=env, capture_output=True,
                          text=True, timeout=120, check=False, cwd="/")  # fmt: skip
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    assert answer["version"].startswith("1."), answer["version"]
    assert answer["counts"] == expected


def test_models_build_publishes_beside_the_warehouse_or_where_asked_or_not_at_all(published, tmp_path, capsys):
    db = own_copy(published[0], tmp_path, "copy.duckdb")
    moscow = ["--timezone", "Europe/Moscow"]
    assert main(["models", "build", "--db", str(db), *moscow]) == 0
    assert "published" in capsys.readouterr().out
    default = db.with_name("copy.published.duckdb")
    elsewhere = tmp_path / "bi" / "for-bi.duckdb"
    # Where the copy goes does not depend on what was built: one mart is enough for the next two builds.
    one = ["--select", "daily_conversations"]
    assert main(["models", "build", "--db", str(db), *moscow, *one, "--publish", str(elsewhere)]) == 0
    assert str(elsewhere) in capsys.readouterr().out
    default.unlink()
    assert main(["models", "build", "--db", str(db), *moscow, *one, "--no-publish"]) == 0
    assert "published" not in capsys.readouterr().out
    assert elsewhere.is_file() and not default.exists()
    # The check finds the zone the models were built with when it is not told one.
    assert main(["check", "--db", str(db)]) == 0, capsys.readouterr().out
    con = duckdb.connect(str(elsewhere), read_only=True)
    try:
        assert con.execute("select count(*) from marts.daily_conversations").fetchone()[0] == published[2][
            "marts.daily_conversations"]  # fmt: skip
        # The models' header comments travel as table and column comments, for BI tools to show.
        documented = {doc.name: doc for doc in model_docs()}["marts.daily_conversations"]
        comments = dict(con.execute("select column_name, comment from duckdb_columns() where schema_name = 'marts' "
                                    "and table_name = 'daily_conversations'").fetchall())  # fmt: skip
        assert comments == dict(documented.columns)
        assert con.execute("select comment from duckdb_tables() where table_name = 'daily_conversations'"
                           ).fetchone()[0] == documented.description  # fmt: skip
    finally:
        con.close()


@pytest.mark.parametrize("file_format", ["parquet", "csv"])
def test_export_writes_every_mart_and_reads_back_with_the_same_rows(published, tmp_path, capsys, file_format):
    db, _, expected = published
    out = tmp_path / "export"
    for _ in range(2):  # a second export replaces the first, whole
        assert main(["export", "--db", str(db), "--format", file_format, "--out", str(out)]) == 0
    marts = {name.split(".", 1)[1]: rows for name, rows in expected.items() if name.startswith("marts.")}
    con = duckdb.connect()
    try:
        reader = "read_parquet" if file_format == "parquet" else "read_csv"
        for name, rows in marts.items():
            folder, single = out / name, out / f"{name}.{file_format}"
            if folder.is_dir():
                days = sorted(p.name for p in folder.iterdir())
                assert days and all(re.fullmatch(r"day=\d{4}-\d\d-\d\d", d) for d in days), days
                read = con.execute(f"select count(*), count(distinct day) from {reader}('{folder}/*/*.{file_format}',"
                                   f" hive_partitioning = true)").fetchone()  # fmt: skip
                assert read == (rows, len(days)), name
            else:
                assert con.execute(f"select count(*) from {reader}('{single}')").fetchone()[0] == rows, name
    finally:
        con.close()
    assert (out / "daily_conversations").is_dir() and not (out / "clients").is_dir()
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "no temporary files left"
