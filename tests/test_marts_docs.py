"""docs/marts.md is generated from the models' header comments: it must be current, and every documented column
list must be the table's real columns (a column added without a comment, or a comment left for a dropped column,
fails here)."""

from __future__ import annotations

from pathlib import Path

import pytest

from reporter_etl.models import ModelsConfig, build, load_models
from reporter_etl.models.docs import main, model_docs, parse_header, render
from reporter_etl.warehouse import Warehouse

REPO = Path(__file__).resolve().parents[1]


def test_docs_marts_md_is_current() -> None:
    page = REPO / "docs" / "marts.md"
    assert page.read_text(encoding="utf-8") == render(model_docs()), (
        "docs/marts.md is stale: run .venv/bin/python -m reporter_etl.models.docs")
    assert main(["--check", "--out", str(page)]) == 0


def test_the_check_mode_reports_a_stale_page(tmp_path: Path) -> None:
    stale = tmp_path / "marts.md"
    stale.write_text(render(model_docs()).replace("sessions started", "sessions begun", 1), encoding="utf-8")
    assert main(["--check", "--out", str(stale)]) == 1
    assert main(["--out", str(stale)]) == 0 and main(["--check", "--out", str(stale)]) == 0


def test_a_header_reads_as_description_and_columns() -> None:
    sql = ("-- marts.example: per day, the things.\n-- More about them.\n-- columns:\n--   day: local day\n"
           "--   things: how many, counted\n--       across two lines\nwith source as (select 1) select * from source")
    assert parse_header(sql) == ("per day, the things. More about them.",
                                 [("day", "local day"), ("things", "how many, counted across two lines")])


@pytest.fixture(scope="module")
def built_columns(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[str]]:
    """Every model's real columns, from a build over an empty warehouse."""
    db = tmp_path_factory.mktemp("docs") / "empty.duckdb"
    with Warehouse.open(db) as wh:
        build(wh.con, load_models(), config=ModelsConfig(success_result="ok", outcome_label="label"))
        rows = wh.con.execute(
            "select schema_name || '.' || table_name, list(column_name order by column_index) from duckdb_columns() "
            "where schema_name in ('staging', 'marts') group by 1").fetchall()  # fmt: skip
    return dict(rows)


def test_every_model_documents_exactly_its_columns(built_columns: dict[str, list[str]]) -> None:
    docs = [doc for doc in model_docs() if doc.kind != "check"]
    assert {doc.name for doc in docs} == set(built_columns)
    for doc in docs:
        assert doc.description, doc.name
        assert all(text for _, text in doc.columns), doc.name
        assert sorted(name for name, _ in doc.columns) == sorted(built_columns[doc.name]), doc.name
