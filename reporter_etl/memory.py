"""Memory a sync holds outside DuckDB (DuckDB's own bound is ``Warehouse.limits``).

Arrow's default allocator (mimalloc in the pyarrow wheels) keeps freed memory in per-thread heaps: pages are
parsed into Arrow by the page-reader threads and freed by the main thread once committed, so a long sync held
on to most of what it ever parsed (10 days, 64MB DuckDB limit: peak RSS 394 MiB with mimalloc, 374 MiB with the
system allocator; 20 days 418 against 393).  During a sync Arrow allocates from the system allocator, which hands
that memory back for reuse at once.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pyarrow as pa


@contextmanager
def arrow_pool_for_sync() -> Iterator[None]:
    """Arrow's default memory pool is the system allocator during the block, then what it was.

    Process-wide (Arrow has one default pool), but harmless to other users: every buffer remembers the pool it
    came from and is freed there, whichever pool is the default by then."""
    before = pa.default_memory_pool()
    pa.set_memory_pool(pa.system_memory_pool())
    try:
        yield
    finally:
        pa.set_memory_pool(before)
