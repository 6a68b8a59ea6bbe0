"""Runs the benchmarks one after another (what `make bench` does) and says which, if any, failed.

    .venv/bin/python bench/run.py                    # full sizes: several minutes
    .venv/bin/python bench/run.py --quick            # reduced sizes: well under a minute
    .venv/bin/python bench/run.py --smoke --check    # smallest sizes, every path, results checked
    .venv/bin/python bench/run.py --smoke --check --skip models_build   # make bench-smoke (bench-quick builds models)
    .venv/bin/python bench/run.py --only sync_vs_download --json sync.json

Each benchmark is its own script in bench/, run with this interpreter in a child process, so one cannot skew
another's memory figures; each accepts --quick and --json-out on its own too.  With --json, the numbers of every
benchmark that ran go into one JSON object: {"size": ..., "benchmarks": {name: {"exit_code", "seconds",
"results"}}}, "results" being what that benchmark wrote with --json-out (null when it wrote nothing).

With --check, the results are also checked (not the timings: that every benchmark ran and measured something,
that the warehouse load deduplicated exactly, that the sync benchmark found the sync exact with its requests at
the minimum, and that the lower bound's parts wrote every row); each failed check is printed on a line starting
"PROBLEM:" and the exit status is 1.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

BENCH = Path(__file__).resolve().parent
# name -> extra arguments at each size ("quick" and "smoke" replace the full size's)
BENCHMARKS: dict[str, dict[str, list[str]]] = {
    "world_build": {"full": [], "quick": ["--quick"], "smoke": ["--days", "2", "--messages-per-day", "1000"]},
    "simulator_serve": {"full": [], "quick": ["--quick"], "smoke": ["--days", "2", "--messages-per-day", "1000"]},
    "api_conversion": {"full": ["--http"], "quick": ["--quick"], "smoke": ["--pages", "1"]},
    "warehouse_load": {"full": ["--with-sessions"], "quick": ["--quick"],
                       "smoke": ["--with-sessions", "--rows", "4000", "--window", "1000"]},
    "sync_vs_download": {"full": [], "quick": ["--quick"], "smoke": ["--days", "2", "--messages-per-day", "1000"]},
    "models_build": {"full": [], "quick": ["--quick"], "smoke": ["--days", "2", "--messages-per-day", "1000"]},
    "lower_bound": {"full": [], "quick": ["--quick"],
                    "smoke": ["--days", "1", "--messages-per-day", "1000", "--rounds", "1"]},
}  # fmt: skip


def run_one(name: str, size: str, json_out: Path) -> tuple[int, float]:
    command = [sys.executable, str(BENCH / f"{name}.py"), *BENCHMARKS[name][size], "--json-out", str(json_out)]
    print(f"\n=== {name}{'' if size == 'full' else f' ({size})'} ===", flush=True)
    started = time.perf_counter()
    code = subprocess.run(command, check=False).returncode
    return code, time.perf_counter() - started


def problems_in(report: dict[str, Any], chosen: list[str]) -> list[str]:
    """What --check finds wrong in a report of the ``chosen`` benchmarks (only what was measured, no timing)."""
    problems: list[str] = []

    def expect(ok: object, what: str) -> None:
        if not ok:
            problems.append(what)

    benchmarks = report["benchmarks"]
    missing = [name for name in chosen if name not in benchmarks]
    expect(not missing, f"benchmarks that did not run: {missing}")
    for name, outcome in benchmarks.items():
        expect(outcome["exit_code"] == 0 and outcome["results"] is not None,
               f"{name}: exit {outcome['exit_code']}, results {'written' if outcome['results'] else 'missing'}")
    results = {name: outcome["results"] for name, outcome in benchmarks.items() if outcome["results"] is not None}

    if world := results.get("world_build"):
        expect(world["visible_messages"] <= world["messages"] and world["sessions"] > 0,
               f"world_build: {world['visible_messages']} visible of {world['messages']} messages, "
               f"{world['sessions']} sessions")
        renders = {"ExtendedMessage", "Message", "SessionInfo", "ClientExtendedInfo"}
        expect(set(world["render_ms"]) == renders, f"world_build: rendered {sorted(world['render_ms'])}")
    if served := results.get("simulator_serve"):
        expect(served["complete"] and served["received"] == served["total_count"] > served["page_size"],
               f"simulator_serve: received {served['received']} of {served['total_count']} "
               f"(page size {served['page_size']}, complete {served['complete']})")
        expect(served["messages_per_s"] > 0 and served["within_memory_budget"],
               f"simulator_serve: {served['messages_per_s']} messages/s, within the memory budget: "
               f"{served['within_memory_budget']}")
    if conversion := results.get("api_conversion"):
        rates = conversion["rows_per_s"]
        expect(conversion["source"] == "simulator World" and len(rates) == 3 and all(r > 0 for r in rates.values()),
               f"api_conversion: source {conversion['source']!r}, rows/s {rates}")
    if load := results.get("warehouse_load"):
        passes = [p["messages"] for p in load["passes"].values()]
        expect(passes == [load["rows"], load["rows"]], f"warehouse_load: messages after each pass {passes}, "
               f"expected {load['rows']} both times")
        expect(load["raw_messages"] == load["distinct_question_ids"] == load["rows"] + load["window"] // 2,
               f"warehouse_load: {load['raw_messages']} raw messages, {load['distinct_question_ids']} distinct "
               f"question ids, expected {load['rows'] + load['window'] // 2}")
    if sync := results.get("sync_vs_download"):
        expect(sync["problems"] == [], f"sync_vs_download: {sync['problems']}")
        expect(sync["sync"]["rows"] == sync["rows"] and sync["rows"]["messages"] > 0,
               f"sync_vs_download: the sync wrote {sync['sync']['rows']}, the download read {sync['rows']}")
        for entity, part in sync["requests"]["paged"].items():  # no faults, no drift: not one page more
            expect(part["made"] == part["minimum"] > 0,
                   f"sync_vs_download: {part['made']} {entity} pages, the minimum is {part['minimum']}")
        expect(sync["requests"]["paged"]["messages"]["made"] > sync["world"]["windows"],
               "sync_vs_download: no window took two pages of messages (the paging went untested)")
        expect(sync["requests"]["session_messages"] == 0,
               f"sync_vs_download: messages/by-session called {sync['requests']['session_messages']} times")
    if models := results.get("models_build"):
        expect(models["messages"] > 0 and models["sessions"] > 0,
               f"models_build: {models['messages']} messages, {models['sessions']} sessions")
        expect(models["full_seconds"] > 0 and models["one_day_seconds"] > 0 and models["peak_rss_mib"] > 0,
               "models_build: a build measured nothing")
    if bound := results.get("lower_bound"):
        parsed, commits, inserts = bound["parsed_rows"], bound["commits_rows"], bound["inserts_rows"]
        # The window commits keep a session read in two day windows once (as the sync does); nothing else repeats.
        expect(bound["rows"] > 0 and inserts == parsed and commits["messages"] == parsed["messages"]
               and commits["clients"] == parsed["clients"] and 0 < commits["sessions"] <= parsed["sessions"],
               f"lower_bound: parsed {parsed}, the window commits hold {commits}, the plain inserts {inserts}")
        parts = ("receive_cpu_s", "orjson_cpu_s", "native_parse_cpu_s", "window_commits_cpu_s", "plain_insert_cpu_s")
        expect(all(bound[part] > 0 for part in parts), f"lower_bound: a part measured nothing: "
               f"{ {part: bound[part] for part in parts} }")
    return problems


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="reduced sizes (each benchmark's --quick)")
    sizes.add_argument("--smoke", action="store_true", help="the smallest sizes that still run every path")
    parser.add_argument("--only", default="", metavar="NAMES",
                        help=f"comma-separated benchmarks to run (default all: {', '.join(BENCHMARKS)})")  # fmt: skip
    parser.add_argument("--skip", default="", metavar="NAMES", help="comma-separated benchmarks to leave out")
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="write every benchmark's numbers here as one JSON object")  # fmt: skip
    parser.add_argument("--check", action="store_true",
                        help="check what every benchmark measured (not its timings); exit 1 on a problem")  # fmt: skip
    args = parser.parse_args()
    size = "smoke" if args.smoke else "quick" if args.quick else "full"
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    skipped = [name.strip() for name in args.skip.split(",") if name.strip()]
    unknown = [name for name in chosen + skipped if name not in BENCHMARKS]
    chosen = [name for name in chosen if name not in skipped]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    report: dict[str, Any] = {"size": size, "benchmarks": {}}
    with tempfile.TemporaryDirectory(prefix="bench-") as directory:
        for name in chosen:
            json_out = Path(directory) / f"{name}.json"
            code, seconds = run_one(name, size, json_out)
            results = json.loads(json_out.read_text()) if json_out.exists() else None
            report["benchmarks"][name] = {"exit_code": code, "seconds": seconds, "results": results}

    print("\n=== summary ===")
    for name, outcome in report["benchmarks"].items():
        code = outcome["exit_code"]
        print(f"{name:20s} {'ok' if code == 0 else f'FAILED (exit {code})':16s} {outcome['seconds']:7.1f} s")
    if args.json is not None:
        args.json.write_text(json.dumps(report, indent=2) + "\n")
        print(f"results written to {args.json}")
    problems = problems_in(report, chosen) if args.check else []
    for problem in problems:
        print(f"PROBLEM: {problem}")
    if args.check and not problems:
        print("checked: every benchmark ran and measured what it should")
    return 0 if not problems and all(o["exit_code"] == 0 for o in report["benchmarks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
