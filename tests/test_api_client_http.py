"""Every ReporterClient method against the simulator over real HTTP; writes are checked by a later read."""

import ast
import csv
import io
from datetime import timedelta
from pathlib import Path

import pytest
import urllib3.connection

from reporter_etl.api import (
    Checkbox,
    NotFoundError,
    Radio,
    ReporterClient,
    RetryPolicy,
    Timeouts,
    message_time,
    report_settings,
)
from reporter_etl.api.operations import OPERATIONS
from reporter_etl.entities import CLIENTS, MESSAGES, SESSIONS
from reporter_etl.simulator import Simulator, WorldConfig
from tests.fixed_dates import TEST_END_DATE

TOKEN = "Clnt7777:aaaabbbbccccddddeeeeffff0000111122223333"


@pytest.fixture(scope="module")
def sim():
    with Simulator(WorldConfig(end_date=TEST_END_DATE, seed=11, days=3, messages_per_day=60), token=TOKEN) as simulator:
        yield simulator


@pytest.fixture()
def client(sim):
    with ReporterClient(sim.base_url, TOKEN, retry=RetryPolicy(max_attempts=3, base_delay=0.001, max_delay=0.01),
                        timeouts=Timeouts(connect=5, read=30)) as c:  # fmt: skip
        yield c


def whole_range(sim):
    return message_time(sim.world.start, sim.world.now)


def all_items(client, name, **kwargs):
    return [item for page in client.paginate(name, **kwargs) for item in page.items]


def a_message(client, sim):
    return client.filter_messages([whole_range(sim)], size=1)["messages"][0]


def messages_of_session(client, session_id):
    return {m["questionId"]: m for m in client.session_messages(session_id, size=1000)["messages"]}


def session_by_id(client, sim, session_id):
    sessions = all_items(client, "filter_sessions", filters=[whole_range(sim)], with_labels=True)
    return next(s for s in sessions if s["sessionId"] == session_id)


# ---- reads ------------------------------------------------------------------------------------------------


def test_paged_entities_read_whole_and_convert_to_the_contract(client, sim):
    window = [message_time(sim.world.start, sim.world.now)]
    pages = list(client.iter_messages(window, size=50))
    assert len(pages) > 1 and all(p.page_size == 50 for p in pages)
    items = [m for p in pages for m in p.items]
    truth = sim.world.truth_messages(sim.world.start, sim.world.now)
    assert pages[0].total_count == len(truth) == len(items)
    assert sorted(items, key=lambda m: m["questionId"]) == sorted(truth, key=lambda m: m["questionId"])
    batch = pages[0].to_record_batch()
    assert batch.schema == MESSAGES.schema and batch.num_rows == 50

    sessions = list(client.iter_sessions(window))
    assert sum(len(p.items) for p in sessions) == len(sim.world.truth_sessions(sim.world.start, sim.world.now))
    assert sessions[0].to_record_batch().schema == SESSIONS.schema
    assert all("labels" in s for p in sessions for s in p.items)

    clients = list(client.iter_clients([message_time(sim.world.start, sim.world.now)]))
    assert clients[0].to_record_batch().schema == CLIENTS.schema and clients[0].total_count > 0
    assert client.requests_by_operation["filter_messages"] == len(pages)


def test_single_page_reads(client, sim):
    window = [whole_range(sim)]
    assert client.filter_messages(window, page=1, size=5)["paging"] == {
        "pageNum": 1, "pageSize": 5, "totalCount": len(sim.world.truth_messages(sim.world.start, sim.world.now))}
    sessions = client.filter_sessions(window, size=3, with_labels=True)["sessions"]
    assert len(sessions) == 3
    clients = client.filter_clients(window, size=2)["clients"]
    assert len(clients) == 2
    bot = clients[0]["botId"]
    for_bot = client.list_bot_clients(bot, sim.world.now, size=1000)
    assert {c["botId"] for c in for_bot["clients"]} == {bot} and for_bot["paging"]["totalCount"] >= 1

    session = sessions[0]
    in_session = client.session_messages(session["sessionId"], bot_id=session["botId"], size=1000)
    assert in_session["session"]["sessionId"] == session["sessionId"] and in_session["messages"]
    question = in_session["messages"][-1]["questionId"]
    page_size = 1
    position = [m["questionId"] for m in in_session["messages"]].index(question)
    assert client.message_page_in_session(session["sessionId"], question, size=page_size) == position // page_size
    of_client = client.client_messages(session["botId"], session["client"]["id"], size=1000)
    assert of_client["client"]["id"] == session["client"]["id"]
    positions = [m["questionId"] for m in of_client["messages"]]
    assert client.message_page_in_client(session["botId"], session["client"]["id"], question, size=2) == (
        positions.index(question) // 2)
    routes = client.filter_state_routes(window, size=5)
    assert "routes" in routes and "paging" in routes


def test_statistics(client, sim):
    window = [whole_range(sim)]
    total = len(sim.world.truth_messages(sim.world.start, sim.world.now))
    messages = client.message_stats(window, interval_type="DAY", step=1, timezone_offset=0)
    assert messages["totalCount"] == total == sum(p["value"] for p in messages["stats"])
    sessions = client.session_stats(window, interval_type="HOUR", timezone_offset=180)
    assert sessions["totalCount"] == len(sim.world.truth_sessions(sim.world.start, sim.world.now))
    assert "stats" in client.session_label_stats(window) and "stats" in client.message_label_stats(window)
    first, last = sim.world.start.date(), (sim.world.end - timedelta(days=1)).date()
    switched = client.switched_sessions_stats(first, last, "SWITCH", timezone_offset=0)
    assert switched["totalCount"] == sum(p["value"] for p in switched["stats"])
    telephony = client.telephony_stats(first, last, bot_ids=[b.bot_id for b in sim.world.bots])
    assert {"averageCallDurationInSeconds", "incomingCount", "outgoingCount", "billingCount"} <= set(telephony)
    assert client.unique_clients_stats()[0]["totalCount"] == sim.world.unique_clients()
    assert client.count_sessions_per_project()[0]["amount"] == sim.world.sessions_count()


def test_filter_discovery_and_saved_filter_sets(client, sim):
    available = client.available_filters("SESSIONS", language="en")
    keys = {f["key"] for f in available}
    assert "MESSAGE_TIME" in keys
    options = client.filter_options("CHANNEL_TYPE", "SESSIONS", [whole_range(sim)], page=0, size=50)
    assert {o["value"] for o in options} >= {b.channel_type for b in sim.world.bots if b.channel_type == "telegram"}
    interval = client.interval_filter_options("MESSAGE_COUNT", "SESSIONS", [whole_range(sim)])
    assert interval["minValue"] <= interval["maxValue"]
    filters = [whole_range(sim), Radio("WITHOUT_EMPTY_SESSIONS", "YES")]
    filter_set_id = client.save_filter_set(filters)
    assert isinstance(filter_set_id, str) and filter_set_id
    saved = client.get_filter_set(filter_set_id)
    assert saved["filterSetId"] == filter_set_id and len(saved["filters"]) == 2
    with pytest.raises(NotFoundError, match="get_filter_set: not found"):
        client.get_filter_set("no-such-set")


# ---- writes, each seen by a later read ---------------------------------------------------------------------


def test_message_label_catalog_writes(client):
    created = client.create_message_label("test-label-a", 50, "test-group-a")
    label_id, group_id = created["id"], created["group"]["id"]
    assert client.get_message_label(label_id)["name"] == "test-label-a"
    assert label_id in {x["id"] for x in client.list_message_labels()}
    client.update_message_label(label_id, "test-label-a2", group_id, 51)
    assert client.get_message_label(label_id)["name"] == "test-label-a2"
    client.change_message_label_priorities({label_id: 57})
    assert client.get_message_label(label_id)["priority"] == 57
    client.create_message_labels([
        {"name": "test-label-b", "priority": 60, "group": {"name": "test-group-a"}},
        {"name": "test-label-c", "priority": 61, "group": {"name": "test-group-a"}},
    ])
    by_name = {x["name"]: x for x in client.list_message_labels()}
    assert {"test-label-b", "test-label-c"} <= set(by_name)
    client.update_message_labels([{"id": by_name["test-label-b"]["id"], "name": "test-label-b2"}])
    assert client.get_message_label(by_name["test-label-b"]["id"])["name"] == "test-label-b2"

    assert group_id in {g["id"] for g in client.list_message_label_groups()}
    client.update_message_label_group(group_id, "test-group-a2", 9)
    assert client.get_message_label_group(group_id)["name"] == "test-group-a2"
    client.update_message_label_groups([{"id": group_id, "name": "test-group-a3"}])
    assert client.get_message_label_group(group_id)["name"] == "test-group-a3"
    client.change_message_label_group_priorities({group_id: 3})
    assert client.get_message_label_group(group_id)["priority"] == 3

    client.delete_message_label(label_id)
    with pytest.raises(NotFoundError, match="get_message_label"):
        client.get_message_label(label_id)
    lonely = client.create_message_label("test-label-d", 70, "test-group-lonely")
    client.delete_message_label(lonely["id"])
    client.delete_message_label_group(lonely["group"]["id"])
    with pytest.raises(NotFoundError):
        client.get_message_label_group(lonely["group"]["id"])


def test_labelling_messages_and_comments(client, sim):
    label = client.create_message_label("test-msg-label", 80, "test-group-m")
    other = client.create_message_label("test-msg-label-2", 81, "test-group-m")
    message = a_message(client, sim)
    qid, sid = message["questionId"], message["sessionId"]

    client.add_message_label(qid, label["id"])
    assert label["id"] in {x["id"] for x in messages_of_session(client, sid)[qid].get("labels", [])}
    client.remove_message_label(qid, label["id"])
    assert label["id"] not in {x["id"] for x in messages_of_session(client, sid)[qid].get("labels", [])}
    client.set_message_labels(qid, [label["id"], other["id"]])
    assert {x["id"] for x in messages_of_session(client, sid)[qid]["labels"]} == {label["id"], other["id"]}

    seconds = list(messages_of_session(client, sid))[:2]
    client.bulk_label_messages([other["id"]], question_ids=seconds)
    after = messages_of_session(client, sid)
    assert all(other["id"] in {x["id"] for x in after[q]["labels"]} for q in seconds)
    labelled = client.filter_messages([whole_range(sim), Checkbox("LOG_LABELS", [str(other["id"])])], size=1000)
    assert set(seconds) | {qid} <= {m["questionId"] for m in labelled["messages"]}

    client.add_comment(qid, "checked by QA")
    assert messages_of_session(client, sid)[qid]["comment"] == "checked by QA"
    client.delete_comment(qid)
    assert "comment" not in messages_of_session(client, sid)[qid]


def test_session_label_catalog_and_labelling(client, sim):
    created = client.create_session_label("test-session-label", 90)
    second = client.create_session_label("test-session-label-2", 91)
    assert client.get_session_label(created["id"])["name"] == "test-session-label"
    assert created["id"] in {x["id"] for x in client.list_session_labels()}
    client.update_session_label(created["id"], "test-session-label-x", 92)
    assert client.get_session_label(created["id"])["name"] == "test-session-label-x"
    client.update_session_labels([{"id": second["id"], "name": "test-session-label-y"}])
    assert client.get_session_label(second["id"])["name"] == "test-session-label-y"
    client.change_session_label_priorities({created["id"]: 99})
    assert client.get_session_label(created["id"])["priority"] == 99

    sessions = client.filter_sessions([whole_range(sim)], size=3)["sessions"]
    sid = sessions[0]["sessionId"]
    client.add_session_label(sid, created["id"])
    assert created["id"] in {x["id"] for x in session_by_id(client, sim, sid)["labels"]}
    client.remove_session_label(sid, created["id"])
    assert created["id"] not in {x["id"] for x in session_by_id(client, sim, sid)["labels"]}
    client.set_session_labels(sid, [created["id"], second["id"]])
    assert {x["id"] for x in session_by_id(client, sim, sid)["labels"]} == {created["id"], second["id"]}
    others = [s["sessionId"] for s in sessions[1:]]
    client.bulk_label_sessions([second["id"]], session_ids=others)
    assert all(second["id"] in {x["id"] for x in session_by_id(client, sim, s)["labels"]} for s in others)

    client.delete_session_label(second["id"])
    with pytest.raises(NotFoundError, match="get_session_label"):
        client.get_session_label(second["id"])


def test_block_and_unblock_a_client(client, sim):
    target = client.filter_clients([whole_range(sim)], size=1)["clients"][0]

    def current():
        found = all_items(client, "list_bot_clients", bot_id=target["botId"], date_to=sim.world.now)
        return next(c for c in found if c["id"] == target["id"])

    client.block_client(target["botId"], target["id"], blocked_by=42, reason="spam")
    blocked = current()
    assert blocked["isBlocked"] and blocked["blockReason"] == "spam" and blocked["blockedBy"] == 42
    client.unblock_client(target["botId"], target["id"])
    assert not current()["isBlocked"]


def test_experiment_lifecycle(client, sim):
    created = client.create_experiment("test-greeting", ["short", {"key": "long", "description": "long hello"}],
                                       description="which greeting", status="RUNNING")  # fmt: skip
    assert created["key"] == "test-greeting"
    assert "test-greeting" in {e["key"] for e in client.list_experiments()}
    session = client.filter_sessions([whole_range(sim)], size=1)["sessions"][0]
    branch = client.join_experiment(session["sessionId"], "test-greeting", session["botId"])
    assert branch in ("short", "long")
    assert client.join_experiment(session["sessionId"], "test-greeting", session["botId"]) == branch
    counts = {c["key"]: c["count"] for c in client.count_experiment_sessions()}
    assert counts["test-greeting"] == 1
    client.stop_experiment("test-greeting")
    assert {e["key"]: e for e in client.list_experiments()}["test-greeting"]["status"] == "STOPPED"
    client.delete_experiment("test-greeting")
    assert "test-greeting" not in {e["key"] for e in client.list_experiments()}


def test_report_tasks(client, sim, tmp_path: Path):
    window = [whole_range(sim)]
    task = client.create_session_report(window, report_settings("CSV"), language="en", timezone_offset=0)
    assert task["status"] in ("CREATED", "STARTED", "COMPLETED") and task["reportType"] == "SESSIONS"
    done = client.wait_for_report(task["taskId"], poll_interval=0.01, timeout=30)
    saved = client.download_report(done, tmp_path)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8-sig"))))
    expected = {s["sessionId"] for s in sim.world.truth_sessions(sim.world.start, sim.world.now)}
    assert {r["Session ID"] for r in rows} == expected
    assert task["taskId"] in {t["taskId"] for t in client.list_report_tasks()["tasks"]}
    assert client.get_report_task(task["taskId"])["status"] == "COMPLETED"
    client.delete_report_task(task["taskId"])
    with pytest.raises(NotFoundError, match="get_report_task"):
        client.get_report_task(task["taskId"])

    first, last = sim.world.start, sim.world.now
    created = [
        client.create_message_report(window, report_settings("XLSX")),
        client.create_client_report(window),
        client.create_telephony_report(first, last, bot_ids=[b.bot_id for b in sim.world.bots]),
        client.create_daily_report(first.date(), report_settings("CSV", delimiter=";")),
        client.create_client_list_report(window, report_settings("CSV")),
    ]
    assert [t["reportType"] for t in created] == ["MESSAGES", "CLIENTS", "TELEPHONY", "DAILY", "CLIENTS_LIST"]
    for t in created[:3]:
        client.wait_for_report(t["taskId"], poll_interval=0.01, timeout=30)
    client.delete_completed_report_tasks()
    left = {t["taskId"] for t in client.list_report_tasks()["tasks"]}
    assert not left & {t["taskId"] for t in created[:3]}
    client.delete_all_report_tasks()
    assert client.list_report_tasks()["tasks"] == []


def test_every_operation_is_exercised_in_this_file():
    tree = ast.parse(Path(__file__).read_text())
    called = {node.func.attr for node in ast.walk(tree)
              if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)}  # fmt: skip
    called |= {node.args[1].value for node in ast.walk(tree)  # paginate(client, "name", ...) via all_items
               if isinstance(node, ast.Call) and getattr(node.func, "id", None) == "all_items"}  # fmt: skip
    missing = {op.name for op in OPERATIONS} - called
    assert not missing, f"client methods never called over HTTP: {sorted(missing)}"


def test_pages_read_whole_keep_one_connection(sim, monkeypatch):
    """A body read in one call (``http.whole_body``) hands its connection back open: a paged read in one thread
    connects once, and an error response does not cost a connection either."""
    connects: list[int] = []
    connect = urllib3.connection.HTTPConnection.connect

    def counted(self):
        connects.append(1)
        return connect(self)

    monkeypatch.setattr(urllib3.connection.HTTPConnection, "connect", counted)
    with ReporterClient(sim.base_url, TOKEN, page_size=10, page_concurrency=1) as client:
        pages = list(client.paginate("filter_messages", filters=[whole_range(sim)]))
        with pytest.raises(NotFoundError):
            client.session_messages("no-such-session")
        client.list_experiments()
    assert len(pages) > 5 and client.request_count == len(pages) + 2
    assert len(connects) == 1
