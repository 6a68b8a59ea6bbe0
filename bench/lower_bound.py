"""The least time a sync of the bench world can take on this machine, from what its parts cost alone.

Issue 10 asks the sync to take at most 1.3x the time of transfer only (reading every page's bytes) against the
replay server.  This benchmark measures, on the same world and pages as bench/side_by_side.py:

- transfer: bench/contender.py's transfer only against the replay server (median wall time), the reference;
- receiving every page the sync's way (``stream=True``, the body in one read: ``api.http.whole_body``), its CPU;
- the parse of every page, on one thread: ``orjson.loads`` (what the floor does; it makes dicts, not columns)
  and the sync's native parser into the contract's Arrow columns (``api.native_pages``);
- the writes, on one thread: the parsed windows through the sync's own window commits (``Warehouse.window_load``
  under ``Warehouse.limits``), and the least DuckDB does to hold the rows (a plain INSERT of each window's three
  tables into a fresh warehouse, no delete, no label links, a 1 GB memory limit); both close their warehouse,
  whose checkpoint runs under the sync's limits;
- the imports a sync needs beyond what transfer only imports (duckdb, pyarrow with its json and compute
  modules, over requests alone), in fresh interpreters.

From these it prints two bounds of the sync's wall time, as multiples of transfer only:

- this design: (receive + native parse + window commits) CPU spread perfectly over every core, plus imports;
- any JSON-to-DuckDB sync: (receive + orjson + plain INSERT) the same way: optimistic, since orjson makes no
  columns and a plain INSERT keeps no guarantee.

Both assume perfect parallelism and no other work (no checks, no verification, no pandas), so the real sync can
only be slower.  Each CPU part is the least of ``--rounds`` runs.

    .venv/bin/python bench/lower_bound.py [--quick] [--days 10] [--messages-per-day 35000] [--json-out F]
"""

from __future__ import annotations

import argparse
import os
import re
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

from reporter_etl.api.http import whole_body  # noqa: E402
from reporter_etl.api.native_pages import FastPageParser  # noqa: E402
from reporter_etl.entities import ENTITIES  # noqa: E402
from reporter_etl.warehouse import Warehouse  # noqa: E402

PAGE_SIZE = 1000
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}
TOTAL_COUNT = re.compile(rb'"totalCount"\s*:\s*(\d+)')
SYNC_IMPORTS = "import duckdb, pyarrow, pyarrow.compute, pyarrow.json, requests"
TRANSFER_IMPORTS = "import requests"
Page = tuple[int, str, bytes]  # day index, entity, body


def read_pages(plan: dict[str, Any]) -> list[Page]:
    """Every page of the plan's queries as the sync receives them, in the plan's order (day by day; messages,
    sessions, clients)."""
    pages: list[Page] = []
    entities = len(plan["entities"])
    with requests.Session() as http:
        for number, query in enumerate(plan["queries"]):
            url = f"{plan['api_root']}/{query['path']}"
            page, last = 0, 0
            while page <= last:
                answer = http.post(url, params={"page": page, "size": PAGE_SIZE, **query["params"]},
                                   data=query["body"].encode(), headers=HEADERS, timeout=600, stream=True)  # fmt: skip
                body = whole_body(answer)
                answer.raise_for_status()
                pages.append((number // entities, query["entity"], body))
                if page == 0:
                    total = int(TOTAL_COUNT.search(body).group(1))
                    last = max(0, -(-total // PAGE_SIZE) - 1)
                page += 1
    return pages


def cpu_of(work: Callable[[], Any], repeat: int, setup: Callable[[], Any] | None = None
           ) -> tuple[float, float, Any]:  # fmt: skip
    """The least CPU time (of this process) of ``repeat`` runs of ``work`` (``setup`` before each, untimed), the
    wall time of that run, and what the last run returned."""
    best, best_wall, result = float("inf"), 0.0, None
    for _ in range(repeat):
        if setup is not None:
            setup()
        started, started_wall = time.process_time(), time.perf_counter()
        result = work()
        cpu, wall = time.process_time() - started, time.perf_counter() - started_wall
        if cpu < best:
            best, best_wall = cpu, wall
    return best, best_wall, result


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


def held_rows(path: Path) -> dict[str, int]:
    """Rows per entity in the raw tables of the warehouse at ``path``."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {name: con.execute(f"SELECT count(*) FROM {entity.table}").fetchone()[0]
                for name, entity in ENTITIES.items()}  # fmt: skip
    finally:
        con.close()


def window_commits(windows: dict[int, dict[str, pa.Table]], first: date, path: Path) -> None:
    """The sync's own commits of the windows into a new warehouse at ``path``, closing checkpoint included."""
    project = next(t.column("project_short_name")[0].as_py() for by in windows.values() for t in by.values()
                   if t.num_rows)  # fmt: skip
    with Warehouse.open(path) as warehouse:
        run_id = warehouse.begin_run(project)
        with warehouse.limits():
            for day, tables in sorted(windows.items()):
                start = datetime(first.year, first.month, first.day, tzinfo=UTC) + timedelta(days=day)
                with warehouse.window_load(project, list(tables), start, start + timedelta(days=1),
                                           run_id) as transaction:  # fmt: skip
                    for entity, table in tables.items():
                        transaction.add(entity, table, distinct_keys=True)


def plain_inserts(windows: dict[int, dict[str, pa.Table]], path: Path) -> None:
    """Each window's tables INSERTed as they are into the raw tables of a new warehouse at ``path``."""
    with Warehouse.open(path) as warehouse:
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


def removed(path: Path) -> None:
    """No warehouse (nor its WAL and lock) at ``path``: each timed run writes a new one."""
    for leftover in path.parent.glob(path.name + "*"):  # the file, its WAL, its lock, its spill folder
        if leftover.is_dir():
            shutil.rmtree(leftover)
        else:
            leftover.unlink()


def import_seconds(repeat: int) -> float:
    """Median wall time of a sync's imports in a fresh interpreter, less that of transfer only's."""
    def run(code: str) -> float:
        started = time.perf_counter()
        subprocess.run([sys.executable, "-c", code], check=True)
        return time.perf_counter() - started

    return max(0.0, statistics.median(run(SYNC_IMPORTS) for _ in range(repeat))
               - statistics.median(run(TRANSFER_IMPORTS) for _ in range(repeat)))  # fmt: skip


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
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
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
            receive_cpu, _, pages = cpu_of(lambda: read_pages(plan), args.rounds)
            if replay_admin(replay_url, "stats")["misses"]:
                raise SystemExit("the replay server was asked for pages it had not recorded")
        transfer_wall = statistics.median(run.wall_s for run in transfers)
        orjson_cpu, _, _ = cpu_of(lambda: parse_each(pages), args.rounds)
        parse_cpu, _, windows = cpu_of(lambda: native_tables(pages), args.rounds)
        commits, inserts = directory / "commits.duckdb", directory / "inserts.duckdb"
        commits_cpu, commits_wall, _ = cpu_of(lambda: window_commits(windows, first, commits), args.rounds,
                                              setup=lambda: removed(commits))  # fmt: skip
        inserts_cpu, inserts_wall, _ = cpu_of(lambda: plain_inserts(windows, inserts), args.rounds,
                                              setup=lambda: removed(inserts))  # fmt: skip
        commits_rows, inserts_rows = held_rows(commits), held_rows(inserts)
    imports = import_seconds(args.rounds)
    parsed_rows = {entity: sum(by[entity].num_rows for by in windows.values() if entity in by) for entity in ENTITIES}
    rows = sum(parsed_rows.values())
    design_cpu = receive_cpu + parse_cpu + commits_cpu
    any_cpu = receive_cpu + orjson_cpu + inserts_cpu
    bound = {name: max(transfer_wall, cpu / cores) + imports for name, cpu in
             (("this_design", design_cpu), ("any_json_to_duckdb", any_cpu))}  # fmt: skip
    results.update({
        "pages": len(pages), "bytes": sum(len(b) for _, _, b in pages), "rows": rows,
        "parsed_rows": parsed_rows, "transfer_wall_s": transfer_wall, "receive_cpu_s": receive_cpu,
        "orjson_cpu_s": orjson_cpu,
        "native_parse_cpu_s": parse_cpu, "window_commits_cpu_s": commits_cpu, "window_commits_wall_s": commits_wall,
        "plain_insert_cpu_s": inserts_cpu, "plain_insert_wall_s": inserts_wall, "imports_s": imports,
        "commits_rows": commits_rows, "inserts_rows": inserts_rows,
        "bound_s": bound, "bound_x_transfer": {name: s / transfer_wall for name, s in bound.items()},
        "target_x_transfer": 1.3,
    })  # fmt: skip
    print(f"{len(pages)} pages, {results['bytes'] / 1e6:,.0f} MB, {rows:,} rows; {cores} cores; "
          f"duckdb {duckdb.__version__}, pyarrow {pa.__version__}")
    for label, value in (("transfer only against the replay: wall", transfer_wall),
                         ("receiving every page the sync's way: CPU", receive_cpu),
                         ("orjson.loads of every page: CPU", orjson_cpu),
                         ("native parse into Arrow columns: CPU", parse_cpu),
                         ("the sync's window commits + close: CPU", commits_cpu),
                         ("plain INSERT of the rows (1 GB limit): CPU", inserts_cpu),
                         ("a sync's imports beyond transfer only's: wall", imports)):  # fmt: skip
        print(f"  {label:48s} {value:6.2f} s")
    print(f"  (from the least CPU of {args.rounds} runs each, spread over {cores} cores)")
    for name, seconds in bound.items():
        print(f"  least wall, {name.replace('_', ' '):24s} {seconds:6.2f} s = {seconds / transfer_wall:4.2f}x "
              f"transfer (target 1.30x)")
    write_json(args.json_out, results)
    return 0


if __name__ == "__main__":
    sys.exit(main())
