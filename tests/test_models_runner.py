"""The model runner: the model list comes from the SQL parser, incremental builds equal full ones on a simulated
world, configuration, the notebook reader and the command line."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest

from reporter_etl.cli import main
from reporter_etl.etl import Settings, open_sync, sync_days
from reporter_etl.models import (
    ConfigError,
    ModelError,
    ModelsConfig,
    build_warehouse_models,
    load_config,
    load_models,
    read_mart,
    sql_dir,
)
from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.warehouse import Warehouse, open_readonly
from tests.conftest import made_once, own_copy
from tests.fixed_dates import TEST_END_DATE
from tests.model_fixture import CONFIG, load_stage_one

TOKEN = "models-test-token"


def write(root: Path, relative: str, text: str) -> None:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")


def test_inputs_and_order_come_from_the_parser_not_from_the_text(tmp_path: Path) -> None:
    write(tmp_path, "staging/a.sql", "with source as (select * from raw.things) select * from source")
    # b reads c (a model), names marts.zzz in a comment and marts.yyy in a string, and has a CTE called `a`:
    # only marts.c is an input, so c must be built before b although b sorts first.
    write(tmp_path, "marts/b.sql", """-- marts.b: reads marts.c; see also marts.zzz
with a as (select * from marts.c where note <> 'from marts.yyy'),
final as (select * from a where day between getvariable('start_day') and getvariable('end_day'))
select * from final""")
    write(tmp_path, "marts/c.sql", "with final as (select x as note, current_date as day from staging.a) "
                                   "select * from final")  # fmt: skip
    write(tmp_path, "checks/c_has_rows.sql", "select 1 as problem from marts.c having count(*) = 0")
    models = load_models(tmp_path, include_python=False)
    assert [m.name for m in models] == ["staging.a", "marts.c", "marts.b", "checks.c_has_rows"]
    by_name = {m.name: m for m in models}
    assert by_name["marts.b"].inputs == ("marts.c",)
    assert by_name["marts.b"].daily and not by_name["marts.c"].daily
    assert by_name["marts.b"].description == "reads marts.c; see also marts.zzz"
    assert by_name["staging.a"].inputs == ("raw.things",)
    assert by_name["checks.c_has_rows"].kind == "check"


def test_a_cycle_an_unbuilt_input_and_two_statements_are_refused(tmp_path: Path) -> None:
    write(tmp_path, "marts/a.sql", "select * from marts.b")
    write(tmp_path, "marts/b.sql", "select * from marts.a")
    with pytest.raises(ModelError, match="cycle"):
        load_models(tmp_path, include_python=False)
    write(tmp_path, "marts/b.sql", "select * from marts.nowhere")
    with pytest.raises(ModelError, match="marts.nowhere, which no model builds"):
        load_models(tmp_path, include_python=False)
    write(tmp_path, "marts/b.sql", "select 1; select 2")
    with pytest.raises(ModelError, match="2 statements"):
        load_models(tmp_path, include_python=False)


def test_the_shipped_models_are_listed_with_their_inputs() -> None:
    models = load_models()
    names = [m.name for m in models]
    required = ["staging.messages", "staging.sessions", "staging.clients", "staging.message_label_links",
                "staging.session_label_links", "staging.experiments", "marts.daily_conversations",
                "marts.daily_session_results", "marts.daily_bot_quality", "marts.daily_top_intents",
                "marts.daily_labels", "marts.clients", "marts.client_weekly_cohorts", "marts.repeat_contact",
                "marts.experiment_branch_moments", "marts.experiment_daily_moments", "marts.experiment_comparison",
                "marts.experiment_cumulative"]  # fmt: skip
    assert set(required) <= set(names)
    by_name = {m.name: m for m in models}
    for model in models:  # every input that is a model is built before its reader
        assert all(names.index(i) < names.index(model.name) for i in model.inputs if i in by_name)
        if model.kind != "python":
            assert model.file.parent.parent == sql_dir() and model.file.stem == model.table
    assert {m.name for m in models if m.daily} == {
        "marts.daily_conversations", "marts.daily_session_results", "marts.daily_bot_quality",
        "marts.daily_top_intents", "marts.daily_labels", "marts.session_facts"}  # fmt: skip
    assert by_name["marts.experiment_comparison"].kind == "python"
    assert by_name["marts.experiment_comparison"].inputs == ("marts.experiment_branch_moments", "staging.experiments")
    assert "marts.session_facts" in by_name["marts.daily_conversations"].inputs


def snapshot(db: Path) -> dict[str, list[tuple]]:
    """Every mart's rows, floats to 10 significant digits (parallel sums may differ in the last bit)."""
    def norm(value: object) -> object:
        return float(f"{value:.10g}") if isinstance(value, float) else value

    con = open_readonly(db)
    try:
        names = [m.name for m in load_models() if m.kind in ("mart", "python") and m.name != "marts.build_settings"]
        return {name: sorted((tuple(norm(v) for v in row) for row in con.execute(f"select * from {name}").fetchall()),
                             key=repr) for name in names}  # fmt: skip
    finally:
        con.close()


@pytest.mark.slow
def test_an_incremental_build_after_a_one_day_sync_equals_a_full_build(tmp_path: Path) -> None:
    world = WorldConfig(seed=21, days=4, end_date=TEST_END_DATE, messages_per_day=300)
    db = tmp_path / "w.duckdb"
    toml = tmp_path / "models.toml"
    toml.write_text(
        '[models]\ntimezone = "Asia/Kolkata"\nsuccess_result = "Order placed"\noutcome_label = "Resolved"\n',
        encoding="utf-8",
    )
    config = load_config(toml)
    with Simulator(world, token=TOKEN) as sim:
        settings = Settings(db_path=db, base_url=sim.base_url, token=TOKEN, timezone=config.timezone)
        first = TEST_END_DATE - timedelta(days=world.days - 1)
        sync_days(settings, first, TEST_END_DATE)
        build_warehouse_models(db, config=config)
        before = snapshot(db)
        sim.advance(days=1)
        with open_sync(settings) as session:
            result = session.sync_days(now=sim.world.now)
            report = session.build_models(result, config=config)
            first_window = min(report.window.day for report in result.windows)
            # The precondition that makes this test bite: the sync re-loaded sessions that started before its
            # first window (resumed, or given a result late), so their start days must be rebuilt too.
            earlier = session.warehouse.con.execute(
                "select count(*) from raw.sessions where _sync_run_id = ? "
                "and timezone(?, start_time)::date < ?", [result.run_id, config.timezone, first_window]).fetchone()[0]
    assert report is not None and report.start is not None and report.start < first_window
    # the per-range paths ran (session_facts by its sessions' start days, with all their messages), not whole rebuilds
    assert {run.name: run.action for run in report.runs}["marts.session_facts"] == "range"
    assert earlier > 0
    incremental = snapshot(db)
    assert incremental != before  # the new day arrived
    build_warehouse_models(db, config=config)
    full = snapshot(db)
    for name in full:
        assert incremental[name] == full[name], name
    assert all(full[name] for name in full), [name for name in full if not full[name]]


def test_configuration_from_toml(tmp_path: Path) -> None:
    assert load_config(None) == ModelsConfig()
    assert ModelsConfig().fallback_classes == ("/NoMatch", "/CatchAll")
    path = tmp_path / "reporter-etl.toml"
    path.write_text("""
[models]
timezone = "Europe/Moscow"
fallback_classes = ["/NoMatch"]
success_result = "Order placed"
outcome_label = "Resolved"

[models.experiments.operator-offer]
control = "never"
split = { never = 0.4, early = 0.3, late = 0.3 }
""", encoding="utf-8")
    config = load_config(path)
    assert (config.timezone, config.fallback_classes, config.success_result) == (
        "Europe/Moscow", ("/NoMatch",), "Order placed")  # fmt: skip
    assert config.control_branches() == {"operator-offer": "never"}
    assert config.intended_weights() == {"operator-offer": {"never": 0.4, "early": 0.3, "late": 0.3}}
    assert load_config(path, timezone="UTC").timezone == "UTC"
    path.write_text('[models]\ntimezone = "Mars/Olympus"\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown time zone"):
        load_config(path)
    path.write_text('[models]\nfallback_class = ["/NoMatch"]\n', encoding="utf-8")
    with pytest.raises(ConfigError, match="unknown key.*fallback_class"):
        load_config(path)


def load_and_build(folder: Path) -> None:
    db = folder / "w.duckdb"
    with Warehouse.open(db) as wh:
        load_stage_one(wh.con)
    build_warehouse_models(db, config=CONFIG)


@pytest.fixture(scope="module")
def built_fixture_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The hand-made warehouse, built once per run (see conftest.made_once): read it, or copy it to change it."""
    return made_once(tmp_path_factory, "models-runner-fixture", load_and_build) / "w.duckdb"


@pytest.fixture
def fixture_db(built_fixture_db: Path, tmp_path: Path) -> Path:
    """A copy of the built hand-made warehouse, the test's own to change."""
    return own_copy(built_fixture_db, tmp_path)


def test_read_mart_for_notebooks(fixture_db: Path) -> None:
    frame = read_mart(fixture_db, "daily_conversations", start="2026-03-28", end=date(2026, 3, 29))
    assert [d.date() if hasattr(d, "date") else d for d in frame["day"]] == [date(2026, 3, 28), date(2026, 3, 29)]
    assert frame["sessions"].tolist() == [2, 2]
    # A staging view read from a fresh connection uses the time zone the models were built with.
    messages = read_mart(fixture_db, "staging.messages")
    m2 = messages[messages["message_id"] == "m2"]["day"].iloc[0]
    assert str(m2)[:10] == "2026-03-29"
    with pytest.raises(KeyError, match="no table marts.nope"):
        read_mart(fixture_db, "nope")
    with pytest.raises(ValueError, match="no day column"):
        read_mart(fixture_db, "clients", start="2026-03-28")


def test_the_models_commands(fixture_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["models", "list"]) == 0
    assert "marts.daily_conversations" in capsys.readouterr().out
    config = tmp_path / "models.toml"
    config.write_text('[models]\ntimezone = "Europe/Berlin"\nsuccess_result = "Order placed"\n', encoding="utf-8")
    code = main(["models", "build", "--db", str(fixture_db), "--start", "2026-03-29", "--config", str(config),
                 "--select", "daily_conversations", "marts.daily_labels"])  # fmt: skip
    assert code == 0
    out = capsys.readouterr().out
    assert "built 0 view(s) and 2 table(s)" in out and "days 2026-03-29..2026-03-29" in out
    config.write_text('[models]\ntimezone = "Nowhere/Land"\n', encoding="utf-8")
    assert main(["models", "build", "--db", str(fixture_db), "--config", str(config)]) == 2
    assert "unknown time zone" in capsys.readouterr().err
    assert main(["models", "build", "--db", str(fixture_db), "--select", "no_such_mart"]) == 2
