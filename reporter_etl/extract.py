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

from reporter_etl.entities import Entity
from reporter_etl.errors import DriftError
from reporter_etl.keys import dedupe_last, distinct_key_count

log = logging.getLogger(__name__)

MIN_SPLIT = timedelta(seconds=1)


class PageLike(Protocol):
    page_num: int
    total_count: int

    def to_record_batch(self) -> pa.RecordBatch: ...


# A query bound to a MESSAGE_TIME (or activity time) range [start, end); returns an iterator over its pages.
PagedQuery = Callable[[datetime, datetime], Iterator[PageLike]]


@dataclass
class Extraction:
    table: pa.Table
    pages: int = 0
    passes: int = 0
    splits: int = 0


def _one_pass(
    query: PagedQuery, start: datetime, end: datetime, entity: Entity
) -> tuple[pa.Table, bool, int]:
    batches: list[pa.RecordBatch] = []
    totals: set[int] = set()
    pages = 0
    for page in query(start, end):
        pages += 1
        totals.add(page.total_count)
        batches.append(page.to_record_batch())
    table = pa.Table.from_batches(batches, schema=entity.schema)  # no batches: an empty table, without pandas
    consistent = len(totals) <= 1 and table.num_rows == (totals.pop() if totals else 0)
    if consistent and table.num_rows:
        consistent = distinct_key_count(table, entity.key) == table.num_rows
    return table, consistent, pages


def extract(
    query: PagedQuery,
    start: datetime,
    end: datetime,
    entity: Entity,
    *,
    max_passes: int = 3,
) -> Extraction:
    result = Extraction(table=pa.Table.from_batches([], schema=entity.schema))
    _extract_into(query, start, end, entity, max_passes, result)
    return result


def _extract_into(
    query: PagedQuery,
    start: datetime,
    end: datetime,
    entity: Entity,
    max_passes: int,
    result: Extraction,
) -> None:
    for attempt in range(1, max_passes + 1):
        table, consistent, pages = _one_pass(query, start, end, entity)
        result.pages += pages
        result.passes += 1
        if consistent:
            if result.table.num_rows:  # the second half of a split window: a key may be in both halves
                result.table = dedupe_last(pa.concat_tables([result.table, table]), entity.key)
            else:  # a consistent pass has distinct keys already
                result.table = table
            return
        log.info(
            "%s [%s, %s): source changed while paging (pass %d of %d), reading again",
            entity.name, start.isoformat(), end.isoformat(), attempt, max_passes,
        )
        if pages <= 1:
            # A single page is one response: it cannot drift, so a mismatch there is the source's own.
            raise DriftError(
                f"{entity.name} [{start.isoformat()}, {end.isoformat()}): one page holds {table.num_rows} rows "
                f"that do not match its totalCount or repeat keys"
            )
    if end - start <= MIN_SPLIT:
        raise DriftError(f"{entity.name} [{start.isoformat()}, {end.isoformat()}) kept changing while paging")
    middle = start + (end - start) / 2
    result.splits += 1
    log.info("%s [%s, %s): splitting the window to outrun drift", entity.name, start.isoformat(), end.isoformat())
    _extract_into(query, start, middle, entity, max_passes, result)
    _extract_into(query, middle, end, entity, max_passes, result)
