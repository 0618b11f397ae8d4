"""The learned layer: logistic regression, two-stage scoring, training with cross-validation, and the check
that a classifier is only ever used with the embedding model whose vectors it was trained on."""

from __future__ import annotations

import zlib
from pathlib import Path

import numpy as np
import pytest

from forum.care import classifier as clf
from forum.care import fitting, methods, operating, training
from forum.care.classifier import Classifier, ModelMismatch, load_classifier
from forum.care.detector import Detector
from forum.care.training import Labelled


class HashEmbedder:
    """A stand-in for the similar-stories engine: bag of hashed words, L2-normalised (fast, deterministic)."""

    def __init__(self, model_id: str = "hash-words-v1", salt: int = 0) -> None:
        self.model_id, self.salt, self.calls = model_id, salt, 0

    def embed(self, texts: list[str]) -> np.ndarray:
        self.calls += len(texts)
        out = np.full((len(texts), 48), 1e-3, dtype=np.float32)
        for row, text in enumerate(texts):
            for word in text.lower().replace(".", " ").split():
                out[row, (zlib.crc32(word.encode()) + self.salt) % 48] += 1.0
        return out / np.linalg.norm(out, axis=1, keepdims=True)


RISK = [
    "I want to die and nobody would notice.",
    "They would all be better off without me.",
    "I keep thinking about ending it tonight.",
    "I have written the children goodbye letters.",
    "He checks my phone and I am scared of him.",
    "I cut myself again last night.",
    "I feel nothing for the baby and I cannot get out of bed.",
    "I want to die, sorry, I just do.",
]
SAFE = [
    "We went to the park and fed the ducks.",
    "Nursery drop-off was hard but she settled.",
    "Any tips for weaning a fussy eater?",
    "I nearly died of embarrassment at the party.",
    "This teething is killing me lol.",
    "Two years ago I had PND, therapy helped and I am well now.",
    "The sleep regression is brutal this week.",
    "I want to run away to a beach for a week.",
]


def tiny_rows() -> list[Labelled]:
    rows = [Labelled(t, True, "risk", "writer-x") for t in RISK] + [
        Labelled(t, False, "safe", "writer-x") for t in SAFE
    ]
    # A few posts: the risk is one line among ordinary ones.
    rows += [
        Labelled(f"Long day with the twins. {r} Anyway, bath time now.", True, "risk", "writer-x", "post")
        for r in RISK[:5]
    ]
    rows += [
        Labelled(f"Long day with the twins. {s} Anyway, bath time now.", False, "safe", "writer-x", "post")
        for s in SAFE[:5]
    ]
    return rows


@pytest.fixture(scope="module")
def trained() -> tuple[Classifier, dict, HashEmbedder]:
    embedder = HashEmbedder()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(training, "load_training", lambda extra=(): tiny_rows())
        model, figures = training.train(embedder)
    return model, figures, embedder


def test_logistic_regression_is_deterministic_and_fits() -> None:
    rng = np.random.default_rng(1)
    x = rng.normal(size=(300, 20))
    y = (x[:, 0] + 0.1 * rng.normal(size=300) > 0).astype(float)
    w1, b1 = fitting.fit_logistic(x, y, 1.0)
    w2, b2 = fitting.fit_logistic(x, y, 1.0)
    assert np.array_equal(w1, w2) and b1 == b2
    assert ((x @ w1 + b1 > 0) == y).mean() > 0.95


def test_units_are_sentences_and_windows_of_neighbours() -> None:
    vectors = np.eye(3)
    units, spans = clf.unit_vectors(vectors)
    assert spans == [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3), (0, 3)]
    assert np.allclose(np.linalg.norm(units, axis=1), 1.0)
    assert clf.unit_vectors(vectors, (1, 2))[1] == [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3)]


def test_guarded_units_are_kept_apart_in_the_text_features() -> None:
    logits = np.array([2.0, -1.0, 0.5])
    features = clf.text_features(logits, [(0, 1), (1, 2), (0, 2)], [True, False], whole=0.3, phrase=False)
    # The strongest plain unit is sentence 2 alone; sentence 1 (e.g. a joke) and the pair are guarded.
    best, best_held, second, second_held, whole, phrase, length = features.tolist()
    assert (best, best_held, whole, phrase) == (-1.0, 2.0, 0.3, 0.0)
    assert second == second_held == clf.NO_UNIT and length == pytest.approx(np.log(2))
    assert clf.plain_features(features).tolist() == [[2.0, clf.NO_UNIT, 0.3, pytest.approx(np.log(2))]]


def test_training_reports_cross_validated_figures(trained) -> None:
    model, figures, _ = trained
    cv = figures["cross_validated"]
    assert cv["texts"] == len(tiny_rows()) and 0 <= cv["precision"] <= 1 and cv["recall"] >= 0.9
    assert set(cv["carded_by_kind"]) == {"risk", "safe"}
    assert figures["model_id"] == model.model_id == "hash-words-v1"
    assert figures["version"].startswith("care-") and 0 < model.threshold < 1
    lines = operating.describe(figures)
    assert "cross-validated" in lines[2] and any("risk" in line for line in lines)


def test_threshold_reaches_the_recall_target() -> None:
    y = np.array([1, 1, 1, 1, 0, 0, 0, 0, 1, 1], dtype=float)
    probs = np.array([0.9, 0.8, 0.7, 0.6, 0.5, 0.4, 0.3, 0.2, 0.55, 0.1])
    threshold = operating.choose_threshold(probs, y, target=0.8)
    assert ((probs >= threshold) & (y == 1)).sum() / y.sum() >= 0.8
    assert threshold == 0.55


def test_folds_are_stratified_by_kind() -> None:
    rows = tiny_rows()
    folds = methods.folds_of(rows, folds=5)
    for kind in ("risk", "safe"):
        counts = np.bincount([f for f, r in zip(folds, rows, strict=True) if r.kind == kind], minlength=5)
        assert counts.max() - counts.min() <= 1


def test_saved_classifier_round_trips_and_scores_like_the_original(trained, tmp_path: Path) -> None:
    model, _, embedder = trained
    path = clf.model_path(model.model_id, tmp_path)
    assert path.name == "classifier-hash-words-v1.npz"
    model.save(path)
    loaded = load_classifier(embedder, tmp_path)
    assert loaded.version == model.version and loaded.threshold == model.threshold
    text = "Long day. They would all be better off without me. Bath time."
    assert Detector(embedder=embedder, classifier=loaded).check(text) == Detector(
        embedder=embedder, classifier=model
    ).check(text)
    assert clf.latest_figures(tmp_path)["version"] == model.version


def test_a_classifier_trained_on_another_models_vectors_is_refused(trained, tmp_path: Path) -> None:
    model, _, _ = trained
    model.save(clf.model_path(model.model_id, tmp_path))
    # Same declared id, different vectors (e.g. the engine swapped its weights without a new id): refused.
    with pytest.raises(ModelMismatch, match="another embedding model"):
        load_classifier(HashEmbedder(salt=7), tmp_path)
    # Another model id: no classifier for it at all.
    with pytest.raises(ModelMismatch, match="no care classifier"):
        load_classifier(HashEmbedder(model_id="other-model"), tmp_path)


def test_the_detector_falls_back_to_its_rules_when_the_classifier_is_refused(trained, tmp_path: Path) -> None:
    model, _, _ = trained
    model.save(clf.model_path(model.model_id, tmp_path))
    detector = Detector(embedder=HashEmbedder(salt=7), model_dir=tmp_path)
    assert not detector.uses_classifier
    assert "another embedding model" in (detector.problem or "") and detector.version == "rules only"
    # The rules still work on their own.
    assert detector.check("I keep thinking they'd be better off without me.").signpost
    assert not detector.check("We went to the park and fed the ducks.").signpost


def test_engine_model_id_is_the_declared_one_or_the_class_and_width() -> None:
    assert clf.engine_model_id(HashEmbedder()) == "hash-words-v1"

    class Bare:
        def embed(self, texts: list[str]) -> np.ndarray:
            return np.ones((len(texts), 5), dtype=np.float32)

    assert clf.engine_model_id(Bare()).endswith("Bare/5")


def test_each_sentence_is_embedded_once_and_cached(trained) -> None:
    model, _, _ = trained
    embedder = HashEmbedder()
    detector = Detector(embedder=embedder, classifier=model)
    texts = ["We baked a cake. I feel so empty.", "We baked a cake. The park was fun."]
    detector.check_many(texts)
    assert embedder.calls == 3  # "We baked a cake." once
    detector.check_many(texts)
    assert embedder.calls == 3  # a re-checked draft embeds nothing new


def test_the_classifier_alone_ignores_the_rules(trained) -> None:
    model, _, embedder = trained
    text = "I want to die lol"
    combined = Detector(embedder=embedder, classifier=model).check(text)
    alone = Detector(embedder=embedder, classifier=model, alone=True).check(text)
    assert combined.reasons[-1].startswith("whole text") and alone.reasons[-1].startswith("whole text")
    assert f"card at {model.plain_threshold:g}" in alone.reasons[-1]


def many_writers_rows() -> list[Labelled]:
    """Three writers who each cover both kinds (60 texts each), one small writer, and background posts."""
    rows = []
    for writer in ("writer-x", "writer-y", "writer-z"):
        rows += [Labelled(f"{RISK[i % 8]} ({writer} {i})", True, "risk", writer) for i in range(20)]
        rows += [Labelled(f"{SAFE[i % 8]} ({writer} {i})", False, "neg_idiom", writer) for i in range(40)]
    rows += [Labelled(t, True, "risk", "writer-small") for t in RISK[:4]]
    rows += [
        Labelled(f"{s} Real post {i}.", False, "background_real_post", training.BACKGROUND_WRITER, "post")
        for i, s in enumerate(SAFE * 3)
    ]
    return rows


def test_writer_folds_hold_out_each_writer_whole() -> None:
    rows = many_writers_rows()
    folds = methods.writer_folds(rows)
    assert folds is not None and set(folds.tolist()) == {0, 1, 2}
    for writer in ("writer-x", "writer-y", "writer-z"):
        assert len({f for f, r in zip(folds, rows, strict=True) if r.writer == writer}) == 1
    # The small writer and the background posts are spread over the folds, never left out.
    spread = [f for f, r in zip(folds, rows, strict=True) if r.writer == training.BACKGROUND_WRITER]
    assert set(spread) == {0, 1, 2}
    # Fewer than three writers with enough texts: no writer folds (the stratified ones are used instead).
    assert methods.writer_folds([r for r in rows if r.writer != "writer-z"]) is None
    method = training.Method("test", folds="writer")
    assert training.folds_for([r for r in rows if r.writer != "writer-z"], method)[1] == "stratified"


def test_balancing_gives_each_writer_the_same_share_of_a_kind() -> None:
    rows = [Labelled(f"a{i}", True, "risk", "writer-x") for i in range(30)]
    rows += [Labelled(f"b{i}", True, "risk", "writer-y") for i in range(10)]
    rows += [Labelled(f"c{i}", False, "neg_idiom", "writer-y") for i in range(10)]
    rows += [Labelled("bg", False, "background_real_post", training.BACKGROUND_WRITER, "post")]
    rows += [Labelled("verdict", True, "moderator_right", "moderators", "post")]
    plain = training.weights_for(rows, training.Method("plain"))
    balanced = training.weights_for(rows, training.Method("balanced", balance_writers=True))
    x = np.array([r.writer == "writer-x" for r in rows])
    risk = np.array([r.kind == "risk" for r in rows])
    risk &= np.array([r.writer.startswith("writer-") for r in rows])
    assert plain[x].sum() == 3 * plain[risk & ~x].sum()  # unbalanced: writer-x carries three quarters
    assert balanced[x].sum() == pytest.approx(balanced[risk & ~x].sum())
    assert balanced[risk].sum() == pytest.approx(plain[risk].sum())  # the kind's total is unchanged
    # Background posts and moderators' verdicts are not writers' texts: left as they were.
    assert balanced[-2] == plain[-2] == 1.0 and balanced[-1] == plain[-1] == 1.0


def test_a_hidden_layer_is_fitted_saved_and_used(tmp_path: Path) -> None:
    rows = many_writers_rows()
    embedder = HashEmbedder()
    texts = training.prepare(rows, embedder, None)
    method = training.Method("mlp", hidden=8, epochs=(2, 4), balance_writers=True, folds="writer")
    probes = np.asarray(embedder.embed(list(clf.PROBES)), dtype=np.float64)
    model, figures = training.fit(texts, embedder.model_id, probes, "sha", method=method)
    assert figures["folds"] == "writer" and figures["method"]["epochs_chosen"] in (2, 4)
    assert model.hidden_w.shape == (48, 8) and model.hidden_v.shape == (8,)
    assert {h["writer"] for h in figures["held_out_author"]} == {"writer-x", "writer-y", "writer-z"}
    model.save(clf.model_path(model.model_id, tmp_path))
    loaded = load_classifier(embedder, tmp_path)
    assert np.allclose(loaded.hidden_v, model.hidden_v)
    vectors = np.asarray(embedder.embed(RISK[:3]), dtype=np.float64)
    without = clf.Classifier(**{**model.__dict__, "hidden_v": np.zeros(0)})
    assert np.allclose(
        loaded.probabilities(vectors, RISK[:3]), model.probabilities(vectors, RISK[:3]), atol=1e-5
    )
    assert not np.allclose(model.probabilities(vectors, RISK[:3]), without.probabilities(vectors, RISK[:3]))


def test_the_hidden_layer_fit_is_deterministic_and_stops_where_asked() -> None:
    rng = np.random.default_rng(3)
    x = rng.normal(size=(200, 6)).astype(np.float32)
    y = ((x[:, 0] * x[:, 1]) > 0).astype(float)  # not linearly separable: the hidden layer has work to do
    first = fitting.fit_mlp(x, y, np.zeros(200), 1e-3, hidden=8, checkpoints=(5, 60), rate=0.01)
    second = fitting.fit_mlp(x, y, np.zeros(200), 1e-3, hidden=8, checkpoints=(5, 60), rate=0.01)
    assert set(first) == {5, 60} and all(
        np.array_equal(a, b) for a, b in zip(first[60][:3], second[60][:3], strict=True)
    )
    hw, hb, v, b = first[60]
    z = np.maximum(x @ hw + hb, 0) @ v + b
    assert ((z > 0) == y).mean() > 0.75  # a linear rule gets about half of these right
