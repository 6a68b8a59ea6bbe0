"""The sync side by side with downloading the same pages and with dlt, against the simulator and against a replay.

On one simulator world (default 20 days x 35,000 messages a day; the rounds read the last 10 day windows) four
contenders read the same list pages (messages/filter, sessions/filter with labels, clients/filter; size 1000),
each in its own child process (bench/contender.py):

  transfer   requests, every page's bytes read, nothing parsed
  floor      requests + orjson.loads of every page
  sync       reporter-etl's sync into a new DuckDB file
  dlt        dlt's rest_api source into DuckDB (merge on the natural keys, parquet load files)

first against the simulator, then against a replay server (bench/replay_server.py) that serves the responses
recorded from the simulator out of memory, so the server is not what is measured.  Each runs once per round,
at least 3 rounds, the order rotating by one each round.  Per contender: wall time of its process (imports
included), medians of the per-round ratios to floor and to transfer, rows/s, peak RSS (VmHWM) and CPU (wait4)
of the process, CPU of the server (psutil).  Also: the sync's peak RSS over 20 days against 10, the nightly ratio
(one day into a warehouse holding a year ÷ the same day into an empty one) and, when bench/models_build.py
exists, its full and one-day model builds.  Last, the warehouse of one sync (its run that the replay server
recorded) is compared row for row with the simulator's ground truth of the days read: the same World, built again
in this process, through tests/sync_support.py (the tests' comparison, written without the code under test).

Writes bench/results/latest.json, bench/RESULTS.md and bench/results/latest.png (other sizes: the JSON only, to
bench/results/quick.json with --quick, unless --report).  Exits 1 when a check fails: rows that differ between
contenders (the rows read, and the rows the sync's and dlt's warehouses hold), the sync's warehouse differing from
the ground truth (a key missing, extra or held twice, or a value that differs: messages, sessions, clients), sync
requests above the minimum, messages/by-session used, a request the replay had not recorded, dlt not installed
(unless --skip dlt), or a part that did not run or measured nothing.  The targets are reported, not judged:
timings are never a failure.

    .venv/bin/python bench/side_by_side.py                  # make bench: about 9 minutes on 2 cores
    .venv/bin/python bench/side_by_side.py --quick          # make bench-quick: well under 2 minutes
    .venv/bin/python bench/side_by_side.py --rounds 5 --skip nightly,rss
"""

from __future__ import annotations

import argparse
import contextlib
import importlib.metadata
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import orjson
import psutil

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(1, str(BENCH.parent))  # the repository: the ground-truth comparison lives in tests/

from child_server import child_simulator  # noqa: E402

from reporter_etl.api.filters import DateTimeRange, message_time, serialize_filters  # noqa: E402
from tests.sync_support import truth_differences  # noqa: E402

TOKEN = "bench-token"
END_DATE = date(2024, 5, 31)  # fixed, so every run serves the same world
CONTENDERS = ("transfer", "floor", "sync", "dlt")
# entity -> (path, extra query parameters, items field, the client's operation name)
ENTITIES: dict[str, tuple[str, dict[str, str], str, str]] = {
    "messages": ("messages/filter", {}, "messages", "filter_messages"),
    "sessions": ("sessions/filter", {"needToReturnSessionLabels": "true"}, "sessions", "filter_sessions"),
    "clients": ("clients/filter", {}, "clients", "filter_clients"),
}
BY_SESSION = "session_messages"
MIB = 1024 * 1024
OPTIONAL_PARTS = ("dlt", "rss", "nightly", "models")


@dataclass
class Sizes:
    days: int
    messages_per_day: int
    rss_days: int
    year_days: int
    year_messages_per_day: int
    rounds: int


FULL = Sizes(days=10, messages_per_day=35_000, rss_days=20, year_days=365, year_messages_per_day=3_000, rounds=3)
QUICK = Sizes(days=2, messages_per_day=3_000, rss_days=4, year_days=20, year_messages_per_day=400, rounds=3)


@dataclass
class Run:
    contender: str
    server: str
    round: int
    wall_s: float  # the whole child process, imports included
    work_s: float  # the contender's own measure, after its imports
    peak_rss_mib: float
    client_cpu_s: float  # user + system of the child, all threads
    server_cpu_s: float
    out: dict[str, Any] = field(repr=False)


# ---- processes ---------------------------------------------------------------------------------------------


def cpu_of(pid: int) -> float:
    times = psutil.Process(pid).cpu_times()
    return times.user + times.system


def run_contender(name: str, plan: Path, server_pid: int, *, server: str, round_: int,
                  db: Path | None = None) -> Run:  # fmt: skip
    with tempfile.TemporaryDirectory(prefix=f"bench-{name}-") as workdir:
        command = [sys.executable, str(BENCH / "contender.py"), name, "--plan", str(plan), "--workdir", workdir]
        if db is not None:
            command += ["--db", str(db)]
        errors = Path(workdir) / "stderr.txt"
        server_before = cpu_of(server_pid)
        started = time.perf_counter()
        with errors.open("wb") as err:
            child = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=err)
            assert child.stdout is not None
            try:
                output = child.stdout.read()
                _, status, usage = os.wait4(child.pid, 0)  # the CPU of this child alone, not of all children
            except BaseException:
                child.kill()
                child.wait()
                raise
            child.returncode = os.waitstatus_to_exitcode(status)
            child.stdout.close()
        wall = time.perf_counter() - started
        server_cpu = cpu_of(server_pid) - server_before
        if child.returncode != 0:
            raise SystemExit(f"{name} against the {server} failed (exit {child.returncode}):\n"
                             f"{errors.read_text()[-4000:]}")  # fmt: skip
    out = json.loads(output.decode().strip().splitlines()[-1])
    # Peak RSS as the child measured it (VmHWM); CPU from wait4 (all its threads, and any children it waited for).
    return Run(name, server, round_, wall, out["work_s"], out["peak_rss_kib"] / 1024, usage.ru_utime + usage.ru_stime,
               server_cpu, out)  # fmt: skip


@contextmanager
def replay_server(upstream: str) -> Iterator[tuple[subprocess.Popen, str]]:
    child = subprocess.Popen([sys.executable, str(BENCH / "replay_server.py"), "--upstream", upstream],
                             stdout=subprocess.PIPE, text=True)  # fmt: skip
    try:
        assert child.stdout is not None
        line = child.stdout.readline()
        match = re.search(r"serving (http://[\d.]+:\d+)", line)
        if match is None:
            raise SystemExit(f"the replay server did not start: {line!r}")
        yield child, match.group(1)
    finally:
        child.send_signal(signal.SIGTERM)
        child.wait(timeout=30)
        if child.stdout is not None:
            child.stdout.close()


def replay_admin(base_url: str, action: str) -> dict[str, Any]:
    method = "POST" if action == "freeze" else "GET"
    with urllib.request.urlopen(urllib.request.Request(f"{base_url}/_replay/{action}", method=method)) as answer:
        return json.loads(answer.read())


# ---- plans ---------------------------------------------------------------------------------------------------


def write_plan(path: Path, base_url: str, first: date, last: date) -> Path:
    """The list queries of every day window in [first, last], as every contender will send them."""
    queries = []
    day = first
    while day <= last:
        start = datetime(day.year, day.month, day.day, tzinfo=UTC)
        end = start + timedelta(days=1)
        for entity, (api_path, params, items, _) in ENTITIES.items():
            chosen = (DateTimeRange.window("CLIENT_LAST_ACTIVITY_TIME", start, end) if entity == "clients"
                      else message_time(start, end))  # fmt: skip
            body = orjson.dumps({"filters": serialize_filters([chosen])}).decode()
            queries.append({"entity": entity, "path": api_path, "params": params, "items": items, "body": body})
        day += timedelta(days=1)
    plan = {"base_url": base_url, "token": TOKEN, "api_root": f"{base_url}/api/reporter/p/{TOKEN}",
            "first": first.isoformat(), "last": last.isoformat(), "entities": list(ENTITIES),
            "queries": queries}  # fmt: skip
    path.write_text(json.dumps(plan))
    return path


# ---- the parts -----------------------------------------------------------------------------------------------


def rotated(names: list[str], round_: int) -> list[str]:
    shift = round_ % len(names)
    return names[shift:] + names[:shift]


def rounds_against(server: str, plan: Path, server_pid: int, names: list[str], rounds: int) -> list[Run]:
    runs = []
    for round_ in range(rounds):
        for name in rotated(names, round_):
            run = run_contender(name, plan, server_pid, server=server, round_=round_)
            print(f"  {server:9s} round {round_ + 1}/{rounds} {name:8s} {run.wall_s:7.2f} s  "
                  f"{run.peak_rss_mib:6.0f} MiB  load {os.getloadavg()[0]:.2f}", flush=True)  # fmt: skip
            runs.append(run)
    return runs


def summarise(runs: list[Run], names: list[str], total_rows: int) -> dict[str, Any]:
    by_round: dict[int, dict[str, Run]] = {}
    for run in runs:
        by_round.setdefault(run.round, {})[run.contender] = run
    summary = {}
    for name in names:
        mine = [r[name] for r in by_round.values()]
        wall = statistics.median(r.wall_s for r in mine)
        summary[name] = {
            "wall_s": wall,
            "work_s": statistics.median(r.work_s for r in mine),
            "ratio_to_floor": statistics.median(r[name].wall_s / r["floor"].wall_s for r in by_round.values()),
            "ratio_to_transfer": statistics.median(r[name].wall_s / r["transfer"].wall_s for r in by_round.values()),
            "work_ratio_to_floor": statistics.median(r[name].work_s / r["floor"].work_s for r in by_round.values()),
            "rows_per_s": total_rows / wall,
            "peak_rss_mib": statistics.median(r.peak_rss_mib for r in mine),
            "peak_rss_mib_max": max(r.peak_rss_mib for r in mine),
            "client_cpu_s": statistics.median(r.client_cpu_s for r in mine),
            "server_cpu_s": statistics.median(r.server_cpu_s for r in mine),
            "rounds": [{k: v for k, v in asdict(r).items() if k != "out"} for r in mine],
        }  # fmt: skip
    return summary


def check_runs(runs: list[Run], problems: list[str]) -> dict[str, int]:
    """Every contender read the same rows; returns the rows per entity (transfer's count)."""
    truth = next(r.out["rows"] for r in runs if r.contender == "transfer")
    for run in runs:
        label = f"{run.contender} against the {run.server}, round {run.round + 1}"
        rows, held = run.out["rows"], run.out.get("held")
        if run.contender in ("transfer", "floor", "sync") and rows != truth:
            problems.append(f"{label}: read {rows}, transfer read {truth}")
        if held is not None and (held["messages"] != truth["messages"] or held["clients"] != truth["clients"]
                                 or not 0 < held["sessions"] <= truth["sessions"]):  # fmt: skip
            problems.append(f"{label}: holds {held}, the server has {truth}")
        if run.contender == "sync":
            by_op = run.out["requests_by_operation"]
            for entity, (*_, op) in ENTITIES.items():
                if by_op.get(op, 0) != run.out["minimum"].get(entity, 0):
                    problems.append(f"{label}: {by_op.get(op, 0)} {op} requests, the minimum is "
                                    f"{run.out['minimum'].get(entity, 0)}")  # fmt: skip
            if by_op.get(BY_SESSION, 0):
                problems.append(f"{label}: messages/by-session called {by_op[BY_SESSION]} times")
    syncs = [r.out["held"]["sessions"] for r in runs if r.contender in ("sync", "dlt")]
    if len(set(syncs)) > 1:
        problems.append(f"the warehouses hold different session counts: {sorted(set(syncs))}")
    return truth


def sync_requests(run: Run) -> dict[str, Any]:
    """The sync's requests in the shape bench/sync_vs_download.py reports them (targets() reads them)."""
    by_op = run.out["requests_by_operation"]
    paged_ops = {op for *_, op in ENTITIES.values()}
    return {
        "paged": {e: {"operation": op, "made": by_op.get(op, 0), "minimum": run.out["minimum"].get(e, 0)}
                  for e, (*_, op) in ENTITIES.items()},
        "other": {op: n for op, n in sorted(by_op.items()) if op not in paged_ops},
        "counts_only": run.out.get("counts_only", {}),  # list operations asked for a count (platform statistics)
        BY_SESSION: by_op.get(BY_SESSION, 0),
        "total": run.out["request_count"],
    }  # fmt: skip


def nightly(sizes: Sizes, rounds: int, workdir: Path, problems: list[str]) -> dict[str, Any]:
    """One day into a warehouse holding `year_days` of history ÷ the same day into an empty warehouse."""
    first = END_DATE - timedelta(days=sizes.year_days)
    last_history = END_DATE - timedelta(days=1)
    print(f"nightly: building {sizes.year_days} days x {sizes.year_messages_per_day:,} messages of history", flush=True)
    with child_simulator(days=sizes.year_days + 1, messages_per_day=sizes.year_messages_per_day, token=TOKEN,
                         end_date=END_DATE) as sim:  # fmt: skip
        pid = sim.process.pid
        history_plan = write_plan(workdir / "history.json", sim.base_url, first, last_history)
        day_plan = write_plan(workdir / "day.json", sim.base_url, END_DATE, END_DATE)
        year_db = workdir / "year.duckdb"
        build = run_contender("sync", history_plan, pid, server="simulator", round_=0, db=year_db)
        history_rows = build.out["held"]
        print(f"  history: {history_rows} in {build.wall_s:.1f} s", flush=True)
        run_contender("sync", day_plan, pid, server="simulator", round_=0)  # warms the server's caches for the day
        runs: list[tuple[float, float]] = []
        for round_ in range(rounds):
            timings = {}
            for kind in rotated(["empty", "year"], round_):
                db = None
                if kind == "year":
                    db = workdir / "year-copy.duckdb"
                    shutil.copyfile(year_db, db)
                run = run_contender("sync", day_plan, pid, server="simulator", round_=round_, db=db)
                timings[kind] = run.wall_s
                if db is not None:
                    db.unlink()
            runs.append((timings["year"], timings["empty"]))
            print(f"  round {round_ + 1}/{rounds}: year {timings['year']:.2f} s, empty {timings['empty']:.2f} s",
                  flush=True)  # fmt: skip
    ratio = statistics.median(year / empty for year, empty in runs)
    return {"history_days": sizes.year_days, "history_messages_per_day": sizes.year_messages_per_day,
            "history_rows": history_rows, "history_build_s": build.wall_s,
            "year_s": statistics.median(y for y, _ in runs), "empty_s": statistics.median(e for _, e in runs),
            "ratio": ratio, "rounds": [{"year_s": y, "empty_s": e} for y, e in runs]}  # fmt: skip


def ground_truth(db: Path, seed: int, world_days: int, messages_per_day: int, first: date,
                 problems: list[str]) -> dict[str, Any]:  # fmt: skip
    """The sync's warehouse `db` against the ground truth of [first 00:00 UTC, END_DATE + 1 day), row for row.

    The World is built here as child_simulator's `reporter-etl simulator serve` built it (same seed, days, end
    date, volume; UTC; no faults, so nothing held back was released): it is deterministic, and nothing the
    contenders send changes it.  The rss part makes the world longer than the day windows the rounds read, so the
    truth is of a sub-range, which the World's truth functions are meant for and whose semantics match a sync of
    those windows: messages by MESSAGE_TIME in the range; sessions with a visible message in the range, with
    whole-session values (count, last question, duration), as sessions/filter answers each day window, so a session
    begun before `first` is in both with the same values; clients whose last activity is in the range, which,
    as the world ends on END_DATE, is each client active in it, read once by the window of its last activity.
    """
    from reporter_etl.simulator.world import World, WorldConfig

    started = time.perf_counter()
    world = World(WorldConfig(seed=seed, days=world_days, end_date=END_DATE, messages_per_day=messages_per_day))
    start = datetime(first.year, first.month, first.day, tzinfo=UTC)
    end = datetime(END_DATE.year, END_DATE.month, END_DATE.day, tzinfo=UTC) + timedelta(days=1)
    differences, held = truth_differences(db, world, start, end)
    problems += [f"the sync's warehouse differs from the ground truth: {d}" for d in differences]
    truth = {**held, "equal": not differences, "differences": len(differences), "start": start.isoformat(),
             "end": end.isoformat(), "seconds": time.perf_counter() - started}  # fmt: skip
    print(f"{'sync == ground truth' if truth['equal'] else 'sync != GROUND TRUTH'}: {truth_counts(truth)}, "
          f"{'row for row' if truth['equal'] else f'{len(differences)} difference(s)'} "
          f"({truth['seconds']:.1f} s)", flush=True)  # fmt: skip
    return truth


def truth_counts(truth: dict[str, Any]) -> str:
    return ", ".join(f"{truth[entity]:,} {entity}" for entity in ENTITIES)


def models_build(quick: bool, workdir: Path, problems: list[str]) -> dict[str, Any] | None:
    """bench/models_build.py's results, when that benchmark exists (it writes JSON with --json-out)."""
    script = BENCH / "models_build.py"
    if not script.exists():
        return None
    out = workdir / "models.json"
    command = [sys.executable, str(script), "--json-out", str(out), *(["--quick"] if quick else [])]
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    if done.returncode != 0 or not out.exists():
        problems.append(f"bench/models_build.py failed (exit {done.returncode}): {done.stderr[-500:]}")
        return None
    return json.loads(out.read_text())


def incomplete(results: dict[str, Any], names: list[str], skip: set[str]) -> list[str]:
    """Parts of the results that are missing or measured nothing (no timing is judged here)."""
    found = []
    if not all(count > 0 for count in results.get("rows", {}).values()) or not results.get("rows"):
        found.append(f"a contender read no rows of some entity: {results.get('rows')}")
    for server in ("simulator", "replay"):
        contenders = results["servers"].get(server, {}).get("contenders", {})
        if list(contenders) != names:
            found.append(f"against the {server}: contenders {list(contenders)}, expected {names}")
        for name, part in contenders.items():
            if not (part["wall_s"] > 0 and part["peak_rss_mib"] > 0 and part["ratio_to_floor"] > 0):
                found.append(f"{name} against the {server} measured nothing: {part['wall_s']} s, "
                             f"{part['peak_rss_mib']} MiB")  # fmt: skip
    recorded = results["servers"].get("replay", {}).get("recorded", {})
    if not (recorded.get("hits", 0) > 0 and recorded.get("frozen")):
        found.append(f"the replay server answered nothing from its recording: {recorded}")
    if "rss" not in skip and not results.get("rss"):
        found.append("the sync's peak RSS over more days was not measured")
    night = results.get("nightly")
    if "nightly" not in skip and not (night and night["ratio"] > 0 and night["history_rows"]["messages"] > 0):
        found.append(f"the nightly ratio was not measured: {night}")
    models = results.get("models") or {}
    measured = {key: models.get(key, 0) for key in ("messages", "sessions", "full_seconds", "one_day_seconds",
                                                     "peak_rss_mib")}  # fmt: skip
    if "models" not in skip and (BENCH / "models_build.py").exists() and not all(v > 0 for v in measured.values()):
        found.append(f"the models build was not measured: {measured}")
    truth = results.get("truth")
    if not (truth and all(truth[entity] > 0 for entity in ENTITIES)):
        found.append(f"the sync's warehouse was not compared with the ground truth: {truth}")
    return found


# ---- the report ----------------------------------------------------------------------------------------------


def machine() -> dict[str, Any]:
    model = ""
    with contextlib.suppress(OSError):
        model = next((line.split(":", 1)[1].strip() for line in Path("/proc/cpuinfo").read_text().splitlines()
                      if line.startswith("model name")), "")  # fmt: skip
    versions = {}
    for package in ("duckdb", "pyarrow", "orjson", "requests", "dlt", "reporter-etl"):
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return {"cpu": model or platform.processor(), "cores": os.cpu_count(),
            "memory_gib": round(psutil.virtual_memory().total / 2**30, 1), "os": platform.platform(),
            "python": platform.python_version(), "versions": versions}  # fmt: skip


LABELS = {"transfer": "transfer only (requests, bytes read)", "floor": "floor (requests + orjson.loads)",
          "sync": "reporter-etl sync", "dlt": "dlt rest_api → duckdb (merge, parquet)"}  # fmt: skip


def table_lines(results: dict[str, Any]) -> list[str]:
    lines = ["| server | contender | time s | ÷ floor | ÷ transfer | rows/s | peak RSS MiB | client CPU s "
             "| server CPU s |", "|---|---|---:|---:|---:|---:|---:|---:|---:|"]  # fmt: skip
    for server, part in results["servers"].items():
        for name, s in part["contenders"].items():
            lines.append(f"| {server} | {LABELS[name]} | {s['wall_s']:.2f} | {s['ratio_to_floor']:.2f} | "
                         f"{s['ratio_to_transfer']:.2f} | {s['rows_per_s']:,.0f} | {s['peak_rss_mib']:.0f} | "
                         f"{s['client_cpu_s']:.1f} | {s['server_cpu_s']:.1f} |")  # fmt: skip
    return lines


def extra_lines(results: dict[str, Any]) -> list[str]:
    lines = ["| measure | value |", "|---|---|"]
    rss = results.get("rss")
    if rss:
        lines.append(f"| sync peak RSS, {rss['days']} days (median of the simulator rounds) "
                     f"| {rss['small_mib']:.0f} MiB |")
        lines.append(f"| sync peak RSS, {rss['large_days']} days (one run) | {rss['large_mib']:.0f} MiB "
                     f"({rss['large_mib'] / rss['small_mib'] - 1:+.0%}) |")  # fmt: skip
    night = results.get("nightly")
    if night:
        lines.append(f"| nightly: one day on {night['history_days']} days of history ÷ on an empty warehouse "
                     f"| {night['ratio']:.2f} ({night['year_s']:.2f} s ÷ {night['empty_s']:.2f} s) |")  # fmt: skip
    req = results["requests"]
    made = sum(p["made"] for p in req["paged"].values())
    minimum = sum(p["minimum"] for p in req["paged"].values())
    lines.append(f"| sync requests: list pages made / minimum; other | {made} / {minimum}; "
                 f"{req['total'] - made} (statistics, catalogs, project) |")  # fmt: skip
    truth = results.get("truth")
    if truth:
        days = f"{truth['start'][:10]} .. {(datetime.fromisoformat(truth['end']) - timedelta(days=1)):%Y-%m-%d}"
        verdict = "equal, row for row" if truth["equal"] else f"DIFFERENT: {truth['differences']} difference(s)"
        lines.append(f"| sync's warehouse (its recorded run) vs. the ground truth, {days} | {verdict}: "
                     f"{truth_counts(truth)} |")  # fmt: skip
    models = results.get("models")
    if models:
        for key, value in models.items():
            if isinstance(value, int):
                lines.append(f"| models: {key} | {value:,} |")
            elif isinstance(value, float):
                lines.append(f"| models: {key} | {value:,.2f} |")
    elif "models" in results.get("skipped", []):
        lines.append("| models full build / one-day build | not measured: skipped (--skip models) |")
    elif not (BENCH / "models_build.py").exists():
        lines.append("| models full build / one-day build | not measured: bench/models_build.py does not exist yet |")
    else:
        lines.append("| models full build / one-day build | not measured: bench/models_build.py failed (see the "
                     "problems) |")  # fmt: skip
    return lines


def target_lines(results: dict[str, Any]) -> list[str]:
    lines = ["| target | measured | met |", "|---|---|---|"]
    for target in results["targets"]:
        lines.append(f"| {target['target']} | {target['measured']} | {'yes' if target['met'] else 'NO'} |")
    return lines


def targets(results: dict[str, Any]) -> list[dict[str, Any]]:
    found = []
    servers = results["servers"]

    def add(text: str, value: float | None, ok: bool | None, shown: str) -> None:
        if value is not None:
            found.append({"target": text, "value": value, "measured": shown, "met": bool(ok)})

    sim = servers.get("simulator", {}).get("contenders", {})
    rep = servers.get("replay", {}).get("contenders", {})
    if "sync" in sim:
        v = sim["sync"]["ratio_to_floor"]
        add("sync ≤ 1.0 × floor (simulator)", v, v <= 1.0, f"{v:.2f}")
    if "sync" in rep:
        v = rep["sync"]["ratio_to_transfer"]
        add("sync ≤ 1.3 × transfer (replay)", v, v <= 1.3, f"{v:.2f}")
    for server, part in (("simulator", sim), ("replay", rep)):
        if "dlt" in part and "sync" in part:
            v = statistics.median(d["wall_s"] / s["wall_s"] for d, s in zip(part["dlt"]["rounds"],
                                                                               part["sync"]["rounds"], strict=True))
            add(f"dlt ≥ 6 × sync ({server})", v, v >= 6, f"{v:.2f}")
    rss = results.get("rss")
    if rss:
        add(f"sync peak RSS ≤ 300 MiB at {rss['days']} days", rss["small_mib"], rss["small_mib"] <= 300,
            f"{rss['small_mib']:.0f} MiB")
        growth = rss["large_mib"] / rss["small_mib"] - 1
        add(f"sync peak RSS at {rss['large_days']} days within 10% of {rss['days']} days", growth, growth <= 0.10,
            f"{growth:+.0%}")
    if results.get("nightly"):
        v = results["nightly"]["ratio"]
        add("nightly ratio ≤ 1.5", v, v <= 1.5, f"{v:.2f}")
    req = results["requests"]
    extra = sum(p["made"] - p["minimum"] for p in req["paged"].values())
    add("sync list requests at the minimum", extra, extra == 0, f"{extra} above the minimum")
    return found


def write_report(results: dict[str, Any], markdown: Path, chart: Path) -> None:
    _chart(results, chart)
    world, m = results["world"], results["machine"]
    load = results["load_average"]
    text = [
        "# Benchmark: the sync side by side (`make bench`)",
        "",
        f"Measured {results['finished_at']} by `bench/side_by_side.py`; the raw numbers are in "
        f"`bench/results/latest.json`.",
        "",
        f"World: {world['days']} day windows of the simulator (seed {world['seed']}, ~{world['messages_per_day']:,} "
        f"messages a day): {world['rows_total']:,} rows ({', '.join(f'{k} {v:,}' for k, v in world['rows'].items())}), "
        f"{world['list_pages']} list pages, {world['bytes'] / 1e6:,.0f} MB of JSON.  {results['rounds']} rounds in "
        f"rotating order; times are wall times of each contender's process (imports included), ratios are medians "
        f"of per-round ratios, peak RSS is the contender's VmHWM, its CPU comes from wait4, server CPU from psutil.",
        "",
        *table_lines(results),
        "",
        f"![time ÷ floor]({chart.relative_to(markdown.parent).as_posix()})",
        "",
        "## Memory, nightly, requests, models",
        "",
        *extra_lines(results),
        "",
        "## Targets (issue 10)",
        "",
        *target_lines(results),
        "",
        "## Profiles",
        "",
        "`bench/profile_sync.py` (py-spy, every thread, idle included) on a 10-day sync: "
        "`bench/profiles/before.txt` (before issue 10), `bench/profiles/after-native-pages.txt` (native page parsing, "
        "before the memory work) and `bench/profiles/after.txt`.",
        "",
        "## Machine",
        "",
        f"{m['cpu']}, {m['cores']} cores, {m['memory_gib']} GiB; {m['os']}; Python {m['python']}.  "
        f"Load average (1 min) {load['start']:.2f} at the start, {load['end']:.2f} at the end: the machine is "
        f"shared, so timings carry noise.",
        "",
        "Versions: " + ", ".join(f"{k} {v}" for k, v in m["versions"].items() if v) + ".",
        "",
    ]
    if results["problems"]:
        text += ["## Problems", "", *[f"- {p}" for p in results["problems"]], ""]
    markdown.write_text("\n".join(text))


def _chart(results: dict[str, Any], chart: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    servers = list(results["servers"])
    names = list(next(iter(results["servers"].values()))["contenders"])
    fig, ax = plt.subplots(figsize=(8, 4))
    width = 0.8 / len(servers)
    for i, server in enumerate(servers):
        values = [results["servers"][server]["contenders"][n]["ratio_to_floor"] for n in names]
        bars = ax.bar([x + i * width for x in range(len(names))], values, width, label=f"against the {server}")
        ax.bar_label(bars, fmt="%.2f", fontsize=8)
    ax.axhline(1.0, color="grey", linewidth=0.8, linestyle="--")
    ax.set_xticks([x + width * (len(servers) - 1) / 2 for x in range(len(names))], names)
    ax.set_ylabel("time ÷ floor (median of rounds)")
    ax.set_title(f"{results['world']['rows_total']:,} rows, {results['world']['days']} day windows")
    ax.legend()
    fig.tight_layout()
    chart.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(chart, dpi=110)
    plt.close(fig)


# ---- main ----------------------------------------------------------------------------------------------------


def _stop_on_sigterm() -> None:
    """SIGTERM ends the run like Ctrl-C, so the servers and the contender in flight are stopped too."""

    def stop(signum: int, frame: Any) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)


def main() -> int:
    _stop_on_sigterm()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (make bench-quick; CI)")
    parser.add_argument("--rounds", type=int, default=None, help="rounds per server (default 3)")
    parser.add_argument("--days", type=int, default=None, help="day windows the rounds read (default 10)")
    parser.add_argument("--messages-per-day", type=int, default=None, help="default 35000")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--skip", default="", help=f"comma-separated parts to leave out: {', '.join(OPTIONAL_PARTS)}")
    parser.add_argument("--json-out", type=Path, default=None,
                        help="default bench/results/latest.json (quick: bench/results/quick.json)")
    parser.add_argument("--report", action="store_true",
                        help="write RESULTS.md and the chart also for other sizes (default: only for make bench's)")
    args = parser.parse_args()
    sizes = QUICK if args.quick else FULL
    sizes = Sizes(days=args.days or sizes.days, messages_per_day=args.messages_per_day or sizes.messages_per_day,
                  rss_days=max(sizes.rss_days, 2 * (args.days or sizes.days)), year_days=sizes.year_days,
                  year_messages_per_day=sizes.year_messages_per_day, rounds=args.rounds or sizes.rounds)  # fmt: skip
    skip = {part.strip() for part in args.skip.split(",") if part.strip()}
    if skip - set(OPTIONAL_PARTS):
        parser.error(f"--skip takes {', '.join(OPTIONAL_PARTS)}")
    problems: list[str] = []
    if "dlt" not in skip:
        try:
            importlib.metadata.version("dlt")
        except importlib.metadata.PackageNotFoundError:  # a problem: the table would lack its main comparison
            problems.append("dlt is not installed (pip install -e '.[bench]', or --skip dlt): left out")
            print(f"PROBLEM: {problems[-1]}", flush=True)
            skip.add("dlt")
    names = [n for n in CONTENDERS if n != "dlt" or "dlt" not in skip]
    json_out = args.json_out or BENCH / "results" / ("quick.json" if args.quick else "latest.json")
    load_start = os.getloadavg()[0]
    started = time.perf_counter()

    world_days = sizes.rss_days if "rss" not in skip else sizes.days
    first = END_DATE - timedelta(days=sizes.days - 1)
    results: dict[str, Any] = {"quick": args.quick, "rounds": sizes.rounds, "contenders": names, "servers": {},
                               "skipped": sorted(skip), "problems": problems}  # fmt: skip
    with tempfile.TemporaryDirectory(prefix="bench-side-by-side-") as tmp:
        workdir = Path(tmp)
        # The sync's warehouse of its recording run, kept for the comparison with the ground truth; that run is
        # not timed, and every timed sync still writes a new file.
        kept = workdir / "recorded-sync.duckdb"
        print(f"world: {world_days} days x ~{sizes.messages_per_day:,} messages a day; the rounds read the last "
              f"{sizes.days}", flush=True)  # fmt: skip
        with child_simulator(days=world_days, messages_per_day=sizes.messages_per_day, token=TOKEN, seed=args.seed,
                             end_date=END_DATE) as sim:  # fmt: skip
            sim_plan = write_plan(workdir / "sim.json", sim.base_url, first, END_DATE)
            with replay_server(sim.base_url) as (replay, replay_url):
                replay_plan = write_plan(workdir / "replay.json", replay_url, first, END_DATE)
                print("recording the simulator's answers through the replay server (also warms the simulator)",
                      flush=True)  # fmt: skip
                recorded = [run_contender(n, replay_plan, replay.pid, server="replay", round_=-1,
                                          db=kept if n == "sync" else None)
                            for n in names if n != "floor"]  # fmt: skip
                stats = replay_admin(replay_url, "freeze")
                print(f"  recorded {stats['entries']} responses, {stats['bytes'] / 1e6:,.0f} MB", flush=True)
                all_runs = recorded[:]
                sim_runs = rounds_against("simulator", sim_plan, sim.process.pid, names, sizes.rounds)
                replay_runs = rounds_against("replay", replay_plan, replay.pid, names, sizes.rounds)
                all_runs += sim_runs + replay_runs
                stats = replay_admin(replay_url, "stats")
                if stats["misses"]:
                    problems.append(f"the replay server was asked {stats['misses']} request(s) it had not recorded")
            rows = check_runs(all_runs, problems)
            total_rows = sum(rows.values())
            transfer = next(r for r in sim_runs if r.contender == "transfer")
            results["world"] = {"days": sizes.days, "world_days": world_days,
                                "messages_per_day": sizes.messages_per_day, "seed": args.seed,
                                "end_date": END_DATE.isoformat(), "rows": rows,
                                "rows_total": total_rows, "list_pages": sum(transfer.out["requests"].values()),
                                "bytes": transfer.out["bytes"], "server_ready_s": sim.ready_s}  # fmt: skip
            results["rows"] = rows
            results["servers"]["simulator"] = {"contenders": summarise(sim_runs, names, total_rows)}
            results["servers"]["replay"] = {"contenders": summarise(replay_runs, names, total_rows),
                                            "recorded": stats}  # fmt: skip
            results["requests"] = sync_requests(next(r for r in sim_runs if r.contender == "sync"))
            if "rss" not in skip:
                rss_first = END_DATE - timedelta(days=sizes.rss_days - 1)
                rss_plan = write_plan(workdir / "rss.json", sim.base_url, rss_first, END_DATE)
                print(f"sync of {sizes.rss_days} days for its peak RSS", flush=True)
                try:
                    large = run_contender("sync", rss_plan, sim.process.pid, server="simulator", round_=0)
                except SystemExit as exc:  # the table above still stands; the failure is reported
                    problems.append(f"the {sizes.rss_days}-day sync failed: {str(exc)[-600:]}")
                else:
                    results["rss"] = {"days": sizes.days, "small_mib": results["servers"]["simulator"]
                                      ["contenders"]["sync"]["peak_rss_mib"], "large_days": sizes.rss_days,
                                      "large_mib": large.peak_rss_mib, "large_wall_s": large.wall_s}  # fmt: skip
        if "nightly" not in skip:
            try:
                results["nightly"] = nightly(sizes, sizes.rounds, workdir, problems)
            except SystemExit as exc:
                problems.append(f"the nightly measurement failed: {str(exc)[-600:]}")
        if "models" not in skip:
            results["models"] = models_build(args.quick, workdir, problems)
        # Last, so the World built here does not sit in this process's memory while the timed parts run.
        try:
            results["truth"] = ground_truth(kept, args.seed, world_days, sizes.messages_per_day, first, problems)
        except Exception as exc:  # noqa: BLE001 - reported as a problem; the results are still written
            problems.append(f"the comparison with the ground truth failed: {str(exc)[-600:]}")
    results["load_average"] = {"start": load_start, "end": os.getloadavg()[0]}
    results["machine"] = machine()
    results["finished_at"] = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    results["elapsed_s"] = time.perf_counter() - started
    results["targets"] = targets(results)
    problems += incomplete(results, names, skip)

    print()
    print("\n".join(table_lines(results)))
    print()
    print("\n".join(extra_lines(results)))
    print()
    print("\n".join(target_lines(results)))
    print(f"\nload average {load_start:.2f} -> {results['load_average']['end']:.2f}; "
          f"{results['elapsed_s']:.0f} s in all")
    json_out.parent.mkdir(parents=True, exist_ok=True)
    json_out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"results written to {json_out}")
    # The report stands for `make bench`: written by the default full-size run (or when asked), not by a run of
    # other sizes or one that writes its JSON elsewhere.
    if args.report or not (args.quick or args.days or args.messages_per_day or args.json_out):
        write_report(results, BENCH / "RESULTS.md", BENCH / "results" / ("quick.png" if args.quick else "latest.png"))
        print(f"report written to {BENCH / 'RESULTS.md'}")
    for problem in problems:
        print(f"PROBLEM: {problem}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
