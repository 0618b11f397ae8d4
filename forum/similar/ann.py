"""The approximate index for large sites: one usearch HNSW graph per host in files that every worker
memory-maps read-only (the kernel keeps one copy in its page cache for all of them), plus, in each worker,
a small exact index of what changed since the files were built and a mask of what left.

Scores are the centred cosines of BruteForceIndex: the files hold (vector - mean) with the mean of the stories
at build time (kept beside them), and the delta index centres on that same mean, so both answer on one scale.
Vectors go in as int8 codes scaled per row (cosine ignores a row's scale); usearch's own float-to-int8
conversion assumes components near ±1 and lost recall@10 to 0.93 on unit vectors, against 0.99 with these.

Files under `directory`: `meta.json` names the current generation; `<generation>.usearch` (the graph and
codes), `<generation>.keys.npy` (story ids, sorted), `<generation>.norms.npy` (each row's centred norm, to
give expansion its raw vector back) and `<generation>.mean.npy`. A new generation is written beside the old
one and published by replacing meta.json, so a worker never opens a half-written file.
"""

from __future__ import annotations

import fcntl
import json
import os
import time
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np

# onnxruntime (the embedder's) must be loaded before usearch: importing it after usearch crashes the process
# (segfault in onnxruntime's module init with usearch 2.26.6 and onnxruntime 1.31.1).
import onnxruntime  # noqa: F401, I001
from usearch.index import Index

from forum.similar.index import BruteForceIndex

CONNECTIVITY = 16
EXPANSION_ADD = 128  # 200k synthetic stories: recall@10 1.0 (0.94 at 40) for 2.3 times the build CPU
EXPANSION_SEARCH = 64
# Candidates beyond the k asked for, scored again with the float query (1M synthetic, graph built with
# EXPANSION_ADD 40: recall@10 0.55 at 32, 0.83 at 200 for 2.5 ms of CPU, where the graph capped it)
RESCORE_MARGIN = 200
META = "meta.json"

Batches = Callable[[], Iterable[tuple[np.ndarray, np.ndarray]]]


def quantize(rows: np.ndarray) -> np.ndarray:
    """int8 codes of each row scaled to its own largest component (cosine does not see the scale)."""
    rows = np.atleast_2d(np.asarray(rows, dtype=np.float32))
    peak = np.maximum(np.abs(rows).max(axis=1, keepdims=True), 1e-12)
    return np.round(rows / peak * 127.0).astype(np.int8)


@contextmanager
def host_lock(directory: Path, wait: bool = True) -> Iterator[None]:
    """One builder per host at a time (the other workers wait, then use what it built; without `wait`,
    BlockingIOError when another holds it)."""
    directory.mkdir(parents=True, exist_ok=True)
    with open(directory / "build.lock", "w") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX if wait else fcntl.LOCK_EX | fcntl.LOCK_NB)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def read_meta(directory: Path) -> dict[str, Any] | None:
    try:
        meta: dict[str, Any] = json.loads((directory / META).read_text())
    except (FileNotFoundError, ValueError):
        return None
    return meta


def build(
    directory: Path, batches: Batches, dimensions: int, model: str, built_until: datetime, threads: int = 0
) -> dict[str, Any]:
    """Write a new generation from (ids, vectors) batches (read twice: once for the mean) and publish it.

    `built_until`: the newest vector change the files can contain (taken before reading), from which each
    worker's delta index loads."""
    total, count = np.zeros(dimensions, dtype=np.float64), 0
    for _ids, vectors in batches():
        total += vectors.sum(0, dtype=np.float64)
        count += len(vectors)
    mean = (total / max(count, 1)).astype(np.float32)
    index = Index(
        ndim=dimensions,
        metric="cos",
        dtype="i8",
        connectivity=CONNECTIVITY,
        expansion_add=EXPANSION_ADD,
        expansion_search=EXPANSION_SEARCH,
    )
    keys, norms = [], []
    for ids, vectors in batches():
        centred = vectors - mean
        index.add(np.asarray(ids, dtype=np.uint64), quantize(centred), threads=threads)
        keys.append(np.asarray(ids, dtype=np.int64))
        norms.append(np.linalg.norm(centred, axis=1).astype(np.float32))
    all_keys = np.concatenate(keys) if keys else np.zeros(0, np.int64)
    all_norms = np.concatenate(norms) if norms else np.zeros(0, np.float32)
    order = np.argsort(all_keys, kind="stable")
    generation = f"g{time.time_ns()}"
    directory.mkdir(parents=True, exist_ok=True)
    index.save(str(directory / f"{generation}.usearch"))
    np.save(directory / f"{generation}.keys.npy", all_keys[order])
    np.save(directory / f"{generation}.norms.npy", all_norms[order])
    np.save(directory / f"{generation}.mean.npy", mean)
    del index
    old = read_meta(directory)
    meta = {
        "generation": generation,
        "model": model,
        "count": int(len(all_keys)),
        "built_until": built_until.isoformat(),
        "built_at": time.time(),
    }
    scratch = directory / f"{META}.{generation}"
    scratch.write_text(json.dumps(meta))
    os.replace(scratch, directory / META)
    if old and old.get("generation") != generation:
        # Workers that mapped the old files keep their mappings; unlinked files go when the last one closes.
        for path in directory.glob(f"{old['generation']}.*"):
            path.unlink(missing_ok=True)
    return meta


def _view(index: Index, path: str) -> None:
    """`index.view(path)` without its side effect on a missing file: usearch 2.26 then closes descriptor 0, and
    the next file the process opens (a SQLite database's journal, say) gets 0 and is written to as stdin, which
    corrupted the test database. A missing file is reported before usearch sees it, and 0 is given /dev/null
    again when the file went in between."""
    if not os.path.exists(path):
        raise FileNotFoundError(path)
    try:
        index.view(path)
    except RuntimeError:
        try:
            os.fstat(0)
        except OSError:
            if (descriptor := os.open(os.devnull, os.O_RDWR)) != 0:
                os.close(descriptor)  # another thread took 0 meanwhile: it is theirs
        raise


def open_files(directory: Path, meta: dict[str, Any]) -> MappedIndex:
    """Map the generation `meta` names or, when a rebuild published a newer one and unlinked those files
    between reading meta.json and opening them, the newer one (same model only)."""
    while True:
        try:
            return MappedIndex(directory, meta)
        except FileNotFoundError:
            newer = read_meta(directory)
            if newer is None or newer.get("model") != meta.get("model") or newer == meta:
                raise
            meta = newer


class MappedIndex:
    """The host's files, read-only, with an exact delta index for newer vectors and a mask for removals."""

    def __init__(self, directory: Path, meta: dict[str, Any]) -> None:
        stem = directory / str(meta["generation"])
        self.meta = meta
        self.built_until = datetime.fromisoformat(meta["built_until"])
        self.mean = np.load(f"{stem}.mean.npy")
        self.dimensions = int(self.mean.shape[0])
        self.base = Index(
            ndim=self.dimensions,
            metric="cos",
            dtype="i8",
            connectivity=CONNECTIVITY,
            expansion_search=EXPANSION_SEARCH,
        )
        _view(self.base, f"{stem}.usearch")  # read-only mapping: the pages are the host's, shared
        self._keys = np.load(f"{stem}.keys.npy", mmap_mode="r")
        self._norms = np.load(f"{stem}.norms.npy", mmap_mode="r")
        self.delta = BruteForceIndex(capacity=256, dimensions=self.dimensions, mean=self.mean)
        self.masked: set[int] = set()

    def _in_base(self, item_id: int) -> bool:
        at = int(np.searchsorted(self._keys, item_id))
        return at < len(self._keys) and int(self._keys[at]) == item_id

    def __len__(self) -> int:
        return len(self._keys) - len(self.masked) + len(self.delta)

    def __contains__(self, item_id: int) -> bool:
        return item_id in self.delta or (item_id not in self.masked and self._in_base(item_id))

    def add(self, ids: Iterable[int], vectors: np.ndarray) -> None:
        """New or changed vectors go to the delta; a changed one's old copy in the files is masked."""
        ids = [int(i) for i in ids]
        for item_id in ids:
            if self._in_base(item_id):
                self.masked.add(item_id)
        self.delta.add(ids, vectors)

    def remove(self, ids: Iterable[int]) -> None:
        ids = [int(i) for i in ids]
        for item_id in ids:
            if self._in_base(item_id):
                self.masked.add(item_id)
        self.delta.remove(ids)

    def vectors(self, ids: Iterable[int]) -> np.ndarray:
        """Stored vectors (decoded: the unit centred code times its norm, plus the mean)."""
        out = []
        for item_id in ids:
            if item_id in self.delta:
                out.append(self.delta.vectors([item_id])[0])
            elif item_id not in self.masked and self._in_base(item_id):
                code = np.asarray(self.base.get(item_id, dtype="i8"), dtype=np.float32).reshape(-1)
                norm = float(self._norms[int(np.searchsorted(self._keys, item_id))])
                out.append(code / max(float(np.linalg.norm(code)), 1e-12) * norm + self.mean)
        return np.stack(out) if out else np.zeros((0, self.dimensions), dtype=np.float32)

    def _rescored(self, keys: list[int], centred: np.ndarray) -> list[tuple[int, float]]:
        if not keys:
            return []
        codes = np.asarray(self.base.get(np.asarray(keys, dtype=np.uint64), dtype="i8"), dtype=np.float32)
        codes = codes.reshape(len(keys), -1)
        norms = np.maximum(np.linalg.norm(codes, axis=1), 1e-12) * max(float(np.linalg.norm(centred)), 1e-12)
        scores = codes @ centred / norms
        return [(keys[i], float(scores[i])) for i in np.argsort(-scores)]

    def search(
        self, vector: np.ndarray, k: int, exclude_ids: frozenset[int] = frozenset()
    ) -> list[tuple[int, float]]:
        """The k most similar ids by centred cosine, best first (the graph's answer merged with the delta's)."""
        if k <= 0 or len(self) == 0:
            return []
        centred = np.asarray(vector, dtype=np.float32) - self.mean
        query = quantize(centred)[0]
        want = k + len(exclude_ids)
        # The graph's own order comes from the int8 query; a few more candidates than asked for are scored
        # again with the float query, as the exact index scores its rows.
        fetch = max(2 * want, want + RESCORE_MARGIN) + min(len(self.masked), want)
        found: list[tuple[int, float]] = []
        while len(self._keys):
            matches = self.base.search(query, min(fetch, len(self._keys)), threads=1)
            keys = [
                int(key)
                for key in matches.keys
                if int(key) not in self.masked and int(key) not in exclude_ids
            ]
            found = self._rescored(keys, centred)
            # Masked rows among the answers (stories hidden or edited since the build): ask for more.
            if len(found) >= k or fetch >= len(self._keys):
                break
            fetch *= 4
        found.extend(self.delta.search(vector, want, exclude_ids))
        found.sort(key=lambda pair: -pair[1])
        return found[:k]
