"""Report tasks: create -> poll to COMPLETED -> download a real XLSX/CSV holding the filtered rows -> delete."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import datetime, timedelta

import pytest
import requests

from reporter_etl.simulator import Simulator, WorldConfig
from reporter_etl.simulator.reports import CLIENT_COLUMNS, MESSAGE_COLUMNS, SESSION_COLUMNS
from reporter_etl.simulator.server import format_api_datetime
from tests.fixed_dates import TEST_END_DATE
from tests.http_pages import all_rows

TOKEN = "report-token"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    config = WorldConfig(end_date=TEST_END_DATE, seed=13, days=3, messages_per_day=120)
    with Simulator(config, token=TOKEN) as simulator:
        yield simulator


@pytest.fixture(scope="module")
def http() -> Iterator[requests.Session]:
    with requests.Session() as session:
        yield session


def last_day(sim: Simulator) -> list[dict]:
    start = sim.world.end - timedelta(days=1)
    return [{"key": "MESSAGE_TIME", "type": "DATE_TIME_RANGE", "from": format_api_datetime(start),
             "to": format_api_datetime(sim.world.end - timedelta(milliseconds=1))}]  # fmt: skip


def run_report(sim: Simulator, http: requests.Session, kind: str, body: dict, headers: dict | None = None,
               params: dict | None = None) -> tuple[dict, bytes]:  # fmt: skip
    response = http.post(f"{sim.api_url}/reports/{kind}", json=body, headers=headers, params=params, timeout=60)
    assert response.status_code == 200, response.text
    task = response.json()
    assert task["status"] == "CREATED"
    statuses, write_counts = [task["status"]], [task.get("writeCount", 0)]
    for _ in range(10):
        task = http.get(f"{sim.api_url}/reports/tasks/{task['taskId']}", timeout=60).json()
        statuses.append(task["status"])
        write_counts.append(task["writeCount"])
        if task["status"] == "COMPLETED":
            break
    assert statuses[0] == "CREATED" and "STARTED" in statuses and statuses[-1] == "COMPLETED"
    assert write_counts == sorted(write_counts)
    assert task["writeCount"] == task["totalCount"]
    assert TOKEN not in task["fileUrl"]
    assert task["fileUrl"].endswith("/" + task["fileName"])
    download = requests.get(task["fileUrl"], timeout=60)
    assert download.status_code == 200
    return task, download.content


def read_csv(content: bytes, delimiter: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(content.decode("utf-8")), delimiter=delimiter))


def read_xlsx(content: bytes) -> list[list[object]]:
    import openpyxl  # here, not at collection, where every worker would pay for it
    workbook = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    return [list(row) for row in workbook.worksheets[0].iter_rows(values_only=True)]


def test_session_report_as_csv_holds_the_filtered_sessions(sim: Simulator, http: requests.Session) -> None:
    filters = last_day(sim)
    settings = {"fileType": "CSV", "delimiter": ";", "withHeader": True}
    task, content = run_report(sim, http, "sessions", {"filters": filters, "settings": settings})
    assert task["reportType"] == "SESSIONS" and task["fileName"].endswith(".csv")
    lines = read_csv(content, ";")
    assert lines[0] == [name for name, _ in SESSION_COLUMNS]
    expected = {s["sessionId"] for s in all_rows(http, sim, "sessions", filters)}
    column = lines[0].index("Session ID")
    assert {line[column] for line in lines[1:]} == expected
    assert len(lines) - 1 == task["totalCount"] == len(expected) > 0


def test_message_report_as_xlsx_holds_the_filtered_messages(sim: Simulator, http: requests.Session) -> None:
    filters = last_day(sim)
    task, content = run_report(sim, http, "messages", {"filters": filters, "settings": {"fileType": "XLSX"}})
    assert task["fileName"].endswith(".xlsx")
    rows = read_xlsx(content)
    assert rows[0] == [name for name, _ in MESSAGE_COLUMNS]
    expected = [m["questionId"] for m in all_rows(http, sim, "messages", filters)]
    column = rows[0].index("Message ID")
    assert [row[column] for row in rows[1:]] == expected


def test_client_report_without_header_and_custom_date_format(sim: Simulator, http: requests.Session) -> None:
    filters = last_day(sim)
    settings = {"fileType": "CSV", "withHeader": False, "dateTimeFormat": "dd.MM.yyyy HH:mm"}
    _, content = run_report(sim, http, "clients", {"filters": filters, "settings": settings},
                            headers={"Timezone": "180"})  # fmt: skip
    lines = read_csv(content, ",")
    clients = all_rows(http, sim, "clients", filters)
    names = [name for name, _ in CLIENT_COLUMNS]
    assert [line[names.index("Client ID")] for line in lines] == [c["id"] for c in clients]
    first = clients[0]["lastVisitDate"]  # e.g. 2024-05-31T21:05:00.000Z -> 01.06.2024 00:05 at UTC+3
    local = datetime.fromisoformat(first.replace("Z", "+00:00")) + timedelta(hours=3)
    assert lines[0][names.index("Last visit")] == local.strftime("%d.%m.%Y %H:%M")


def test_daily_telephony_and_client_list_reports(sim: Simulator, http: requests.Session) -> None:
    day = (sim.world.end - timedelta(days=1)).date().isoformat()
    _, daily = run_report(sim, http, "daily", {"date": day, "settings": {"fileType": "CSV"}})
    lines = read_csv(daily, ",")
    daily_ids = {line[lines[0].index("Message ID")] for line in lines[1:]}
    assert daily_ids == {m["questionId"] for m in all_rows(http, sim, "messages", last_day(sim))}
    _, telephony = run_report(sim, http, "telephony", None, params={
        "startTime": format_api_datetime(sim.world.start), "endTime": format_api_datetime(sim.world.end)})
    rows = read_xlsx(telephony)  # no body, so the default settings: XLSX
    channel = rows[0].index("Channel type")
    assert len(rows) > 1 and {row[channel] for row in rows[1:]} == {"resterisk"}
    _, client_list = run_report(sim, http, "client-list", {"filters": [], "settings": {"fileType": "XLSX"}})
    assert read_xlsx(client_list)[0] == [name for name, _ in CLIENT_COLUMNS]


def test_delete_one_completed_and_all(sim: Simulator, http: requests.Session) -> None:
    api = sim.api_url
    http.delete(f"{api}/reports/all", timeout=30)
    body = {"filters": last_day(sim), "settings": {"fileType": "CSV"}}
    done, _ = run_report(sim, http, "sessions", body)
    pending = http.post(f"{api}/reports/sessions", json=body, timeout=30).json()
    other = http.post(f"{api}/reports/sessions", json=body, timeout=30).json()
    ids = {t["taskId"] for t in http.get(f"{api}/reports", timeout=30).json()["tasks"]}
    assert ids == {done["taskId"], pending["taskId"], other["taskId"]}

    assert http.delete(f"{api}/reports", timeout=30).status_code == 200  # completed ones only
    ids = {t["taskId"] for t in http.get(f"{api}/reports", timeout=30).json()["tasks"]}
    assert ids == {pending["taskId"], other["taskId"]}
    assert requests.get(done["fileUrl"], timeout=30).status_code == 404

    assert http.delete(f"{api}/reports/tasks/{pending['taskId']}", timeout=30).status_code == 200
    assert http.get(f"{api}/reports/tasks/{pending['taskId']}", timeout=30).status_code == 404
    assert http.delete(f"{api}/reports/all", timeout=30).status_code == 200
    assert http.get(f"{api}/reports", timeout=30).json() == {"tasks": []}


@pytest.mark.parametrize("settings", [
    {"fileType": "PDF"},
    {"fileType": "CSV", "delimiter": ";;"},
    {"fileType": "CSV", "dateTimeFormat": "yyyy-QQ"},
    {"withHeader": True},
])  # fmt: skip
def test_bad_report_settings_are_400(sim: Simulator, http: requests.Session, settings: dict) -> None:
    response = http.post(f"{sim.api_url}/reports/sessions", json={"settings": settings}, timeout=30)
    assert response.status_code == 400
    assert response.json()["error"].startswith("reporter.")
