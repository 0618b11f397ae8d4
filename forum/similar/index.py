"""Exact nearest-neighbour search over story vectors, behind a small interface.

Brute force over a float32 matrix answers in a few milliseconds at 100k stories; a site past about a
million could put an approximate index (for example usearch) behind the same interface.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol

import numpy as np

from forum.similar.engine import DIMENSIONS


class VectorIndex(Protocol):
    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None: ...
    def remove(self, ids: Iterable[int]) -> None: ...
    def vectors(self, ids: Iterable[int]) -> np.ndarray: ...
    def search(self, vector: np.ndarray, k: int, exclude_ids: frozenset[int] = frozenset()) -> list[tuple[int, float]]: ...
    def __len__(self) -> int: ...


class BruteForceIndex:
    """Vectors in one growing matrix; removal marks a row free (and is reused by the next add).

    Scores are cosines after subtracting the mean of all indexed vectors. Every story here is about
    parenting, so the raw vectors share one big common direction; centring removes it and lets the
    differences between experiences decide (P@5 on the dev set: 0.49 raw, 0.54 centred; the same when
    the mean comes from the other half of the stories, so it is not fitted to them).
    """

    def __init__(self, capacity: int = 1024) -> None:
        self._matrix = np.zeros((capacity, DIMENSIONS), dtype=np.float32)
        self._ids = np.full(capacity, -1, dtype=np.int64)
        self._row_of: dict[int, int] = {}
        self._free: list[int] = []
        self._used = 0
        self._mean = np.zeros(DIMENSIONS, dtype=np.float32)
        self._row_dot_mean = np.zeros(capacity, dtype=np.float32)
        self._changes_since_mean = 0

    def _refresh_mean(self) -> None:
        # The mean moves slowly: recompute it (one pass) after 1% of the rows changed, not on every add.
        if self._changes_since_mean <= max(20, len(self._row_of) // 100):
            return
        live = self._ids[: self._used] >= 0
        self._mean = self._matrix[: self._used][live].mean(0) if live.any() else np.zeros(DIMENSIONS, np.float32)
        self._row_dot_mean[: self._used] = self._matrix[: self._used] @ self._mean
        self._changes_since_mean = 0

    def __len__(self) -> int:
        return len(self._row_of)

    def __contains__(self, item_id: int) -> bool:
        return item_id in self._row_of

    def _grow(self) -> None:
        capacity = self._matrix.shape[0] * 2
        matrix = np.zeros((capacity, DIMENSIONS), dtype=np.float32)
        matrix[: self._used] = self._matrix[: self._used]
        ids = np.full(capacity, -1, dtype=np.int64)
        ids[: self._used] = self._ids[: self._used]
        dots = np.zeros(capacity, dtype=np.float32)
        dots[: self._used] = self._row_dot_mean[: self._used]
        self._matrix, self._ids, self._row_dot_mean = matrix, ids, dots

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """Add or replace vectors (rows of `vectors`, in the order of `ids`)."""
        for item_id, vector in zip(ids, np.asarray(vectors, dtype=np.float32)):
            row = self._row_of.get(item_id)
            if row is None:
                if self._free:
                    row = self._free.pop()
                else:
                    if self._used == self._matrix.shape[0]:
                        self._grow()
                    row = self._used
                    self._used += 1
                self._row_of[item_id] = row
                self._ids[row] = item_id
            self._matrix[row] = vector
            self._row_dot_mean[row] = vector @ self._mean
            self._changes_since_mean += 1

    def vectors(self, ids: Iterable[int]) -> np.ndarray:
        """The stored vectors of these ids (unknown ones are skipped)."""
        rows = [self._row_of[i] for i in ids if i in self._row_of]
        return self._matrix[rows].copy()

    def remove(self, ids: Iterable[int]) -> None:
        """Forget these ids (unknown ones are ignored)."""
        for item_id in ids:
            row = self._row_of.pop(item_id, None)
            if row is not None:
                self._ids[row] = -1
                self._matrix[row] = 0.0
                self._row_dot_mean[row] = 0.0
                self._free.append(row)
                self._changes_since_mean += 1

    def search(self, vector: np.ndarray, k: int, exclude_ids: frozenset[int] = frozenset()) -> list[tuple[int, float]]:
        """The k most similar ids by centred cosine, best first."""
        if not self._row_of or k <= 0:
            return []
        self._refresh_mean()
        query = np.asarray(vector, dtype=np.float32)
        mean, used = self._mean, self._used
        mean_sq = float(mean @ mean)
        # (m - mean)·(q - mean) without building a centred copy of the matrix.
        dots = self._matrix[:used] @ query - self._row_dot_mean[:used] - float(query @ mean) + mean_sq
        row_norms = np.sqrt(np.maximum(1.0 - 2.0 * self._row_dot_mean[:used] + mean_sq, 1e-6))
        query_norm = max(float(np.linalg.norm(query - mean)), 1e-6)
        scores = dots / (row_norms * query_norm)
        scores[self._ids[: self._used] < 0] = -np.inf
        want = min(len(scores), k + len(exclude_ids))
        top = np.argpartition(-scores, want - 1)[:want]
        top = top[np.argsort(-scores[top])]
        results = [(int(self._ids[row]), float(scores[row])) for row in top
                   if np.isfinite(scores[row]) and int(self._ids[row]) not in exclude_ids]
        return results[:k]
