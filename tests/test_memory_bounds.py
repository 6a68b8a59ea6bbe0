"""The pieces that keep a sync's memory bounded: DuckDB's limit with its retry, the Arrow pool, the key codes."""

import logging
import random

import pyarrow as pa

from reporter_etl.keys import dedupe_last, distinct_key_count
from reporter_etl.memory import arrow_pool_for_sync
from reporter_etl.warehouse import Warehouse
from tests.warehouse_rows import day, load_window, message, messages


def test_a_window_larger_than_the_memory_limit_commits_whole_and_the_limit_comes_back(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="reporter_etl.warehouse.writer")
    batch = messages(*(message(f"q{i:05d}", question="x" * 200) for i in range(20_000)))
    with Warehouse.open(tmp_path / "w.duckdb") as wh:
        run = wh.begin_run("p1")
        default = wh._memory_limit_bytes()
        with wh.limits(memory_limit="1MB"):
            one_mb = wh._memory_limit_bytes()
            loaded = load_window(wh, "p1", *day(0), run, {"messages": batch})
            again = load_window(wh, "p1", *day(0), run, {"messages": batch})  # the delete path too
            # DuckDB holds more than 1 MB of the table now, so it refuses to shrink back: the restore stays pending
            # and every later commit tries it again, rather than the raised limit staying for the rest of the sync.
            tries = caplog.text.count("memory limit stays at")
            assert wh._memory_limit_bytes() > one_mb and wh._memory_limit_to_restore is not None
            for _ in range(2):
                load_window(wh, "p1", *day(1), run, {"messages": messages()})
            assert caplog.text.count("memory limit stays at") == tries + 2
        assert wh._memory_limit_to_restore is None  # limits() set back what the block began with
        assert "ran out of DuckDB's memory limit" in caplog.text  # 1MB is too little: the retry did it
        assert wh._memory_limit_bytes() > 0.99 * default  # limits() put DuckDB's own back (as shown, rounded)
        assert loaded.rows == again.rows == {"messages": 20_000}
        held = wh.con.execute("SELECT count(*), count(DISTINCT question_id), min(length(question)) "
                              "FROM raw.messages").fetchall()  # fmt: skip
        assert held == [(20_000, 20_000, 200)]
        assert [s.row_count for s in wh.window_states("p1")] == [20_000, 0]  # day 0, then the empty day 1


def test_the_sync_pool_is_the_system_allocator_and_the_default_comes_back():
    before = pa.default_memory_pool()
    with arrow_pool_for_sync():
        assert pa.default_memory_pool().backend_name == "system"
        kept = pa.array(["a"] * 1000)
    assert pa.default_memory_pool().backend_name == before.backend_name
    assert kept.to_pylist() == ["a"] * 1000  # freed later into the pool it came from


def test_key_codes_agree_with_python_on_random_keys_with_nulls():
    rng = random.Random(7)
    for _ in range(300):
        n = rng.randrange(0, 80)
        first = [None if rng.random() < 0.2 else str(rng.randrange(4)) for _ in range(n)]
        second = [None if rng.random() < 0.2 else rng.randrange(3) for _ in range(n)]
        table = pa.table({"a": pa.array(first, pa.string()), "b": pa.array(second, pa.int64()), "row": range(n)})
        keys = list(zip(first, second, strict=True))
        last = {key: row for row, key in enumerate(keys)}
        assert distinct_key_count(table, ["a", "b"]) == len(last)
        assert dedupe_last(table, ["a", "b"]).column("row").to_pylist() == sorted(last.values())


def test_key_codes_see_through_chunks():
    table = pa.concat_tables([pa.table({"k": ["x", "y"], "v": [1, 2]}), pa.table({"k": ["y", "z"], "v": [3, 4]})])
    assert distinct_key_count(table, ["k"]) == 3
    assert dedupe_last(table, ["k"]).to_pydict() == {"k": ["x", "y", "z"], "v": [1, 3, 4]}
