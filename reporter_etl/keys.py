"""Keys of Arrow tables: how many distinct ones, and keeping the last row of each.

A NULL in a key column is a value like any other (the clients key may hold a NULL bot_id), as in the loader's
``IS NOT DISTINCT FROM`` merge.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pyarrow as pa


def _last_rows(table: pa.Table, key: Sequence[str]) -> pa.Array:
    """The index of the last row of every distinct key."""
    order = pa.array(np.arange(table.num_rows, dtype=np.int64))
    groups = table.select(list(key)).append_column("_row", order).group_by(list(key), use_threads=False)
    return groups.aggregate([("_row", "max")]).column("_row_max")


def distinct_key_count(table: pa.Table, key: Sequence[str]) -> int:
    if table.num_rows < 2:
        return table.num_rows
    return len(_last_rows(table, key))


def dedupe_last(table: pa.Table, key: Sequence[str]) -> pa.Table:
    """Keep the last row of every key (a later read is a newer version), in the original order of the kept rows."""
    if table.num_rows < 2:
        return table
    last = _last_rows(table, key)
    if len(last) == table.num_rows:
        return table
    return table.take(pa.array(np.sort(last.to_numpy())))
