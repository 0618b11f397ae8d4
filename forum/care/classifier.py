"""The learned layer of the care detector: logistic regression on the similar-stories sentence embeddings.

Two stages, numpy only:
1. *units* (one sentence, two neighbouring sentences, or a short text): a crisis logit from the unit's
   embedding and hashed n-grams (a logistic regression), optionally plus a small one-hidden-layer network over
   the embedding (`fit_mlp`; which one is shipped is chosen by cross-validation in forum.care.training);
2. *texts*: a calibrated probability from a few aggregates of the unit logits (the strongest plain unit, the
   strongest unit the context rules guard, the whole text) and whether a reviewed phrase survived the rules.
   Stage 2 is fitted on out-of-fold stage-1 scores, so it is a Platt-style calibration learnt on held-out
   folds.

A model file belongs to one embedding model: it stores the engine's model id and the vectors of a few probe
sentences, and `load_classifier` refuses it when the engine in use gives other vectors (retrain with
`flask --app wsgi care retrain`). Training lives in forum.care.training.
"""

from __future__ import annotations

import json
import logging
import re
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

import numpy as np

from forum.care.fitting import Design, Stage1, sigmoid
from forum.care.rules import normalise
from forum.similar import engine

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"
PROBES = (
    "I keep thinking they would be better off without me.",
    "We went to the park and fed the ducks.",
    "He checks my phone every night.",
)
PROBE_MATCH = 0.98  # least cosine between a stored probe vector and the engine's vector today
STAGE2 = (
    "best plain unit",
    "best guarded unit",
    "second plain sentence",
    "second guarded sentence",
    "whole text",
    "phrase",
    "log sentences",
)
# The classifier alone, for comparison (the rules' guards and phrases left out).
PLAIN = ("best unit", "second sentence", "whole text", "log sentences")
WIDTHS = (1, 2, 3)  # sentences per unit
NO_UNIT = -8.0  # the logit standing in for "no such unit"
NGRAM_BUCKETS = 4096


class Embedder(Protocol):
    """The similar-stories engine's interface: L2-normalised float32 rows, one per text."""

    def embed(self, texts: list[str]) -> np.ndarray: ...


class ModelMismatch(RuntimeError):
    """A classifier file trained on another embedding model's vectors."""


def engine_model_id(embedder: Embedder) -> str:
    """The embedding model's id as the engine declares it (``model_id`` on the embedder or ``MODEL_ID`` in
    forum.similar.engine), else the embedder's class and the width of its vectors."""
    declared = getattr(embedder, "model_id", None)
    if not declared and type(embedder).__module__ == "forum.similar.engine":
        declared = getattr(engine, "MODEL_ID", None)
    if declared:
        return str(declared)
    width = int(np.asarray(embedder.embed([PROBES[0]])).shape[1])
    return f"{type(embedder).__module__}.{type(embedder).__qualname__}/{width}"


def model_path(model_id: str, directory: Path = DATA) -> Path:
    """Where the classifier for one embedding model is kept."""
    slug = re.sub(r"[^a-z0-9]+", "-", model_id.lower()).strip("-")[:80] or "model"
    return directory / f"classifier-{slug}.npz"


def ngram_indices(text: str, buckets: int = NGRAM_BUCKETS) -> np.ndarray:
    """The hashed word uni- and bigrams of a normalised text (distinct bucket numbers; a row's values are
    L2-normalised in the Design): embeddings blur the small words that carry negation, tense and destination
    ("to a beach for a week", "two years ago")."""
    words = normalise(text).split()
    grams = [*words, *(f"{a} {b}" for a, b in zip(words, words[1:], strict=False))]
    return np.unique(np.array([zlib.crc32(g.encode()) % buckets for g in grams], dtype=np.int64))


def unit_spans(count: int, widths: tuple[int, ...] = WIDTHS) -> list[tuple[int, int]]:
    """Sentence spans of a text's units: every window of each width (one sentence, two, three neighbours)."""
    return [(i, i + w) for w in widths for i in range(count - w + 1)]


def unit_vectors(
    vectors: np.ndarray, widths: tuple[int, ...] = WIDTHS
) -> tuple[np.ndarray, list[tuple[int, int]]]:
    """Units of a text from its sentence vectors: each window of ``widths`` sentences (normalised means),
    with the sentence span of each. Windows catch a thought spread over short sentences."""
    spans = unit_spans(len(vectors), widths)
    return np.stack([_mean(vectors[a:b]) for a, b in spans]), spans


def _mean(rows: np.ndarray) -> np.ndarray:
    mean = np.asarray(rows, dtype=np.float64).mean(axis=0)
    return mean / max(float(np.linalg.norm(mean)), 1e-12)


def plain_features(features: np.ndarray) -> np.ndarray:
    """The classifier-alone input from the combined one (rows of STAGE2 -> rows of PLAIN)."""
    f = np.atleast_2d(features)
    return np.column_stack([f[:, :2].max(axis=1), np.maximum(f[:, 2], f[:, 3]), f[:, 4], f[:, 6]])


def text_features(
    unit_logits: np.ndarray,
    spans: list[tuple[int, int]],
    guarded: list[bool],
    whole: float,
    phrase: bool,
) -> np.ndarray:
    """Stage-2 input for one text (see STAGE2); a unit is guarded when any of its sentences is.

    The strongest unit alone rises with a text's length (more units, more chances for one to score high), so
    the calibration also sees the second-strongest sentence and the length, and learns how much one high
    unit in a long post is worth."""
    logits = np.asarray(unit_logits, dtype=np.float64)
    held = np.array([any(guarded[a:b]) for a, b in spans], dtype=bool)
    single = np.array([b - a == 1 for a, b in spans], dtype=bool)
    plain_single = np.sort(logits[single & ~held])[::-1]
    held_single = np.sort(logits[single & held])[::-1]
    sentences = int(single.sum())
    return np.array(
        [
            logits[~held].max(initial=NO_UNIT),
            logits[held].max(initial=NO_UNIT),
            _second(plain_single, sentences),
            _second(held_single, sentences),
            whole,
            float(phrase),
            np.log1p(max(sentences - 1, 0)),
        ]
    )


def _second(descending: np.ndarray, sentences: int) -> float:
    """The second-strongest sentence, the strongest one standing in when a text has one sentence."""
    if len(descending) == 0:
        return NO_UNIT
    return (
        float(descending[1]) if len(descending) > 1 else (float(descending[0]) if sentences == 1 else NO_UNIT)
    )


@dataclass
class Classifier:
    """Both stages, the decision threshold, and the figures they were chosen with."""

    model_id: str
    weights: np.ndarray  # stage 1: one per embedding dimension, then one per n-gram bucket
    bias: float
    stage2: np.ndarray  # one weight per STAGE2 feature
    stage2_bias: float
    threshold: float  # on the calibrated text probability
    probes: np.ndarray
    figures: dict[str, Any] = field(default_factory=dict)
    # The classifier alone (no rules), calibrated and thresholded the same way, for the bench's comparison.
    plain: np.ndarray = field(default_factory=lambda: np.zeros(len(PLAIN)))
    plain_bias: float = 0.0
    plain_threshold: float = 0.5
    damp: float = 1.0  # kept for callers of the earlier detector; the rules now enter through stage 2
    widths: tuple[int, ...] = WIDTHS  # sentences per unit the model was trained with
    # Stage 1's hidden layer (empty when stage 1 is the logistic regression alone): see Stage1.
    hidden_w: np.ndarray = field(default_factory=lambda: np.zeros((0, 0)))
    hidden_b: np.ndarray = field(default_factory=lambda: np.zeros(0))
    hidden_v: np.ndarray = field(default_factory=lambda: np.zeros(0))

    @property
    def stage1(self) -> Stage1:
        """Stage 1 as a unit scorer."""
        return Stage1(self.weights, self.bias, self.hidden_w, self.hidden_b, self.hidden_v)

    @property
    def version(self) -> str:
        """A short name for this model: the data it saw and when it was trained."""
        return str(self.figures.get("version", "unknown"))

    def probabilities(self, vectors: np.ndarray, texts: list[str]) -> np.ndarray:
        """Stage-1 crisis probability of each unit, from its embedding and its text."""
        design = Design(vectors, [ngram_indices(text) for text in texts], NGRAM_BUCKETS)
        return sigmoid(self.stage1.design_logits(design))

    def post_probability(self, features: np.ndarray) -> float:
        """The calibrated probability that a text needs the card, from its stage-2 features."""
        return float(sigmoid(np.asarray(features) @ self.stage2 + self.stage2_bias))

    def plain_probability(self, features: np.ndarray) -> float:
        """The same from the classifier alone, ignoring what the rules saw."""
        return float(sigmoid(plain_features(features)[0] @ self.plain + self.plain_bias))

    def matches(self, embedder: Embedder) -> bool:
        """True when the embedder gives the vectors this classifier was trained on."""
        now = np.asarray(embedder.embed(list(PROBES)), dtype=np.float64)
        if now.shape != self.probes.shape:
            return False
        return bool((np.sum(now * self.probes, axis=1) >= PROBE_MATCH).all())

    def save(self, path: Path) -> None:
        """Write the weights, settings and figures as a small .npz."""
        np.savez_compressed(
            path,
            model_id=self.model_id,
            weights=self.weights.astype(np.float32),
            bias=self.bias,
            stage2=self.stage2,
            stage2_bias=self.stage2_bias,
            threshold=self.threshold,
            probes=self.probes.astype(np.float32),
            figures=json.dumps(self.figures, sort_keys=True),
            plain=self.plain,
            plain_bias=self.plain_bias,
            plain_threshold=self.plain_threshold,
            widths=np.array(self.widths),
            hidden_w=self.hidden_w.astype(np.float32),
            hidden_b=self.hidden_b.astype(np.float32),
            hidden_v=self.hidden_v.astype(np.float32),
        )

    @classmethod
    def load(cls, path: Path) -> Classifier:
        """Read a file written by save()."""
        with np.load(path) as npz:
            return cls(
                str(npz["model_id"]),
                npz["weights"].astype(np.float64),
                float(npz["bias"]),
                npz["stage2"].astype(np.float64),
                float(npz["stage2_bias"]),
                float(npz["threshold"]),
                npz["probes"].astype(np.float64),
                json.loads(str(npz["figures"])),
                npz["plain"].astype(np.float64),
                float(npz["plain_bias"]),
                float(npz["plain_threshold"]),
                widths=tuple(int(w) for w in npz["widths"]) if "widths" in npz else (1, 2),
                hidden_w=npz["hidden_w"] if "hidden_w" in npz else np.zeros((0, 0)),
                hidden_b=npz["hidden_b"] if "hidden_b" in npz else np.zeros(0),
                hidden_v=npz["hidden_v"] if "hidden_v" in npz else np.zeros(0),
            )


def load_classifier(embedder: Embedder, directory: Path = DATA) -> Classifier:
    """The stored classifier for the embedder's model; ModelMismatch when there is none or it was trained on
    other vectors (the detector then runs on its rules alone until someone retrains)."""
    model_id = engine_model_id(embedder)
    path = model_path(model_id, directory)
    if not path.exists():
        raise ModelMismatch(f"no care classifier for embedding model {model_id!r} (run: flask care retrain)")
    model = Classifier.load(path)
    if model.model_id != model_id or not model.matches(embedder):
        raise ModelMismatch(
            f"{path.name} was trained on another embedding model's vectors (run: flask care retrain)"
        )
    return model


def latest_figures(directory: Path = DATA) -> dict[str, Any] | None:
    """The figures of the newest classifier file, for the admin page (no model needs loading)."""
    paths = sorted(directory.glob("classifier-*.npz"), key=lambda p: p.stat().st_mtime, reverse=True)
    for path in paths:
        try:
            with np.load(path) as npz:
                figures = json.loads(str(npz["figures"]))
                figures.setdefault("model_id", str(npz["model_id"]))
                return figures
        except (OSError, KeyError, ValueError) as error:
            log.warning("care: cannot read %s (%s)", path.name, error)
    return None
