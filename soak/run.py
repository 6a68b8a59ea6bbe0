"""The soak: seeded fault schedules, SIGKILLs spread over a run, concurrent writers and a reader holding the file,
each followed by a sync with the faults off and a comparison with the simulator's ground truth.

    .venv/bin/python -m soak.run            # make soak: ≥ 200 schedules, ≥ 30 kills; minutes
    .venv/bin/python -m soak.run --quick    # make soak-quick (make test runs it): a few of each, every kill place

Every scenario ends the same way: a nightly sync (no --start, lookback 0, faults off) goes on from whatever the
hostile run left, then the three raw tables are compared with the World's truth: a key the truth has and the
warehouse lacks is a lost row, a key held twice (in an entity or a label link table) a doubled row, a key the
truth lacks or a row whose values differ a wrong row; a nightly sync that raises is a failed rerun.  The hostile
run itself may fail (that is what faults are for); the table says how often.

Prints one table, then a line with the totals.  Exit status 0 only when nothing was lost, doubled or wrong, no
rerun failed, no mart was stale, the schedule and kill counts reached the minimum asked for and (--quick) a kill
landed in each place the quick plan aims at; otherwise each reason on a line of its own starting "FAILED:".
"""

from __future__ import annotations

import argparse
import logging
import os
import random
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

from reporter_etl import Settings, open_sync
from reporter_etl.api import ReporterClient, RetryPolicy, Timeouts
from reporter_etl.models import build_warehouse_models, load_models
from reporter_etl.simulator import FaultConfig, Simulator, WorldConfig
from reporter_etl.sync import Syncer
from reporter_etl.warehouse import Warehouse, open_readonly
from tests.sync_support import truth_client_rows, truth_message_rows, truth_session_rows, warehouse_rows

REPO = Path(__file__).resolve().parents[1]
TOKEN = "soak-token-6d2f9a41c8"
END = date(2026, 11, 20)
DAYS = 3
FIRST = END - timedelta(days=DAYS - 1)
NOW = datetime(END.year, END.month, END.day, tzinfo=UTC) + timedelta(days=1, hours=1)  # END is the last full day

FAST_RETRY = RetryPolicy(max_attempts=6, base_delay=0.001, max_delay=0.01, retry_after_cap=0.01)
HOSTILE_TIMEOUTS = Timeouts(connect=2.0, read=0.5)  # a hung request costs half a second, not two minutes
CLEAN_TIMEOUTS = Timeouts(connect=5.0, read=60.0)


# ------------------------------------------------------------------------------------------------ results


@dataclass
class Tally:
    group: str
    schedules: int = 0
    kills: int = 0
    hostile_failed: int = 0
    reruns_failed: int = 0
    lost: int = 0
    doubled: int = 0
    wrong: int = 0
    stale_models: int = 0
    seconds: float = 0.0
    notes: list[str] = field(default_factory=list)

    def add(self, diff: Diff) -> None:
        self.lost += diff.lost
        self.doubled += diff.doubled
        self.wrong += diff.wrong
        self.stale_models += diff.stale_models
        if diff.detail and len(self.notes) < 3:
            self.notes.append(diff.detail)


@dataclass
class Diff:
    lost: int = 0
    doubled: int = 0
    wrong: int = 0
    stale_models: int = 0
    detail: str = ""


def compare_with_truth(db: Path, world) -> Diff:  # noqa: ANN001 - a simulator World
    """Lost, doubled and wrong rows of the three raw entity tables (and doubled label links) against the truth."""
    start, end = world.start, world.end
    with world.lock:
        truths = {"messages": truth_message_rows(world, start, end), "sessions": truth_session_rows(world, start, end),
                  "clients": truth_client_rows(world, start, end)}  # fmt: skip
    messages, sessions, clients, keys = warehouse_rows(db, world.project_short_name)
    held = {"messages": messages, "sessions": sessions, "clients": clients}
    diff = Diff()
    for _, rows, distinct in keys:
        diff.doubled += rows - distinct
    con = open_readonly(db)
    try:
        links = (("message_label_links", "question_id, label_id"), ("session_label_links", "session_id, label_id"))
        for table, key in links:
            rows, distinct = con.execute(
                f"select count(*), count(distinct ({key})) from raw.{table}").fetchone()  # fmt: skip
            diff.doubled += rows - distinct
    finally:
        con.close()
    details = []
    for entity, truth in truths.items():
        mine = held[entity]
        lost = len(truth.keys() - mine.keys())
        extra = len(mine.keys() - truth.keys())
        changed = sum(1 for k in truth.keys() & mine.keys() if truth[k] != mine[k])
        diff.lost += lost
        diff.wrong += extra + changed
        if lost or extra or changed:
            details.append(f"{entity}: {lost} lost, {extra} unknown, {changed} differ")
    diff.detail = "; ".join(details)
    return diff


# ------------------------------------------------------------------------------------------------ syncs


def hostile_client(base_url: str, page_size: int = 50) -> ReporterClient:
    return ReporterClient(base_url, TOKEN, retry=FAST_RETRY, timeouts=HOSTILE_TIMEOUTS, page_size=page_size)


def full_sync(db: Path, base_url: str) -> None:
    """The hostile run: every day of the world, asked for explicitly."""
    with hostile_client(base_url) as client, Warehouse.open(db, lock_timeout=30) as wh:
        Syncer(client, wh).run(start=FIRST, end=END)


def nightly_sync(db: Path, base_url: str, models: bool = False) -> None:
    """The run after: from the saved state, no lookback, so that it relies on what the hostile run committed.
    (When the hostile run committed no day at all, from the world's first day rather than the last 30 days.)
    With ``models``, the models are built after it, as `reporter-etl sync` does."""
    settings = Settings(db_path=db, token=TOKEN, base_url=base_url, page_size=200, lock_timeout=60,
                        lookback=timedelta(0), retry=FAST_RETRY, timeouts=CLEAN_TIMEOUTS)  # fmt: skip
    with open_sync(settings) as session:
        start = None if session.warehouse.latest_done_end(session.project) else FIRST
        result = session.sync_days(start, END, now=NOW, reconcile=True, refresh_catalogs=True)
        if models:
            session.build_models(result)


def stale_model_rows(db: Path, work: Path) -> tuple[int, str]:
    """Rows in which the marts differ from a whole build of the same raw tables (on a copy of the file)."""
    copy = work / f"{db.stem}-whole.duckdb"
    shutil.copyfile(db, copy)
    try:
        build_warehouse_models(copy)
        mine, whole = marts_snapshot(db), marts_snapshot(copy)
    finally:
        copy.unlink(missing_ok=True)
    differing = {name: len(set(whole[name]) ^ set(mine.get(name, []))) for name in whole}
    stale = {name: n for name, n in differing.items() if n}
    return sum(stale.values()), ", ".join(f"{name} {n}" for name, n in sorted(stale.items()))


def marts_snapshot(db: Path) -> dict[str, list[tuple]]:
    def norm(value: object) -> object:  # parallel sums may differ in the last bit
        return float(f"{value:.10g}") if isinstance(value, float) else value

    names = [m.name for m in load_models() if m.kind in ("mart", "python") and m.name != "marts.build_settings"]
    con = open_readonly(db)
    try:
        present = {f"{s}.{t}" for s, t in con.execute(
            "select table_schema, table_name from information_schema.tables").fetchall()}  # fmt: skip
        return {name: [tuple(norm(v) for v in row) for row in con.execute(f"select * from {name}").fetchall()]
                for name in names if name in present}  # fmt: skip
    finally:
        con.close()


def rerun_and_compare(tally: Tally, db: Path, sim: Simulator, models: bool = False) -> None:
    sim.faults = None
    try:
        nightly_sync(db, sim.base_url, models=models)
    except Exception as exc:  # noqa: BLE001 - counted and named, the soak goes on
        tally.reruns_failed += 1
        if len(tally.notes) < 3:
            tally.notes.append(f"rerun failed: {type(exc).__name__}: {str(exc)[:160]}")
        return
    tally.add(compare_with_truth(db, sim.world))
    if models:
        stale, detail = stale_model_rows(db, db.parent)
        tally.stale_models += stale
        if stale and len(tally.notes) < 3:
            tally.notes.append(f"marts differ from a whole build: {detail}")


@contextmanager
def silent_server() -> Iterator[str]:
    """A server that accepts connections and never answers (nor reads): a proxy that has stopped."""
    listener = socket.create_server(("127.0.0.1", 0))
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        listener.settimeout(0.2)
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except (TimeoutError, OSError):
                continue
            held.append(conn)

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}"
    finally:
        stop.set()
        thread.join(timeout=5)
        for conn in held:
            conn.close()
        listener.close()


# ------------------------------------------------------------------------------------------------ schedules


@dataclass(frozen=True)
class Schedule:
    group: str
    world_seed: int
    faults: FaultConfig | None  # None: the whole hostile run talks to a server that never answers


def fault_kinds(seed: int) -> list[tuple[str, FaultConfig]]:
    """Each kind alone, at a high rate."""
    return [
        ("429 rate limit 50%", FaultConfig(seed=seed, rate_limit=0.5, retry_after_seconds=1)),
        ("5xx JSON 50%", FaultConfig(seed=seed, server_error=0.5)),
        ("HTML 502 40%", FaultConfig(seed=seed, html=0.4, html_ok_share=0.0)),
        ("HTML with 200, 20%", FaultConfig(seed=seed, html=0.2, html_ok_share=1.0)),
        ("HTML with 200, 3%", FaultConfig(seed=seed, html=0.03, html_ok_share=1.0)),
        ("dropped connection 40%", FaultConfig(seed=seed, drop=0.4)),
        ("dropped mid-body 40%", FaultConfig(seed=seed, drop_mid_body=0.4)),
        ("never answered 15%", FaultConfig(seed=seed, hang=0.15)),
        ("slow 60% (50 ms)", FaultConfig(seed=seed, slow=0.6, slow_seconds=0.05)),
        ("paging drift 100%", FaultConfig(seed=seed, drift=1.0, drift_rows=4)),
    ]


def everything(seed: int) -> FaultConfig:
    return FaultConfig(seed=seed, rate_limit=0.08, retry_after_seconds=1, server_error=0.08, html=0.06,
                       html_ok_share=0.5, drop=0.06, drop_mid_body=0.06, hang=0.03, slow=0.1, slow_seconds=0.02,
                       drift=0.4, drift_rows=3)  # fmt: skip


def schedules(world_seeds: list[int], fault_seeds: list[int], together_seeds: list[int], silent: int) -> list[Schedule]:
    chosen: list[Schedule] = []
    for world_seed in world_seeds:
        for fault_seed in fault_seeds:
            kinds = fault_kinds(fault_seed * 7919 + world_seed)
            chosen += [Schedule(name, world_seed, faults) for name, faults in kinds]
        chosen += [Schedule("all kinds together", world_seed, everything(s * 104729 + world_seed))
                   for s in together_seeds]  # fmt: skip
        chosen += [Schedule("server accepts, never answers", world_seed, None) for _ in range(silent)]
    return chosen


def world_config(seed: int) -> WorldConfig:
    # Held-back rows give the drift fault something to release; 150-250 messages a day make several pages of 50.
    return WorldConfig(seed=seed, days=DAYS, end_date=END, messages_per_day=150 + (seed % 3) * 50, delayed_share=0.1)


def run_schedule(schedule: Schedule, sim: Simulator, db: Path, tally: Tally) -> None:
    tally.schedules += 1
    try:
        if schedule.faults is None:
            with silent_server() as dead_url:
                started = time.monotonic()
                try:
                    full_sync(db, dead_url)
                finally:
                    waited = time.monotonic() - started
                    if len(tally.notes) < 1:
                        tally.notes.append(f"gave up after {waited:.1f} s")
        else:
            sim.faults = schedule.faults
            full_sync(db, sim.base_url)
    except Exception:  # noqa: BLE001 - a hostile run may fail; the rerun must repair it
        tally.hostile_failed += 1
    rerun_and_compare(tally, db, sim)


# ------------------------------------------------------------------------------------------------ kills


@dataclass(frozen=True)
class KillPoint:
    group: str
    where: str
    kill_on: str | None = None
    nth: int = 1
    delay_ms: float = 0.0
    after_s: float | None = None
    mild_faults: bool = False
    models: bool = True  # the child builds the models after its sync, as `reporter-etl sync` does


def kill_points(quick: bool, rng: random.Random, requests_in_a_run: int, run_seconds: float) -> list[KillPoint]:
    if quick:
        return [
            KillPoint(WINDOW, "inside window 2's transaction", "merged, committing", 2),
            KillPoint(WINDOW, "in window 1's COMMIT (+2 ms)", "merged, committing", 1, delay_ms=2),
            KillPoint(CATALOG, "inside the catalog transaction", "replaced, committing", 1),
            KillPoint(REQUEST, f"after request {requests_in_a_run // 2}", " attempt ", requests_in_a_run // 2),
            KillPoint(MODELS, "after the 5th model", "built ", 5),
        ]
    points = [KillPoint(START, "after the schema is created", "warehouse schema migrated", 1),
              KillPoint(START, "after planning, before the run record", "sync of ", 1)]  # fmt: skip
    for window in (1, 2, 3):
        points += [KillPoint(WINDOW, f"inside window {window}'s transaction", "merged, committing", window),
                   KillPoint(WINDOW, f"in window {window}'s COMMIT (+1 ms)", "merged, committing", window, delay_ms=1),
                   KillPoint(WINDOW, f"in window {window}'s COMMIT (+4 ms)", "merged, committing", window, delay_ms=4),
                   KillPoint(WINDOW, f"just after window {window} committed", "loaded in", window)]  # fmt: skip
    points += [KillPoint(CATALOG, "first catalog read", "list_message_labels attempt", 1),
               KillPoint(CATALOG, "last catalog read", "count_experiment_sessions attempt", 1),
               KillPoint(CATALOG, "inside the catalog transaction", "replaced, committing", 1),
               KillPoint(CATALOG, "in the catalog COMMIT (+1 ms)", "replaced, committing", 1, delay_ms=1),
               KillPoint(CATALOG, "in the catalog COMMIT (+4 ms)", "replaced, committing", 1, delay_ms=4)]  # fmt: skip
    for nth, delay in ((1, 0.0), (3, 1.0), (6, 0.0), (9, 3.0), (12, 0.0), (16, 1.0)):
        points.append(KillPoint(MODELS, f"after model {nth}" + (f" (+{delay:g} ms)" if delay else ""), "built ",
                                nth, delay_ms=delay))  # fmt: skip
    step = max(1, requests_in_a_run // 12)
    for n in range(1, requests_in_a_run, step):
        points.append(KillPoint(REQUEST, f"after request {n} of ~{requests_in_a_run}", " attempt ", n,
                                mild_faults=n % 2 == 0))  # fmt: skip
    for _ in range(4):
        moment = rng.uniform(0.05, 0.95) * run_seconds
        points.append(KillPoint(TIMED, f"at {moment:.2f} s of ~{run_seconds:.2f} s", after_s=moment))
    return points


START = "SIGKILL: start of the run"
WINDOW = "SIGKILL: in and around a window commit"
CATALOG = "SIGKILL: catalog refresh"
REQUEST = "SIGKILL: after request n"
TIMED = "SIGKILL: at a random moment"
MODELS = "SIGKILL: model build"


MILD = FaultConfig(seed=17, rate_limit=0.05, retry_after_seconds=1, server_error=0.05, drift=0.3, drift_rows=2)


def child_command(db: Path, base_url: str, *extra: str) -> list[str]:
    return [sys.executable, "-m", "soak.child", str(db), base_url, "--start", FIRST.isoformat(),
            "--end", END.isoformat(), *extra]  # fmt: skip


def child_env() -> dict[str, str]:
    return {**os.environ, "REPORTER_TOKEN": TOKEN, "PYTHONPATH": str(REPO)}


def run_kill(point: KillPoint, sim: Simulator, db: Path, tally: Tally) -> bool:
    """One child sync killed at ``point``; False when it finished before reaching it (no kill)."""
    sim.faults = MILD if point.mild_faults else None
    extra: list[str] = []
    if point.kill_on:
        extra += ["--kill-on", point.kill_on, "--nth", str(point.nth), "--delay-ms", str(point.delay_ms)]
    if point.after_s is not None:
        extra += ["--kill-after-s", f"{point.after_s:.3f}"]
    if point.models:
        extra.append("--models")
    done = subprocess.run(child_command(db, sim.base_url, *extra), cwd=REPO, env=child_env(), capture_output=True,
                          text=True, timeout=300, check=False)  # fmt: skip
    if done.returncode != -9:
        tally.notes.append(f"not killed ({point.where}): exit {done.returncode} {done.stderr.strip()[-200:]}")
        return False
    tally.kills += 1
    tally.add(check_done_windows(db))
    rerun_and_compare(tally, db, sim, models=point.models)
    return True


def check_done_windows(db: Path) -> Diff:
    """Right after a kill, before anything repairs it: every window the state calls done holds exactly the
    messages it recorded, and no message lies outside a done window (a torn commit would show here)."""
    if not db.exists():
        return Diff()
    con = open_readonly(db)
    try:
        if not con.execute("select count(*) from information_schema.tables where table_schema = 'meta' "
                           "and table_name = 'sync_state'").fetchone()[0]:  # fmt: skip
            return Diff()
        torn = con.execute(
            "select count(*) from meta.sync_state s where entity = 'messages' and row_count <> (select count(*) "
            "from raw.messages m where m.message_time >= s.window_start and m.message_time < s.window_end)"
        ).fetchone()[0]
        stray = con.execute(
            "select count(*) from raw.messages m where not exists (select 1 from meta.sync_state s where "
            "s.entity = 'messages' and m.message_time >= s.window_start and m.message_time < s.window_end)"
        ).fetchone()[0]
    finally:
        con.close()
    return Diff(wrong=torn + stray, detail=f"after the kill: {torn} torn window(s), {stray} stray rows"
                if torn or stray else "")  # fmt: skip


def measure_a_run(sim: Simulator, db: Path) -> tuple[int, float]:
    """Requests and seconds of one whole child sync (where the kill points are spread), the start-up not counted."""
    sim.faults = None
    done = subprocess.run(child_command(db, sim.base_url, "--kill-on", " attempt ", "--nth", "0"), cwd=REPO,
                          env=child_env(), capture_output=True, text=True, timeout=300, check=False)  # fmt: skip
    if done.returncode != 0 or not done.stdout.startswith("done in "):
        raise SystemExit(f"a plain child sync failed: {done.stderr[-2000:]}")
    seconds = float(done.stdout.split()[2])
    con = open_readonly(db)
    try:
        requests = con.execute("select max(request_count) from meta.sync_runs").fetchone()[0]
    finally:
        con.close()
    return int(requests), seconds


# ------------------------------------------------------------------------------------------------ writers


def run_concurrent(writers: int, sim: Simulator, db: Path, tally: Tally, reader_first: bool = False,
                   models_build: bool = False) -> None:  # fmt: skip
    """``writers`` syncs (each building the models after, as the CLI does) on one new file at once; with
    ``reader_first`` while a reader holds the file; with ``models_build`` a `reporter-etl models build` too."""
    tally.schedules += 1
    sim.faults = MILD
    reader = None
    if reader_first:
        Warehouse.open(db).close()  # an empty warehouse for the reader to hold
        reader = subprocess.Popen([sys.executable, "-c", HOLD_A_READER, str(db), "1.5"], cwd=REPO, env=child_env(),
                                  stdout=subprocess.PIPE, text=True)  # fmt: skip
        assert reader.stdout is not None
        if reader.stdout.readline().strip() != "reading":
            raise SystemExit("the reader child did not start")
    children = [subprocess.Popen(child_command(db, sim.base_url, "--lock-timeout", "180", "--models"), cwd=REPO,
                                 env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for _ in range(writers)]  # fmt: skip
    if models_build:
        Warehouse.open(db, lock_timeout=180).close() if not db.exists() else None  # something to build on
        children.append(subprocess.Popen(
            [sys.executable, "-m", "reporter_etl.cli", "models", "build", "--db", str(db), "--lock-timeout", "180"],
            cwd=REPO, env=child_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True))  # fmt: skip
    for child in children:
        out, err = child.communicate(timeout=600)
        if child.returncode != 0 or not (out.startswith("done in ") or "models" in child.args):
            tally.hostile_failed += 1
            tally.notes.append(f"a concurrent writer failed: exit {child.returncode} {err.strip()[-200:]}")
    if reader is not None:
        reader.wait(timeout=60)
    rerun_and_compare(tally, db, sim, models=True)


HOLD_A_READER = """
import sys, time
from reporter_etl.warehouse import open_readonly
con = open_readonly(sys.argv[1])
print("reading", flush=True)
time.sleep(float(sys.argv[2]))
con.close()
"""


# ------------------------------------------------------------------------------------------------ main


def print_table(tallies: list[Tally]) -> None:
    header = (f"{'scenario':38} {'sched':>5} {'kills':>5} {'hostile failed':>14} {'reruns failed':>13} "
              f"{'lost':>5} {'doubled':>7} {'wrong':>5} {'stale marts':>11} {'s':>6}")  # fmt: skip
    print(header)
    print("-" * len(header))
    for t in tallies:
        print(f"{t.group[:38]:38} {t.schedules:>5} {t.kills:>5} {t.hostile_failed:>14} {t.reruns_failed:>13} "
              f"{t.lost:>5} {t.doubled:>7} {t.wrong:>5} {t.stale_models:>11} {t.seconds:>6.1f}")  # fmt: skip
        for note in t.notes[:3]:
            print(f"    {note}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a few schedules of each kind (make soak-quick; CI)")
    parser.add_argument("--min-schedules", type=int, default=None, help="fail when fewer ran (default 200, quick 5)")
    parser.add_argument("--min-kills", type=int, default=None, help="fail when fewer happened (default 30, quick 3)")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.ERROR, format="%(levelname)s %(name)s: %(message)s")
    quick = args.quick
    min_schedules = args.min_schedules if args.min_schedules is not None else (5 if quick else 200)
    min_kills = args.min_kills if args.min_kills is not None else (3 if quick else 30)
    if quick:
        plan = [Schedule("HTML with 200, 20%", 1, fault_kinds(3)[3][1]),
                Schedule("never answered 15%", 1, fault_kinds(3)[7][1]),
                Schedule("dropped mid-body 40%", 1, fault_kinds(3)[6][1]),
                Schedule("all kinds together", 1, everything(5)),
                Schedule("server accepts, never answers", 1, None)]  # fmt: skip
    else:
        plan = schedules(world_seeds=[1, 2, 3], fault_seeds=[1, 2, 3, 4, 5], together_seeds=list(range(1, 16)),
                         silent=2)  # fmt: skip
    rng = random.Random(20261120)
    tallies: dict[str, Tally] = {}
    sims: dict[int, Simulator] = {}
    started_all = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="reporter-soak-") as tmp:
        work = Path(tmp)
        counter = iter(range(10**9))
        progress = [0]

        def fresh_db() -> Path:
            return work / f"w{next(counter)}.duckdb"

        def timed(group: str, action: Callable[[Tally], None]) -> None:
            tally = tallies.setdefault(group, Tally(group))
            started = time.monotonic()
            action(tally)
            tally.seconds += time.monotonic() - started
            progress[0] += 1
            if progress[0] % 25 == 0:
                print(f"soak: {progress[0]} scenarios done, {time.monotonic() - started_all:.0f} s", file=sys.stderr,
                      flush=True)  # fmt: skip

        try:
            for schedule in plan:
                sim = sims.get(schedule.world_seed)
                if sim is None:
                    sim = sims[schedule.world_seed] = Simulator(world_config(schedule.world_seed), token=TOKEN).start()
                timed(schedule.group, lambda t, s=schedule, sim=sim: run_schedule(s, sim, fresh_db(), t))

            kill_sim = sims.get(1) or Simulator(world_config(1), token=TOKEN).start()
            sims[1] = kill_sim
            requests_in_a_run, run_seconds = measure_a_run(kill_sim, fresh_db())
            for point in kill_points(quick, rng, requests_in_a_run, run_seconds):
                timed(point.group, lambda t, p=point: run_kill(p, kill_sim, fresh_db(), t) and None)

            for writers, rounds in ((2, 1 if quick else 3), (3, 0 if quick else 3)):
                for _ in range(rounds):
                    timed(f"{writers} concurrent syncs, one file", lambda t, n=writers: run_concurrent(
                        n, kill_sim, fresh_db(), t))  # fmt: skip
            for _ in range(1 if quick else 3):
                timed("a sync while a reader holds the file", lambda t: run_concurrent(
                    1, kill_sim, fresh_db(), t, reader_first=True))  # fmt: skip
            for _ in range(0 if quick else 3):
                timed("2 syncs and a models build, one file", lambda t: run_concurrent(
                    2, kill_sim, fresh_db(), t, models_build=True))  # fmt: skip
        finally:
            for sim in sims.values():
                sim.stop()
            shutil.rmtree(work, ignore_errors=True)

    rows = list(tallies.values())
    print_table(rows)
    total = Tally("total", schedules=sum(t.schedules for t in rows), kills=sum(t.kills for t in rows),
                  hostile_failed=sum(t.hostile_failed for t in rows), reruns_failed=sum(t.reruns_failed for t in rows),
                  lost=sum(t.lost for t in rows), doubled=sum(t.doubled for t in rows),
                  wrong=sum(t.wrong for t in rows), stale_models=sum(t.stale_models for t in rows))  # fmt: skip
    print(f"({time.monotonic() - started_all:.0f} s in all; hostile failed = the run under faults or killed failed, "
          f"as it may; what counts is the rerun and the comparison)")  # fmt: skip
    print(f"totals: schedules {total.schedules}, kills {total.kills}, lost rows {total.lost}, doubled rows "
          f"{total.doubled}, wrong rows {total.wrong}, stale mart rows {total.stale_models}, "
          f"failed reruns {total.reruns_failed}")  # fmt: skip
    failures = []
    if total.lost or total.doubled or total.wrong or total.reruns_failed or total.stale_models:
        failures.append("rows lost, doubled or wrong, stale marts or a failed rerun (see the table)")
    if total.schedules < min_schedules:
        failures.append(f"{total.schedules} schedules ran, fewer than {min_schedules}")
    if total.kills < min_kills:
        failures.append(f"{total.kills} SIGKILLs happened, fewer than {min_kills}")
    if quick:  # the quick form is there to cover each place a kill can land: each must have had one
        failures += [f"no SIGKILL landed in the group {group!r}" for group in (WINDOW, CATALOG, REQUEST, MODELS)
                     if tallies.get(group, Tally(group)).kills == 0]  # fmt: skip
    for failure in failures:
        print(f"FAILED: {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
