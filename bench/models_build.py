"""Time of the SQL models: a full build and a one-day incremental build over a synced world, with peak memory.

Syncs a simulated world once (a child simulator, as bench/sync_vs_download.py does), then runs each build in a
fresh child process (so its peak RSS is its own: DuckDB's memory included, the sync's not) and reports seconds
and peak RSS; also the publish of the BI copy, which follows every build.  Targets (issue 8): a full build of
about 1M messages in at most 10 s, a one-day build in at most 1 s.  Nothing is asserted here.

    .venv/bin/python bench/models_build.py                      # 30 days x 35,000 messages: about 1M
    .venv/bin/python bench/models_build.py --quick              # 3 days x 5,000
    .venv/bin/python bench/models_build.py --db big.duckdb      # reuse (or create and keep) a synced warehouse
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

import duckdb

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from child_server import add_world_options, child_simulator, resolve_world_options  # noqa: E402
from results import add_json_option, write_json  # noqa: E402

from reporter_etl.api import ReporterClient  # noqa: E402
from reporter_etl.sync import Syncer  # noqa: E402
from reporter_etl.warehouse import Warehouse  # noqa: E402

REPO = Path(__file__).resolve().parents[1]
TOKEN = "bench-models-token"
END = date(2026, 3, 4)

# One build in a child: prints {"seconds", "publish_seconds", "peak_rss_bytes", "rows"} as JSON.
BUILD_IN_CHILD = """
import json, resource, sys, time
from datetime import date
from reporter_etl.models import ModelsConfig, build, load_models
from reporter_etl.publish import publish
from reporter_etl.warehouse import Warehouse

db, mode, day = sys.argv[1], sys.argv[2], sys.argv[3]
started = time.perf_counter()
import reporter_etl.models.stats  # scipy: paid once per process, reported apart from the build
import_seconds = time.perf_counter() - started
models = load_models()
config = ModelsConfig(success_result="Order placed", outcome_label="Resolved")
with Warehouse.open(db) as wh:
    started = time.perf_counter()
    if mode == "full":
        report = build(wh.con, models, config=config)
    else:
        report = build(wh.con, models, config=config, start=date.fromisoformat(day), end=date.fromisoformat(day))
    seconds = time.perf_counter() - started
    started = time.perf_counter()
    published = publish(wh.con, db.replace(".duckdb", ".published.duckdb"))
    publish_seconds = time.perf_counter() - started
slowest = sorted(report.runs, key=lambda run: -run.seconds)[:3]
print(json.dumps({"seconds": seconds, "publish_seconds": publish_seconds, "import_seconds": import_seconds,
                  "peak_rss_bytes": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024,
                  "published_rows": sum(published.rows.values()),
                  "slowest": [[run.name, round(run.seconds, 3)] for run in slowest]}))
"""


def sync_world(db: Path, days: int, messages_per_day: int, seed: int) -> float:
    started = time.perf_counter()
    with (
        child_simulator(days=days, messages_per_day=messages_per_day, token=TOKEN, seed=seed, end_date=END) as server,
        ReporterClient(server.base_url, TOKEN) as client,
        Warehouse.open(db) as wh,
    ):
        Syncer(client, wh).run(start=END - timedelta(days=days - 1), end=END)
    return time.perf_counter() - started


def build_in_child(db: Path, mode: str, day: date) -> dict:
    command = [sys.executable, "-c", BUILD_IN_CHILD, str(db), mode, day.isoformat()]
    done = subprocess.run(command, capture_output=True, text=True, check=False, cwd=REPO)
    if done.returncode != 0:
        raise SystemExit(f"the {mode} build failed:\n{done.stderr[-3000:]}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    add_world_options(parser)
    parser.add_argument("--db", type=Path, help="a warehouse to reuse; synced into first when it does not exist")
    parser.add_argument("--repeat", type=int, default=None,
                        help="builds of each kind; the median is reported (default 3; 1 with --quick)")
    add_json_option(parser)
    args = parser.parse_args()
    resolve_world_options(args)
    args.repeat = args.repeat or (1 if args.quick else 3)
    with tempfile.TemporaryDirectory(prefix="bench-models-") as folder:
        db = args.db or Path(folder) / "bench.duckdb"
        if db.exists():
            print(f"reusing {db}")
        else:
            seconds = sync_world(db, args.days, args.messages_per_day, args.seed)
            print(f"synced {args.days} days x ~{args.messages_per_day:,} messages into {db} in {seconds:.1f} s")
        con = duckdb.connect(str(db), read_only=True)
        try:
            messages, sessions = con.execute(
                "select (select count(*) from raw.messages), (select count(*) from raw.sessions)").fetchone()
        finally:
            con.close()
        print(f"warehouse: {messages:,} messages, {sessions:,} sessions")
        results: dict[str, list[dict]] = {"full": [], "one day": []}
        if not args.quick:
            build_in_child(db, "full", END)  # the first build creates the tables; not timed
        for _ in range(args.repeat):
            results["full"].append(build_in_child(db, "full", END))
            results["one day"].append(build_in_child(db, "day", END))
    print(f"\n{'build':10s} {'median s':>9s} {'min s':>7s} {'publish s':>10s} {'peak RSS MB':>12s}  slowest models")
    for kind, runs in results.items():
        runs.sort(key=lambda r: r["seconds"])
        median = runs[len(runs) // 2]
        peak = max(r["peak_rss_bytes"] for r in runs) / 2**20
        slowest = ", ".join(f"{name} {s:.2f}" for name, s in median["slowest"])
        print(f"{kind:10s} {median['seconds']:9.2f} {runs[0]['seconds']:7.2f} {median['publish_seconds']:10.2f} "
              f"{peak:12.0f}  {slowest}")  # fmt: skip
    imports = [r["import_seconds"] for runs in results.values() for r in runs]
    print(f"(not in the times: importing the statistics engine, scipy, {min(imports):.2f}-{max(imports):.2f} s per "
          f"process)")
    full = sorted(r["seconds"] for r in results["full"])[len(results["full"]) // 2]
    day = sorted(r["seconds"] for r in results["one day"])[len(results["one day"]) // 2]
    write_json(args.json_out, {
        "messages": messages, "sessions": sessions, "full_seconds": full, "one_day_seconds": day,
        "peak_rss_mib": max(r["peak_rss_bytes"] for runs in results.values() for r in runs) / 2**20,
        "runs": results,
    })  # fmt: skip
    print(f"\ntargets for ~1M messages: full <= 10 s ({'met' if full <= 10 else 'MISSED'} at {messages:,} "
          f"messages), one day <= 1 s ({'met' if day <= 1 else 'MISSED'}); ratio full / one day: {full / day:.1f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
