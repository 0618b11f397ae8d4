"""The embedding engine and the index, without the app: close to the reference models, whole stories count,
and every text costs a bounded amount of work."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from forum.similar import engine
from forum.similar.engine import (
    MAX_CHARS,
    MAX_WINDOWS,
    MODELS,
    from_bytes,
    get_embedder,
    story_text,
    to_bytes,
)
from forum.similar.index import BruteForceIndex

HERE = Path(__file__).parent
REFERENCE = {
    "minilm": json.loads((HERE / "reference_vectors.json").read_text()),
    "mpnet": json.loads((HERE / "reference_vectors_mpnet.json").read_text()),
}


@pytest.fixture(scope="module", params=list(MODELS))
def embedder(request):
    return get_embedder(request.param)


# Cosine to the reference each int8 model keeps. MiniLM's measured minimum over these texts is 0.989; MPNet's
# is 0.976 (its dev stories: median 0.990, minimum 0.967 to its float32 graph), the price of quantising 67 of
# its 72 matrix products (forum/similar/convert.py, FLOAT_MATRICES).
CLOSE_TO_REFERENCE = {"minilm": 0.98, "mpnet": 0.97}


def test_int8_model_matches_reference_implementation(embedder):
    """sentence-transformers on torch made the reference vectors; int8 matrix products stay close to them."""
    reference = REFERENCE[embedder.spec.name]
    vectors = embedder.embed([r["text"] for r in reference])
    for row, ref in zip(vectors, reference, strict=True):
        cosine = float(row @ np.array(ref["vector"], dtype=np.float32))
        assert cosine > CLOSE_TO_REFERENCE[embedder.spec.name], ref["text"]
        assert abs(float(np.linalg.norm(row)) - 1.0) < 1e-5


def test_converted_graph_is_exact_before_quantisation(tmp_path):
    """The fp32 graph that convert.py builds from the pinned weights reproduces the reference vectors."""
    import onnxruntime

    from forum.similar.convert import SOURCES, build_fp32

    spec = MODELS["minilm"]
    build_fp32(spec, SOURCES["minilm"](tmp_path), tmp_path / "fp32.onnx")
    exact = engine.Embedder("minilm")
    exact.session = onnxruntime.InferenceSession(
        str(tmp_path / "fp32.onnx"), providers=["CPUExecutionProvider"]
    )
    reference = REFERENCE["minilm"]
    for row, ref in zip(exact.embed([r["text"] for r in reference]), reference, strict=True):
        assert float(row @ np.array(ref["vector"], dtype=np.float32)) > 0.9999, ref["text"]


def test_installed_files_match_their_pins():
    from forum.similar.convert import is_current

    assert all(is_current(spec) for spec in MODELS.values())


def test_sessions_load_the_mapped_form_and_give_the_same_vectors(embedder):
    """The installed mapped form (weights memory-mapped, shared by a host's workers) is what the engine loads,
    and it gives model.onnx's vectors to the bit."""
    import onnxruntime

    from forum.similar.model_files import mapped_is_current

    assert mapped_is_current(embedder.spec)
    assert embedder.model_path == embedder.spec.directory / engine.MAPPED_GRAPH
    texts = [r["text"] for r in REFERENCE[embedder.spec.name]] + [" ".join(["a calm morning."] * 200)]
    mapped = embedder.embed(texts)
    single = engine.Embedder(embedder.spec)
    single.session = onnxruntime.InferenceSession(
        str(embedder.spec.directory / "model.onnx"), providers=["CPUExecutionProvider"]
    )
    assert np.array_equal(mapped, single.embed(texts))


def test_mapped_form_is_page_aligned_and_used_only_for_its_source(tmp_path, monkeypatch):
    """write_mapped moves the large tensors to page-aligned offsets of one file; a mapped form written from
    another model.onnx than the pinned one is never loaded (the engine falls back to model.onnx)."""
    import shutil

    import onnx

    from forum.similar.model_files import MAPPED_MIN_BYTES, PAGE, write_mapped

    spec = MODELS["minilm"]
    monkeypatch.setattr(engine, "MODEL_ROOT", tmp_path)
    (tmp_path / "minilm").mkdir()
    shutil.copyfile(
        HERE.parent.parent / "forum/similar/model/minilm/model.onnx", spec.directory / "model.onnx"
    )
    assert engine.model_file(spec) == spec.directory / "model.onnx"  # no mapped form yet
    write_mapped(spec)
    assert engine.model_file(spec) == spec.directory / engine.MAPPED_GRAPH
    graph = onnx.load(str(spec.directory / engine.MAPPED_GRAPH), load_external_data=False).graph
    moved = {}
    for tensor in graph.initializer:
        if tensor.data_location == onnx.TensorProto.EXTERNAL:
            fields = {entry.key: entry.value for entry in tensor.external_data}
            moved[tensor.name] = int(fields["offset"])
        else:
            assert len(tensor.raw_data) < MAPPED_MIN_BYTES
    assert "word_embeddings" in moved and all(offset % PAGE == 0 for offset in moved.values())
    (spec.directory / engine.MAPPED_SOURCE).write_text("0" * 64 + "\n")  # written from another model
    assert engine.model_file(spec) == spec.directory / "model.onnx"


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
    assert all(len(w) <= embedder.spec.window for w in embedder.token_windows(start))


def test_a_short_last_window_is_not_padded_to_full_length(embedder):
    """A story just over one window runs as a full window and a short one, not two full ones."""
    sentence = "We had a calm morning and breakfast went well."  # 10 tokens for both models
    text = " ".join([sentence] * (embedder.spec.window // 10 + 3))
    windows = embedder.token_windows(text)
    assert len(windows) == 2 and len(windows[1]) < embedder.spec.window // 2
    before = embedder.tokens_run
    embedder.embed([text])
    assert embedder.tokens_run - before == sum(len(w) for w in windows)


def test_text_past_the_budget_is_still_covered_to_its_end(embedder):
    """A very long text gets MAX_WINDOWS windows spread over it: the last one ends at the text's end."""
    text = " ".join(f"Day {i}: a calm morning and breakfast went well." for i in range(400))
    windows = embedder.token_windows(text)
    ids = embedder.tokenizer.encode(text[:MAX_CHARS], add_special_tokens=False).ids
    assert len(windows) == MAX_WINDOWS and windows[-1][-2] == ids[-1] and windows[0][1] == ids[0]


ADVERSARIAL = {
    "hashes": "#" * 20_000,
    "brackets": "[" * 100_000,
    "one letter": "a" * 200_000,
    "punctuation": "!?.,;:-_()*&^%$@" * 6_000,
    "emoji": "😭👶🏽" * 20_000,
    "combining marks": "e" + "\u0301\u0308\u0327" * 30_000,
    "zero-width": "a\u200b" * 50_000,
    "many words": "nursery drop-off tears " * 20_000,
}


class _CountingTokenizer:
    """Wraps the real tokenizer and records how many characters each call was given."""

    def __init__(self, real):
        self.real, self.seen = real, []

    def encode(self, text, **kwargs):
        self.seen.append(len(text))
        return self.real.encode(text, **kwargs)


@pytest.mark.parametrize("name", list(ADVERSARIAL))
def test_every_text_has_a_token_budget(embedder, name, monkeypatch):
    """Work is bounded by counting what reaches the tokenizer and the model, whatever the input."""
    counting = _CountingTokenizer(embedder.tokenizer)
    monkeypatch.setattr(embedder, "tokenizer", counting)
    before = embedder.tokens_run
    (vector,) = embedder.embed([ADVERSARIAL[name]])
    assert max(counting.seen) <= MAX_CHARS
    assert embedder.tokens_run - before <= MAX_WINDOWS * embedder.spec.window
    assert np.isfinite(vector).all() and abs(float(np.linalg.norm(vector)) - 1.0) < 1e-4


@pytest.mark.parametrize("text", ["", "   ", "😭😭😭", "שלום, הילד בוכה בגן", "a\u200db\u0301", "x" * 5000])
def test_odd_text_gives_a_unit_vector(embedder, text):
    (vector,) = embedder.embed([text])
    assert vector.shape == (embedder.spec.dimensions,) and np.isfinite(vector).all()


def test_model_is_chosen_by_name_or_environment(monkeypatch):
    monkeypatch.setenv("SIMILAR_MODEL", "MiniLM")
    assert engine.model_spec().name == "minilm" and engine.model_spec("mpnet").dimensions == 768
    monkeypatch.setenv("SIMILAR_MODEL", "bert-huge")
    with pytest.raises(ValueError, match="not one of"):
        engine.model_spec()


def test_story_text_uses_title_body_and_tags():
    assert story_text("Hard day", "She cried.", ["nursery"]) == "Hard day.\nShe cried.\nnursery"


def test_bytes_round_trip():
    vector = np.random.default_rng(1).standard_normal(384).astype(np.float32)
    assert np.array_equal(from_bytes(to_bytes(vector)), vector)


def _unit(rows: np.ndarray) -> np.ndarray:
    return rows / np.linalg.norm(rows, axis=1, keepdims=True)


@pytest.mark.parametrize("dimensions", [384, 768])
def test_index_is_exact_centred_cosine_with_add_and_remove(dimensions):
    rng = np.random.default_rng(7)
    vectors = _unit(rng.standard_normal((500, dimensions)).astype(np.float32))
    index = BruteForceIndex(capacity=16, dimensions=dimensions)
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
    assert BruteForceIndex(dimensions=384).search(np.ones(384, dtype=np.float32), 5) == []


def test_row_map_behaves_as_a_dict_for_dense_and_far_ids():
    """The index's id -> row map (an array indexed by id, a dict for far ids) answers as a dict would, through
    adds, replacements and removals of near, far and negative ids."""
    from forum.similar.index import RowMap

    rng = np.random.default_rng(5)
    rows, expected = RowMap(), {}
    ids = [*range(0, 3000), 10**9, 2**31 - 1, -7, 70_000, 5_000_000]
    for step in range(20_000):
        item_id = int(ids[rng.integers(len(ids))])
        if rng.random() < 0.3:
            assert rows.pop(item_id, None) == expected.pop(item_id, None)
        else:
            rows[item_id] = expected[item_id] = step
    assert len(rows) == len(expected)
    for item_id in ids:
        assert (item_id in rows) == (item_id in expected)
        assert rows.get(item_id) == expected.get(item_id)
    assert rows._dense.nbytes <= 4 * max(1 << 16, 8 * (len(expected) + 1))  # far ids never widen the array


def test_index_answers_for_numpy_and_python_ids_alike():
    index = BruteForceIndex(dimensions=384)
    vectors = _unit(np.random.default_rng(2).standard_normal((3, 384)).astype(np.float32))
    index.add(np.array([5, 900_000_000, 7]), vectors)
    assert 5 in index and np.int64(900_000_000) in index and len(index) == 3
    assert np.allclose(index.vectors([np.int64(7), 900_000_000]), vectors[[2, 1]], atol=0.01)
    index.remove([np.int64(900_000_000)])
    assert 900_000_000 not in index and len(index) == 2
    assert [i for i, _ in index.search(vectors[0], 5)][0] == 5


def test_rows_reused_after_removal_rank_as_in_a_fresh_index():
    """A removed row never comes back in an answer, and a new vector written into a freed row (its ranking
    terms kept with the row, between two refreshes of the mean) ranks as it would in an index built afresh."""
    rng = np.random.default_rng(11)
    vectors = _unit(rng.standard_normal((3000, 384)).astype(np.float32))
    index = BruteForceIndex(capacity=3000, dimensions=384)
    index.add(range(3000), vectors)
    index.search(vectors[0], 5)  # the mean is computed here; the 20 changes below stay under its refresh
    removed = list(range(100, 110))
    index.remove(removed)
    newcomers = _unit(vectors[:10] + 0.2 * rng.standard_normal((10, 384)).astype(np.float32))
    index.add(range(5000, 5010), newcomers)
    fresh = BruteForceIndex(capacity=3000, dimensions=384, mean=index._mean)
    kept = [i for i in range(3000) if i not in removed]
    fresh.add(kept, vectors[kept])
    fresh.add(range(5000, 5010), newcomers)
    for query in [*vectors[:10], *vectors[100:103]]:
        got, expected = index.search(query, 20), dict(fresh.search(query, 40))
        # Scores agree to 1e-4 (the index's older rows took their dot with the mean from the int8 scan at its
        # refresh), so the order may differ only between near-ties.
        assert all(abs(score - expected[i]) < 1e-4 for i, score in got)
        assert {i for i, score in expected.items() if score > got[-1][1] + 1e-3} <= {i for i, _ in got}
        assert not set(removed) & {i for i, _ in got}
    assert index.search(vectors[3], 2, frozenset({3}))[0][0] == 5003
