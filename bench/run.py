"""Runs the benchmarks one after another (what `make bench` does) and says which, if any, failed.

    .venv/bin/python bench/run.py                    # full sizes: several minutes
    .venv/bin/python bench/run.py --quick            # reduced sizes: well under a minute
    .venv/bin/python bench/run.py --smoke --json results.json   # smallest sizes, every path (the tests run this)
    .venv/bin/python bench/run.py --only sync_vs_download --json sync.json

Each benchmark is its own script in bench/, run with this interpreter in a child process, so one cannot skew
another's memory figures; each accepts --quick and --json-out on its own too.  With --json, the numbers of every
benchmark that ran go into one JSON object: {"size": ..., "benchmarks": {name: {"exit_code", "seconds",
"results"}}}, "results" being what that benchmark wrote with --json-out (null when it wrote nothing).
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
}  # fmt: skip


def run_one(name: str, size: str, json_out: Path) -> tuple[int, float]:
    command = [sys.executable, str(BENCH / f"{name}.py"), *BENCHMARKS[name][size], "--json-out", str(json_out)]
    print(f"\n=== {name}{'' if size == 'full' else f' ({size})'} ===", flush=True)
    started = time.perf_counter()
    code = subprocess.run(command, check=False).returncode
    return code, time.perf_counter() - started


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    sizes = parser.add_mutually_exclusive_group()
    sizes.add_argument("--quick", action="store_true", help="reduced sizes (each benchmark's --quick)")
    sizes.add_argument("--smoke", action="store_true", help="the smallest sizes that still run every path")
    parser.add_argument("--only", default="", metavar="NAMES",
                        help=f"comma-separated benchmarks to run (default all: {', '.join(BENCHMARKS)})")  # fmt: skip
    parser.add_argument("--json", type=Path, default=None, metavar="PATH",
                        help="write every benchmark's numbers here as one JSON object")  # fmt: skip
    args = parser.parse_args()
    size = "smoke" if args.smoke else "quick" if args.quick else "full"
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
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
    return 0 if all(outcome["exit_code"] == 0 for outcome in report["benchmarks"].values()) else 1


if __name__ == "__main__":
    sys.exit(main())
