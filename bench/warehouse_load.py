"""Load rate of the warehouse merge path.

Builds realistic Arrow batches of the column contract (messages, and optionally their sessions and clients),
loads them window by window through ``Warehouse.window_load`` into a fresh DuckDB file, then re-loads every
window shifted by half a window (what a lookback re-pull does) and reports rows/s for both passes.
``--compare`` also times the three merge strategies considered on the bare messages table.

    .venv/bin/python bench/warehouse_load.py                     # 300k messages in windows of 30k
    .venv/bin/python bench/warehouse_load.py --quick             # 20k messages in windows of 5k
    .venv/bin/python bench/warehouse_load.py --rows 600000 --with-sessions --compare
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import numpy as np
import pyarrow as pa

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import add_json_option, write_json  # noqa: E402

from reporter_etl.api.records import CLIENTS, MESSAGE_LABEL, MESSAGES, SESSION_LABEL, SESSIONS  # noqa: E402
from reporter_etl.warehouse import Warehouse  # noqa: E402

PROJECT = "bench"
WORDS = np.array(
    ["hello", "price", "delivery", "order", "status", "refund", "operator", "thanks", "yes", "no", "card", "account",
     "balance", "where", "when", "how", "tomorrow", "today", "cancel", "change", "address", "phone", "help", "please"]
)
MESSAGES_PER_SESSION = 8
SESSIONS_PER_CLIENT = 3
EPOCH = datetime(2024, 3, 1, tzinfo=UTC)


def _texts(rng: np.random.Generator, n: int, words: int) -> pa.Array:
    picks = WORDS[rng.integers(0, len(WORDS), (n, words))]
    return pa.array([" ".join(row) for row in picks])


def _ids(prefix: str, numbers: np.ndarray) -> pa.Array:
    return pa.array([f"{prefix}-{i:012d}" for i in numbers])


def _labels(rng: np.random.Generator, n: int) -> pa.Array:
    counts = rng.choice([0, 0, 0, 0, 0, 0, 0, 0, 1, 2], n)
    items = [
        [
            {"id": 100 + j, "name": f"label {j}", "priority": j, "group_id": 7, "group_name": "topics",
             "group_priority": 1}
            for j in rng.choice(12, k, replace=False)
        ]
        for k in counts
    ]
    return pa.array(items, pa.list_(MESSAGE_LABEL))


def messages(first: int, n: int, window_start: datetime, window: timedelta, seed: int) -> pa.Table:
    """Messages ``first .. first+n-1``; message times spread over the window, 8 per session."""
    rng = np.random.default_rng(seed)
    numbers = np.arange(first, first + n)
    sessions = numbers // MESSAGES_PER_SESSION
    start_ms = int(window_start.timestamp() * 1000)
    times = np.sort(rng.integers(start_ms, start_ms + int(window.total_seconds() * 1000), n))
    ts = pa.timestamp("ms", tz="UTC")
    strings_or_null = pa.nulls(n, pa.string())
    columns = {
        "question_id": _ids("q", numbers),
        "session_id": _ids("s", sessions),
        "project_short_name": pa.array([PROJECT] * n),
        "channel_type": pa.array(rng.choice(["chatwidget", "telegram", "resterisk"], n)),
        "bot_id": pa.array(rng.choice(["bot-1", "bot-2"], n)),
        "client_id": _ids("c", sessions // SESSIONS_PER_CLIENT),
        "client_first_name": _texts(rng, n, 1),
        "client_last_name": _texts(rng, n, 1),
        "client_username": _texts(rng, n, 1),
        "session_start_time": pa.array(times - 60_000, ts),
        "message_time": pa.array(times, ts),
        "is_livechat": pa.array(rng.random(n) < 0.08),
        "question": _texts(rng, n, 6),
        "text_answer": _texts(rng, n, 14),
        "event": strings_or_null,
        "operator_id": strings_or_null,
        "operator_first_name": strings_or_null,
        "operator_last_name": strings_or_null,
        "operator_photo_url": strings_or_null,
        "operator_channel_type": strings_or_null,
        "nlp_class": pa.array(rng.choice(["/Price", "/Delivery", "/Refund", "/CatchAll"], n)),
        "nlp_state": pa.array(rng.choice(["/Start", "/Price", "/Delivery/Ask"], n)),
        "nlp_from_state": pa.array(rng.choice(["/Start", "/Price"], n)),
        "nlp_pattern": _texts(rng, n, 2),
        "nlp_effective_pattern": _texts(rng, n, 2),
        "nlp_confidence": pa.array(rng.random(n)),
        "nlp_rule": _texts(rng, n, 1),
        "nlp_rule_type": pa.array(rng.choice(["pattern", "example"], n)),
        "page_name": strings_or_null,
        "previous_page_name": strings_or_null,
        "call_task_id": pa.nulls(n, pa.int64()),
        "is_call_incoming": pa.nulls(n, pa.bool_()),
        "request_data": pa.array([f'{{"query":"{q}","channel":"chatwidget"}}' for q in _texts(rng, n, 4).to_pylist()]),
        "data": pa.array(['{"userFrom":{"id":"42"},"lang":"en"}'] * n),
        "response_data": pa.array([f'{{"replies":[{{"text":"{a}"}}]}}' for a in _texts(rng, n, 10).to_pylist()]),
        "utterances_json": strings_or_null,
        "exception": strings_or_null,
        "processing_time_ms": pa.array(rng.integers(5, 800, n).astype(np.int32)),
        "labels": _labels(rng, n),
        "session_labels": pa.array([[] for _ in range(n)], pa.list_(SESSION_LABEL)),
        "cleaned": pa.array(np.zeros(n, dtype=bool)),
        "comment": strings_or_null,
        "extra": strings_or_null,
    }
    return pa.table(columns, schema=MESSAGES.schema)


def sessions_of(batch: pa.Table) -> pa.Table:
    """One session row per session_id in a message batch."""
    first = batch.group_by("session_id", use_threads=False).aggregate(
        [("client_id", "min"), ("bot_id", "min"), ("session_start_time", "min"), ("question_id", "count")]
    )
    n = first.num_rows
    ts = pa.timestamp("ms", tz="UTC")
    columns = {
        "session_id": first["session_id"],
        "project_short_name": pa.array([PROJECT] * n),
        "channel_type": pa.array(["chatwidget"] * n),
        "bot_id": first["bot_id_min"],
        "client_id": first["client_id_min"],
        "client_first_name": pa.nulls(n, pa.string()),
        "client_last_name": pa.nulls(n, pa.string()),
        "client_username": pa.nulls(n, pa.string()),
        "start_time": first["session_start_time_min"].cast(ts),
        "first_question": pa.array(["hello"] * n),
        "last_question": pa.array(["thanks"] * n),
        "question_count": first["question_id_count"],
        "duration_ms": pa.array(np.full(n, 240_000, dtype=np.int64)),
        "call_task_id": pa.nulls(n, pa.int64()),
        "is_call_incoming": pa.nulls(n, pa.bool_()),
        "session_result": pa.nulls(n, pa.string()),
        "audio_file_url": pa.nulls(n, pa.string()),
        "response_data": pa.nulls(n, pa.string()),
        "custom_fields": pa.nulls(n, pa.string()),
        "session_data": pa.array([[("experiment.onboarding", "b")]] * n, pa.map_(pa.string(), pa.string())),
        "is_livechat": pa.array(np.zeros(n, dtype=bool)),
        "labels": pa.array([[{"id": 5, "name": "resolved", "priority": 1}]] * n, pa.list_(SESSION_LABEL)),
        "extra": pa.nulls(n, pa.string()),
    }
    return pa.table(columns, schema=SESSIONS.schema)


def clients_of(sessions: pa.Table) -> pa.Table:
    first = sessions.group_by(["client_id", "bot_id"], use_threads=False).aggregate(
        [("session_id", "max"), ("start_time", "min"), ("start_time", "max")]
    )
    n = first.num_rows
    columns = {
        "client_id": first["client_id"],
        "first_name": pa.nulls(n, pa.string()),
        "last_name": pa.nulls(n, pa.string()),
        "username": pa.nulls(n, pa.string()),
        "account_id": pa.array(np.full(n, 1001, dtype=np.int64)),
        "project_short_name": pa.array([PROJECT] * n),
        "channel_type": pa.array(["chatwidget"] * n),
        "bot_id": first["bot_id"],
        "last_session_id": first["session_id_max"],
        "join_date": first["start_time_min"],
        "last_visit_date": first["start_time_max"],
        "is_blocked": pa.array(np.zeros(n, dtype=bool)),
        "block_reason": pa.nulls(n, pa.string()),
        "blocked_by": pa.nulls(n, pa.int64()),
        "block_date": pa.nulls(n, pa.timestamp("ms", tz="UTC")),
        "extra": pa.nulls(n, pa.string()),
    }
    return pa.table(columns, schema=CLIENTS.schema)


def build_windows(total: int, per_window: int, offset: int) -> list[tuple[datetime, datetime, pa.Table]]:
    window = timedelta(hours=2)
    result = []
    for i in range(total // per_window):
        start = EPOCH + window * i + (window / 2 if offset else timedelta(0))
        result.append((start, start + window, messages(i * per_window + offset, per_window, start, window, seed=i)))
    return result


def run_warehouse(path: Path, passes: list[list[tuple[datetime, datetime, pa.Table]]],
                  with_sessions: bool) -> dict[str, Any]:  # fmt: skip
    entities = ("messages", "sessions", "clients") if with_sessions else ("messages",)
    prepared = [
        [(s, e, {"messages": m} | ({"sessions": (ss := sessions_of(m)), "clients": clients_of(ss)}
                                   if with_sessions else {})) for s, e, m in windows]
        for windows in passes
    ]
    results: dict[str, Any] = {"entities": list(entities), "passes": {}}
    with Warehouse.open(path) as wh:
        run_id = wh.begin_run(PROJECT)
        for label, windows in zip(("fresh windows", "re-loaded windows (half overlap)"), prepared, strict=True):
            rows = 0
            started = time.perf_counter()
            for start, end, tables in windows:
                with wh.window_load(PROJECT, entities, start, end, run_id) as load:
                    for entity, table in tables.items():
                        load.add(entity, table)
                rows += sum(t.num_rows for t in tables.values())
            elapsed = time.perf_counter() - started
            messages_rows = sum(t["messages"].num_rows for _, _, t in windows)
            results["passes"][label] = {"windows": len(windows), "rows": rows, "messages": messages_rows,
                                        "seconds": elapsed, "rows_per_s": rows / elapsed}  # fmt: skip
            print(
                f"{label:34s} {len(windows):3d} windows  {rows:8d} rows ({messages_rows} messages) "
                f"in {elapsed:6.2f} s = {rows / elapsed:9,.0f} rows/s, {messages_rows / elapsed:9,.0f} messages/s"
            )
        wh.finish_run(run_id)
        started = time.perf_counter()
    results["close_s"] = time.perf_counter() - started
    print(f"{'close (final checkpoint)':34s} {results['close_s']:6.2f} s")
    con = duckdb.connect(os.fspath(path), read_only=True)
    count, distinct = con.execute("SELECT count(*), count(DISTINCT question_id) FROM raw.messages").fetchall()[0]
    con.close()
    assert count == distinct, "duplicate keys after merge"
    print(f"raw.messages: {count} rows, file {path.stat().st_size / 1e6:.1f} MB")
    return results | {"raw_messages": count, "distinct_question_ids": distinct, "file_mb": path.stat().st_size / 1e6}


def compare_strategies(directory: Path, passes: list[list[tuple[datetime, datetime, pa.Table]]]) -> None:
    """The same two passes through three merge statements, on the bare table (no links, no state)."""
    columns = ", ".join(MESSAGES.schema.names)
    probe = duckdb.connect()
    probe.register("t", MESSAGES.schema.empty_table())
    body = ", ".join(f'"{name}" {kind}' for name, kind, *_ in probe.execute("DESCRIBE SELECT * FROM t").fetchall())
    probe.close()
    for strategy in ("delete+insert, no key", "delete+insert, primary key", "insert or replace, primary key"):
        path = directory / f"{strategy.replace(' ', '_').replace(',', '')}.duckdb"
        con = duckdb.connect(os.fspath(path))
        con.execute("SET checkpoint_threshold = '256MB'")
        key = ", PRIMARY KEY (project_short_name, question_id)" if "primary" in strategy else ""
        con.execute(f"CREATE TABLE m ({body}, _loaded_at TIMESTAMPTZ, _sync_run_id VARCHAR{key})")
        timings = []
        for windows in passes:
            started = time.perf_counter()
            for _, _, table in windows:
                con.begin()
                con.register("s", table)
                if strategy.startswith("insert or replace"):
                    con.execute(f"INSERT OR REPLACE INTO m SELECT {columns}, now(), 'r' FROM s")
                else:
                    con.execute(
                        "DELETE FROM m USING s WHERE m.project_short_name = s.project_short_name "
                        "AND m.question_id = s.question_id"
                    )
                    con.execute(f"INSERT INTO m SELECT {columns}, now(), 'r' FROM s")
                con.unregister("s")
                con.commit()
            timings.append(sum(t.num_rows for _, _, t in windows) / (time.perf_counter() - started))
        con.close()
        print(f"{strategy:32s} fresh {timings[0]:9,.0f} rows/s   re-loaded {timings[1]:9,.0f} rows/s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="20,000 messages in windows of 5,000")
    parser.add_argument("--rows", type=int, default=None, help="messages in total (default 300000; 20000 with --quick)")
    parser.add_argument("--window", type=int, default=None,
                        help="messages per window (default 30000; 5000 with --quick)")  # fmt: skip
    parser.add_argument("--with-sessions", action="store_true", help="load sessions and clients with each window")
    parser.add_argument("--compare", action="store_true", help="also time the merge strategies considered")
    add_json_option(parser)
    args = parser.parse_args()
    args.rows = args.rows or (20_000 if args.quick else 300_000)
    args.window = args.window or (5_000 if args.quick else 30_000)
    started = time.perf_counter()
    passes = [build_windows(args.rows, args.window, 0), build_windows(args.rows, args.window, args.window // 2)]
    print(f"built {2 * args.rows} synthetic message rows in {time.perf_counter() - started:.1f} s "
          f"(duckdb {duckdb.__version__}, pyarrow {pa.__version__})")
    with tempfile.TemporaryDirectory(prefix="warehouse-bench-") as directory:
        results = run_warehouse(Path(directory) / "bench.duckdb", passes, args.with_sessions)
        if args.compare:
            compare_strategies(Path(directory), passes)
    write_json(args.json_out, results | {"rows": args.rows, "window": args.window})


if __name__ == "__main__":
    main()
