"""Every bad input, file and environment a new user (or a hostile machine) gives the CLI gets one line naming
the problem and what to do, exit code 2 for usage and 1 for failures, and leaves the warehouse byte-for-byte as
it was: no schema, no run record, no stray lock files."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import duckdb
import pytest

from reporter_etl.cli import main
from reporter_etl.simulator import Simulator, WorldConfig

TOKEN = "bad-inputs-token-4c1b"
END = date(2026, 11, 20)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(WorldConfig(seed=2, days=2, end_date=END, messages_per_day=40), token=TOKEN) as simulator:
        yield simulator


@pytest.fixture(autouse=True)
def env(sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("REPORTER_TOKEN", TOKEN)
    monkeypatch.setenv("REPORTER_BASE_URL", sim.base_url)


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str]:
    """Exit code and the one line on stderr (asserted to be one line, without a traceback)."""
    try:
        code = main(list(argv))
    except SystemExit as exc:
        code = int(exc.code or 0)
    err = capsys.readouterr().err
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, f"expected one line, got:\n{err}"
    assert "Traceback" not in err and TOKEN not in err
    assert lines[0].startswith("error: "), lines[0]
    return code, lines[0]


def files_beside(path: Path) -> list[str]:
    return sorted(p.name for p in path.parent.iterdir())


def sync(db: Path | str, *more: str) -> list[str]:
    return ["sync", "--db", str(db), "--start", "2026-11-19", "--end", "2026-11-20", "--no-progress", *more]


# ---- usage: exit 2 --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "args, words",
    [
        (["--lookback", "99999999999d"], ["--lookback", "too long"]),
        (["--lookback", "-1d"], ["--lookback", "negative"]),
        (["--lookback=-1d"], ["--lookback", "negative"]),
        (["--lock-timeout", "nan"], ["--lock-timeout", "number"]),
        (["--lock-timeout", "inf"], ["--lock-timeout"]),
        (["--lock-timeout", "-5"], ["--lock-timeout", "negative"]),
        (["--start", "0001-01-01"], ["--start", "0001-01-01"]),
        (["--start", "2026-02-30"], ["--start", "YYYY-MM-DD"]),
        (["--timezone", "Mars/Olympus"], ["--timezone", "IANA"]),
        (["--no-such-option"], ["--no-such-option"]),
    ],
)
def test_bad_sync_options_are_usage_errors(capsys, tmp_path: Path, args: list[str], words: list[str]) -> None:
    db = tmp_path / "w.duckdb"
    code, line = run(capsys, *sync(db, *args))
    assert code == 2, line
    for word in words:
        assert word.lower() in line.lower(), line
    assert files_beside(db) == []


@pytest.mark.parametrize("db_arg", ["", " "])
def test_an_empty_db_path_is_a_usage_error(capsys, tmp_path: Path, monkeypatch, db_arg: str) -> None:
    monkeypatch.chdir(tmp_path)
    code, line = run(capsys, *sync(db_arg))
    assert code == 2 and "--db" in line
    assert os.listdir(tmp_path) == []


def test_a_directory_as_db_is_a_usage_error(capsys, tmp_path: Path) -> None:
    folder = tmp_path / "warehouse"
    folder.mkdir()
    code, line = run(capsys, *sync(folder))
    assert code == 2 and "is a directory" in line and str(folder) in line
    assert os.listdir(folder) == [] and files_beside(folder) == ["warehouse"]


def test_negative_poll_interval_is_a_usage_error(capsys, tmp_path: Path) -> None:
    code, line = run(capsys, "reports", "create", "sessions", "--from", "2026-11-19", "--to", "2026-11-20",
                     "--out", str(tmp_path / "r.xlsx"), "--poll-interval", "-1")  # fmt: skip
    assert code == 2 and "--poll-interval" in line
    assert os.listdir(tmp_path) == []


# ---- files that are not our warehouse: exit 1, untouched ------------------------------------------------


def random_bytes(path: Path) -> None:
    path.write_bytes(os.urandom(64 * 1024))


def text_file(path: Path) -> None:
    path.write_text("select * from somewhere;\n" * 100)


def foreign_duckdb_with_raw_messages(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create schema raw; create table raw.messages (id integer, body varchar)")
    con.execute("insert into raw.messages values (1, 'theirs')")
    con.close()


def foreign_duckdb_other_tables(path: Path) -> None:
    con = duckdb.connect(str(path))
    con.execute("create table orders as select range as id from range(1000)")
    con.close()


@pytest.mark.parametrize(
    "make, words",
    [
        (random_bytes, ["not a DuckDB"]),
        (text_file, ["not a DuckDB"]),
        (foreign_duckdb_with_raw_messages, ["not a reporter-etl warehouse"]),
        (foreign_duckdb_other_tables, ["not a reporter-etl warehouse"]),
    ],
)
def test_a_file_that_is_not_our_warehouse_is_refused_before_anything_is_written(
    capsys, tmp_path: Path, make, words: list[str]
) -> None:
    db = tmp_path / "theirs.duckdb"
    make(db)
    before = db.read_bytes()
    for command in (sync(db), ["status", "--db", str(db)], ["query", "--db", str(db), "select 1"]):
        code, line = run(capsys, *command)
        assert code == 1, line
        assert str(db) in line and all(w.lower() in line.lower() for w in words), line
        assert db.read_bytes() == before, command
        assert files_beside(db) == ["theirs.duckdb"], command


def test_a_lock_path_that_is_a_directory(capsys, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    (tmp_path / "w.duckdb.lock").mkdir()
    code, line = run(capsys, *sync(db))
    assert code == 1 and "w.duckdb.lock" in line and "directory" in line
    assert files_beside(db) == ["w.duckdb.lock"]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_a_read_only_warehouse(capsys, tmp_path: Path) -> None:
    db = tmp_path / "w.duckdb"
    assert main(sync(db)) == 0
    capsys.readouterr()
    db.chmod(0o444)
    before = db.read_bytes()
    code, line = run(capsys, *sync(db))
    assert code == 1 and "read-only" in line.lower() or "permission" in line.lower()
    assert db.read_bytes() == before


# ---- a server that is not the API ------------------------------------------------------------------------


@contextmanager
def server_answering(status: int, content_type: str, body: bytes, headers: dict[str, str] | None = None
                     ) -> Iterator[str]:  # fmt: skip
    class Answer(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        do_POST = do_GET  # noqa: N815

        def log_message(self, *args: object) -> None:
            """Quiet: the test reads the client's message, not the server's access log."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Answer)
    # A short poll: shutdown() waits for the serving loop to look again (0.5 s by default).
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize(
    "body",
    [json.dumps({"status": "ok", "version": "1.2"}).encode(), b"[1, 2, 3]", b'"hello"', b"{}", b"[{}]"],
)
def test_a_base_url_answering_json_that_is_not_the_api(capsys, tmp_path: Path, monkeypatch, body: bytes) -> None:
    db = tmp_path / "w.duckdb"
    with server_answering(200, "application/json", body) as url:
        monkeypatch.setenv("REPORTER_BASE_URL", url)
        code, line = run(capsys, *sync(db))
    assert code == 1 and url.removeprefix("http://") in line and "Reporter API" in line, line
    assert files_beside(db) == []


def test_a_base_url_answering_html_with_200(capsys, tmp_path: Path, monkeypatch) -> None:
    db = tmp_path / "w.duckdb"
    with server_answering(200, "text/html", b"<html><body>Sign in</body></html>") as url:
        monkeypatch.setenv("REPORTER_BASE_URL", url)
        # 0.2 s: the first retry's delay (0.25 s or more) never fits, so HTML is the one failure there is to report.
        code, line = run(capsys, *sync(db, "--request-timeout", "0.2"))
    assert code == 1 and "HTML" in line and url.removeprefix("http://") in line
    assert files_beside(db) == []


def test_a_base_url_that_redirects_is_reported_with_what_it_said(capsys, tmp_path: Path, monkeypatch) -> None:
    """Redirects are not followed (the token is in the path); the error names the status and the body's message,
    which requests reads before the client does (``http.whole_body`` takes it from there)."""
    db = tmp_path / "w.duckdb"
    body = json.dumps({"error": "moved", "message": "this API lives at https://other.example now"}).encode()
    with server_answering(301, "application/json", body, {"Location": "https://other.example/"}) as url:
        monkeypatch.setenv("REPORTER_BASE_URL", url)
        code, line = run(capsys, *sync(db))
    assert code == 1 and "301" in line and "https://other.example now" in line, line
    assert files_beside(db) == []


def test_an_existing_warehouse_is_left_byte_for_byte_by_a_failing_start(
    sim: Simulator, capsys, tmp_path: Path, monkeypatch
) -> None:
    db = tmp_path / "w.duckdb"
    assert main([*sync(db), "--no-models"]) == 0
    capsys.readouterr()
    before = db.read_bytes()
    with server_answering(200, "application/json", b'{"not": "the api"}') as url:
        monkeypatch.setenv("REPORTER_BASE_URL", url)
        assert run(capsys, *sync(db))[0] == 1
    # Nothing listens there any more: refused connections, retried within a short request budget.
    code, line = run(capsys, *sync(db, "--request-timeout", "0.6"))
    assert code == 1 and "could not connect" in line, line
    monkeypatch.setenv("REPORTER_BASE_URL", sim.base_url)
    monkeypatch.setenv("REPORTER_TOKEN", "a-wrong-token-1234")
    code, line = run(capsys, *sync(db))
    assert code == 1 and "token" in line, line
    for bad in (["--lookback", "-3d"], ["--lock-timeout", "nan"], ["--start", "0001-01-01"]):
        assert run(capsys, *sync(db, *bad))[0] == 2
    assert db.read_bytes() == before and files_beside(db) == ["w.duckdb", "w.duckdb.lock"]
