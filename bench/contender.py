"""One contender of the side-by-side benchmark, run once in its own process (bench/side_by_side.py starts it).

    python bench/contender.py transfer|floor|sync|dlt --plan plan.json --workdir DIR [--db FILE]

The plan (written by side_by_side.py) names the server, the token, the day windows and, per window and entity,
the list query with its JSON body, so every contender asks for exactly the same pages.  Prints one JSON line:
the seconds of work (after imports), rows and bytes read, requests made, and contender-specific counts.  The
parent measures wall time, peak RSS and CPU of the whole process (imports included) with wait4.

- transfer: requests.Session, every page's bytes read, nothing parsed (totalCount by a regular expression).
- floor:    the same, plus ``orjson.loads`` of every page: the least any client that reads JSON must do.
- sync:     reporter-etl's sync of the windows into a DuckDB file (``--db``: an existing warehouse to sync into).
- dlt:      dlt's ``rest_api`` source (one resource per window and entity), merge on the natural keys, parquet
            load files, into DuckDB.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import sys
import time
from pathlib import Path
from typing import Any

PAGE_SIZE = 1000
TOTAL_COUNT = re.compile(rb'"totalCount"\s*:\s*(\d+)')
HEADERS = {"Content-Type": "application/json", "Accept": "application/json"}


def _pages(plan: dict[str, Any], parse: bool) -> dict[str, Any]:
    import requests

    started = time.perf_counter()
    rows = dict.fromkeys(plan["entities"], 0)
    made = dict.fromkeys(plan["entities"], 0)
    size = 0
    loads = None
    if parse:
        import orjson

        loads = orjson.loads
    with requests.Session() as http:
        for query in plan["queries"]:
            url = f"{plan['api_root']}/{query['path']}"
            body = query["body"].encode()
            page, pages = 0, 1
            while page < pages:
                response = http.post(url, params={"page": page, "size": PAGE_SIZE, **query["params"]}, data=body,
                                     headers=HEADERS, timeout=600)  # fmt: skip
                response.raise_for_status()
                content = response.content
                size += len(content)
                if loads is not None:
                    parsed = loads(content)
                    total = parsed["paging"]["totalCount"]
                    rows[query["entity"]] += len(parsed[query["items"]])
                else:
                    match = TOTAL_COUNT.search(content)
                    if match is None:
                        raise SystemExit(f"{query['path']}: no totalCount in page {page}")
                    total = int(match.group(1))
                    if page == 0:
                        rows[query["entity"]] += total
                if page == 0:
                    pages = max(1, math.ceil(total / PAGE_SIZE))
                page += 1
            made[query["entity"]] += pages
    return {"work_s": time.perf_counter() - started, "rows": rows, "bytes": size, "requests": made}


def _sync(plan: dict[str, Any], workdir: Path, db: Path | None) -> dict[str, Any]:
    """What ``reporter-etl sync --start --end`` does, through the public API: the windows, the end-of-run
    reconciliation with the platform's counts, and the catalogs."""
    from datetime import date

    from reporter_etl.etl import Settings, open_sync
    from reporter_etl.platform_stats import COUNT_REQUESTS_PER_WINDOW

    started = time.perf_counter()
    path = db or workdir / "sync.duckdb"
    settings = Settings(db_path=path, token=plan["token"], base_url=plan["base_url"])
    with open_sync(settings) as session:
        result = session.sync_days(date.fromisoformat(plan["first"]), date.fromisoformat(plan["last"]),
                                   reconcile=True, refresh_catalogs=True)  # fmt: skip
        by_operation = session.client.requests_by_operation
    work = time.perf_counter() - started
    peak = peak_rss_kib()  # before the check below opens the file again
    # The platform's daily statistics ask a list operation for a count (one row) per window: not list pages.
    counts_only = {op: n * len(result.windows) for op, n in COUNT_REQUESTS_PER_WINDOW.items()}
    by_operation = {op: n - counts_only.get(op, 0) for op, n in by_operation.items()}
    minimum: dict[str, int] = {}
    for report in result.windows:
        for entity, count in report.rows.items():
            minimum[entity] = minimum.get(entity, 0) + max(1, math.ceil(count / PAGE_SIZE))
    return {"work_s": work, "rows": result.rows, "requests_by_operation": by_operation, "minimum": minimum,
            "request_count": sum(by_operation.values()) + sum(counts_only.values()), "counts_only": counts_only,
            "held": _counts(path, "raw", plan["entities"]),
            "peak_rss_kib": peak}  # fmt: skip


def _counts(path: Path, schema: str, tables: list[str]) -> dict[str, int]:
    import duckdb

    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: con.execute(f"SELECT count(*) FROM {schema}.{t}").fetchone()[0] for t in tables}
    finally:
        con.close()


def _dlt(plan: dict[str, Any], workdir: Path) -> dict[str, Any]:
    os.environ.setdefault("RUNTIME__DLTHUB_TELEMETRY", "false")  # no calls home: only 127.0.0.1 is reachable
    os.environ.setdefault("RUNTIME__LOG_LEVEL", "WARNING")
    import dlt
    from dlt.sources.helpers.rest_client.paginators import BasePaginator
    from dlt.sources.rest_api import rest_api_source

    class TotalCountPaginator(BasePaginator):
        """Page numbers from 0 until ``paging.totalCount`` rows are read (dlt's PageNumberPaginator counts pages,
        not rows, and would otherwise read one empty page more per query)."""

        def __init__(self) -> None:
            super().__init__()
            self.page = 0

        def init_request(self, request: Any) -> None:
            self.page = 0
            self._has_next_page = True
            self.update_request(request)

        def update_state(self, response: Any, data: Any = None) -> None:
            match = TOTAL_COUNT.search(response.content)
            total = int(match.group(1)) if match else 0
            self.page += 1
            self._has_next_page = self.page * PAGE_SIZE < total

        def update_request(self, request: Any) -> None:
            request.params = {**(request.params or {}), "page": self.page, "size": PAGE_SIZE}

    keys = {"messages": ["project_short_name", "question_id"], "sessions": ["project_short_name", "session_id"],
            "clients": ["project_short_name", "bot_id", "id"]}  # fmt: skip
    resources = []
    for number, query in enumerate(plan["queries"]):
        entity = query["entity"]
        resources.append({
            "name": f"{entity}_{number}",
            "table_name": entity,
            "primary_key": keys[entity],
            "write_disposition": {"disposition": "merge", "strategy": "delete-insert"},
            "endpoint": {"path": query["path"], "method": "POST", "json": json.loads(query["body"]),
                         "params": dict(query["params"]), "data_selector": query["items"],
                         "paginator": TotalCountPaginator()},
        })  # fmt: skip
    source = rest_api_source({"client": {"base_url": plan["api_root"] + "/"}, "resources": resources})
    started = time.perf_counter()
    db = workdir / "dlt.duckdb"
    pipeline = dlt.pipeline(pipeline_name="bench_dlt", destination=dlt.destinations.duckdb(str(db)),
                            dataset_name="raw", pipelines_dir=str(workdir / "dlt-pipelines"))  # fmt: skip
    pipeline.run(source, loader_file_format="parquet")
    work = time.perf_counter() - started
    peak = peak_rss_kib()
    held = _counts(db, "raw", plan["entities"])
    return {"work_s": work, "rows": held, "held": held, "peak_rss_kib": peak}


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("contender", choices=["transfer", "floor", "sync", "dlt"])
    parser.add_argument("--plan", type=Path, required=True)
    parser.add_argument("--workdir", type=Path, required=True)
    parser.add_argument("--db", type=Path, default=None, help="sync: the warehouse to sync into (else a new one)")
    args = parser.parse_args()
    plan = json.loads(args.plan.read_text())
    if args.contender in ("transfer", "floor"):
        out = _pages(plan, parse=args.contender == "floor")
    elif args.contender == "sync":
        out = _sync(plan, args.workdir, args.db)
    else:
        out = _dlt(plan, args.workdir)
    out.setdefault("peak_rss_kib", peak_rss_kib())
    print(json.dumps(out), flush=True)
    return 0


def peak_rss_kib() -> int:
    """This process's peak RSS since its exec (VmHWM).  wait4's ru_maxrss would be no good: Linux carries the
    high-water mark of the memory the child was forked from (the parent's) across the exec."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


if __name__ == "__main__":
    sys.exit(main())
