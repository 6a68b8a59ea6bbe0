"""The simulator's World: determinism, realistic shape, filter semantics against brute force, statistics that
reconcile with the lists, moving time, delayed ingestion and writes."""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
from collections import Counter
from datetime import UTC, date, datetime, timedelta

import pytest

from reporter_etl.simulator.world import FilterError, NotFound, World, WorldConfig

END = date(2024, 3, 10)
END_DT = datetime(2024, 3, 11, tzinfo=UTC)
UUID = r"[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}"


def ts(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def iso(dt: datetime) -> str:
    return dt.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.") + f"{dt.microsecond // 1000:03d}Z"


def dtr(key: str, start: datetime | None, end: datetime | None) -> dict:
    f: dict = {"key": key, "type": "DATE_TIME_RANGE"}
    if start is not None:
        f["from"] = iso(start)
    if end is not None:
        f["to"] = iso(end)
    return f


@pytest.fixture(scope="module")
def world() -> World:
    return World(WorldConfig(seed=7, days=6, end_date=END, messages_per_day=300, timezone="Europe/Berlin",
                             delayed_share=0.05))  # fmt: skip


@pytest.fixture(scope="module")
def big() -> World:
    return World(WorldConfig(seed=11, days=14, end_date=END, messages_per_day=3000))


@pytest.fixture(scope="module")
def rendered(world: World) -> dict:
    """Every visible row rendered once: the brute-force side of the filter tests."""
    messages = world.extended_messages(world.query_messages(None))
    sessions = world.session_infos(world.query_sessions(None), with_labels=True)
    clients = world.client_infos(world.query_clients(None))
    return {
        "messages": messages,
        "sessions": {s["sessionId"]: s for s in sessions},
        "clients": {(c["botId"], c["id"]): c for c in clients},
        "session_order": [s["sessionId"] for s in sessions],
    }


# --- determinism ----------------------------------------------------------------------------------------


def _dump(w: World, start: datetime, end: datetime) -> str:
    return json.dumps(
        [w.truth_messages(start, end), w.truth_sessions(start, end), w.truth_clients(start, end)],
        sort_keys=False,
    )


def test_same_seed_same_bytes_other_seed_other_world() -> None:
    cfg = WorldConfig(seed=3, days=3, end_date=END, messages_per_day=120)
    window = (END_DT - timedelta(days=2), END_DT)
    first, second = World(cfg), World(cfg)
    assert _dump(first, *window) == _dump(second, *window)
    assert first.project_short_name == second.project_short_name
    other = World(WorldConfig(seed=4, days=3, end_date=END, messages_per_day=120))
    assert _dump(other, *window) != _dump(first, *window)
    assert other.project_short_name != first.project_short_name


_DIGEST = """
import hashlib, json
from datetime import date, datetime, timedelta, timezone
from reporter_etl.simulator.world import World, WorldConfig
w = World(WorldConfig(seed=3, days=2, end_date=date(2024, 3, 10), messages_per_day=100))
end = datetime(2024, 3, 11, tzinfo=timezone.utc)
parts = [w.truth_messages(end - timedelta(days=2), end), w.truth_sessions(end - timedelta(days=2), end),
         w.truth_clients(end - timedelta(days=2), end), w.available_filters("SESSIONS"),
         w.filter_options("NLP_CLASS", "SESSIONS", None), w.experiments()]
print(hashlib.sha256(json.dumps(parts).encode()).hexdigest())
"""


def test_renderings_do_not_depend_on_hash_randomisation() -> None:
    children = [  # side by side: the two interpreters need not wait for each other
        subprocess.Popen([sys.executable, "-c", _DIGEST], env={**os.environ, "PYTHONHASHSEED": hash_seed},
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        for hash_seed in ("1", "2")
    ]  # fmt: skip
    digests = set()
    for child in children:
        out, err = child.communicate(timeout=120)
        assert child.returncode == 0, err
        digests.add(out.strip())
    assert len(digests) == 1 and "" not in digests


def test_a_day_does_not_depend_on_how_many_days_exist() -> None:
    short = World(WorldConfig(seed=5, days=2, end_date=END, messages_per_day=150))
    long = World(WorldConfig(seed=5, days=5, end_date=END, messages_per_day=150))
    f = [dtr("SESSION_START_TIME", END_DT - timedelta(days=2), END_DT - timedelta(milliseconds=1))]
    a = short.session_infos(short.query_sessions(f), True)
    b = long.session_infos(long.query_sessions(f), True)
    assert a and json.dumps(a) == json.dumps(b)


def test_tiny_and_empty_worlds_answer_everything() -> None:
    for per_day in (1, 5):
        w = World(WorldConfig(seed=1, days=3, end_date=END, messages_per_day=per_day))
        n = len(w.query_messages(None))
        assert sum(v for _, v in w.series("messages", None, "DAY", 1, 0)) == n
        assert w.telephony_stats(END - timedelta(days=2), END, None, 0)["averageCallDurationInSeconds"] >= 0
        assert w.interval_filter_options("MESSAGE_COUNT", "SESSIONS", None)["minValue"] >= 0
        w.filter_options("NLP_CLASS", "SESSIONS", None)
        w.state_routes(None)
        w.advance(timedelta(days=1))
        assert len(w.query_messages(None)) >= n


# --- shape ----------------------------------------------------------------------------------------------


def test_ids_look_like_the_platform(world: World, rendered: dict) -> None:
    psn = world.project_short_name
    assert re.fullmatch(r"[a-z]+-\d{7}-[A-Z]{3}", psn)
    assert {b.channel_type for b in world.bots} == {"telegram", "viber", "vk", "chatwidget", "resterisk"}
    for b in world.bots:
        assert re.fullmatch(rf"{world.account_id}-{re.escape(psn)}-\d{{6}}", b.bot_id)
    for m in rendered["messages"][:300]:
        assert re.fullmatch(UUID, m["questionId"])
        client = m["client"]["id"]
        assert m["sessionId"] == f"{m['channelType']}-{m['botId']}-{client}.{m['sessionId'].rsplit('.', 1)[1]}"
        assert re.fullmatch(UUID, m["sessionId"].rsplit(".", 1)[1])
        if m["channelType"] == "chatwidget":
            assert re.fullmatch(UUID, client)
        else:
            assert client.isdigit()
    assert len({m["questionId"] for m in rendered["messages"]}) == len(rendered["messages"])


def test_shape_is_realistic(big: World) -> None:
    sessions = big.session_infos(big.query_sessions(None), with_labels=True)
    n = len(sessions)
    assert n > 3000
    empty = len(big.query_sessions(None)) - len(big.query_sessions([_radio("WITHOUT_EMPTY_SESSIONS", "YES")]))
    assert 0.10 <= empty / n <= 0.20
    live = sum(s["isLivechat"] for s in sessions)
    assert 0.05 <= live / n <= 0.15
    client_phrases = big.extended_messages(big.query_messages([_radio("WITHOUT_EMPTY_MESSAGES", "YES")]))
    per_session = Counter(m["sessionId"] for m in client_phrases)
    counts = sorted(per_session.values())
    assert 3 <= statistics.median(counts) <= 5
    assert 20 <= counts[int(0.95 * len(counts))] <= 40
    classified = [m for m in client_phrases if "nlpInfo" in m and "nlpClass" in m["nlpInfo"]]
    catch_all = sum(m["nlpInfo"]["nlpClass"] == "/CatchAll" for m in classified)
    assert 0.08 <= catch_all / len(classified) <= 0.15
    assert any(ts(s["startTime"]).date() != (ts(s["startTime"]) + timedelta(milliseconds=s["duration"])).date()
               for s in sessions)  # some cross midnight  # fmt: skip
    tel = [s for s in sessions if s["channelType"] == "resterisk"]
    assert tel and all("isCallIncoming" in s and "audioFileUrl" in s for s in tel)
    assert any("callTaskId" in s for s in tel if not s["isCallIncoming"])
    assert not any("callTaskId" in s or "isCallIncoming" in s for s in sessions if s["channelType"] != "resterisk")
    clients = big.client_infos(big.query_clients(None))
    blocked = sum(c["isBlocked"] for c in clients) / len(clients)
    assert 0.01 <= blocked <= 0.03
    assert all({"blockReason", "blockedBy", "blockDate"} <= c.keys() for c in clients if c["isBlocked"])


def test_weekends_are_quieter_and_days_peak_by_day(big: World) -> None:
    daily = dict(big.series("sessions", None, "DAY", 1, 0))
    by_weekday: dict[int, list[float]] = {}
    for t, v in daily.items():
        by_weekday.setdefault(datetime.fromtimestamp(t / 1000, UTC).weekday(), []).append(v)
    weekday = statistics.mean(v for d, vs in by_weekday.items() if d < 5 for v in vs)
    weekend = statistics.mean(v for d, vs in by_weekday.items() if d >= 5 for v in vs)
    assert 0.5 <= weekend / weekday <= 0.8
    hourly = Counter()
    for t, v in big.series("sessions", None, "HOUR", 1, 0):
        hourly[datetime.fromtimestamp(t / 1000, UTC).hour] += v
    assert hourly[11] > 3 * hourly[4] and hourly[19] > 3 * hourly[4]
    tokyo = World(WorldConfig(seed=11, days=7, end_date=END, messages_per_day=3000, timezone="Asia/Tokyo"))
    local = Counter()
    for t, v in tokyo.series("sessions", None, "HOUR", 1, 540):
        local[(datetime.fromtimestamp(t / 1000, UTC) + timedelta(hours=9)).hour] += v
    assert local[11] > 3 * local[4] and local[19] > 3 * local[4]


def test_message_status_follows_the_channel(world: World, rendered: dict) -> None:
    seen: dict[str, set[str]] = {}
    for sid in rendered["session_order"][:400]:
        row = world.session_index(sid)
        channel = rendered["sessions"][sid]["channelType"]
        for m in world.messages(world.messages_of_session(row)):
            seen.setdefault(channel, set()).add(m["status"])
            assert m["sessionId"] == sid
    for channel, statuses in seen.items():
        assert ("SENT" in statuses) <= (channel in ("telegram", "vk")), channel
        assert ("READ" in statuses) <= (channel in ("viber", "vk")), channel


def test_session_fields_agree_with_visible_messages(world: World, rendered: dict) -> None:
    for sid in rendered["session_order"][:200]:
        s = rendered["sessions"][sid]
        msgs = world.messages(world.messages_of_session(world.session_index(sid)))
        assert s["questionCount"] == len(msgs)
        end = max(ts(m["timestamp"]) for m in msgs)
        assert s["duration"] == (end - ts(s["startTime"])) // timedelta(milliseconds=1)
        phrases = [m["question"] for m in msgs if "question" in m and m["question"] != "/start" and "event" not in m]
        assert s.get("firstQuestion") == (phrases[0] if phrases else None)
        assert s.get("lastQuestion") == (phrases[-1] if phrases else None)
        assert s["isLivechat"] == any(m["isLivechat"] for m in msgs)
        if s["isLivechat"]:
            assert any("operatorInfo" in m or m.get("nlpInfo", {}).get("nlpClass") == "/Operator" for m in msgs)
    for c in list(rendered["clients"].values())[:100]:
        sessions = [s for s in rendered["sessions"].values()
                    if s["botId"] == c["botId"] and s["client"]["id"] == c["id"]]  # fmt: skip
        assert c["joinDate"] == min(s["startTime"] for s in sessions)
        last = max(ts(s["startTime"]) + timedelta(milliseconds=s["duration"]) for s in sessions)
        assert ts(c["lastVisitDate"]) == last
        assert c["lastSessionId"] == max(sessions, key=lambda s: s["startTime"])["sessionId"]


def test_experiments_record_branches_by_ratio(big: World) -> None:
    exps = {e["key"]: e for e in big.experiments()}
    assert len(exps) >= 2 and all(2 <= len(e["branches"]) <= 3 for e in exps.values())
    sessions = big.session_infos(big.query_sessions(None), False)
    counts = {row["key"]: row["count"] for row in big.experiment_session_counts()}
    for key in exps:
        branches = Counter(s["sessionData"][f"experiment.{key}"] for s in sessions
                           if f"experiment.{key}" in s["sessionData"])  # fmt: skip
        assert sum(branches.values()) == counts[key] > 100
        assert set(branches) == {b["key"] for b in exps[key]["branches"]}
    greeting = Counter(s["sessionData"].get("experiment.greeting-v2") for s in sessions)
    assert 0.4 <= greeting["control"] / (greeting["control"] + greeting["short"]) <= 0.6


def test_a_stopped_experiment_assigns_no_new_sessions() -> None:
    w = World(WorldConfig(seed=2, days=2, end_date=END, messages_per_day=300, delayed_share=0.0))
    w.stop_experiment("greeting-v2")
    assert next(e for e in w.experiments() if e["key"] == "greeting-v2")["status"] == "STOPPED"
    before = w.experiment_session_counts()
    w.advance(timedelta(days=2))
    later = w.session_infos(w.query_sessions([dtr("SESSION_START_TIME", END_DT, None)]), False)
    assert later and not any("experiment.greeting-v2" in s["sessionData"] for s in later)
    assert w.experiment_session_counts() == before


# --- filters against brute force -----------------------------------------------------------------------


def _radio(key: str, option: str) -> dict:
    return {"key": key, "type": "RADIO", "option": option}


def _check(key: str, options: list[str], comparison: str = "CONTAINS", ftype: str = "CHECKBOX") -> dict:
    return {"key": key, "type": ftype, "options": options, "comparisonType": comparison}


def _text(key: str, values: list[str], comparison: str, case: bool = False) -> dict:
    return {"key": key, "type": "TEXT", "values": values, "comparisonType": comparison, "isCaseSensitive": case}


def _session_end(s: dict) -> datetime:
    return ts(s["startTime"]) + timedelta(milliseconds=s["duration"])


def _empty(m: dict) -> bool:
    return m.get("question") == "/start" or "event" in m


def _cases(world: World, rendered: dict) -> list[tuple[str, list[dict], object, object]]:
    """(name, filters, message predicate(m, s, c) or None, session predicate(s, c) or None)."""
    msgs = rendered["messages"]
    mid = ts(msgs[len(msgs) // 2]["timestamp"])
    day = mid.replace(hour=0, minute=0, second=0, microsecond=0)
    some_session = rendered["session_order"][5]
    some_client = next(iter(rendered["clients"].values()))
    telegram = next(b.bot_id for b in world.bots if b.channel_type == "telegram")
    word = next(m["comment"] for m in msgs if "comment" in m).split()[-1].lower()
    t0, t1 = day, day + timedelta(hours=10)

    def in_window(x: datetime, a: datetime | None, b: datetime | None) -> bool:
        return (a is None or x >= a) and (b is None or x <= b)

    def label_ids(d: dict, field: str = "labels") -> set[str]:
        return {str(x["id"]) for x in d.get(field, [])}

    return [
        ("message time", [dtr("MESSAGE_TIME", t0, t1)], lambda m, s, c: in_window(ts(m["timestamp"]), t0, t1), None),
        ("open-ended message time", [dtr("MESSAGE_TIME", t1, None)],
         lambda m, s, c: ts(m["timestamp"]) >= t1, None),
        ("session start", [dtr("SESSION_START_TIME", t0, t1)], None,
         lambda s, c: in_window(ts(s["startTime"]), t0, t1)),
        ("session end", [dtr("SESSION_END_TIME", t0, t1)], None, lambda s, c: in_window(_session_end(s), t0, t1)),
        ("client activity", [dtr("CLIENT_LAST_ACTIVITY_TIME", t0, t1)], None,
         lambda s, c: in_window(ts(c["lastVisitDate"]), t0, t1)),
        ("client join", [dtr("CLIENT_JOIN_TIME", None, t1)], None, lambda s, c: ts(c["joinDate"]) <= t1),
        ("channel", [_check("CHANNEL_TYPE", ["viber", "vk"])], None, lambda s, c: s["channelType"] in ("viber", "vk")),
        ("not channel", [_check("CHANNEL_TYPE", ["telegram"], "NOT_CONTAINS")], None,
         lambda s, c: s["channelType"] != "telegram"),
        ("bot", [_check("BOT_ID", [telegram])], None, lambda s, c: s["botId"] == telegram),
        ("no empty sessions", [_radio("WITHOUT_EMPTY_SESSIONS", "YES")], None,
         lambda s, c: "firstQuestion" in s),
        ("no empty messages", [_radio("WITHOUT_EMPTY_MESSAGES", "YES")], lambda m, s, c: not _empty(m), None),
        ("empty messages kept", [_radio("WITHOUT_EMPTY_MESSAGES", "NO")], lambda m, s, c: True, None),
        ("message count", [{"key": "MESSAGE_COUNT", "type": "NUMERIC_RANGE", "from": "5", "to": 12}], None,
         lambda s, c: 5 <= s["questionCount"] <= 12),
        ("session labels", [_check("SESSION_LABELS", ["2001", "Needs review"])], None,
         lambda s, c: bool(label_ids(s) & {"2001", "2002"})),
        ("no session labels", [_check("SESSION_LABELS", [], "NOT_EXISTS")], None, lambda s, c: not s["labels"]),
        ("log labels", [_check("LOG_LABELS", ["1002", "1003"])], lambda m, s, c: bool(label_ids(m) & {"1002", "1003"}),
         None),
        ("any log label", [_check("LOG_LABELS", [], "EXISTS")], lambda m, s, c: bool(m["labels"]), None),
        ("log labels not", [_check("LOG_LABELS", ["1002"], "NOT_CONTAINS")], lambda m, s, c: "1002" not in label_ids(m),
         None),
        ("transfer", [_radio("TRANSFER_TO_OPERATOR", "WITH_TRANSFER")], None, lambda s, c: s["isLivechat"]),
        ("no transfer", [_radio("TRANSFER_TO_OPERATOR", "WITHOUT_TRANSFER")], None, lambda s, c: not s["isLivechat"]),
        ("result", [_check("SESSION_RESULT", ["Order status given", "No answer"])], None,
         lambda s, c: s.get("sessionResult") in ("Order status given", "No answer")),
        ("any result", [_check("SESSION_RESULT", [], "EXISTS")], None, lambda s, c: "sessionResult" in s),
        ("message text", [_text("MESSAGE_TEXT", ["ORDER"], "CONTAINS")],
         lambda m, s, c: "order" in m.get("question", "").lower(), None),
        ("message text case", [_text("MESSAGE_TEXT", ["Hi", "ORDER"], "CONTAINS", True)],
         lambda m, s, c: "Hi" in m.get("question", "") or "ORDER" in m.get("question", ""), None),
        ("message text equals", [_text("MESSAGE_TEXT", ["hello", "/start"], "EQUALS")],
         lambda m, s, c: m.get("question") in ("hello", "/start"), None),
        ("message text not", [_text("MESSAGE_TEXT", ["order"], "NOT_CONTAINS")],
         lambda m, s, c: "order" not in m.get("question", "").lower(), None),
        ("answer text", [_text("ANSWER_TEXT", ["delivery"], "CONTAINS")],
         lambda m, s, c: "delivery" in m.get("textAnswer", "").lower(), None),
        ("comment", [_text("COMMENT_TEXT", [word.upper()], "CONTAINS")],
         lambda m, s, c: word in m.get("comment", "").lower(), None),
        ("no comment", [_text("COMMENT_TEXT", [word], "NOT_CONTAINS")],
         lambda m, s, c: word not in m.get("comment", "").lower(), None),
        ("client id", [_check("CLIENT_ID_OR_NAME", [some_client["id"]])], None,
         lambda s, c: c["id"] == some_client["id"]),
        ("client name", [_check("CLIENT_ID_OR_NAME", ["anna"])], None,
         lambda s, c: "anna" in (c.get("firstName", "").lower(), c.get("lastName", "").lower())),
        ("session id", [_check("SESSION_ID", [some_session])], None, lambda s, c: s["sessionId"] == some_session),
        ("nlp class tree", [_check("NLP_CLASS", ["/Order"], ftype="TREE")],
         lambda m, s, c: m.get("nlpInfo", {}).get("nlpClass", "").startswith("/Order/"), None),
        ("catch-all", [_check("NLP_CLASS", ["/CatchAll"], ftype="TREE")],
         lambda m, s, c: m.get("nlpInfo", {}).get("nlpClass") == "/CatchAll", None),
        ("nlp state", [_check("NLP_STATE", ["/Order/Status/AskNumber"], ftype="TREE")],
         lambda m, s, c: m.get("nlpInfo", {}).get("nlpState") == "/Order/Status/AskNumber", None),
        ("intent", [_check("INTENT", ["greeting"])], lambda m, s, c: m.get("nlpInfo", {}).get("rule") == "greeting",
         None),
        ("session data", [{"key": "SESSION_DATA", "type": "COMPOSITE_FILTER", "options": [
            {"key": "experiment.greeting-v2", "value": "SHORT", "comparisonOption": "EQUALS"},
            {"key": "lang", "value": "e", "comparisonOption": "STARTS_WITH", "caseSensitive": True}]}], None,
         lambda s, c: s["sessionData"].get("experiment.greeting-v2") == "short"
         and s["sessionData"]["lang"].startswith("e")),
        ("session data key", [{"key": "SESSION_DATA", "type": "COMPOSITE_FILTER", "options": [
            {"key": "source", "comparisonOption": "NOT_IMPORTANT"}]}], None, lambda s, c: "source" in s["sessionData"]),
        ("initiator bot", [_radio("INITIATOR", "BOT")], None, lambda s, c: s.get("isCallIncoming") is False),
        ("initiator client", [_radio("INITIATOR", "CLIENT")], None, lambda s, c: s.get("isCallIncoming") is not False),
        ("call task", [_check("CALL_TASK_ID", ["51201", "51305"])], None,
         lambda s, c: s.get("callTaskId") in (51201, 51305)),
        ("script errors", [_radio("EXCEPTION_EXISTENCE", "YES")], lambda m, s, c: "exception" in m, None),
        ("no script errors", [_radio("EXCEPTION_EXISTENCE", "NO")], lambda m, s, c: "exception" not in m, None),
        ("events", [_check("MESSAGE_TYPE", ["EVENT"])], lambda m, s, c: "event" in m, None),
        ("custom fields are no filter", [{"key": "CUSTOM_FIELDS_IN_RESPONSE", "type": "CUSTOM_FIELDS_IN_RESPONSE",
                                          "responseDataJsonPaths": ["request.data.phone"]}], None, lambda s, c: True),
        ("AND of levels", [dtr("MESSAGE_TIME", t0, t1), _radio("WITHOUT_EMPTY_MESSAGES", "YES"),
                           _check("CHANNEL_TYPE", ["telegram", "chatwidget"]), _radio("WITHOUT_EMPTY_SESSIONS", "YES"),
                           dtr("CLIENT_JOIN_TIME", None, t1)],
         lambda m, s, c: in_window(ts(m["timestamp"]), t0, t1) and not _empty(m),
         lambda s, c: s["channelType"] in ("telegram", "chatwidget") and "firstQuestion" in s
         and ts(c["joinDate"]) <= t1),
    ]  # fmt: skip


def _brute(rendered: dict, mpred: object, spred: object) -> tuple[list[str], list[str], set[tuple[str, str]]]:
    sessions = rendered["sessions"]
    clients = rendered["clients"]

    def session_ok(s: dict) -> bool:
        c = clients[(s["botId"], s["client"]["id"])]
        return spred is None or spred(s, c)

    msgs = []
    for m in rendered["messages"]:
        s = sessions[m["sessionId"]]
        c = clients[(s["botId"], s["client"]["id"])]
        if session_ok(s) and (mpred is None or mpred(m, s, c)):
            msgs.append(m)
    if mpred is None:
        sess = [sid for sid in rendered["session_order"] if session_ok(sessions[sid])]
    else:
        hit = {m["sessionId"] for m in msgs}
        sess = [sid for sid in rendered["session_order"] if sid in hit]
    cl = {(sessions[sid]["botId"], sessions[sid]["client"]["id"]) for sid in sess}
    return [m["questionId"] for m in msgs], sess, cl


def test_filters_match_brute_force(world: World, rendered: dict) -> None:
    for name, filters, mpred, spred in _cases(world, rendered):
        want_m, want_s, want_c = _brute(rendered, mpred, spred)
        got_m = [m["questionId"] for m in world.extended_messages(world.query_messages(filters))]
        got_s = [s["sessionId"] for s in world.session_infos(world.query_sessions(filters), False)]
        got_c = {(c["botId"], c["id"]) for c in world.client_infos(world.query_clients(filters))}
        assert got_m == want_m, name
        assert got_s == want_s, name
        assert got_c == want_c, name
        assert want_s, name  # every case selects something


def test_api_order(world: World, rendered: dict) -> None:
    msgs = rendered["messages"]
    keys = [(m["timestamp"], m["questionId"]) for m in msgs]
    assert keys == sorted(keys, reverse=True)
    starts = [rendered["sessions"][sid]["startTime"] for sid in rendered["session_order"]]
    assert starts == sorted(starts, reverse=True)
    clients = world.client_infos(world.query_clients(None))
    visits = [c["lastVisitDate"] for c in clients]
    assert visits == sorted(visits, reverse=True)


def test_truth_windows(world: World, rendered: dict) -> None:
    start, end = END_DT - timedelta(days=2), END_DT - timedelta(days=1)
    truth = world.truth_messages(start, end)
    assert truth == [m for m in rendered["messages"] if start <= ts(m["timestamp"]) < end]
    sessions = world.truth_sessions(start, end)
    active = {m["sessionId"] for m in truth}
    assert [s["sessionId"] for s in sessions] == [sid for sid in rendered["session_order"] if sid in active]
    assert all("labels" in s for s in sessions)
    clients = world.truth_clients(start, end)
    assert {(c["botId"], c["id"]) for c in clients} == {
        k for k, c in rendered["clients"].items() if start <= ts(c["lastVisitDate"]) < end
    }


@pytest.mark.parametrize(
    ("filters", "code", "arg"),
    [
        ([{"key": "NO_SUCH_KEY", "type": "TEXT"}], "reporter.filter.unknown_key", "key"),
        ([{"key": "MESSAGE_TIME", "type": "CHECKBOX", "options": []}], "reporter.filter.type_mismatch", "expectedType"),
        ([{"key": "MESSAGE_TIME", "type": "WHATEVER"}], "reporter.filter.unknown_type", "type"),
        ([{"type": "RADIO"}], "reporter.filter.missing_field", "field"),
        ([{"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": "yesterday"}], "reporter.filter.bad_date",
         "field"),
        ([{"key": "MESSAGE_COUNT", "type": "NUMERIC_RANGE", "from": "twenty"}], "reporter.filter.bad_number", "field"),
        ([{"key": "WITHOUT_EMPTY_SESSIONS", "type": "RADIO", "option": "MAYBE"}], "reporter.filter.bad_option",
         "allowed"),
        ([{"key": "WITHOUT_EMPTY_SESSIONS", "type": "RADIO"}], "reporter.filter.missing_field", "field"),
        ([{"key": "CHANNEL_TYPE", "type": "CHECKBOX"}], "reporter.filter.missing_field", "field"),
        ([{"key": "MESSAGE_TEXT", "type": "TEXT", "values": ["a"]}], "reporter.filter.missing_field", "field"),
        ([{"key": "MESSAGE_TEXT", "type": "TEXT", "values": "a", "comparisonType": "CONTAINS"}],
         "reporter.filter.malformed", "field"),
        ([{"key": "SESSION_DATA", "type": "COMPOSITE_FILTER", "options": [{"key": "lang",
                                                                            "comparisonOption": "EQUALS"}]}],
         "reporter.filter.missing_field", "field"),
        ({"key": "MESSAGE_TIME"}, "reporter.filter.malformed", None),
        (["MESSAGE_TIME"], "reporter.filter.malformed", None),
    ],
)  # fmt: skip
def test_bad_filters_raise_filter_error(world: World, filters: object, code: str, arg: str | None) -> None:
    for query in (world.query_messages, world.query_sessions, world.query_clients):
        with pytest.raises(FilterError) as info:
            query(filters)  # type: ignore[arg-type]
        assert info.value.error == code
        assert info.value.message
        if arg is not None:
            assert arg in info.value.args


def test_date_forms_and_numeric_strings(world: World) -> None:
    base = world.query_messages([{"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": "2024-03-09T00:00:00.000Z",
                                  "to": "2024-03-09T11:59:59.999Z"}])  # fmt: skip
    other = world.query_messages([{"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE",
                                   "from": "2024-03-09T01:00:00+01:00", "to": "2024-03-09T11:59:59.999Z"}])  # fmt: skip
    assert len(base) > 0 and list(base) == list(other)
    a = world.query_sessions([{"key": "MESSAGE_COUNT", "type": "NUMERIC_RANGE", "from": 3, "to": "7.0"}])
    b = world.query_sessions([{"key": "MESSAGE_COUNT", "type": "NUMERIC_RANGE", "from": "3", "to": 7}])
    assert list(a) == list(b)


# --- statistics -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("interval", ["HOUR", "DAY", "WEEK", "MONTH", "QUARTER", "YEAR"])
def test_series_sum_to_query_counts(world: World, interval: str) -> None:
    filters_list = [None, [_radio("WITHOUT_EMPTY_SESSIONS", "YES"), _check("CHANNEL_TYPE", ["telegram"])],
                    [dtr("MESSAGE_TIME", END_DT - timedelta(days=3), END_DT)]]  # fmt: skip
    for filters in filters_list:
        for step, tz in ((1, 0), (2, 180), (3, -330)):
            for entity, query in (("messages", world.query_messages), ("sessions", world.query_sessions)):
                series = world.series(entity, filters, interval, step, tz)
                assert sum(v for _, v in series) == len(query(filters))
                stamps = [t for t, _ in series]
                assert stamps == sorted(set(stamps))


def test_day_buckets_start_at_local_midnight(world: World) -> None:
    for t, _ in world.series("messages", None, "DAY", 1, 180):
        local = datetime.fromtimestamp(t / 1000, UTC) + timedelta(minutes=180)
        assert (local.hour, local.minute) == (0, 0)
    for t, _ in world.series("messages", None, "WEEK", 1, 0):
        assert datetime.fromtimestamp(t / 1000, UTC).weekday() == 0


def test_label_stats_reconcile(world: World, rendered: dict) -> None:
    log = world.label_series("log", None, "DAY", 1, 0)
    per_label = Counter(str(lab["id"]) for m in rendered["messages"] for lab in m["labels"])
    assert {str(x["label"]["id"]): x["totalCount"] for x in log} == dict(per_label)
    assert all(sum(p["value"] for p in x["tsToValues"]) == x["totalCount"] for x in log)
    sess = world.label_series("session", [_radio("WITHOUT_EMPTY_SESSIONS", "YES")], "DAY", 1, 0)
    want = Counter(str(lab["id"]) for s in rendered["sessions"].values() if "firstQuestion" in s for lab in s["labels"])
    assert {str(x["label"]["id"]): x["totalCount"] for x in sess} == dict(want)


def test_switched_sessions_and_telephony(world: World, rendered: dict) -> None:
    d0, d1 = END - timedelta(days=3), END
    switched = world.switched_sessions(d0, d1, None, "SWITCH", None, 0)
    want = [s for s in rendered["sessions"].values() if s["isLivechat"] and d0 <= ts(s["startTime"]).date() <= d1]
    assert sum(v for _, v in switched) == len(want) > 0
    by_text = world.switched_sessions(d0, d1, None, "TEXT", "connecting you to an operator", 0)
    assert 0 < sum(v for _, v in by_text) <= len(want)
    tel = world.telephony_stats(d0, d1, None, 0)
    calls = [s for s in rendered["sessions"].values() if s["channelType"] == "resterisk"
             and d0 <= ts(s["startTime"]).date() <= d1]  # fmt: skip
    assert sum(p["value"] for p in tel["incomingCount"]) == sum(s["isCallIncoming"] for s in calls)
    assert sum(p["value"] for p in tel["outgoingCount"]) == sum(not s["isCallIncoming"] for s in calls)
    assert tel["averageCallDurationInSeconds"] == pytest.approx(
        sum(s["duration"] for s in calls) / len(calls) / 1000, abs=0.001
    )
    assert world.unique_clients() == len(rendered["clients"])
    assert world.sessions_count() == len(rendered["sessions"])


# --- time moves -----------------------------------------------------------------------------------------


def test_advance_extends_old_sessions_and_reveals_later_labels() -> None:
    w = World(WorldConfig(seed=21, days=8, end_date=END, messages_per_day=600, delayed_share=0.0))
    before = {s["sessionId"]: s for s in w.session_infos(w.query_sessions(None), True)}
    window = (END_DT - timedelta(days=2), END_DT)
    labels_before = {m["questionId"]: m["labels"] for m in w.truth_messages(*window)}
    version = w.version
    w.advance(timedelta(days=5))
    assert w.version > version and w.now == END_DT + timedelta(days=5)
    resumed = w.session_infos(w.query_sessions([dtr("SESSION_START_TIME", None, END_DT - timedelta(days=1)),
                                                dtr("MESSAGE_TIME", END_DT, None)]), True)  # fmt: skip
    assert resumed, "some sessions continue days after they began"
    for s in resumed:
        assert s["questionCount"] > before[s["sessionId"]]["questionCount"]
    labels_after = {m["questionId"]: m["labels"] for m in w.truth_messages(*window)}
    assert labels_before.keys() <= labels_after.keys()
    gained = [q for q in labels_before if len(labels_after[q]) > len(labels_before[q])]
    assert gained, "labels set after the fact become visible"
    new_days = w.query_sessions([dtr("SESSION_START_TIME", END_DT + timedelta(days=1), None)])
    assert len(new_days) > 0
    results_before = sum("sessionResult" in s for s in before.values())
    results_after = sum("sessionResult" in s for s in w.session_infos(w.query_sessions(
        [dtr("SESSION_START_TIME", None, END_DT)]), False))  # fmt: skip
    assert results_after > results_before


def test_delayed_messages_are_held_back_then_released() -> None:
    w = World(WorldConfig(seed=8, days=3, end_date=END, messages_per_day=600, delayed_share=0.3))
    start, end = END_DT - timedelta(hours=12), END_DT
    visible = len(w.truth_messages(start, end))
    held = w.held_back_count()
    assert held > 0
    released = w.release_delayed(start, end, 3)
    assert released == 3
    assert len(w.truth_messages(start, end)) == visible + 3
    rest = w.release_delayed(start, end, 10_000)
    assert rest > 0
    assert w.release_delayed(start, end, 10_000) == 0
    w2 = World(WorldConfig(seed=8, days=3, end_date=END, messages_per_day=600, delayed_share=0.3))
    w2.advance(timedelta(days=4))
    assert len(w2.truth_messages(start, end)) == visible + 3 + rest  # the clock releases them too


def test_released_rows_update_sessions_and_clients_like_a_fresh_view() -> None:
    cfg = WorldConfig(seed=8, days=2, end_date=END, messages_per_day=2000, delayed_share=0.5)
    start, end = END_DT - timedelta(days=1), END_DT
    patched, fresh = World(cfg), World(cfg)
    patched.query_sessions(None)  # a view exists: releases patch it
    for w in (patched, fresh):
        assert w.release_delayed(start, end, 40) == 40
        assert w.release_delayed(start, end, 30) == 30
    for w in (patched, fresh):
        w.query_clients(None)
    assert _dump(patched, start - timedelta(days=1), end) == _dump(fresh, start - timedelta(days=1), end)
    assert patched.unique_clients() == fresh.unique_clients()


# --- writes ---------------------------------------------------------------------------------------------


@pytest.fixture()
def fresh() -> World:
    return World(WorldConfig(seed=9, days=3, end_date=END, messages_per_day=200))


def test_message_label_writes_are_visible_in_reads_and_filters(fresh: World) -> None:
    w = fresh
    row = int(w.query_messages([_radio("WITHOUT_EMPTY_MESSAGES", "YES")])[0])
    qid = w.extended_message(row)["questionId"]
    label = w.create_message_label({"name": "Needs work", "priority": 5, "group": {"name": "Review"}})
    assert label["group"]["name"] == "Review" and label in w.message_labels()
    w.add_message_label(qid, label["id"])
    assert label["id"] in [x["id"] for x in w.extended_message(row)["labels"]]
    hits = w.query_messages([_check("LOG_LABELS", [str(label["id"])])])
    assert list(hits) == [row]
    w.set_message_labels(qid, [1001, 1004])
    assert sorted(x["id"] for x in w.message(row)["labels"]) == [1001, 1004]
    w.remove_message_label(qid, 1004)
    assert [x["id"] for x in w.message(row)["labels"]] == [1001]
    w.update_message_label(1001, {"name": "Right answer", "groupId": label["group"]["id"], "priority": 1})
    assert w.message(row)["labels"][0]["name"] == "Right answer"
    w.delete_message_label(1001)
    assert w.message(row)["labels"] == []
    with pytest.raises(NotFound):
        w.message_label(1001)
    with pytest.raises(NotFound):
        w.add_message_label("00000000-0000-4000-8000-000000000000", 1002)
    catch_all = [_check("NLP_CLASS", ["/CatchAll"], ftype="TREE")]
    count = w.bulk_label_messages({"comparisonType": "CONTAINS", "labels": [1003], "filters": {"filters": catch_all}})
    assert count > 0
    assert len(w.query_messages([_check("LOG_LABELS", ["1003"])])) >= count
    group = label["group"]["id"]
    w.delete_label_group(group)
    assert all(lab["group"]["id"] != group for lab in w.message_labels())


def test_session_labels_comments_blocks(fresh: World) -> None:
    w = fresh
    srow = int(w.query_sessions(None)[0])
    sid = w.session_info(srow, False)["sessionId"]
    created = w.create_session_label({"name": "Interesting", "priority": 9})
    w.add_session_label(sid, created["id"])
    assert list(w.query_sessions([_check("SESSION_LABELS", [str(created["id"])])])) == [srow]
    w.set_session_labels(sid, [2004])
    assert [x["id"] for x in w.session_info(srow, True)["labels"]] == [2004]
    assert w.bulk_label_sessions({"comparisonType": "CONTAINS", "labels": [2003], "objectIds": [sid]}) == 1
    w.remove_session_label(sid, 2004)
    assert [x["id"] for x in w.session_info(srow, True)["labels"]] == [2003]
    row = int(w.query_messages(None)[3])
    qid = w.message(row)["questionId"]
    w.add_comment(qid, "Customer asked twice")
    assert w.message(row)["comment"] == "Customer asked twice"
    assert row in set(w.query_messages([_text("COMMENT_TEXT", ["asked twice"], "CONTAINS")]).tolist())
    w.delete_comment(qid)
    assert "comment" not in w.message(row)
    client = w.client_info(int(w.query_clients(None)[0]))
    w.block_client(client["botId"], client["id"], "Spam", 42)
    blocked = w.client_info(w.client_index(client["botId"], client["id"]))
    assert blocked["isBlocked"] and blocked["blockReason"] == "Spam" and blocked["blockedBy"] == 42
    assert blocked["blockDate"] == iso(w.now)
    w.unblock_client(client["botId"], client["id"])
    assert not w.client_info(w.client_index(client["botId"], client["id"]))["isBlocked"]
    with pytest.raises(NotFound):
        w.block_client(client["botId"], "no-such-client", None, 1)


def test_experiments_and_filter_sets(fresh: World) -> None:
    w = fresh
    created = w.create_experiment({"key": "new-menu", "branches": [{"key": "a"}, {"key": "b"}]})
    assert created["status"] == "CREATED"
    with pytest.raises(FilterError):
        w.create_experiment({"key": "new-menu", "branches": [{"key": "a"}]})
    srow = int(w.query_sessions(None)[0])
    info = w.session_info(srow, False)
    branch = w.join_experiment(info["sessionId"], "new-menu", info["botId"])
    assert branch in ("a", "b")
    assert w.join_experiment(info["sessionId"], "new-menu", info["botId"]) == branch
    assert w.session_info(srow, False)["sessionData"]["experiment.new-menu"] == branch
    assert {"key": "new-menu", "count": 1} in w.experiment_session_counts()
    assert next(e for e in w.experiments() if e["key"] == "new-menu")["status"] == "RUNNING"
    matching = w.query_sessions([{"key": "SESSION_DATA", "type": "COMPOSITE_FILTER",
                                  "options": [{"key": "experiment.new-menu", "value": branch,
                                               "comparisonOption": "EQUALS"}]}])  # fmt: skip
    assert list(matching) == [srow]
    w.stop_experiment("new-menu")
    other = w.session_info(int(w.query_sessions(None)[1]), False)
    with pytest.raises(FilterError):
        w.join_experiment(other["sessionId"], "new-menu", other["botId"])
    w.delete_experiment("new-menu")
    assert "new-menu" not in [e["key"] for e in w.experiments()]
    with pytest.raises(NotFound):
        w.delete_experiment("new-menu")
    filters = [_radio("WITHOUT_EMPTY_SESSIONS", "YES")]
    fid = w.save_filter_set({"filters": filters})
    assert w.filter_set(fid) == {"filterSetId": fid, "filters": filters}
    with pytest.raises(NotFound):
        w.filter_set("nope")
    with pytest.raises(FilterError):
        w.save_filter_set({"filters": [{"key": "BAD", "type": "TEXT"}]})


def test_lookups(world: World, rendered: dict) -> None:
    m = rendered["messages"][10]
    row = world.message_index(m["questionId"])
    assert row is not None and world.extended_message(row) == m
    sid = m["sessionId"]
    srow = world.session_index(sid)
    assert world.session_info(srow, True) == rendered["sessions"][sid]
    assert world.session_index(sid + "x") is None
    assert world.message_index("not-an-id") is None
    c = rendered["clients"][(m["botId"], m["client"]["id"])]
    crow = world.client_index(m["botId"], m["client"]["id"])
    assert world.client_info(crow) == c
    assert world.client_index("no-bot", c["id"]) is None
    mine = [x["questionId"] for x in world.messages(world.messages_of_client(crow))]
    expected = [x["questionId"] for x in rendered["messages"] if x["botId"] == m["botId"]
                and x["client"]["id"] == m["client"]["id"]]  # fmt: skip
    assert mine == expected[::-1]
    assert world.messages_of_client(crow, "no-such-channel").size == 0
    of_bot = world.client_infos(world.clients_of_bot(m["botId"], END_DT))
    assert [x["id"] for x in of_bot] == [x["id"] for x in world.client_infos(world.query_clients(None))
                                         if x["botId"] == m["botId"]]  # fmt: skip
    hidden = world.messages_of_session(srow, hide_empty=True)
    assert all(not _empty(x) for x in world.messages(hidden))
