"""Every mart on a small hand-made warehouse (tests/model_fixture.py), against rows worked out by hand.

The warehouse is built whole after the first load, then the late data arrives (a resumed session, a late label)
and only the days it touched are rebuilt; the expected rows are the final state, and a whole rebuild must agree.
"""

from __future__ import annotations

import pickle
import shutil
from datetime import UTC, date, datetime
from pathlib import Path

import pytest

from reporter_etl.models import build, build_warehouse_models, load_models, run_checks, touched_range
from reporter_etl.warehouse import Warehouse, open_readonly
from tests.conftest import made_once, own_copy
from tests.model_fixture import CONFIG, TZ, P, load_stage_one, load_stage_two

D26, D28, D29, D30 = date(2026, 3, 26), date(2026, 3, 28), date(2026, 3, 29), date(2026, 3, 30)
W = "chatwidget"
R = "resterisk"
# build_settings records when it was built, so it differs between any two builds by design.
MART_TABLES = [m.name for m in load_models() if m.kind in ("mart", "python") and m.name != "marts.build_settings"]


def utc(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


def snapshot(db: Path) -> dict[str, list[tuple]]:
    con = open_readonly(db)
    try:
        return {name: sorted(con.execute(f"select * from {name}").fetchall(), key=repr) for name in MART_TABLES}
    finally:
        con.close()


def load_and_build_in_two_stages(folder: Path) -> None:
    db = folder / "w.duckdb"
    with Warehouse.open(db) as wh:
        load_stage_one(wh.con)
    build_warehouse_models(db, config=CONFIG)
    con = open_readonly(db)
    before = con.execute(
        "select duration_s, client_messages from marts.session_facts where session_id = 'S4'").fetchone()
    con.close()
    with Warehouse.open(db) as wh:
        run = load_stage_two(wh.con)
        touched = touched_range(wh.con, run, [], TZ)
        report = build(wh.con, load_models(), config=CONFIG, start=touched[0], end=touched[1])
    incremental = snapshot(db)
    build_warehouse_models(db, config=CONFIG)
    found = {"before": before, "touched": touched, "report": report, "incremental": incremental, "full": snapshot(db)}
    (folder / "found.pickle").write_bytes(pickle.dumps(found))


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The warehouse built whole, then for the late data's days, then whole again, and what was seen on the way:
    made once per run (see conftest.made_once); ``db`` is this module's copy."""
    made = made_once(tmp_path_factory, "models-marts", load_and_build_in_two_stages)
    db = tmp_path_factory.mktemp("marts") / "w.duckdb"
    shutil.copy(made / "w.duckdb", db)
    return {"db": db, **pickle.loads((made / "found.pickle").read_bytes())}


def rows(built: dict, sql: str) -> list[tuple]:
    con = open_readonly(built["db"])
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def approx_rows(expected: list[tuple]) -> list:
    return [pytest.approx(row, rel=1e-12) if all(isinstance(v, float | int) for v in row if v is not None)
            else tuple(pytest.approx(v, rel=1e-12) if isinstance(v, float) else v for v in row)
            for row in expected]  # fmt: skip


def test_the_late_data_touches_the_days_of_its_sessions_not_only_of_its_messages(built: dict) -> None:
    # S4 (started the 28th) resumed on the 30th; S3's late label is on a session of the 29th.
    assert built["touched"] == (D28, D30)
    assert built["before"] == (0.0, 1)  # S4 before it resumed
    actions = {run.name: run.action for run in built["report"].runs}
    assert actions["marts.daily_conversations"] == "range" and actions["marts.clients"] == "table"


def test_the_incremental_build_equals_a_whole_rebuild_row_for_row(built: dict) -> None:
    assert built["incremental"] == built["full"]
    assert all(built["full"][name] for name in MART_TABLES)


def test_staging_local_days_around_midnight_and_the_dst_change(built: dict) -> None:
    got = rows(built, "select message_id, day, is_empty, is_client_phrase, is_bot_reply, is_operator_reply "
                      "from staging.messages order by message_id")  # fmt: skip
    assert got == [
        ("m0", D26, False, True, True, False),
        ("m1", D28, True, False, True, False),  # /start at 23:50 local
        ("m10", D30, False, True, True, False),
        ("m11", D30, False, True, True, False),
        ("m12", D30, True, False, False, False),  # hangup event
        ("m13", D30, True, False, False, False),
        ("m2", D29, False, True, True, False),  # 23:10 UTC on the 28th is 00:10 in Berlin
        ("m3", D29, False, True, True, False),
        ("m4", D29, True, False, True, False),  # 01:30 CET, before the clocks go forward
        ("m5", D29, True, False, False, False),
        ("m6", D29, False, True, True, False),  # 12:00 CEST, after
        ("m7", D29, False, True, True, False),
        ("m8", D29, False, True, False, True),  # the operator answered
        ("m9", D28, False, True, True, False),
    ]
    assert rows(built, "select session_id, day from staging.sessions order by 1") == [
        ("S0", D26), ("S1", D28), ("S2", D29), ("S3", D29), ("S4", D28), ("S5", D30), ("S6", D30)]


def test_daily_conversations(built: dict) -> None:
    got = rows(built, "select * from marts.daily_conversations order by day, bot_id")
    assert got == approx_rows([
        # day, project, bot, channel, sessions, non_empty, engaged, engaged_share, unique, new, returning, messages,
        # client, bot, operator, per_session, dur mean, median, p90, transferred, share, contained, containment,
        # calls in, out
        (D26, P, "b1", W, 1, 1, 1, 1.0, 1, 1, 0, 1, 1, 1, 0, 1.0, 0.0, 0.0, 0.0, 0, 0.0, 1, 1.0, 0, 0),
        # S1 crosses local midnight; S4 resumed two days later (169,200 s); c3 joined before the history
        (D28, P, "b1", W, 2, 2, 2, 1.0, 2, 1, 1, 2, 1, 2, 0, 2.0, 85500.0, 85500.0, 152460.0, 0, 0.0, 2, 1.0, 0, 0),
        # S2 is empty; S3 went to an operator; c1 came back
        (D29, P, "b1", W, 2, 1, 1, 0.5, 2, 1, 1, 7, 5, 5, 1, 1.5, 300.0, 300.0, 300.0, 1, 0.5, 0, 0.0, 0, 0),
        # only S4's resumed message; no session started
        (D30, P, "b1", W, 0, 0, 0, None, 0, 0, 0, 1, 1, 1, 0, None, None, None, None, 0, None, 0, None, 0, 0),
        (D30, P, "b2", R, 2, 1, 1, 0.5, 2, 2, 0, 3, 1, 1, 0, 0.5, 60.0, 60.0, 60.0, 0, 0.0, 1, 1.0, 1, 1),
    ])  # fmt: skip


def test_daily_session_results(built: dict) -> None:
    got = rows(built, "select * from marts.daily_session_results order by day, bot_id, session_result nulls first")
    assert got == [
        (D26, P, "b1", W, None, 1, 1.0),
        (D28, P, "b1", W, None, 1, 0.5),
        (D28, P, "b1", W, "Order placed", 1, 0.5),
        (D29, P, "b1", W, None, 1, 0.5),
        (D29, P, "b1", W, "Transferred to operator", 1, 0.5),
        (D30, P, "b2", R, "Answered by bot", 1, 0.5),
        (D30, P, "b2", R, "No answer", 1, 0.5),
    ]


def test_daily_bot_quality(built: dict) -> None:
    got = rows(built, "select * from marts.daily_bot_quality order by day, bot_id")
    assert got == approx_rows([
        # client phrases, fallback, rate, coverage, bot replies, p50, p90, p99 (interpolated), delivery, read
        (D26, P, "b1", W, 1, 0, 0.0, 1.0, 1, 100.0, 100.0, 100.0, None, None),
        (D28, P, "b1", W, 1, 0, 0.0, 1.0, 2, 155.0, 271.0, 297.1, None, None),  # replies 10 and 300 ms
        (D29, P, "b1", W, 4, 1, 0.25, 0.75, 5, 100.0, 180.0, 198.0, None, None),  # 10, 50, 100, 150, 200 ms
        (D30, P, "b1", W, 1, 1, 1.0, 0.0, 1, 400.0, 400.0, 400.0, None, None),  # /NoMatch
        (D30, P, "b2", R, 1, 0, 0.0, 1.0, 1, 250.0, 250.0, 250.0, None, None),
    ])  # fmt: skip


def test_daily_top_intents(built: dict) -> None:
    got = rows(built, "select * from marts.daily_top_intents order by day, bot_id, intent_rank")
    assert got == approx_rows([
        (D26, P, "b1", W, "greeting", 1, 0.9, 1),
        (D28, P, "b1", W, "order.status", 1, 0.7, 1),
        (D29, P, "b1", W, "greeting", 2, 0.85, 1),
        (D29, P, "b1", W, "operator", 1, 0.95, 2),
        (D30, P, "b2", R, "greeting", 1, 0.6, 1),
    ])  # fmt: skip


def test_daily_labels(built: dict) -> None:
    got = rows(built, "select * from marts.daily_labels order by day, label_kind desc, label_id")
    assert got == [
        # the label on S4's resumed message (sent the 30th) counts on the day S4 started
        (D28, P, "message", 1004, "Delivery", "Topics", 1, 1, 0.5),
        (D29, P, "session", 2002, "Needs review", None, 1, None, 0.5),  # the late label
        (D29, P, "session", 2004, "Spam", None, 1, None, 0.5),
        (D29, P, "message", 1002, "Wrong intent", "Quality", 1, 1, 0.5),
    ]


def test_clients(built: dict) -> None:
    got = rows(built, "select project_short_name, bot_id, client_id, channel_type, first_seen_at, first_seen_day, "
                      "last_seen_at, sessions, messages, client_messages, is_blocked from marts.clients "
                      "order by bot_id, client_id")  # fmt: skip
    assert got == [
        (P, "b1", "c1", W, utc("2026-03-28 22:50"), D28, utc("2026-03-29 10:05"), 2, 6, 5, False),
        (P, "b1", "c2", W, utc("2026-03-29 00:30"), D29, utc("2026-03-29 00:50"), 1, 2, 0, False),
        (P, "b1", "c3", W, utc("2026-03-20 10:00"), date(2026, 3, 20), utc("2026-03-30 08:00"), 1, 2, 2, True),
        (P, "b1", "c6", W, utc("2026-03-26 12:00"), D26, utc("2026-03-26 12:00"), 1, 1, 1, False),
        (P, "b2", "c4", R, utc("2026-03-30 07:00"), D30, utc("2026-03-30 07:01"), 1, 2, 1, False),
        (P, "b2", "c5", R, utc("2026-03-30 08:00"), D30, utc("2026-03-30 08:00"), 1, 1, 0, False),  # no client row
    ]


def test_client_weekly_cohorts(built: dict) -> None:
    got = rows(built, "select * from marts.client_weekly_cohorts order by bot_id, cohort_week, week_number")
    assert got == [
        # c6, c1, c2 first seen in the week of Monday 23 March (c3 joined before the history: no cohort)
        (P, "b1", date(2026, 3, 23), 0, 3, 3, 1.0),
        (P, "b1", date(2026, 3, 23), 1, 3, 0, 0.0),
        (P, "b2", date(2026, 3, 30), 0, 2, 2, 1.0),
    ]


def test_repeat_contact(built: dict) -> None:
    got = rows(built, "select * from marts.repeat_contact order by day, bot_id")
    assert got == [
        (D26, P, "b1", W, 1, 0, 0.0, 0, 0.0, True, False),
        (D28, P, "b1", W, 2, 1, 0.5, 1, 0.5, True, False),  # S1 then S3 11 h 10 min later
        (D29, P, "b1", W, 2, 0, 0.0, 0, 0.0, False, False),
        (D30, P, "b2", R, 2, 0, 0.0, 0, 0.0, False, False),
    ]


BRANCH_MOMENTS = [
    # experiment, branch, index, outcome, n, total, total of squares
    ("exp-a", "ctrl", 1, "client_messages", 2, 4.0, 8.0),  # S1 2, S4 2
    ("exp-a", "ctrl", 1, "duration_s", 2, 171000.0, 28631880000.0),  # 1800 s, 169200 s
    ("exp-a", "ctrl", 1, "labelled", 2, 0.0, 0.0),
    ("exp-a", "ctrl", 1, "success", 2, 1.0, 1.0),  # S1 "Order placed"
    ("exp-a", "ctrl", 1, "transferred", 2, 0.0, 0.0),
    ("exp-a", "new", 2, "client_messages", 2, 3.0, 9.0),  # S2 0, S3 3
    ("exp-a", "new", 2, "duration_s", 2, 1500.0, 1530000.0),
    ("exp-a", "new", 2, "labelled", 2, 1.0, 1.0),  # S3 "Needs review" (late)
    ("exp-a", "new", 2, "success", 2, 0.0, 0.0),
    ("exp-a", "new", 2, "transferred", 2, 1.0, 1.0),
    ("exp-stop", "x", 1, "client_messages", 1, 2.0, 4.0),
    ("exp-stop", "x", 1, "duration_s", 1, 169200.0, 28628640000.0),
    ("exp-stop", "x", 1, "labelled", 1, 0.0, 0.0),
    ("exp-stop", "x", 1, "success", 1, 0.0, 0.0),
    ("exp-stop", "x", 1, "transferred", 1, 0.0, 0.0),
    ("exp-stop", "y", 2, "client_messages", 1, 3.0, 9.0),
    ("exp-stop", "y", 2, "duration_s", 1, 300.0, 90000.0),
    ("exp-stop", "y", 2, "labelled", 1, 1.0, 1.0),
    ("exp-stop", "y", 2, "success", 1, 0.0, 0.0),
    ("exp-stop", "y", 2, "transferred", 1, 1.0, 1.0),
]


def test_experiment_branch_moments(built: dict) -> None:
    got = rows(built, "select experiment_key, branch_key, branch_index, outcome, n, total, total_squares "
                      "from marts.experiment_branch_moments order by 1, 2, 4")  # fmt: skip
    assert got == BRANCH_MOMENTS


def test_experiment_daily_moments(built: dict) -> None:
    # Each series runs from its branch's first session day to the experiment's last: ctrl and x started on the
    # 28th (S1, S4), new and y on the 29th; all their sessions fall in those days, so each day carries the totals.
    days = {("exp-a", "ctrl"): [D28, D29], ("exp-a", "new"): [D29], ("exp-stop", "x"): [D28, D29],
            ("exp-stop", "y"): [D29]}  # fmt: skip
    expected = sorted((d, e, b, i, o, n, total, sq) for e, b, i, o, n, total, sq in BRANCH_MOMENTS for d in days[e, b])
    got = rows(built, "select day, experiment_key, branch_key, branch_index, outcome, n, total, total_squares "
                      "from marts.experiment_daily_moments order by 1, 2, 3, 5")  # fmt: skip
    assert got == expected


@pytest.mark.filterwarnings("ignore:Precision loss occurred in moment calculation")  # scipy on a constant sample
def test_experiment_comparison(built: dict) -> None:
    from scipy import stats as scipy_stats  # here, not at collection: scipy takes half a second to import
    got = rows(built, "select * from marts.experiment_comparison order by experiment_key, branch_key, outcome")
    columns = [r[0] for r in rows(built, "select column_name from (describe marts.experiment_comparison)")]
    table = [dict(zip(columns, row, strict=True)) for row in got]
    assert len(table) == 20
    new_messages = next(r for r in table if (r["branch_key"], r["outcome"]) == ("new", "client_messages"))
    assert (new_messages["project_short_name"], new_messages["experiment_status"]) == (P, "RUNNING")
    assert (new_messages["sessions"], new_messages["is_control"]) == (2, False)
    assert new_messages["traffic_share"] == new_messages["intended_share"] == 0.5
    assert (new_messages["mean"], new_messages["control_mean"], new_messages["abs_diff"]) == (1.5, 2.0, -0.5)
    welch = scipy_stats.ttest_ind([0, 3], [2, 2], equal_var=False)
    assert new_messages["p_value"] == pytest.approx(welch.pvalue, rel=1e-9)
    assert new_messages["srm_p_value"] == pytest.approx(1.0)
    stopped = [r for r in table if r["experiment_key"] == "exp-stop"]
    assert {r["experiment_status"] for r in stopped} == {"STOPPED"}
    # No control configured for exp-stop: the first branch of the platform's catalog is the control.
    assert {r["branch_key"] for r in stopped if r["is_control"]} == {"x"}
    assert {r["verdict"] for r in stopped if r["is_control"]} == {"control"}


def test_experiment_cumulative_ends_where_the_comparison_is(built: dict) -> None:
    per_day = rows(built, "select day, count(*) from marts.experiment_cumulative group by 1 order by 1")
    assert per_day == [(D28, 10), (D29, 20)]  # the 28th has the control branches only
    last = rows(built, "select * exclude (day) from marts.experiment_cumulative where day = date '2026-03-29' "
                       "order by experiment_key, branch_key, outcome")  # fmt: skip
    assert last == rows(built, "select * from marts.experiment_comparison order by experiment_key, branch_key, outcome")


def test_checks_hold_on_the_fixture_and_name_a_planted_duplicate(built: dict, tmp_path: Path) -> None:
    db = own_copy(built["db"], tmp_path, "copy.duckdb")  # planted in a copy: the other tests read the shared one
    with Warehouse.open(db) as wh:
        results = run_checks(wh.con, load_models(), config=CONFIG)
        assert [r.name for r in results if not r.passed] == []
        assert len(results) >= 5
        wh.con.execute("insert into raw.messages select * from raw.messages where question_id = 'm2'")
        wh.con.execute("insert into marts.daily_top_intents select * from marts.daily_top_intents where day = ?", [D26])
        failed = {r.name: r.rows for r in run_checks(wh.con, load_models(), config=CONFIG) if not r.passed}
    assert list(failed["checks.raw_unique_keys"]) == [("raw.messages", "p/m2", 2)]
    assert [row[0] for row in failed["checks.mart_unique_keys"]] == ["marts.daily_top_intents"]
    assert set(failed) == {"checks.raw_unique_keys", "checks.mart_unique_keys"}


def test_a_build_over_a_duplicated_raw_key_still_deduplicates(built: dict, tmp_path: Path) -> None:
    # A build counts the raw keys and lets the staging views skip their dedup only when no key is held twice.
    db = own_copy(built["db"], tmp_path, "copy.duckdb")
    with Warehouse.open(db) as wh:
        for table, key in (("raw.messages", "question_id"), ("raw.sessions", "session_id")):
            wh.con.execute(f"insert into {table} select * from {table} where {key} = (select min({key}) from {table})")
        build(wh.con, load_models(), config=CONFIG)
        left = wh.con.execute("select getvariable('raw_messages_unique'), getvariable('raw_sessions_unique')")
        left = left.fetchone()
    assert left == (None, None)  # reset, so a later load on the same connection is checked again
    assert rounded(snapshot(db)) == rounded(built["full"])  # the whole build of the same raw rows, no duplicate


def rounded(snap: dict[str, list[tuple]]) -> dict[str, list[tuple]]:
    """Floats to 10 significant digits: sums run in parallel may differ in the last bit from build to build."""
    def norm(value: object) -> object:
        return float(f"{value:.10g}") if isinstance(value, float) else value

    return {name: sorted((tuple(norm(v) for v in row) for row in rows), key=repr) for name, rows in snap.items()}
