"""The warehouse across processes: the writer lock, readers, and writers killed with SIGKILL mid-window."""

import os
import signal
import subprocess
import sys
import textwrap
from pathlib import Path

import duckdb
import pytest

from reporter_etl.warehouse import (
    RUN_INTERRUPTED,
    Warehouse,
    WarehouseBusyError,
    WarehouseLockedError,
    current_writer,
    open_readonly,
)
from tests.warehouse_rows import day, load_window, many_messages, message, messages

REPO = Path(__file__).resolve().parents[1]

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="uses SIGKILL")


def spawn(script: str, *args: str) -> subprocess.Popen:
    return subprocess.Popen(
        [sys.executable, "-c", textwrap.dedent(script), *args],
        cwd=REPO,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def wait_for_line(child: subprocess.Popen, expected: str) -> list[str]:
    seen = []
    for line in child.stdout:
        seen.append(line.strip())
        if line.strip() == expected:
            return seen
    raise AssertionError(f"child ended before printing {expected!r}: {seen}; stderr: {child.stderr.read()}")


HOLD_THE_LOCK = """
    import sys
    from reporter_etl.warehouse import Warehouse
    with Warehouse.open(sys.argv[1], run_id="run-holder") as wh:
        print("locked", flush=True)
        sys.stdin.read()  # hold until the parent closes our stdin
"""


def test_a_second_writer_times_out_naming_the_holder(tmp_path):
    path = tmp_path / "w.duckdb"
    holder = spawn(HOLD_THE_LOCK, str(path))
    try:
        wait_for_line(holder, "locked")
        with pytest.raises(WarehouseLockedError) as caught:
            Warehouse.open(path, lock_timeout=0.2)
        message_text = str(caught.value)
        assert "run-holder" in message_text and f"pid {holder.pid}" in message_text and "0.2 s" in message_text
        writer = current_writer(path)
        assert writer is not None and writer.pid == holder.pid and writer.run_id == "run-holder"
        # Readers are kept out by DuckDB itself while the writer has the file open; the error names the writer.
        with pytest.raises(WarehouseBusyError, match="run-holder"):
            open_readonly(path)
        # A writer that waits long enough gets the lock once the holder lets go.
        holder.stdin.close()
        with Warehouse.open(path, lock_timeout=60) as wh:
            assert wh.status().writer["pid"] == os.getpid()
    finally:
        if not holder.stdin.closed:
            holder.stdin.close()
        try:
            holder.wait(timeout=60)
        except subprocess.TimeoutExpired:
            holder.kill()
            holder.wait()
    assert holder.returncode == 0, holder.stderr.read()
    assert current_writer(path) is None


def test_a_second_writer_in_the_same_process_is_refused_too(tmp_path):
    path = tmp_path / "w.duckdb"
    with Warehouse.open(path, run_id="first"), pytest.raises(WarehouseLockedError, match="first"):
        Warehouse.open(path, lock_timeout=0.2)


def test_read_only_open_works_when_no_writer(tmp_path):
    path = tmp_path / "w.duckdb"
    with pytest.raises(FileNotFoundError, match="run a sync first"):
        open_readonly(path)
    with Warehouse.open(path) as wh:
        run = wh.begin_run("p1")
        load_window(wh, "p1", *day(0), run, {"messages": messages(message("q1"))})
    first, second = open_readonly(path), open_readonly(path)
    assert first.execute("SELECT question_id FROM raw.messages").fetchall() == [("q1",)]
    assert second.execute("SELECT count(*) FROM meta.sync_state").fetchall() == [(1,)]
    with pytest.raises(duckdb.InvalidInputException, match="read-only"):
        first.execute("DELETE FROM raw.messages")
    first.close()
    second.close()


HOLD_A_READER = """
    import sys
    from reporter_etl.warehouse import open_readonly
    con = open_readonly(sys.argv[1])
    print("reading", flush=True)
    sys.stdin.read()
"""


def test_a_writer_waits_for_a_reader_then_says_who_blocks_it(tmp_path):
    path = tmp_path / "w.duckdb"
    Warehouse.open(path).close()
    reader = spawn(HOLD_A_READER, str(path))
    try:
        wait_for_line(reader, "reading")
        with pytest.raises(WarehouseBusyError, match="open in another process"):
            Warehouse.open(path, lock_timeout=0.2)
        assert current_writer(path) is None  # the failed writer let go of the lock
    finally:
        reader.stdin.close()
        reader.wait(timeout=60)
    Warehouse.open(path, lock_timeout=60).close()


KILLED_AT_COMMIT = """
    import logging, os, signal, sys
    from reporter_etl.warehouse import Warehouse
    from tests.warehouse_rows import day, load_window, many_messages

    class KillBeforeCommit(logging.Handler):
        # The loader logs this after every statement of the window ran, just before COMMIT.
        def emit(self, record):
            if "merged, committing" in record.getMessage():
                os.kill(os.getpid(), signal.SIGKILL)

    wh = Warehouse.open(sys.argv[1])
    run = wh.begin_run("p1", run_id="run-killed")
    load_window(wh, "p1", *day(0), run, {"messages": many_messages(0, 3000, day(0)[0], question="committed")})
    print("window 0 committed", flush=True)
    logger = logging.getLogger("reporter_etl.warehouse.load")
    logger.setLevel(logging.DEBUG)
    logger.addHandler(KillBeforeCommit())
    with wh.window_load("p1", ["messages"], *day(1), run) as transaction:
        # Re-reads window 0's keys with new text (so a torn commit would show) and adds 20k new rows (more than
        # two row groups, which DuckDB writes into the file before the commit).
        transaction.add("messages", many_messages(0, 3000, day(0)[0], question="torn"))
        transaction.add("messages", many_messages(10_000, 20_000, day(1)[0], question="torn"))
    print("not reached", flush=True)
"""


def test_sigkill_inside_the_window_transaction_leaves_the_file_consistent(tmp_path):
    path = tmp_path / "w.duckdb"
    child = spawn(KILLED_AT_COMMIT, str(path))
    out, err = child.communicate(timeout=120)
    assert child.returncode == -signal.SIGKILL, err
    assert out.splitlines() == ["window 0 committed"]
    with Warehouse.open(path, lock_timeout=5) as wh:
        con = wh.con
        assert con.execute("SELECT question, count(*) FROM raw.messages GROUP BY 1").fetchall() == [("committed", 3000)]
        assert con.execute("SELECT count(*) FROM raw.message_label_links").fetchall() == [(3000,)]
        assert [(r.window_start, r.window_end) for r in wh.window_states("p1")] == [day(0)]
        (killed,) = wh.runs("p1")
        assert killed.run_id == "run-killed" and killed.status == RUN_INTERRUPTED
        assert killed.rows_per_entity == {"messages": 3000}
        # The next run loads the window that was lost.
        run = wh.begin_run("p1")
        load_window(wh, "p1", *day(1), run, {"messages": many_messages(10_000, 100, day(1)[0])})
        assert wh.done_windows("p1", ["messages"]) == [day(0), day(1)]


LOAD_FOREVER = """
    import sys
    from datetime import timedelta
    from reporter_etl.warehouse import Warehouse
    from tests.warehouse_rows import DAY, load_window, many_messages

    wh = Warehouse.open(sys.argv[1])
    run = wh.begin_run("p1")
    i = 0
    while True:
        start = DAY + timedelta(hours=i)
        # Each window also re-reads the previous one's keys, as a lookback does.
        batch = many_messages(max(i - 1, 0) * 5000, 10_000 if i else 5000, start)
        load_window(wh, "p1", start, start + timedelta(hours=1), run, {"messages": batch})
        print(f"committed {i}", flush=True)
        i += 1
"""


def test_sigkill_at_an_arbitrary_moment_never_leaves_half_a_window(tmp_path):
    path = tmp_path / "w.duckdb"
    child = spawn(LOAD_FOREVER, str(path))
    try:
        wait_for_line(child, "committed 2")
    finally:
        child.send_signal(signal.SIGKILL)
        child.wait()
    with Warehouse.open(path, lock_timeout=5) as wh:
        records = wh.window_states("p1", "messages")
        assert len(records) >= 3
        # Every message belongs to a recorded window, and every row_count matches the keys loaded for it.
        expected_keys = 5000 * len(records)  # window i holds keys (i-1)*5000 .. (i+1)*5000-1
        con = wh.con
        count, distinct = con.execute("SELECT count(*), count(DISTINCT question_id) FROM raw.messages").fetchall()[0]
        assert count == distinct == expected_keys
        outside = con.execute(
            "SELECT count(*) FROM raw.messages m WHERE NOT EXISTS (SELECT 1 FROM meta.sync_state s "
            "WHERE m.message_time >= s.window_start AND m.message_time < s.window_end)"
        ).fetchall()[0][0]
        assert outside == 0
        assert [r.row_count for r in records] == [5000] + [10_000] * (len(records) - 1)
