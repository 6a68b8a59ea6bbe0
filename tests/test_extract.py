"""The drift guard, on an in-memory source whose rows change between page reads.

The end-to-end form of these cases (the simulator's drift fault over HTTP) lives in the sync tests; here the
source is a plain list so every interleaving is exact.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import pyarrow as pa
import pytest

from reporter_etl.entities import MESSAGES
from reporter_etl.errors import DriftError
from reporter_etl.extract import extract

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def row(n: int, minute: int) -> dict:
    values = {c.name: None for c in MESSAGES.columns}
    values.update(
        question_id=f"q{n:05d}", session_id="s", project_short_name="p", channel_type="telegram", bot_id="b",
        client_id="c", session_start_time=T0, message_time=T0 + timedelta(minutes=minute), is_livechat=False,
    )
    return values


@dataclass
class FakePage:
    page_num: int
    total_count: int
    rows: list[dict]

    def to_record_batch(self) -> pa.RecordBatch:
        return pa.RecordBatch.from_pylist(self.rows, schema=MESSAGES.schema)


class ChangingSource:
    """Newest-first pages of size 10; `arrivals` rows are inserted before reading each page > 0."""

    def __init__(self, n_rows: int, arrivals: list[dict]):
        self.rows = [row(i, i) for i in range(n_rows)]
        self.arrivals = list(arrivals)
        self.page_size = 10

    def query(self, start: datetime, end: datetime):
        def matching():
            hits = [r for r in self.rows if start <= r["message_time"] < end]
            return sorted(hits, key=lambda r: r["message_time"], reverse=True)

        page = 0
        while True:
            if page > 0 and self.arrivals:
                self.rows.append(self.arrivals.pop(0))
            hits = matching()
            yield FakePage(page, len(hits), hits[page * self.page_size:(page + 1) * self.page_size])
            page += 1
            if page * self.page_size >= len(hits):
                return


def test_stable_source_is_read_in_one_pass():
    source = ChangingSource(35, arrivals=[])
    result = extract(source.query, T0, T0 + timedelta(days=1), MESSAGES)
    assert result.passes == 1 and result.pages == 4
    assert sorted(result.table.column("question_id").to_pylist()) == [f"q{i:05d}" for i in range(35)]


def test_rows_arriving_between_pages_are_neither_lost_nor_doubled():
    late = [row(1000 + i, 30 + i) for i in range(3)]  # new rows land in the window, newest first
    source = ChangingSource(35, arrivals=late)
    result = extract(source.query, T0, T0 + timedelta(days=1), MESSAGES)
    keys = result.table.column("question_id").to_pylist()
    assert len(keys) == len(set(keys)) == 38
    assert set(keys) == {r["question_id"] for r in source.rows}
    assert result.passes > 1


def test_persistent_drift_splits_the_window_until_it_converges():
    late = [row(2000 + i, i % 60) for i in range(40)]
    source = ChangingSource(60, arrivals=late)
    result = extract(source.query, T0, T0 + timedelta(hours=2), MESSAGES, max_passes=2)
    keys = result.table.column("question_id").to_pylist()
    assert len(keys) == len(set(keys))
    assert set(keys) == {r["question_id"] for r in source.rows if r["message_time"] < T0 + timedelta(hours=2)}
    assert result.splits >= 1


def test_a_single_page_that_contradicts_its_total_is_an_error():
    def broken(start, end):
        yield FakePage(0, 5, [row(1, 1), row(1, 1)])

    with pytest.raises(DriftError, match="totalCount"):
        extract(broken, T0, T0 + timedelta(days=1), MESSAGES)
