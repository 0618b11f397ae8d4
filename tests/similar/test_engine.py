"""The embedding engine and the index, without the app: exact against the reference model, whole stories count."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from forum.similar.engine import WINDOW, from_bytes, get_embedder, story_text, to_bytes
from forum.similar.index import BruteForceIndex

REFERENCE = json.loads((Path(__file__).with_name("reference_vectors.json")).read_text())


@pytest.fixture(scope="module")
def embedder():
    return get_embedder()


def test_matches_reference_implementation(embedder):
    vectors = embedder.embed([r["text"] for r in REFERENCE])
    for row, ref in zip(vectors, REFERENCE):
        assert float(row @ np.array(ref["vector"], dtype=np.float32)) > 0.999, ref["text"]
        assert abs(float(np.linalg.norm(row)) - 1.0) < 1e-5


def test_paraphrase_scores_well_above_unrelated(embedder):
    a, b, unrelated = embedder.embed(
        [
            "he screams DON'T LEAVE ME when I go",
            "my son cries and begs me not to leave him at nursery",
            "The best pizza dough needs a long, slow rise in the fridge.",
        ]
    )
    assert float(a @ b) > float(a @ unrelated) + 0.3


def test_long_text_counts_to_the_end(embedder):
    start = " ".join(["We had a calm morning and breakfast went well."] * 60)
    assert len(embedder.token_windows(start)) > 1
    plain, changed = embedder.embed(
        [start, start + " Then at the nursery door she screamed and clung to me, sobbing."]
    )
    assert float(plain @ changed) < 0.9999
    assert all(len(w) <= WINDOW + 2 for w in embedder.token_windows(start))


@pytest.mark.parametrize("text", ["", "   ", "😭😭😭", "שלום, הילד בוכה בגן", "a\u200db\u0301", "x" * 5000])
def test_odd_text_gives_a_unit_vector(embedder, text):
    (vector,) = embedder.embed([text])
    assert vector.shape == (384,) and np.isfinite(vector).all()


def test_story_text_uses_title_body_and_tags():
    assert story_text("Hard day", "She cried.", ["nursery"]) == "Hard day.\nShe cried.\nnursery"


def test_bytes_round_trip():
    vector = np.random.default_rng(1).standard_normal(384).astype(np.float32)
    assert np.array_equal(from_bytes(to_bytes(vector)), vector)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


def test_index_is_exact_centred_cosine_with_add_and_remove():
    rng = np.random.default_rng(7)
    vectors = _unit(rng.standard_normal((500, 384)).astype(np.float32))
    index = BruteForceIndex(capacity=16)
    index.add(range(500), vectors)
    index.remove(range(0, 500, 5))
    query = vectors[3]
    got = index.search(query, 10, exclude_ids=frozenset({3}))
    alive = [i for i in range(500) if i % 5 and i != 3]
    mean = vectors[[i for i in range(500) if i % 5]].mean(0)
    centred = vectors[alive] - mean
    scores = centred @ (query - mean) / (np.linalg.norm(centred, axis=1) * np.linalg.norm(query - mean))
    expected = [alive[i] for i in np.argsort(-scores)[:10]]
    assert [i for i, _ in got] == expected
    assert len(index) == 400 and 3 in index and 5 not in index


def test_empty_index_returns_nothing():
    assert BruteForceIndex().search(np.ones(384, dtype=np.float32), 5) == []
