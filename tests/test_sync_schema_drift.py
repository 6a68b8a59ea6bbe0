"""The API changing shape under a sync: new fields are kept and reported; a missing required field or a
changed type stops the window with an error naming the field, and nothing of that window is loaded.

The change is made on the server side (the World's renderer), so it crosses real HTTP like a platform
release would.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from reporter_etl.api import ReporterClient
from reporter_etl.errors import UnexpectedResponseError
from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.sync import Syncer
from reporter_etl.warehouse import Warehouse, open_readonly

TOKEN = "drift-schema-token-0042"
END = date(2026, 11, 20)


def serve_with(sim: Simulator, change) -> None:  # noqa: ANN001 - a function of one rendered message
    render = sim.world.extended_messages

    def changed(rows):  # noqa: ANN001, ANN202
        return [change(dict(item)) for item in render(rows)]

    sim.world.extended_messages = changed


def run(sim: Simulator, db: Path):
    with ReporterClient(sim.base_url, TOKEN) as client, Warehouse.open(db) as wh:
        return Syncer(client, wh).run(start=date(2026, 11, 19), end=END)


def test_new_fields_are_kept_and_reported(tmp_path: Path, caplog) -> None:
    db = tmp_path / "w.duckdb"
    with Simulator(WorldConfig(seed=4, days=2, end_date=END, messages_per_day=120), token=TOKEN) as sim:
        serve_with(sim, lambda m: {**m, "sentiment": {"score": 0.5, "label": "neutral"}})
        with caplog.at_level("WARNING"):
            result = run(sim, db)
        truth = len(sim.world.truth_messages(sim.world.start, sim.world.end))
    assert result.new_fields == {"messages": ["sentiment"]}
    assert "sentiment" in caplog.text
    con = open_readonly(db)
    try:
        kept = con.execute(
            "select count(*) from raw.messages where extra->>'$.sentiment.label' = 'neutral'").fetchone()[0]
    finally:
        con.close()
    assert kept == truth > 0


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda m: {k: v for k, v in m.items() if k != "questionId"}, "questionId"),
        (lambda m: {**m, "processingTime": "fast"}, "processingTime"),
    ],
)
def test_a_missing_or_retyped_field_stops_the_window_unloaded(tmp_path: Path, change, field: str) -> None:
    db = tmp_path / "w.duckdb"
    with Simulator(WorldConfig(seed=4, days=2, end_date=END, messages_per_day=120), token=TOKEN) as sim:
        serve_with(sim, change)
        with pytest.raises(UnexpectedResponseError, match=field):
            run(sim, db)
    con = open_readonly(db)
    try:
        assert con.execute("select count(*) from raw.messages").fetchone()[0] == 0
        assert con.execute("select count(*) from meta.sync_state").fetchone()[0] == 0
        status, error = con.execute("select status, error_message from meta.sync_runs").fetchone()
    finally:
        con.close()
    assert status == "failed" and field in error
