"""`reporter-etl query` is read-only: no writes to the warehouse, no files read or written outside it, no
extensions, and a clear one-line error for each refusal."""

from __future__ import annotations

from pathlib import Path

import pytest

from reporter_etl.cli import main
from reporter_etl.warehouse import Warehouse
from tests.conftest import own_copy
from tests.warehouse_rows import day, load_window, message, messages


@pytest.fixture(scope="module")
def two_messages(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("query") / "w.duckdb"
    with Warehouse.open(path) as wh:
        run = wh.begin_run("p1")
        load_window(wh, "p1", *day(0), run, {"messages": messages(message("q1"), message("q2"))})
    return path


@pytest.fixture
def db(two_messages: Path, tmp_path: Path) -> Path:
    """A copy of a warehouse holding two messages, the test's own (a query that did write would change it)."""
    return own_copy(two_messages, tmp_path)


def one_error_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    assert lines[0].startswith("error: ") and "Traceback" not in err
    return lines[0]


def test_a_plain_query_still_works(db: Path, capsys) -> None:
    assert main(["query", "--db", str(db), "select count(*) as n from raw.messages"]) == 0
    assert "2" in capsys.readouterr().out


@pytest.mark.parametrize(
    "sql_template",
    [
        "copy (select * from raw.messages) to '{out}'",
        "copy raw.messages to '{out}' (format parquet)",
        "export database '{out_dir}'",
    ],
)
def test_query_cannot_write_files(db: Path, tmp_path: Path, capsys, sql_template: str) -> None:
    out, out_dir = tmp_path / "x.csv", tmp_path / "exported"
    before = db.read_bytes()
    assert main(["query", "--db", str(db), sql_template.format(out=out, out_dir=out_dir)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "read-only" in line and "files outside the warehouse" in line
    assert not out.exists() and not out_dir.exists()
    assert db.read_bytes() == before


@pytest.mark.parametrize(
    "sql",
    [
        "select * from read_csv('/etc/passwd')",
        "select * from read_text('/etc/hostname')",
        "select * from glob('/etc/*')",
        "attach '{other}' as other",
        "install httpfs",
        "load httpfs",
    ],
)
def test_query_cannot_reach_outside_the_warehouse(db: Path, tmp_path: Path, capsys, sql: str) -> None:
    other = tmp_path / "other.duckdb"
    assert main(["query", "--db", str(db), sql.format(other=other)]) == 1
    line = one_error_line(capsys.readouterr().err)
    assert "read-only" in line
    assert not other.exists()


def test_query_cannot_change_the_warehouse_or_its_settings(db: Path, capsys) -> None:
    before = db.read_bytes()
    for sql in ("delete from raw.messages", "create table raw.x as select 1", "set enable_external_access = true"):
        assert main(["query", "--db", str(db), sql]) == 1, sql
        one_error_line(capsys.readouterr().err)
    assert db.read_bytes() == before


def test_query_limit_must_not_be_negative(db: Path, capsys) -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["query", "--db", str(db), "--limit", "-1", "select 1"])
    assert exit_info.value.code == 2
    err = capsys.readouterr().err
    assert "--limit" in err and "Traceback" not in err
    assert main(["query", "--db", str(db), "--limit", "0", "select 1 as one"]) == 0
