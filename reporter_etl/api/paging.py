"""Pages of the paged operations, and the loop that reads all of them."""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any

import pyarrow as pa

from reporter_etl.api import records
from reporter_etl.api.operations import Operation
from reporter_etl.entities import ENTITIES
from reporter_etl.errors import RecordContractError, UnexpectedResponseError

log = logging.getLogger(__name__)


@dataclass
class Page:
    """One page of a paged operation: its paging numbers, its items and the whole response body."""

    operation: str
    page_num: int
    page_size: int
    total_count: int
    items: list[dict[str, Any]]
    body: dict[str, Any] = field(repr=False)
    entity: str | None = None  # the reporter_etl.entities description the items follow, when there is one

    @property
    def is_last(self) -> bool:
        return not self.items or (self.page_num + 1) * self.page_size >= self.total_count

    @property
    def filter_set_id(self) -> str | None:
        return self.body.get("filterSetId")

    def to_record_batch(self) -> pa.RecordBatch:
        """The items as Arrow with the entity's column contract (reporter_etl.entities)."""
        if self.entity is None:
            raise ValueError(f"{self.operation} pages have no column contract; use .items")
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
    )


def iterate_pages(op: Operation, fetch: Callable[[int, int], Any], size: int, first_page: int = 0) -> Iterator[Page]:
    """Every page from `first_page` on, asking for `size` rows each, until ``totalCount`` is reached.

    Stops after the page that reaches ``totalCount`` (by the page size the server echoes, which may be smaller
    than asked), on an empty page, or when the page count that ``totalCount`` allows is used up, so a server
    that keeps growing cannot keep it reading forever.  Whether the pages form a consistent snapshot is the
    caller's question (reporter_etl.extract checks it).
    """
    page_number = first_page
    budget: int | None = None
    while True:
        page = parse_page(op, fetch(page_number, size))
        if page.page_num != page_number:
            raise UnexpectedResponseError(
                f"{op.name}: asked for page {page_number}, the server answered page {page.page_num}", operation=op.name
            )
        if page.page_size < 1:
            page.page_size = size
        if len(page.items) > page.page_size:
            raise UnexpectedResponseError(
                f"{op.name}: page {page_number} holds {len(page.items)} items, more than its pageSize "
                f"{page.page_size}", operation=op.name,
            )  # fmt: skip
        if budget is None:
            budget = first_page + math.ceil(page.total_count / page.page_size) + 1
        yield page
        if page.is_last:
            return
        page_number += 1
        if page_number >= budget:
            log.warning("%s: totalCount kept growing while paging; stopped after %d pages", op.name, page_number)
            return
