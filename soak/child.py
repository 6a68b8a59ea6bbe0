"""One sync in a process of its own, for the soak: it kills itself with SIGKILL at a chosen point, or finishes.

    python -m soak.child DB BASE_URL --start D --end D [--models] [--kill-on TEXT --nth N [--delay-ms MS]]
                                                        [--kill-after-s S]

The token comes from $REPORTER_TOKEN (never from the arguments).  ``--kill-on`` counts the log records of
reporter_etl whose message holds TEXT and dies at the N-th, at once or MS milliseconds later (so that the kill
lands inside what follows: a COMMIT, a checkpoint, the next request).  Prints "done in S s" when the sync finished.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import threading
import time
from datetime import date

from reporter_etl import Settings, open_sync
from reporter_etl.api import RetryPolicy, Timeouts

FAST_RETRY = RetryPolicy(max_attempts=8, base_delay=0.001, max_delay=0.01, retry_after_cap=0.01)


def die() -> None:
    os.kill(os.getpid(), signal.SIGKILL)


class KillAt(logging.Handler):
    def __init__(self, text: str, nth: int, delay_ms: float) -> None:
        super().__init__(logging.DEBUG)
        self.text, self.nth, self.delay_ms, self.seen = text, nth, delay_ms, 0

    def emit(self, record: logging.LogRecord) -> None:
        if self.text not in record.getMessage():
            return
        self.seen += 1
        if self.seen != self.nth:
            return
        if self.delay_ms > 0:
            threading.Timer(self.delay_ms / 1000, die).start()
        else:
            die()


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("db")
    parser.add_argument("base_url")
    parser.add_argument("--start", type=date.fromisoformat, required=True)
    parser.add_argument("--end", type=date.fromisoformat, required=True)
    parser.add_argument("--page-size", type=int, default=50)
    parser.add_argument("--lock-timeout", type=float, default=120.0)
    parser.add_argument("--kill-on", default=None)
    parser.add_argument("--nth", type=int, default=1)
    parser.add_argument("--delay-ms", type=float, default=0.0)
    parser.add_argument("--kill-after-s", type=float, default=None)
    parser.add_argument("--models", action="store_true", help="build the models after the sync, as the CLI does")
    args = parser.parse_args()
    if args.kill_on:
        ours = logging.getLogger("reporter_etl")
        ours.setLevel(logging.DEBUG)
        ours.addHandler(KillAt(args.kill_on, args.nth, args.delay_ms))
    if args.kill_after_s is not None:
        threading.Timer(args.kill_after_s, die).start()
    token = os.environ["REPORTER_TOKEN"]
    started = time.monotonic()
    settings = Settings(db_path=args.db, token=token, base_url=args.base_url, page_size=args.page_size,
                        lock_timeout=args.lock_timeout, retry=FAST_RETRY, timeouts=Timeouts(connect=5, read=30))
    with open_sync(settings) as session:  # what `reporter-etl sync` runs
        result = session.sync_days(args.start, args.end, reconcile=True, refresh_catalogs=True)
        if args.models:
            session.build_models(result)
    print(f"done in {time.monotonic() - started:.3f} s", flush=True)
    os._exit(0)  # a --kill-after-s timer must not keep the process alive


if __name__ == "__main__":
    main()
