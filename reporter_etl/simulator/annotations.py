"""Labels and comments: generated ones carry a set-at time (visible once the clock passes it), written ones
are overlays keyed by row.  `effective(now)` gives the visible state as sorted arrays for the query engine."""

from __future__ import annotations

import numpy as np

_EMPTY = np.zeros(0, dtype=np.int64)


class LabelStore:
    """Many labels per row (a message or a session)."""

    def __init__(self) -> None:
        self.gen_rows = _EMPTY  # ascending (blocks are appended in row order)
        self.gen_labels = _EMPTY
        self.gen_ms = _EMPTY
        self.gen_removed = np.zeros(0, dtype=bool)
        self.manual: dict[int, dict[int, int]] = {}  # row -> {label: set-at ms}, written labels

    def extend(self, rows: np.ndarray, labels: np.ndarray, set_ms: np.ndarray) -> None:
        self.gen_rows = np.concatenate([self.gen_rows, rows.astype(np.int64)])
        self.gen_labels = np.concatenate([self.gen_labels, labels.astype(np.int64)])
        self.gen_ms = np.concatenate([self.gen_ms, set_ms.astype(np.int64)])
        self.gen_removed = np.concatenate([self.gen_removed, np.zeros(len(rows), dtype=bool)])

    def _gen_range(self, row: int) -> slice:
        lo = int(np.searchsorted(self.gen_rows, row, "left"))
        hi = int(np.searchsorted(self.gen_rows, row, "right"))
        return slice(lo, hi)

    def labels_of(self, row: int, now_ms: int) -> list[int]:
        sl = self._gen_range(row)
        vis = (self.gen_ms[sl] <= now_ms) & ~self.gen_removed[sl]
        out = set(self.gen_labels[sl][vis].tolist())
        out.update(self.manual.get(row, ()))
        return sorted(out)

    def add(self, row: int, label: int, now_ms: int) -> None:
        if label not in self.labels_of(row, now_ms):
            self.manual.setdefault(row, {})[label] = now_ms

    def remove(self, row: int, label: int) -> None:
        sl = self._gen_range(row)
        self.gen_removed[sl] |= self.gen_labels[sl] == label  # also a label a reviewer would set later
        labels = self.manual.get(row)
        if labels is not None:
            labels.pop(label, None)
            if not labels:
                del self.manual[row]

    def replace(self, row: int, labels: list[int], now_ms: int) -> None:
        self.gen_removed[self._gen_range(row)] = True
        self.manual.pop(row, None)
        if labels:
            self.manual[row] = {label: now_ms for label in labels}

    def effective(self, now_ms: int, alive: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """(rows, labels) of every visible label whose catalog entry still exists, sorted by row then label."""
        keep = (self.gen_ms <= now_ms) & ~self.gen_removed
        rows, labels = self.gen_rows[keep], self.gen_labels[keep]
        if self.manual:
            pairs = np.array([(r, lab) for r, labs in self.manual.items() for lab in labs], dtype=np.int64)
            pairs = pairs.reshape(-1, 2)
            rows = np.concatenate([rows, pairs[:, 0]])
            labels = np.concatenate([labels, pairs[:, 1]])
        live = np.isin(labels, alive)
        rows, labels = rows[live], labels[live]
        order = np.lexsort((labels, rows))
        rows, labels = rows[order], labels[order]
        if len(rows) > 1:
            first = np.concatenate([[True], (rows[1:] != rows[:-1]) | (labels[1:] != labels[:-1])])
            rows, labels = rows[first], labels[first]
        return rows, labels


class CommentStore:
    """At most one comment per message; texts are indices into `texts` (written texts are appended)."""

    def __init__(self, texts: tuple[str, ...]) -> None:
        self.texts: list[str] = list(texts)
        self._text_index = {t: i for i, t in enumerate(self.texts)}
        self.gen_rows = _EMPTY
        self.gen_text = _EMPTY
        self.gen_ms = _EMPTY
        self.overlay: dict[int, int] = {}  # row -> text index, -1 = deleted

    def extend(self, rows: np.ndarray, text: np.ndarray, set_ms: np.ndarray) -> None:
        self.gen_rows = np.concatenate([self.gen_rows, rows.astype(np.int64)])
        self.gen_text = np.concatenate([self.gen_text, text.astype(np.int64)])
        self.gen_ms = np.concatenate([self.gen_ms, set_ms.astype(np.int64)])

    def set(self, row: int, text: str) -> None:
        idx = self._text_index.get(text)
        if idx is None:
            idx = len(self.texts)
            self.texts.append(text)
            self._text_index[text] = idx
        self.overlay[row] = idx

    def delete(self, row: int) -> None:
        self.overlay[row] = -1

    def effective(self, now_ms: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows ascending, text index) of visible comments."""
        keep = self.gen_ms <= now_ms
        rows, text = self.gen_rows[keep], self.gen_text[keep]
        if self.overlay:
            o_rows = np.array(list(self.overlay), dtype=np.int64)
            o_text = np.array(list(self.overlay.values()), dtype=np.int64)
            keep = ~np.isin(rows, o_rows)
            rows = np.concatenate([rows[keep], o_rows])
            text = np.concatenate([text[keep], o_text])
            order = np.argsort(rows, kind="stable")
            rows, text = rows[order], text[order]
            present = text >= 0
            rows, text = rows[present], text[present]
        return rows, text


def lookup(sorted_rows: np.ndarray, values: np.ndarray, rows: np.ndarray, absent: int = -1) -> np.ndarray:
    """The value for each of `rows` in a (sorted_rows -> values) map with unique rows; `absent` when missing."""
    if len(sorted_rows) == 0:
        return np.full(len(rows), absent, dtype=np.int64)
    pos = np.searchsorted(sorted_rows, rows)
    pos_c = np.minimum(pos, len(sorted_rows) - 1)
    hit = sorted_rows[pos_c] == rows
    return np.where(hit, values[pos_c], absent)


def member(sorted_rows: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Whether each of `rows` occurs in the ascending array `sorted_rows`."""
    if len(sorted_rows) == 0:
        return np.zeros(len(rows), dtype=bool)
    pos = np.minimum(np.searchsorted(sorted_rows, rows), len(sorted_rows) - 1)
    return sorted_rows[pos] == rows
