"""A sampling profile of the sync (every thread, idle samples included) on a simulator world, summarised.

Starts the simulator in a child process, reads the windows once to warm its caches, then runs
``py-spy record --threads --idle --format raw`` on bench/contender.py's sync and prints (and writes with --out):
the share of all samples per thread, the functions with the largest inclusive shares, and the frames where the
samples sit (self time).  py-spy needs ptrace rights (root, or kernel.yama.ptrace_scope=0).

    .venv/bin/python bench/profile_sync.py [--days 10] [--messages-per-day 35000] [--out bench/profiles/x.txt]
"""

from __future__ import annotations

import argparse
import collections
import re
import shutil
import subprocess
import sys
import tempfile
from datetime import timedelta
from pathlib import Path

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))

from child_server import child_simulator  # noqa: E402
from side_by_side import END_DATE, TOKEN, write_plan  # noqa: E402

FRAME = re.compile(r"^(?P<func>.+?) \((?P<file>[^()]*?)(?::\d+)?\)$")


def short(frame: str) -> str:
    """'items_to_record_batch (reporter_etl/api/records.py:412)' -> 'items_to_record_batch (records.py)'."""
    match = FRAME.match(frame.strip())
    if not match:
        return frame.strip()
    return f"{match['func']} ({Path(match['file']).name})"


def summarise(raw: Path, top: int = 25) -> str:
    threads: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    own: collections.Counter[str] = collections.Counter()
    own_by_thread: dict[str, collections.Counter[str]] = collections.defaultdict(collections.Counter)
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = stack.split(";")
        thread = re.sub(r"\(\d+\)|0x[0-9a-f]+", "", frames[0]).strip()
        total += count
        threads[thread] += count
        names = [short(f) for f in frames[1:]]
        for name in set(names):
            inclusive[name] += count
        if names:
            own[names[-1]] += count
            own_by_thread[thread][names[-1]] += count
    lines = [f"{total:,} samples in all (every thread, idle included)", "", "per thread:"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in threads.most_common()]
    lines += ["", "inclusive (a function and what it calls):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in inclusive.most_common(top)]
    lines += ["", "self (where the samples sit):"]
    lines += [f"  {n / total:6.1%}  {name}" for name, n in own.most_common(top)]
    for thread, counter in sorted(own_by_thread.items(), key=lambda item: -sum(item[1].values()))[:3]:
        lines += ["", f"self, {thread} (shares of all samples):"]
        lines += [f"  {n / total:6.1%}  {name}" for name, n in counter.most_common(12)]
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--days", type=int, default=10)
    parser.add_argument("--messages-per-day", type=int, default=35_000)
    parser.add_argument("--rate", type=int, default=100, help="samples per second")
    parser.add_argument("--out", type=Path, default=None, help="also write the summary here")
    parser.add_argument("--raw", type=Path, default=None, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    py_spy = shutil.which("py-spy") or str(Path(sys.executable).parent / "py-spy")
    first = END_DATE - timedelta(days=args.days - 1)
    with tempfile.TemporaryDirectory(prefix="bench-profile-") as tmp, \
            child_simulator(days=args.days, messages_per_day=args.messages_per_day, token=TOKEN,
                            end_date=END_DATE) as sim:  # fmt: skip
        plan = write_plan(Path(tmp) / "plan.json", sim.base_url, first, END_DATE)
        contender = [sys.executable, str(BENCH / "contender.py")]
        subprocess.run([*contender, "transfer", "--plan", str(plan), "--workdir", tmp], check=True,
                       stdout=subprocess.DEVNULL)  # fmt: skip
        raw = args.raw or Path(tmp) / "profile.txt"
        subprocess.run([py_spy, "record", "--threads", "--idle", "--rate", str(args.rate), "--format", "raw",
                        "--output", str(raw), "--", *contender, "sync", "--plan", str(plan), "--workdir", tmp],
                       check=True)  # fmt: skip
        text = f"sync of {args.days} days x ~{args.messages_per_day:,} messages/day\n\n" + summarise(raw)
    print(text)
    if args.out is not None:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(text + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
