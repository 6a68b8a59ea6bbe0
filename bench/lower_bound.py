"""The least time a sync of the bench world can take on this machine, from what its parts cost alone.

Issue 10 asks the sync to take at most 1.3x the time of transfer only (reading every page's bytes) against the
replay server.  This benchmark measures, on the same world and pages as bench/side_by_side.py:

- transfer: bench/contender.py's transfer only against the replay server (median wall and client CPU);
- the parse of every page, on one thread: ``orjson.loads`` (what the floor does; it makes dicts, not columns)
  and the sync's native parser into the contract's Arrow columns (``api.native_pages``);
- the writes, on one thread: the parsed windows through the sync's own window commits (``Warehouse.window_load``
  under ``Warehouse.limits``, closing checkpoint included), and the least DuckDB does to hold the rows (a plain
  INSERT of each window's three tables into a fresh warehouse, no delete, no label links, a 1 GB memory limit;
  closing checkpoint included too);
- the imports of duckdb and pyarrow in a fresh interpreter (transfer only imports requests too).

From these it prints two bounds of the sync's wall time, as multiples of transfer only:

- this design: (transfer CPU + native parse + window commits) spread perfectly over every core, plus imports;
- any JSON-to-DuckDB sync: (transfer CPU + orjson + plain INSERT) the same way: optimistic, since orjson makes
  no columns and a plain INSERT keeps no guarantee.

Both assume perfect parallelism, so the real sync can only be slower.

    .venv/bin/python bench/lower_bound.py [--quick] [--days 10] [--messages-per-day 35000] [--json-out F]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb
import orjson
import pyarrow as pa
import requests

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from child_server import child_simulator  # noqa: E402
from results import add_json_option, write_json  # noqa: E402
from side_by_side import END_DATE, TOKEN, replay_admin, replay_server, run_contender, write_plan  # noqa: E402
from side_by_side import ENTITIES as QUERIES  # noqa: E402

from reporter_etl.api.native_pages import FastPageParser  # noqa: E402
from reporter_etl.entities import ENTITIES  # noqa: E402
from reporter_etl.warehouse import Warehouse  # noqa: E402

PAGE_SIZE = 1000
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
IMPORTS = "import duckdb, pyarrow, pyarrow.json"  # requests: transfer only imports it too
Page = tuple[int, str, bytes]  # day index, entity, body


def read_pages(plan: dict[str, Any]) -> list[Page]:
    """Every page of the plan's queries, in the plan's order (day by day; messages, sessions, clients)."""
    pages: list[Page] = []
    entities = len(plan["entities"])
    with requests.Session() as http:
        for number, query in enumerate(plan["queries"]):
            url = f"{plan['api_root']}/{query['path']}"
            page, last = 0, 0
            while page <= last:
                answer = http.post(url, params={"page": page, "size": PAGE_SIZE, **query["params"]},
                                   data=query["body"].encode(), headers=HEADERS, timeout=600)  # fmt: skip
                answer.raise_for_status()
                pages.append((number // entities, query["entity"], answer.content))
                if page == 0:
                    total = orjson.loads(answer.content)["paging"]["totalCount"]
                    last = max(0, -(-total // PAGE_SIZE) - 1)
                page += 1
    return pages


def cpu_of(work: Callable[[], Any], repeat: int) -> tuple[float, Any]:
    """The least CPU time (of this process) of ``repeat`` runs of ``work``, and what its last run returned."""
    best, result = float("inf"), None
    for _ in range(repeat):
        started = time.process_time()
        result = work()
        best = min(best, time.process_time() - started)
    return best, result


def parse_each(pages: list[Page]) -> None:
    """``orjson.loads`` of every page, one at a time as the floor does (keeping them all would measure the GC)."""
    for _, _, body in pages:
        orjson.loads(body)


def native_tables(pages: list[Page]) -> dict[int, dict[str, pa.Table]]:
    parsers = {name: FastPageParser(entity, QUERIES[name][2]) for name, entity in ENTITIES.items()}
    parts: dict[int, dict[str, list[pa.Table]]] = {}
    for day, entity, body in pages:
        page = parsers[entity].parse(body)
        if page is None:
            raise SystemExit(f"the native parser declined a {entity} page of day {day}: the world changed?")
        parts.setdefault(day, {}).setdefault(entity, []).append(page.table)
    return {day: {entity: pa.concat_tables(tables) for entity, tables in by.items()} for day, by in parts.items()}


def held_rows(path: Path) -> int:
    """Rows in the raw tables of the warehouse at ``path``."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return sum(con.execute(f"SELECT count(*) FROM {entity.table}").fetchone()[0] for entity in ENTITIES.values())
    finally:
        con.close()


def window_commits(windows: dict[int, dict[str, pa.Table]], first: date, directory: Path) -> float:
    """The sync's own commits of the windows into a new warehouse, closing checkpoint included; wall seconds."""
    project = windows[0]["messages"].column("project_short_name")[0].as_py()
    started = time.perf_counter()
    with Warehouse.open(directory / "commits.duckdb") as warehouse:
        run_id = warehouse.begin_run(project)
        with warehouse.limits():
            for day, tables in sorted(windows.items()):
                start = datetime(first.year, first.month, first.day, tzinfo=UTC) + timedelta(days=day)
                with warehouse.window_load(project, list(tables), start, start + timedelta(days=1),
                                           run_id) as transaction:  # fmt: skip
                    for entity, table in tables.items():
                        transaction.add(entity, table, distinct_keys=True)
    return time.perf_counter() - started


def plain_inserts(windows: dict[int, dict[str, pa.Table]], directory: Path) -> float:
    """Each window's tables INSERTed as they are into the raw tables of a new warehouse; wall seconds."""
    started = time.perf_counter()
    with Warehouse.open(directory / "inserts.duckdb") as warehouse:
        con = warehouse.con
        con.execute("SET memory_limit = '1GB'")
        con.execute("SET threads = 1")
        for _, tables in sorted(windows.items()):
            con.execute("BEGIN")
            for entity, table in tables.items():
                columns = ", ".join(table.column_names)
                con.register("_rows", table)
                con.execute(f"INSERT INTO {ENTITIES[entity].table} ({columns}, _loaded_at, _sync_run_id) "
                            f"SELECT {columns}, now(), 'bench' FROM _rows")  # fmt: skip
                con.unregister("_rows")
            con.execute("COMMIT")
    return time.perf_counter() - started


def import_seconds(repeat: int) -> float:
    """Median wall time of the sync's heavy imports in a fresh interpreter, less that of an empty one."""
    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    return max(0.0, statistics.median(run(IMPORTS) for _ in range(repeat))
               - statistics.median(run("pass") for _ in range(repeat)))  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="2 days x 3,000 messages a day")
    parser.add_argument("--days", type=int, default=None, help="day windows (default 10)")
    parser.add_argument("--messages-per-day", type=int, default=None, help="default 35000")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--rounds", type=int, default=3, help="transfer-only runs and CPU repeats (default 3)")
    add_json_option(parser)
    args = parser.parse_args()
    days = args.days or (2 if args.quick else 10)
    per_day = args.messages_per_day or (3_000 if args.quick else 35_000)
    first = END_DATE - timedelta(days=days - 1)
    cores = os.cpu_count() or 1
    results: dict[str, Any] = {"days": days, "messages_per_day": per_day, "cores": cores,
                               "versions": {"duckdb": duckdb.__version__, "pyarrow": pa.__version__}}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-lower-bound-") as tmp:
        directory = Path(tmp)
        # The world of bench/side_by_side.py, whose rounds read the last ``days`` of a world twice as long.
        world = {"days": 2 * days, "messages_per_day": per_day, "token": TOKEN, "seed": args.seed, "end_date": END_DATE}
        with child_simulator(**world) as sim, replay_server(sim.base_url) as (replay, replay_url):
            plan_path = write_plan(directory / "replay.json", replay_url, first, END_DATE)
            plan = orjson.loads(plan_path.read_bytes())
            run_contender("transfer", plan_path, replay.pid, server="replay", round_=-1)  # records the pages
            replay_admin(replay_url, "freeze")
            transfers = [run_contender("transfer", plan_path, replay.pid, server="replay", round_=r)
                         for r in range(args.rounds)]  # fmt: skip
            pages = read_pages(plan)
            if replay_admin(replay_url, "stats")["misses"]:
                raise SystemExit("the replay server was asked for pages it had not recorded")
        transfer_wall = statistics.median(run.wall_s for run in transfers)
        transfer_cpu = statistics.median(run.client_cpu_s for run in transfers)
        orjson_cpu, _ = cpu_of(lambda: parse_each(pages), args.rounds)
        parse_cpu, windows = cpu_of(lambda: native_tables(pages), args.rounds)
        commits_dir, inserts_dir = directory / "commits", directory / "inserts"

        def fresh(folder: Path) -> Path:
            shutil.rmtree(folder, ignore_errors=True)
            folder.mkdir()
            return folder

        commits_cpu, commits_wall = cpu_of(lambda: window_commits(windows, first, fresh(commits_dir)), args.rounds)
        inserts_cpu, inserts_wall = cpu_of(lambda: plain_inserts(windows, fresh(inserts_dir)), args.rounds)
        commits_rows = held_rows(commits_dir / "commits.duckdb")
        inserts_rows = held_rows(inserts_dir / "inserts.duckdb")
    imports = import_seconds(args.rounds)
    rows = sum(t.num_rows for tables in windows.values() for t in tables.values())
    design_cpu = transfer_cpu + parse_cpu + commits_cpu
    any_cpu = transfer_cpu + orjson_cpu + inserts_cpu
    bound = {name: max(transfer_wall, cpu / cores) + imports for name, cpu in
             (("this_design", design_cpu), ("any_json_to_duckdb", any_cpu))}  # fmt: skip
    results.update({
        "pages": len(pages), "bytes": sum(len(b) for _, _, b in pages), "rows": rows,
        "transfer_wall_s": transfer_wall, "transfer_cpu_s": transfer_cpu, "orjson_cpu_s": orjson_cpu,
        "native_parse_cpu_s": parse_cpu, "window_commits_cpu_s": commits_cpu, "window_commits_wall_s": commits_wall,
        "plain_insert_cpu_s": inserts_cpu, "plain_insert_wall_s": inserts_wall, "imports_s": imports,
        "commits_rows": commits_rows, "inserts_rows": inserts_rows,
        "bound_s": bound, "bound_x_transfer": {name: s / transfer_wall for name, s in bound.items()},
        "target_x_transfer": 1.3,
    })  # fmt: skip
    print(f"{len(pages)} pages, {results['bytes'] / 1e6:,.0f} MB, {rows:,} rows; {cores} cores; "
          f"duckdb {duckdb.__version__}, pyarrow {pa.__version__}")
    for label, value in (("transfer only against the replay: wall", transfer_wall),
                         ("transfer only: client CPU", transfer_cpu),
                         ("orjson.loads of every page: CPU", orjson_cpu),
                         ("native parse into Arrow columns: CPU", parse_cpu),
                         ("the sync's window commits + close: CPU", commits_cpu),
                         ("plain INSERT of the rows (1 GB limit): CPU", inserts_cpu),
                         ("imports of duckdb and pyarrow: wall", imports)):  # fmt: skip
        print(f"  {label:48s} {value:6.2f} s")
    for name, seconds in bound.items():
        print(f"  least wall, {name.replace('_', ' '):24s} {seconds:6.2f} s = {seconds / transfer_wall:4.2f}x "
              f"transfer (target 1.30x)")
    write_json(args.json_out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
