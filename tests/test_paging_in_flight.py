"""Paging with pages in flight: pages come out in order, no page is asked for that a sequential read would not
ask for, and an early empty page ends the read with nothing left running."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from reporter_etl.api.operations import operation
from reporter_etl.api.paging import iterate_pages

OP = operation("filter_clients")


class Server:
    def __init__(self, total: int, size: int, empty_from: int | None = None) -> None:
        self.total, self.size, self.empty_from = total, size, empty_from
        self.asked: list[int] = []
        self.lock = threading.Lock()

    def fetch(self, page: int, size: int) -> dict[str, Any]:
        with self.lock:
            self.asked.append(page)
        start = page * self.size
        count = 0 if self.empty_from is not None and page >= self.empty_from else max(0, min(self.size,
                                                                                             self.total - start))
        items = [{"id": str(start + i)} for i in range(count)]
        return {"paging": {"pageNum": page, "pageSize": self.size, "totalCount": self.total}, "clients": items}


def test_pages_in_flight_come_out_in_order_and_are_the_sequential_ones() -> None:
    server = Server(total=4500, size=1000)
    with ThreadPoolExecutor(3) as pool:
        pages = list(iterate_pages(OP, server.fetch, 1000, submit=pool.submit, in_flight=3))
    assert [p.page_num for p in pages] == [0, 1, 2, 3, 4]
    assert sorted(server.asked) == [0, 1, 2, 3, 4]
    assert [item["id"] for p in pages for item in p.items] == [str(i) for i in range(4500)]


def test_an_early_empty_page_ends_the_read_and_drains_what_is_in_flight() -> None:
    server = Server(total=6000, size=1000, empty_from=2)
    with ThreadPoolExecutor(2) as pool:
        pages = list(iterate_pages(OP, server.fetch, 1000, submit=pool.submit, in_flight=2))
        assert [p.page_num for p in pages] == [0, 1, 2]
        asked_after = len(server.asked)
    assert pages[-1].is_last and pages[-1].item_count == 0
    assert asked_after <= 4  # at most the pages that were in flight when page 2 came back empty


def test_sequential_and_in_flight_reads_agree() -> None:
    one, two = Server(total=2001, size=1000), Server(total=2001, size=1000)
    with ThreadPoolExecutor(2) as pool:
        in_flight = [p.items for p in iterate_pages(OP, two.fetch, 1000, submit=pool.submit, in_flight=2)]
    assert [p.items for p in iterate_pages(OP, one.fetch, 1000)] == in_flight
    assert one.asked == sorted(two.asked) == [0, 1, 2]
