"""Runs the benchmarks one after another (what `make bench` does) and says which, if any, failed.

    .venv/bin/python bench/run.py                    # full sizes: several minutes
    .venv/bin/python bench/run.py --quick            # reduced sizes: well under a minute (CI runs this)
    .venv/bin/python bench/run.py --only sync_vs_download --json-out sync.json

Each benchmark is its own script in bench/, run with this interpreter in a child process, so one cannot skew
another's memory figures; each accepts --quick on its own too.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time
from pathlib import Path

BENCH = Path(__file__).resolve().parent
# name -> extra arguments at full size (--quick replaces them)
BENCHMARKS: dict[str, list[str]] = {
    "world_build": [],
    "simulator_serve": [],
    "api_conversion": ["--http"],
    "warehouse_load": ["--with-sessions"],
    "sync_vs_download": [],
    "models_build": [],
}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="pass --quick to every benchmark (reduced sizes)")
    parser.add_argument("--only", default="", metavar="NAMES",
                        help=f"comma-separated benchmarks to run (default all: {', '.join(BENCHMARKS)})")  # fmt: skip
    parser.add_argument("--json-out", type=Path, default=None, help="where sync_vs_download writes its results")
    args = parser.parse_args()
    chosen = [name.strip() for name in args.only.split(",") if name.strip()] or list(BENCHMARKS)
    unknown = [name for name in chosen if name not in BENCHMARKS]
    if unknown:
        parser.error(f"unknown benchmark(s): {', '.join(unknown)}")

    outcomes: list[tuple[str, int, float]] = []
    for name in chosen:
        command = [sys.executable, str(BENCH / f"{name}.py"), *(["--quick"] if args.quick else BENCHMARKS[name])]
        if name == "sync_vs_download" and args.json_out is not None:
            command += ["--json-out", str(args.json_out)]
        print(f"\n=== {name}{' (quick)' if args.quick else ''} ===", flush=True)
        started = time.perf_counter()
        code = subprocess.run(command, check=False).returncode
        outcomes.append((name, code, time.perf_counter() - started))

    print("\n=== summary ===")
    for name, code, seconds in outcomes:
        print(f"{name:20s} {'ok' if code == 0 else f'FAILED (exit {code})':16s} {seconds:7.1f} s")
    return 0 if all(code == 0 for _, code, _ in outcomes) else 1


if __name__ == "__main__":
    sys.exit(main())
