"""The operational commands (labels, clients, experiments, reports, stats) through `reporter_etl.cli.main`,
with REPORTER_TOKEN / REPORTER_BASE_URL pointing at the simulator."""

import csv
import io
import json
from datetime import timedelta

import pytest

from reporter_etl.cli import main
from reporter_etl.simulator import Simulator, WorldConfig
from tests.fixed_dates import TEST_END_DATE

TOKEN = "CliTest1:9f8e7d6c5b4a39281706f5e4d3c2b1a098765432"


@pytest.fixture(scope="module")
def sim():
    config = WorldConfig(end_date=TEST_END_DATE, seed=23, days=3, messages_per_day=60)
    with Simulator(config, token=TOKEN, report_polls=1) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def env(sim, monkeypatch):
    monkeypatch.setenv("REPORTER_TOKEN", TOKEN)
    monkeypatch.setenv("REPORTER_BASE_URL", sim.base_url)


def run_json(capsys, *argv):
    capsys.readouterr()
    assert main([*argv, "--json"]) == 0
    return json.loads(capsys.readouterr().out)


def day_range(sim):
    """The World's covered days, first and last (both included)."""
    return sim.world.start.date().isoformat(), (sim.world.end - timedelta(days=1)).date().isoformat()


def test_labels_list_add_remove_and_bulk(sim, capsys):
    catalog = run_json(capsys, "labels", "list")
    assert {"messageLabels", "messageLabelGroups", "sessionLabels"} <= set(catalog)
    assert main(["labels", "list"]) == 0 and "session labels" in capsys.readouterr().out

    session_label = catalog["sessionLabels"][0]
    sessions = sim.world.truth_sessions(sim.world.start, sim.world.now)
    target = next(s for s in sessions if session_label["id"] not in {x["id"] for x in s.get("labels", [])})
    assert main(["labels", "add", "--session", target["sessionId"], "--label", session_label["name"]]) == 0
    assert f"added label {session_label['id']}" in capsys.readouterr().out
    labelled = {s["sessionId"]: s for s in sim.world.truth_sessions(sim.world.start, sim.world.now)}
    assert session_label["id"] in {x["id"] for x in labelled[target["sessionId"]]["labels"]}
    assert main(["labels", "remove", "--session", target["sessionId"], "--label", str(session_label["id"])]) == 0
    labelled = {s["sessionId"]: s for s in sim.world.truth_sessions(sim.world.start, sim.world.now)}
    assert session_label["id"] not in {x["id"] for x in labelled[target["sessionId"]].get("labels", [])}

    message_label = catalog["messageLabels"][0]
    messages = sim.world.truth_messages(sim.world.start, sim.world.now)[:3]
    ids = [m["questionId"] for m in messages]
    assert main(["labels", "bulk", "--messages", "--label", str(message_label["id"]), "--ids", *ids]) == 0
    after = {m["questionId"]: m for m in sim.world.truth_messages(sim.world.start, sim.world.now)}
    assert all(message_label["id"] in {x["id"] for x in after[q].get("labels", [])} for q in ids)


def test_labels_usage_errors(sim, capsys):
    assert main(["labels", "add", "--session", "s", "--label", "no such label name"]) == 2
    assert "no session label is named 'no such label name'" in capsys.readouterr().err
    assert main(["labels", "bulk", "--sessions", "--label", "1"]) == 2
    assert "give either --ids or a period" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["labels", "add", "--label", "1"])  # neither --session nor --message
    assert info.value.code == 2
    assert main(["labels"]) == 2  # a group without a command prints its help


def test_clients_block_and_unblock(sim, capsys):
    target = sim.world.truth_clients(sim.world.start, sim.world.now)[0]
    args = ["--bot", target["botId"], "--client", target["id"]]
    assert main(["clients", "block", *args, "--blocked-by", "7", "--reason", "abuse"]) == 0
    current = {c["id"]: c for c in sim.world.truth_clients(sim.world.start, sim.world.now)}[target["id"]]
    assert current["isBlocked"] and current["blockReason"] == "abuse"
    assert main(["clients", "unblock", *args]) == 0
    current = {c["id"]: c for c in sim.world.truth_clients(sim.world.start, sim.world.now)}[target["id"]]
    assert not current["isBlocked"]
    assert main(["clients", "unblock", "--bot", "no-such-bot", "--client", "x"]) == 1
    assert "unblock_client:" in capsys.readouterr().err


def test_experiments_commands(sim, capsys):
    assert main(["experiments", "create", "cli-exp", "--branch", "a", "--branch", "b=the other one",
                 "--description", "from the CLI"]) == 0  # fmt: skip
    assert "created experiment cli-exp" in capsys.readouterr().out
    listed = {e["key"]: e for e in run_json(capsys, "experiments", "list")}
    assert [b["key"] for b in listed["cli-exp"]["branches"]] == ["a", "b"]
    session = sim.world.truth_sessions(sim.world.start, sim.world.now)[0]
    with sim.world.lock:
        sim.world.join_experiment(session["sessionId"], "cli-exp", session["botId"])
    counts = {c["key"]: c["count"] for c in run_json(capsys, "experiments", "count")}
    assert counts["cli-exp"] == 1
    assert main(["experiments", "stop", "cli-exp"]) == 0
    assert {e["key"]: e for e in run_json(capsys, "experiments", "list")}["cli-exp"]["status"] == "STOPPED"
    assert main(["experiments", "delete", "cli-exp"]) == 0
    assert "cli-exp" not in {e["key"] for e in run_json(capsys, "experiments", "list")}
    assert main(["experiments", "create", "one-branch", "--branch", "a"]) == 2


def test_reports_create_csv_and_xlsx_hold_the_selected_rows(sim, capsys, tmp_path):
    import openpyxl  # here, not at collection, where every worker would pay for it
    first, last = day_range(sim)
    out = tmp_path / "messages.csv"
    assert main(["reports", "create", "messages", "--from", first, "--to", last, "--format", "csv",
                 "--out", str(out), "--poll-interval", "0.01"]) == 0  # fmt: skip
    assert "saved messages report" in capsys.readouterr().out
    rows = list(csv.DictReader(io.StringIO(out.read_text(encoding="utf-8-sig"))))
    truth = sim.world.truth_messages(sim.world.start, sim.world.end)
    assert sorted(r["Message ID"] for r in rows) == sorted(m["questionId"] for m in truth)
    assert run_json(capsys, "reports", "list") == []  # the task was deleted

    out = tmp_path / "sessions.xlsx"
    assert main(["reports", "create", "sessions", "--from", first, "--to", first, "--out", str(out),
                 "--poll-interval", "0.01", "--keep-task"]) == 0  # fmt: skip
    sheet = openpyxl.load_workbook(out, read_only=True).active
    header, *data = list(sheet.iter_rows(values_only=True))
    column = header.index("Session ID")
    day_end = sim.world.start + timedelta(days=1)
    expected = {s["sessionId"] for s in sim.world.truth_sessions(sim.world.start, day_end)}
    assert {row[column] for row in data} == expected and expected
    tasks = run_json(capsys, "reports", "list")
    assert len(tasks) == 1 and tasks[0]["status"] == "COMPLETED"
    assert main(["reports", "delete", tasks[0]["taskId"]]) == 0
    assert run_json(capsys, "reports", "list") == []


def test_reports_usage_and_api_errors(sim, capsys, tmp_path):
    assert main(["reports", "create", "clients", "--from", "2026-01-05", "--to", "2026-01-01",
                 "--out", str(tmp_path / "x.csv")]) == 2  # fmt: skip
    assert "--to must be after --from" in capsys.readouterr().err
    with pytest.raises(SystemExit) as info:
        main(["reports", "create", "calls", "--from", "2026-01-01", "--to", "2026-01-02", "--out", "x"])
    assert info.value.code == 2


def test_stats_summary_matches_the_world(sim, capsys):
    first, last = day_range(sim)
    summary = run_json(capsys, "stats", "summary", "--from", first, "--to", last)
    assert summary["messages"]["totalCount"] == len(sim.world.truth_messages(sim.world.start, sim.world.end))
    assert summary["sessions"]["totalCount"] == len(sim.world.truth_sessions(sim.world.start, sim.world.end))
    assert summary["uniqueClients"][0]["totalCount"] == sim.world.unique_clients()
    assert main(["stats", "summary", "--from", first, "--to", last, "--interval", "DAY"]) == 0
    assert "totals" in capsys.readouterr().out


def test_missing_or_wrong_token(sim, capsys, monkeypatch):
    monkeypatch.delenv("REPORTER_TOKEN")
    assert main(["experiments", "list"]) == 2
    assert "REPORTER_TOKEN is not set" in capsys.readouterr().err
    monkeypatch.setenv("REPORTER_TOKEN", "Wrong000:1111")
    assert main(["experiments", "list"]) == 1
    err = capsys.readouterr().err
    assert "list_experiments: the token was refused" in err and "Wrong000" not in err
    monkeypatch.setenv("REPORTER_TOKEN", TOKEN)
    monkeypatch.delenv("REPORTER_BASE_URL")
    assert main(["experiments", "list", "--base-url", sim.base_url]) == 0


def test_every_command_has_help(capsys):
    for argv in (["labels", "list"], ["labels", "add"], ["labels", "remove"], ["labels", "bulk"],
                 ["clients", "block"], ["clients", "unblock"], ["experiments", "list"], ["experiments", "create"],
                 ["experiments", "stop"], ["experiments", "delete"], ["experiments", "count"],
                 ["reports", "create"], ["reports", "list"], ["reports", "delete"], ["stats", "summary"]):  # fmt: skip
        with pytest.raises(SystemExit) as info:
            main([*argv, "--help"])
        assert info.value.code == 0
        assert "usage: reporter-etl " + " ".join(argv) in capsys.readouterr().out
