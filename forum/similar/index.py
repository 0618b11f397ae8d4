"""Exact nearest-neighbour search over story vectors, behind a small interface.

Brute force over int8-coded vectors answers in a few milliseconds at 100k stories; past a size threshold a
host serves an approximate index (forum/similar/ann.py, usearch) behind the same interface.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numkong
import numpy as np

from forum.similar.engine import model_spec

RESCORE_MARGIN = 64  # candidates scored again with the float query beyond the k asked for
SCAN_BLOCK = 8192  # rows decoded per step of the mean's pass: 12 MB of float32 scratch


class VectorIndex(Protocol):
    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None: ...
    def remove(self, ids: Iterable[int]) -> None: ...
    def vectors(self, ids: Iterable[int]) -> np.ndarray: ...
    def search(
        self, vector: np.ndarray, k: int, exclude_ids: frozenset[int] = frozenset()
    ) -> list[tuple[int, float]]: ...
    def __len__(self) -> int: ...


class RowMap:
    """Story id -> row, as a dict (`get`, `pop`, `in`, `len`) at 4 bytes a story instead of a dict's ~100
    (10 MB at 100k stories): story ids are allocated densely, so an int32 array indexed by id holds the rows;
    an id far beyond the ids held so far (the array would cost more than 32 bytes a story) goes to a dict."""

    def __init__(self) -> None:
        self._dense = np.full(0, -1, dtype=np.int32)
        self._far: dict[int, int] = {}
        self._count = 0

    def __len__(self) -> int:
        return self._count

    def __contains__(self, item_id: object) -> bool:
        return isinstance(item_id, int | np.integer) and self.get(int(item_id)) is not None

    def get(self, item_id: int) -> int | None:
        if self._far and item_id in self._far:
            return self._far[item_id]
        if 0 <= item_id < len(self._dense):
            row = int(self._dense[item_id])
            return row if row >= 0 else None
        return None

    def __setitem__(self, item_id: int, row: int) -> None:
        if self._far and item_id in self._far:
            self._far[item_id] = row
            return
        if not 0 <= item_id < len(self._dense):
            size = max(item_id + 1, 2 * len(self._dense), 1024)
            if item_id < 0 or size > max(1 << 16, 8 * (self._count + 1)):
                self._far[item_id] = row
                self._count += 1
                return
            dense = np.full(size, -1, dtype=np.int32)
            dense[: len(self._dense)] = self._dense
            self._dense = dense
        if self._dense[item_id] < 0:
            self._count += 1
        self._dense[item_id] = row

    def pop(self, item_id: int, default: int | None = None) -> int | None:
        if self._far and item_id in self._far:
            self._count -= 1
            return self._far.pop(item_id)
        row = self.get(item_id)
        if row is None:
            return default
        self._dense[item_id] = -1
        self._count -= 1
        return row


class BruteForceIndex:
    """Vectors in one growing matrix; removal marks a row free (and is reused by the next add).

    Scores are cosines after subtracting the mean of all indexed vectors. Every story here is about
    parenting, so the raw vectors share one big common direction; centring removes it and lets the
    differences between experiences decide (P@5 on the dev set: 0.49 raw, 0.54 centred; the same when
    the mean comes from the other half of the stories, so it is not fitted to them).
    """

    def __init__(
        self, capacity: int = 1024, dimensions: int | None = None, mean: np.ndarray | None = None
    ) -> None:
        # The configured model's width unless told (the index cannot hold vectors of two models anyway).
        self.dimensions = dimensions or model_spec().dimensions
        # Rows are stored as int8 codes with one float32 scale each: a quarter of the memory of float32
        # (38 MB at 100k stories), cosines within ~0.002 of exact, and faster to scan (less memory to read).
        self._codes = np.zeros((capacity, self.dimensions), dtype=np.int8)
        self._scales = np.zeros(capacity, dtype=np.float32)
        self._ids = np.full(capacity, -1, dtype=np.int64)
        self._row_of = RowMap()
        self._free: list[int] = []
        self._used = 0
        self._mean = np.zeros(self.dimensions, dtype=np.float32)
        # A given mean stays: the delta of ann.MappedIndex must score on the same scale as its files.
        self._fixed_mean = mean is not None
        if mean is not None:
            self._mean = np.asarray(mean, dtype=np.float32)
        self._row_dot_mean = np.zeros(capacity, dtype=np.float32)
        self._changes_since_mean = 0
        # Per row, kept with the row: 1 / its centred norm, its scale over that norm, and its dot with the mean
        # over that norm (+inf for a free row, so it ranks last without a mask). The scan's ranking is then a
        # few passes over the dot products (see search).
        self._inv_norm = np.zeros(capacity, dtype=np.float32)
        self._rank_scale = np.zeros(capacity, dtype=np.float32)
        self._rank_offset = np.full(capacity, np.inf, dtype=np.float32)

    def _dot_all(self, query: np.ndarray) -> np.ndarray:
        """Every used row · query. The query is int8-coded too, and numkong's integer kernels (AVX-512 VNNI,
        AVX2, NEON: whatever the CPU has) take the dot products straight from the codes: 4 ms for 100k rows
        against 24 ms decoding blocks to float32 for BLAS. The query's rounding moves a cosine by ~0.002."""
        if self._used == 0:
            return np.zeros(0, dtype=np.float32)
        peak = max(float(np.abs(query).max()), 1e-12) / 127.0
        code = np.round(query / peak).astype(np.int8)[None, :]
        dots = np.asarray(numkong.cdist(code, self._codes[: self._used], metric="dot", threads=1))[0]
        return (dots * peak).astype(np.float32) * self._scales[: self._used]

    def _set_rank(self, rows: np.ndarray | slice) -> None:
        """The ranking terms of these rows from their scale, dot with the mean and the current mean."""
        row_dot_mean = self._row_dot_mean[rows]
        mean_sq = float(self._mean @ self._mean)
        inv_norm = 1.0 / np.sqrt(np.maximum(1.0 - 2.0 * row_dot_mean + mean_sq, 1e-6))
        free = self._ids[rows] < 0
        inv_norm[free] = 0.0
        self._inv_norm[rows] = inv_norm
        self._rank_scale[rows] = self._scales[rows] * inv_norm
        offset = row_dot_mean * inv_norm
        offset[free] = np.inf
        self._rank_offset[rows] = offset

    def _refresh_mean(self) -> None:
        # The mean moves slowly: recompute it (one pass) after 1% of the rows changed, not on every add.
        if self._fixed_mean or self._changes_since_mean <= max(20, len(self._row_of) // 100):
            return
        total = np.zeros(self.dimensions, dtype=np.float64)
        for start in range(0, self._used, SCAN_BLOCK):
            codes = self._codes[start : min(start + SCAN_BLOCK, self._used)].astype(np.float32)
            total += (codes * self._scales[start : start + len(codes), None]).sum(0)  # free rows are all zero
        live = len(self._row_of)
        self._mean = (total / live).astype(np.float32) if live else np.zeros(self.dimensions, np.float32)
        self._row_dot_mean[: self._used] = self._dot_all(self._mean)
        self._set_rank(slice(0, self._used))
        self._changes_since_mean = 0

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, item_id: int) -> bool:
        return item_id in self._row_of

    def _grow(self) -> None:
        capacity = self._codes.shape[0] * 2
        codes = np.zeros((capacity, self.dimensions), dtype=np.int8)
        codes[: self._used] = self._codes[: self._used]
        ids = np.full(capacity, -1, dtype=np.int64)
        ids[: self._used] = self._ids[: self._used]
        scales, dots = np.zeros(capacity, dtype=np.float32), np.zeros(capacity, dtype=np.float32)
        scales[: self._used] = self._scales[: self._used]
        dots[: self._used] = self._row_dot_mean[: self._used]
        self._codes, self._ids, self._scales, self._row_dot_mean = codes, ids, scales, dots
        inv_norm, rank_scale = np.zeros(capacity, dtype=np.float32), np.zeros(capacity, dtype=np.float32)
        rank_offset = np.full(capacity, np.inf, dtype=np.float32)
        inv_norm[: self._used] = self._inv_norm[: self._used]
        rank_scale[: self._used] = self._rank_scale[: self._used]
        rank_offset[: self._used] = self._rank_offset[: self._used]
        self._inv_norm, self._rank_scale, self._rank_offset = inv_norm, rank_scale, rank_offset

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Add or replace vectors (rows of `vectors`, in the order of `ids`)."""
        touched: list[int] = []
        for any_id, vector in zip(ids, np.asarray(vectors, dtype=np.float32), strict=False):
            item_id = int(any_id)
            row = self._row_of.get(item_id)
            if row is None:
                if self._free:
                    row = self._free.pop()
                else:
                    if self._used == self._codes.shape[0]:
                        self._grow()
                    row = self._used
                    self._used += 1
                self._row_of[item_id] = row
                self._ids[row] = item_id
            scale = max(float(np.abs(vector).max()), 1e-12) / 127.0
            self._codes[row] = np.round(vector / scale).astype(np.int8)
            self._scales[row] = scale
            self._row_dot_mean[row] = vector @ self._mean
            self._changes_since_mean += 1
            touched.append(row)
        if touched:
            self._set_rank(np.asarray(touched))

    def vectors(self, ids: Iterable[int]) -> np.ndarray:
        """The stored vectors of these ids (unknown ones are skipped), decoded."""
        rows = [row for row in (self._row_of.get(int(i)) for i in ids) if row is not None]
        return self._codes[rows].astype(np.float32) * self._scales[rows, None]

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids (unknown ones are ignored)."""
        for item_id in ids:
            row = self._row_of.pop(int(item_id), None)
            if row is not None:
                self._ids[row] = -1
                self._codes[row] = 0
                self._scales[row] = 0.0
                self._row_dot_mean[row] = 0.0
                self._inv_norm[row] = self._rank_scale[row] = 0.0
                self._rank_offset[row] = np.inf
                self._free.append(row)
                self._changes_since_mean += 1

    def search(
        self, vector: np.ndarray, k: int, exclude_ids: frozenset[int] = frozenset()
    ) -> list[tuple[int, float]]:
        """The k most similar ids by centred cosine, best first."""
        if not len(self._row_of) or k <= 0:
            return []
        self._refresh_mean()
        query = np.asarray(vector, dtype=np.float32)
        mean, used = self._mean, self._used
        mean_sq = float(mean @ mean)
        centre = float(query @ mean) - mean_sq
        query_norm = max(float(np.linalg.norm(query - mean)), 1e-6)

        def centred_cosine(dots: np.ndarray, rows: np.ndarray | slice) -> np.ndarray:
            # (m - mean)·(q - mean) / norms, without building a centred copy of the matrix.
            row_dot_mean = self._row_dot_mean[rows]
            row_norms = np.sqrt(np.maximum(1.0 - 2.0 * row_dot_mean + mean_sq, 1e-6))
            return (dots - row_dot_mean - centre) / (row_norms * query_norm)

        # The scan's ranking: the centred cosine times the query's norm (the same order), from the integer dot
        # products in five passes (free rows come out at -inf).
        peak = max(float(np.abs(query).max()), 1e-12) / 127.0
        code = np.round(query / peak).astype(np.int8)[None, :]
        raw = np.asarray(numkong.cdist(code, self._codes[:used], metric="dot", threads=1))[0]
        scores = raw.astype(np.float32)
        scores *= self._rank_scale[:used]
        scores *= np.float32(peak)
        scores -= self._rank_offset[:used]
        scores -= np.float32(centre) * self._inv_norm[:used]
        # The int8 query of the scan moves a score by ~0.002: the best `want` plus a margin are scored again
        # with the float query, so the answer is the one a float scan would give.
        want = k + len(exclude_ids)
        pool = min(len(scores), want + RESCORE_MARGIN)
        top = np.argpartition(-scores, pool - 1)[:pool]
        top = top[np.isfinite(scores[top])]
        exact = centred_cosine((self._codes[top].astype(np.float32) @ query) * self._scales[top], top)
        results = [
            (int(self._ids[top[i]]), float(exact[i]))
            for i in np.argsort(-exact)
            if int(self._ids[top[i]]) not in exclude_ids
        ]
        return results[:k]
