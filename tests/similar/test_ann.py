"""The approximate index answers like the exact one (same centred cosine), keeps newer vectors in its delta
and masks what left, while its files stay read-only."""

from __future__ import annotations

import os
from datetime import datetime

import numpy as np
import pytest

from forum.similar import ann
from forum.similar.index import BruteForceIndex


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_files_delta_and_mask_answer_like_the_exact_index(tmp_path):
    rng = np.random.default_rng(5)
    topics = rng.standard_normal((10, 384)).astype(np.float32)
    vectors = _unit(
        topics[rng.integers(0, 10, 600)] + 0.7 * rng.standard_normal((600, 384)).astype(np.float32)
    )
    ids = np.arange(1, 601)
    meta = ann.build(tmp_path, lambda: [(ids[:500], vectors[:500])], 384, "test-model", datetime(2026, 1, 1))
    index = ann.MappedIndex(tmp_path, meta)
    assert len(index) == 500 and index.built_until == datetime(2026, 1, 1)
    index.add(ids[500:], vectors[500:])  # newer than the files: the delta
    index.remove([7, 8, 520])  # left since: masked in the files, dropped from the delta
    index.add([9], vectors[10:11])  # an edited story: the new vector wins over the file's
    assert len(index) == 597 and 7 not in index and 520 not in index and 9 in index
    assert np.allclose(index.vectors([12])[0], vectors[11], atol=0.02)

    exact = BruteForceIndex(dimensions=384, mean=index.mean)
    exact.add(ids, vectors)
    exact.remove([7, 8, 520])
    exact.add([9], vectors[10:11])
    recall = []
    for q in range(0, 600, 20):
        want = [i for i, _ in exact.search(vectors[q], 10, frozenset({q + 1}))]
        got = index.search(vectors[q], 10, frozenset({q + 1}))
        assert not {7, 8, 520, q + 1} & {i for i, _ in got}
        assert [s for _, s in got] == sorted((s for _, s in got), reverse=True)
        recall.append(len(set(want) & {i for i, _ in got}) / 10)
    assert np.mean(recall) >= 0.95


def test_a_new_generation_replaces_the_old_files(tmp_path):
    rows = _unit(np.random.default_rng(1).standard_normal((50, 384)).astype(np.float32))
    first = ann.build(tmp_path, lambda: [(np.arange(50), rows)], 384, "m", datetime(2026, 1, 1))
    second = ann.build(tmp_path, lambda: [(np.arange(50), rows)], 384, "m", datetime(2026, 1, 2))
    assert ann.read_meta(tmp_path) == second
    assert not list(tmp_path.glob(f"{first['generation']}.*"))


@pytest.mark.parametrize("left_behind", [(), (".mean.npy",)])
def test_files_unlinked_by_a_rebuild_before_they_were_opened_give_way_to_the_newer_generation(
    tmp_path, left_behind
):
    # A worker read meta.json, then another worker's rebuild published a new generation and unlinked the
    # files it named (all of them, or all but the one the worker opens first) before this worker opened them.
    rows = _unit(np.random.default_rng(2).standard_normal((50, 384)).astype(np.float32))
    read_by_the_worker = ann.build(tmp_path, lambda: [(np.arange(50), rows)], 384, "m", datetime(2026, 1, 1))
    kept = {
        suffix: (tmp_path / f"{read_by_the_worker['generation']}{suffix}").read_bytes()
        for suffix in left_behind
    }
    newer = ann.build(tmp_path, lambda: [(np.arange(50), rows)], 384, "m", datetime(2026, 1, 2))
    for suffix, content in kept.items():
        (tmp_path / f"{read_by_the_worker['generation']}{suffix}").write_bytes(content)
    index = ann.open_files(tmp_path, read_by_the_worker)
    assert index.meta == newer and len(index) == 50


@pytest.mark.parametrize("unlinked", [".mean.npy", ".usearch"])
def test_files_gone_with_no_newer_generation_are_an_error(tmp_path, unlinked):
    rows = _unit(np.random.default_rng(3).standard_normal((50, 384)).astype(np.float32))
    meta = ann.build(tmp_path, lambda: [(np.arange(50), rows)], 384, "m", datetime(2026, 1, 1))
    (tmp_path / f"{meta['generation']}{unlinked}").unlink()
    with pytest.raises(FileNotFoundError):
        ann.open_files(tmp_path, meta)
    os.fstat(0)  # usearch's view of a missing file would have closed descriptor 0


def test_a_graph_file_gone_while_usearch_opens_it_leaves_descriptor_zero_open(tmp_path, monkeypatch):
    # Gone between the check and usearch's open: usearch closes descriptor 0 on the way out; 0 is put back.
    rows = _unit(np.random.default_rng(4).standard_normal((50, 384)).astype(np.float32))
    meta = ann.build(tmp_path, lambda: [(np.arange(50), rows)], 384, "m", datetime(2026, 1, 1))
    (tmp_path / f"{meta['generation']}.usearch").unlink()
    monkeypatch.setattr(ann.os.path, "exists", lambda _path: True)
    with pytest.raises(RuntimeError):
        ann.open_files(tmp_path, meta)
    os.fstat(0)
