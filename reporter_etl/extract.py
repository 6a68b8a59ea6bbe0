"""Reading one entity of one window completely and consistently.

Paging by page number drifts when rows arrive while pages are read: with newest-first ordering a new row
pushes every later row down one place, so a row is read twice and the new one is never read.  A *pass*
reads every page of a query; it is accepted only when every page reported the same ``totalCount`` and the
pass holds exactly that many distinct keys and no repeats.  Otherwise the query is read again; when passes
keep failing, the window is split in two and each half read the same way, down to windows that fit in a
single page (a single response cannot drift).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

import pyarrow as pa
import pyarrow.compute as pc

from reporter_etl.api.records import EntityContract

log = logging.getLogger(__name__)

MIN_SPLIT = timedelta(seconds=1)


class PageLike(Protocol):
    page_num: int
    total_count: int

    def to_record_batch(self) -> pa.RecordBatch: ...


# A query bound to a MESSAGE_TIME (or activity time) range [start, end); returns an iterator over its pages.
PagedQuery = Callable[[datetime, datetime], Iterator[PageLike]]


class DriftError(RuntimeError):
    """The source kept changing under the reader until even the smallest window could not be read whole."""


@dataclass
class Extraction:
    table: pa.Table
    pages: int = 0
    passes: int = 0
    splits: int = 0


def key_array(table: pa.Table, contract: EntityContract) -> pa.ChunkedArray:
    if len(contract.key) == 1:
        return table.column(contract.key[0])
    return pc.binary_join_element_wise(*[table.column(k) for k in contract.key], "\x1f")


def distinct_keys(table: pa.Table, contract: EntityContract) -> int:
    return pc.count_distinct(key_array(table, contract)).as_py()


def dedupe_last(table: pa.Table, contract: EntityContract) -> pa.Table:
    """Keep the last row of every key (later reads are newer versions)."""
    if table.num_rows == 0 or distinct_keys(table, contract) == table.num_rows:
        return table
    keys = key_array(table, contract).to_pylist()
    last_index = {key: i for i, key in enumerate(keys)}
    return table.take(pa.array(sorted(last_index.values()), pa.int64()))


def _one_pass(
    query: PagedQuery, start: datetime, end: datetime, contract: EntityContract
) -> tuple[pa.Table, bool, int]:
    batches: list[pa.RecordBatch] = []
    totals: set[int] = set()
    pages = 0
    for page in query(start, end):
        pages += 1
        totals.add(page.total_count)
        batches.append(page.to_record_batch())
    table = pa.Table.from_batches(batches, schema=contract.schema) if batches else contract.schema.empty_table()
    consistent = len(totals) <= 1 and table.num_rows == (totals.pop() if totals else 0)
    if consistent and table.num_rows:
        consistent = distinct_keys(table, contract) == table.num_rows
    return table, consistent, pages


def extract(
    query: PagedQuery,
    start: datetime,
    end: datetime,
    contract: EntityContract,
    *,
    max_passes: int = 3,
) -> Extraction:
    result = Extraction(table=contract.schema.empty_table())
    _extract_into(query, start, end, contract, max_passes, result)
    return result


def _extract_into(
    query: PagedQuery,
    start: datetime,
    end: datetime,
    contract: EntityContract,
    max_passes: int,
    result: Extraction,
) -> None:
    for attempt in range(1, max_passes + 1):
        table, consistent, pages = _one_pass(query, start, end, contract)
        result.pages += pages
        result.passes += 1
        if consistent:
            merged = pa.concat_tables([result.table, table]) if result.table.num_rows else table
            result.table = dedupe_last(merged, contract)
            return
        log.info(
            "%s [%s, %s): source changed while paging (pass %d of %d), reading again",
            contract.name, start.isoformat(), end.isoformat(), attempt, max_passes,
        )
        if pages <= 1:
            # A single page is one response: it cannot drift, so a mismatch there is the source's own.
            raise DriftError(
                f"{contract.name} [{start.isoformat()}, {end.isoformat()}): one page holds {table.num_rows} rows "
                f"that do not match its totalCount or repeat keys"
            )
    if end - start <= MIN_SPLIT:
        raise DriftError(f"{contract.name} [{start.isoformat()}, {end.isoformat()}) kept changing while paging")
    middle = start + (end - start) / 2
    result.splits += 1
    log.info("%s [%s, %s): splitting the window to outrun drift", contract.name, start.isoformat(), end.isoformat())
    _extract_into(query, start, middle, contract, max_passes, result)
    _extract_into(query, middle, end, contract, max_passes, result)
