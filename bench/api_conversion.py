"""JSON → Arrow conversion speed for one entity page (1000 ExtendedMessage items), three ways.

    .venv/bin/python bench/api_conversion.py [--quick] [--pages 30] [--http]

1. column-wise lists + pa.array (what records.items_to_record_batch does),
2. flattened row dicts + pa.RecordBatch.from_pylist (the baseline from design.md),
3. pyarrow.json.read_json on the page's items as NDJSON bytes with an explicit schema (reads nested objects as
   structs; no JSON-text columns, no `extra`, so it does not meet the contract; shown for scale only).

Each figure includes orjson parsing of the page bytes, as the client does.  Pages come from the simulator's
World when it is available, else from a synthetic generator with the same shape.
"""

from __future__ import annotations

import argparse
import io
import random
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pyarrow as pa
import pyarrow.json as pj

sys.path.insert(0, str(Path(__file__).resolve().parent))

from results import add_json_option, write_json  # noqa: E402

from reporter_etl.api.records import MESSAGES, items_to_record_batch  # noqa: E402

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def synthetic_message(i: int, rng: random.Random) -> dict:
    ts = T0 + timedelta(seconds=i * 7)
    msg = {
        "sessionId": f"telegram-1-bot-{i // 8}", "projectShortName": "shop-1234567-KQD", "channelType": "telegram",
        "botId": "1234567-shop-1234567-KQD-1", "client": {"id": f"c{i // 20}", "firstName": "Ann", "lastName": "Lee"},
        "sessionStartTime": (ts - timedelta(minutes=3)).strftime("%Y-%m-%dT%H:%M:%S.000Z"),
        "timestamp": ts.strftime("%Y-%m-%dT%H:%M:%S.") + f"{i % 1000:03d}Z", "questionId": f"q{i:09d}",
        "isLivechat": False, "question": "where is my order " * rng.randint(1, 3), "textAnswer": "It is on its way.",
        "nlpInfo": {"nlpClass": "/Order/Status", "nlpState": "/Order/Status/Answer", "confidence": rng.random(),
                    "fromState": "/Start", "ruleType": "pattern"},
        "pageName": None, "processingTime": rng.randint(20, 400), "requestData": {"channel": "telegram", "n": i},
        "responseData": {"replies": [{"type": "text", "text": "ok"}]}, "cleaned": False,
        "labels": [{"id": 3, "name": "order", "priority": 1, "group": {"id": 1, "name": "topics", "priority": 0}}]
        if i % 5 == 0 else [],
        "sessionLabels": [],
    }  # fmt: skip
    if msg["pageName"] is None:
        del msg["pageName"]
    return msg


def pages_from_world(n_pages: int) -> list[bytes] | None:
    try:
        from reporter_etl.simulator.world import World, WorldConfig

        world = World(WorldConfig(seed=7, days=3, messages_per_day=max(1000, n_pages * 1000 // 3 + 1000)))
        idx = world.query_messages(None)
        items = [world.extended_message(int(i)) for i in idx[: n_pages * 1000]]
    except Exception:
        return None
    if len(items) < n_pages * 1000:
        return None
    return [orjson.dumps({"paging": {}, "messages": items[p * 1000:(p + 1) * 1000]}) for p in range(n_pages)]


def flatten(item: dict) -> dict:
    row = {}
    for c in MESSAGES.columns:
        if not c.api_field:
            continue
        top, _, sub = c.api_field.partition(".")
        v = item.get(top)
        if sub:
            v = v.get(sub) if v else None
        row[c.name] = v
    return row


def way_columnwise(page: bytes) -> int:
    items = orjson.loads(page)["messages"]
    return items_to_record_batch(items, MESSAGES).num_rows


def way_from_pylist(page: bytes) -> int:
    schema = pa.schema([f for f in MESSAGES.schema if f.name not in (
        "labels", "session_labels", "request_data", "data", "response_data", "utterances_json",
        "session_start_time", "message_time")])  # fmt: skip
    rows = [flatten(it) for it in orjson.loads(page)["messages"]]
    return pa.RecordBatch.from_pylist(rows, schema=schema).num_rows


def way_pyarrow_json(page: bytes) -> int:
    items = orjson.loads(page)["messages"]
    ndjson = b"\n".join(orjson.dumps(it) for it in items)
    table = pj.read_json(io.BytesIO(ndjson), parse_options=pj.ParseOptions(unexpected_field_behavior="infer"))
    return table.num_rows


def over_http(n_pages: int) -> dict[str, float]:
    """Paging messages/filter from the simulator at size 1000, to Arrow: HTTP + JSON + conversion together."""
    from reporter_etl.api import ReporterClient, message_time
    from reporter_etl.simulator import Simulator, WorldConfig

    config = WorldConfig(seed=7, days=3, messages_per_day=n_pages * 1000 // 3 + 500)
    with Simulator(config, token="bench-token") as sim, ReporterClient(sim.base_url, "bench-token") as client:
        window = [message_time(sim.world.start, sim.world.now)]
        started = time.perf_counter()
        rows = sum(page.to_record_batch().num_rows for page in client.iter_messages(window))
        elapsed = time.perf_counter() - started
    print(f"{'over HTTP from the simulator (end to end)':45s} {rows / elapsed:>10,.0f} rows/s "
          f"({rows} rows, {client.request_count} requests)")
    return {"rows": rows, "rows_per_s": rows / elapsed, "requests": client.request_count}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="3 pages instead of 30")
    parser.add_argument("--pages", type=int, default=None, help="pages of 1000 messages (default 30; 3 with --quick)")
    parser.add_argument("--http", action="store_true", help="also page through a local simulator over HTTP")
    add_json_option(parser)
    args = parser.parse_args()
    args.pages = args.pages or (3 if args.quick else 30)
    pages = pages_from_world(args.pages)
    source = "simulator World"
    if pages is None:
        rng = random.Random(1)
        pages = [orjson.dumps({"paging": {}, "messages": [synthetic_message(p * 1000 + i, rng) for i in range(1000)]})
                 for p in range(args.pages)]  # fmt: skip
        source = "synthetic"
    print(f"{len(pages)} pages of 1000 messages ({source}), {sum(map(len, pages)) / len(pages) / 1000:.0f} kB/page")
    results: dict[str, object] = {"pages": len(pages), "source": source, "rows_per_s": {}}
    for name, way in (("column-wise + pa.array (used)", way_columnwise),
                      ("row dicts + from_pylist (partial columns)", way_from_pylist),
                      ("pyarrow.json on NDJSON (not the contract)", way_pyarrow_json)):  # fmt: skip
        way(pages[0])  # warm up
        best = float("inf")
        for _ in range(3):
            started = time.perf_counter()
            rows = sum(way(p) for p in pages)
            best = min(best, time.perf_counter() - started)
        print(f"{name:45s} {rows / best:>10,.0f} rows/s")
        results["rows_per_s"][name] = rows / best  # type: ignore[index]
    if args.http:
        results["http"] = over_http(args.pages)
    write_json(args.json_out, results)


if __name__ == "__main__":
    main()
