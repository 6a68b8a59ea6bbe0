"""Pages of the paged operations, and the loop that reads all of them."""

from __future__ import annotations

import collections
import contextlib
import functools
import logging
import math
from collections.abc import Callable, Iterator
from concurrent.futures import Future
from typing import Any

import orjson
import pyarrow as pa

from reporter_etl.api import records
from reporter_etl.api.native_pages import FastPage
from reporter_etl.api.operations import Operation
from reporter_etl.entities import ENTITIES
from reporter_etl.errors import RecordContractError, UnexpectedResponseError

log = logging.getLogger(__name__)


class Page:
    """One page of a paged operation: its paging numbers and its items.

    A page read by the native parser (``native_pages``) holds its items as the entity's Arrow columns already,
    plus the raw body; ``items`` and ``body`` are then parsed from it only if someone asks.
    """

    def __init__(self, operation: str, page_num: int, page_size: int, total_count: int, *,
                 items: list[dict[str, Any]] | None = None, body: dict[str, Any] | None = None,
                 entity: str | None = None, table: pa.Table | None = None, content: bytes | None = None,
                 items_field: str | None = None) -> None:  # fmt: skip
        self.operation = operation
        self.page_num = page_num
        self.page_size = page_size
        self.total_count = total_count
        self.entity = entity  # the reporter_etl.entities description the items follow, when there is one
        self.table = table
        self._items = items
        self._body = body
        self._content = content
        self._items_field = items_field
        self.item_count = len(items) if items is not None else (table.num_rows if table is not None else 0)

    def __repr__(self) -> str:
        return (f"Page(operation={self.operation!r}, page_num={self.page_num}, page_size={self.page_size}, "
                f"total_count={self.total_count}, items={self.item_count})")  # fmt: skip

    @property
    def body(self) -> dict[str, Any]:
        if self._body is None:
            self._body = orjson.loads(self._content) if self._content is not None else {}
        return self._body

    @property
    def items(self) -> list[dict[str, Any]]:
        if self._items is None:
            self._items = list(self.body.get(self._items_field or "", []) or [])
        return self._items

    @property
    def is_last(self) -> bool:
        return not self.item_count or (self.page_num + 1) * self.page_size >= self.total_count

    @property
    def filter_set_id(self) -> str | None:
        return self.body.get("filterSetId")

    def to_record_batch(self) -> pa.RecordBatch:
        """The items as Arrow with the entity's column contract (reporter_etl.entities)."""
        if self.entity is None:
            raise ValueError(f"{self.operation} pages have no column contract; use .items")
        if self.table is not None:
            return self.table.combine_chunks().to_batches()[0] if self.table.num_rows else \
                pa.RecordBatch.from_pylist([], schema=self.table.schema)  # fmt: skip
        try:
            return records.items_to_record_batch(self.items, ENTITIES[self.entity])
        except RecordContractError as exc:
            message = f"{self.operation} page {self.page_num}: {exc}"
            raise RecordContractError(message, operation=self.operation) from None


def _int_field(op: Operation, paging: dict[str, Any], name: str) -> int:
    value = paging.get(name)
    if type(value) is not int or value < 0:
        raise UnexpectedResponseError(
            f"{op.name}: paging.{name} should be a non-negative integer but is {value!r}", operation=op.name
        )
    return value


def parse_page(op: Operation, body: Any) -> Page:
    assert op.items_field is not None
    if isinstance(body, FastPage):
        return Page(op.name, body.page_num, body.page_size, body.total_count, entity=op.entity, table=body.table,
                    content=body.content, items_field=op.items_field)  # fmt: skip
    if not isinstance(body, dict):
        raise UnexpectedResponseError(f"{op.name}: the response is not a JSON object", operation=op.name)
    paging = body.get("paging")
    if not isinstance(paging, dict):
        raise UnexpectedResponseError(f"{op.name}: the response has no 'paging' object", operation=op.name)
    items = body.get(op.items_field)
    if not isinstance(items, list):
        raise UnexpectedResponseError(f"{op.name}: the response has no '{op.items_field}' array", operation=op.name)
    return Page(
        operation=op.name,
        page_num=_int_field(op, paging, "pageNum"),
        page_size=_int_field(op, paging, "pageSize"),
        total_count=_int_field(op, paging, "totalCount"),
        items=items,
        body=body,
        entity=op.entity,
        items_field=op.items_field,
    )


def _checked(op: Operation, page: Page, page_number: int, size: int) -> Page:
    if page.page_num != page_number:
        raise UnexpectedResponseError(
            f"{op.name}: asked for page {page_number}, the server answered page {page.page_num}", operation=op.name
        )
    if page.page_size < 1:
        page.page_size = size
    if page.item_count > page.page_size:
        raise UnexpectedResponseError(
            f"{op.name}: page {page_number} holds {page.item_count} items, more than its pageSize "
            f"{page.page_size}", operation=op.name,
        )  # fmt: skip
    return page


Submit = Callable[[Callable[[], Any]], "Future[Any]"]


def iterate_pages(op: Operation, fetch: Callable[[int, int], Any], size: int, first_page: int = 0, *,
                  submit: Submit | None = None, in_flight: int = 2) -> Iterator[Page]:  # fmt: skip
    """Every page from `first_page` on, asking for `size` rows each, until ``totalCount`` is reached.

    Stops after the page that reaches ``totalCount`` (by the page size the server echoes, which may be smaller
    than asked), on an empty page, or when the page count that ``totalCount`` allows is used up, so a server
    that keeps growing cannot keep it reading forever.  Whether the pages form a consistent snapshot is the
    caller's question (reporter_etl.extract checks it).

    With ``submit`` (an executor's), the pages that the first page's ``totalCount`` says exist are fetched up to
    ``in_flight`` at a time, and still handed out in order: the server prepares one page while this process
    reads and converts another.  No page is asked for that a sequential read would not ask for, unless a page
    turns out to be the last before ``totalCount`` says so (an empty page): those already asked for are dropped.
    """
    page = _checked(op, parse_page(op, fetch(first_page, size)), first_page, size)
    budget = first_page + math.ceil(page.total_count / page.page_size) + 1
    yield page
    if page.is_last:
        return
    page_number = first_page + 1
    if submit is not None and in_flight > 1:
        known_last = first_page + math.ceil(page.total_count / page.page_size) - 1
        pending: collections.deque[tuple[int, Future[Any]]] = collections.deque()
        try:
            while page_number <= known_last:
                ahead = page_number + len(pending)
                while len(pending) < in_flight and ahead <= known_last:
                    pending.append((ahead, submit(functools.partial(fetch, ahead, size))))
                    ahead += 1
                number, future = pending.popleft()
                page = _checked(op, parse_page(op, future.result()), number, size)
                yield page
                if page.is_last:
                    return
                page_number += 1
        finally:
            for _, future in pending:  # leave nothing running: the caller may use the client again at once
                future.cancel()
            for _, future in pending:
                if not future.cancelled():
                    with contextlib.suppress(Exception):
                        future.result()
    while page_number < budget:
        page = _checked(op, parse_page(op, fetch(page_number, size)), page_number, size)
        yield page
        if page.is_last:
            return
        page_number += 1
    log.warning("%s: totalCount kept growing while paging; stopped after %d pages", op.name, page_number)
