"""Training the care classifier (forum.care.classifier) from labelled texts, with cross-validated figures.

Data: every ``data/train/*.jsonl`` (independent writers, label scheme in /work/notes/KINDS.md), the older
``data/train.jsonl`` (one earlier writer, labelled ``crisis``) and any moderator labels exported with
``flask care export-labels``. Never the evaluation sets under bench/data: they are for measuring only.

Everything the detector chooses (regularisation, calibration, threshold) is chosen here by 5-fold
cross-validation over texts, stratified by kind; the figures printed are those out-of-fold figures. Because
each training writer covers different kinds, folds cannot be split by writer; instead the earlier writer's
texts are also held out whole (train on the others, test on them) as a check across authors.
"""

from __future__ import annotations

import hashlib
import json
import logging
from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

from forum.care.classifier import (
    DATA,
    PROBES,
    Classifier,
    Embedder,
    engine_model_id,
    fit_logistic,
    plain_features,
    sigmoid,
    text_features,
    unit_features,
    unit_vectors,
)

log = logging.getLogger(__name__)

TRAIN_DIR = DATA / "train"
LEGACY_PATH = DATA / "train.jsonl"
# Real posts as background negatives: ids here, text in the shared data (not copied into the repository).
BACKGROUND_IDS = TRAIN_DIR / "background-reddit.ids"
BACKGROUND_POSTS = DATA.parents[2].parent / "shared" / "data" / "reddit-parenting-pddl.jsonl"
BACKGROUND_WRITER = "reddit-background"
LEGACY_WRITER = "legacy"
RECALL_TARGET = 0.93  # chosen before measuring: the cross-validated recall aimed for, above the 0.90 goal,
# because recall on a writer the model has never read is expected to be lower than within its writers
L2_GRID = (0.3,)  # 0.3 beat 1.0 and 3.0 on cross-validated log-loss (2026-12-02); widen when data grows
STAGE2_L2 = 0.1
FOLDS = 5


@dataclass
class Labelled:
    """One training text."""

    text: str
    signpost: bool
    kind: str
    writer: str
    form: str = "sentence"


def load_training(extra: Sequence[Path] = ()) -> list[Labelled]:
    """The committed training texts plus any exported moderator labels (``extra``)."""
    rows: list[Labelled] = []
    for path in [*sorted(TRAIN_DIR.glob("*.jsonl")), *extra]:
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                rows.append(
                    Labelled(
                        raw["text"],
                        bool(raw["signpost"]),
                        raw.get("kind") or "unlabelled",
                        raw.get("writer") or path.stem,
                        raw.get("form") or "post",
                    )
                )
    rows += _background()
    if LEGACY_PATH.exists():
        for line in LEGACY_PATH.read_text(encoding="utf-8").splitlines():
            if line.strip():
                raw = json.loads(line)
                rows.append(
                    Labelled(raw["text"], bool(raw["crisis"]), f"legacy:{raw['kind']}", LEGACY_WRITER)
                )
    return rows


def _background() -> list[Labelled]:
    """Ordinary real posts (unlabelled, taken as needing no card); none when the shared data is absent."""
    if not BACKGROUND_IDS.exists() or not BACKGROUND_POSTS.exists():
        if BACKGROUND_IDS.exists():
            log.warning("care training: %s is missing; training without background posts", BACKGROUND_POSTS)
        return []
    wanted = {
        line.strip() for line in BACKGROUND_IDS.read_text().splitlines() if line.strip()[:1] not in ("", "#")
    }
    rows = []
    for line in BACKGROUND_POSTS.read_text(encoding="utf-8").splitlines():
        post = json.loads(line)
        if post.get("id") in wanted:
            text = f"{post.get('title') or ''}\n{post.get('body') or ''}".strip()
            rows.append(Labelled(text, False, "background_real_post", BACKGROUND_WRITER, "post"))
    return rows


def data_sha(extra: Sequence[Path] = ()) -> str:
    """SHA-256 over the training files, to tell which data a model saw."""
    digest = hashlib.sha256()
    for path in [*sorted(TRAIN_DIR.glob("*.jsonl")), BACKGROUND_IDS, LEGACY_PATH, *extra]:
        if path.exists():
            digest.update(path.read_bytes())
    return digest.hexdigest()


class VectorCache:
    """Sentence vectors by sentence, kept on disk per embedding model so retraining embeds only new text."""

    def __init__(self, embedder: Embedder, path: Path | None) -> None:
        self.embedder, self.path = embedder, path
        self.vectors: dict[str, np.ndarray] = {}
        if path is not None and path.exists():
            with np.load(path, allow_pickle=False) as npz:
                self.vectors = dict(zip(npz["keys"].tolist(), npz["vectors"], strict=True))

    def get(self, sentences: list[str]) -> np.ndarray:
        missing = list(dict.fromkeys(s for s in sentences if s not in self.vectors))
        for start in range(0, len(missing), 256):
            chunk = missing[start : start + 256]
            vectors = np.asarray(self.embedder.embed(chunk), dtype=np.float32)
            self.vectors.update(zip(chunk, vectors, strict=True))
            log.info("care training: embedded %d of %d new sentences", start + len(chunk), len(missing))
        if missing and self.path is not None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            keys = list(self.vectors)
            np.savez(self.path, keys=np.array(keys), vectors=np.stack([self.vectors[k] for k in keys]))
        return np.stack([self.vectors[s] for s in sentences]) if sentences else np.zeros((0, 1))


@dataclass
class Prepared:
    """A training text as the detector sees it: its units' stage-1 features (sentences and neighbouring pairs,
    then the whole text last), which sentences the rules guard, and whether a phrase survived the rules."""

    row: Labelled
    features: np.ndarray  # float32 rows: the units, then the whole text
    spans: list[tuple[int, int]]
    guarded: list[bool]
    phrase: bool

    @classmethod
    def build(
        cls, row: Labelled, vectors: np.ndarray, sentences: list[str], guarded: list[bool], phrase: bool
    ):
        units, spans = unit_vectors(vectors)
        whole = vectors.mean(axis=0)
        whole = whole / max(float(np.linalg.norm(whole)), 1e-12)
        texts = [" ".join(sentences[a:b]) for a, b in spans] + [" ".join(sentences)]
        features = unit_features(np.vstack([units, whole[None, :]]), texts).astype(np.float32)
        return cls(row, features, spans, guarded, phrase)

    @property
    def units(self) -> np.ndarray:
        return self.features[:-1]

    @property
    def whole(self) -> np.ndarray:
        return self.features[-1]


def prepare(rows: list[Labelled], embedder: Embedder, cache_path: Path | None) -> list[Prepared]:
    """Run the rule layer over every text and embed the sentences the detector would embed."""
    from forum.care.detector import Detector

    rules = Detector(use_classifier=False)
    analysed = [rules.analyse(row.text) for row in rows]
    cache = VectorCache(embedder, cache_path)
    cache.get([s for a in analysed for s in a.embedded_texts()])
    out = []
    for row, analysis in zip(rows, analysed, strict=True):
        sentences = analysis.embedded_texts() or [row.text.strip() or "."]
        guarded = [analysis.checks[i].guarded for i in analysis.embedded] or [False]
        out.append(Prepared.build(row, cache.get(sentences), sentences, guarded, analysis.phrase_hit))
    return out


def _stage1_rows(
    texts: list[Prepared], seed_model: tuple[np.ndarray, float] | None
) -> tuple[np.ndarray, np.ndarray]:
    """Stage-1 rows: each text whole; every unit of a text that needs no card (no part of it does); and,
    given a first model, the strongest unit of each multi-sentence text that does (multiple-instance)."""
    x, y = [], []
    for t in texts:
        x.append(t.whole)
        y.append(int(t.row.signpost))
        if len(t.spans) < 2:
            continue
        if not t.row.signpost:
            x.extend(t.units)
            y.extend([0] * len(t.units))
        elif seed_model is not None:
            x.append(t.units[int(np.argmax(t.units @ seed_model[0] + seed_model[1]))])
            y.append(1)
    return np.array(x), np.array(y, dtype=float)


def fit_stage1(texts: list[Prepared], l2: float) -> tuple[np.ndarray, float]:
    """Stage 1 in two rounds: texts and clear units first, then with each positive post's strongest unit."""
    seed = fit_logistic(*_stage1_rows(texts, None), l2)
    return fit_logistic(*_stage1_rows(texts, seed), l2)


def stage2_features(t: Prepared, model: tuple[np.ndarray, float]) -> np.ndarray:
    """The stage-2 input of one text under a stage-1 model."""
    weights, bias = model
    logits = t.features @ weights + bias
    return text_features(logits[:-1], t.spans, t.guarded, float(logits[-1]), t.phrase)


def folds_of(rows: list[Labelled], folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """A fold number per text, stratified by kind and label."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(rows), dtype=int)
    by_kind: dict[tuple[str, bool], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        by_kind[(row.kind, row.signpost)].append(i)
    offset = 0
    for key in sorted(by_kind):
        members = rng.permutation(by_kind[key])
        fold[members] = (np.arange(len(members)) + offset) % folds
        offset += len(members)
    return fold


def out_of_fold_features(texts: list[Prepared], fold: np.ndarray, l2: float) -> np.ndarray:
    """Stage-2 features of every text from a stage-1 model that never saw it."""
    features = np.zeros((len(texts), 4))
    for k in range(fold.max() + 1):
        model = fit_stage1([t for t, f in zip(texts, fold, strict=True) if f != k], l2)
        for i in np.flatnonzero(fold == k):
            features[i] = stage2_features(texts[i], model)
    return features


def calibrated_out_of_fold(features: np.ndarray, y: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """Stage-2 probabilities, each from a calibration fitted without the text."""
    probs = np.zeros(len(y))
    for k in range(fold.max() + 1):
        w, b = fit_logistic(features[fold != k], y[fold != k], STAGE2_L2)
        probs[fold == k] = sigmoid(features[fold == k] @ w + b)
    return probs


def choose_threshold(probs: np.ndarray, y: np.ndarray, target: float = RECALL_TARGET) -> float:
    """The highest threshold whose cross-validated recall reaches the target."""
    positives = np.sort(probs[y == 1])[::-1]
    needed = int(np.ceil(target * len(positives)))
    return float(np.floor(positives[max(needed - 1, 0)] * 1000) / 1000)


def figures_for(rows: Sequence[Labelled], predicted: np.ndarray) -> dict[str, Any]:
    """Precision, recall, and per kind the share of texts given the card."""
    y = np.array([r.signpost for r in rows])
    tp, fp = int((predicted & y).sum()), int((predicted & ~y).sum())
    fn = int((~predicted & y).sum())
    per_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row, p in zip(rows, predicted, strict=True):
        per_kind[row.kind][0] += int(p)
        per_kind[row.kind][1] += 1
    return {
        "texts": len(rows),
        "precision": round(tp / max(tp + fp, 1), 3),
        "recall": round(tp / max(tp + fn, 1), 3),
        "carded_by_kind": {k: round(a / b, 3) for k, (a, b) in sorted(per_kind.items())},
    }


def train(
    embedder: Embedder, extra: Sequence[Path] = (), cache_path: Path | None = None
) -> tuple[Classifier, dict[str, Any]]:
    """Fit both stages on all training texts and measure them by cross-validation (nothing is written)."""
    rows = load_training(extra)
    texts = prepare(rows, embedder, cache_path)
    y = np.array([r.signpost for r in rows], dtype=float)
    fold = folds_of(rows)
    oof = {l2: out_of_fold_features(texts, fold, l2) for l2 in L2_GRID}
    probs = {l2: calibrated_out_of_fold(f, y, fold) for l2, f in oof.items()}
    loss = {l2: _log_loss(y, p) for l2, p in probs.items()}
    l2 = min(L2_GRID, key=lambda v: loss[v])
    threshold = choose_threshold(probs[l2], y)
    stage2, stage2_bias = fit_logistic(oof[l2], y, STAGE2_L2)
    plain_x = plain_features(oof[l2])
    plain_probs = calibrated_out_of_fold(plain_x, y, fold)
    plain_threshold = choose_threshold(plain_probs, y)
    plain, plain_bias = fit_logistic(plain_x, y, STAGE2_L2)
    weights, bias = fit_stage1(texts, l2)
    cv = figures_for(rows, probs[l2] >= threshold)
    cv_plain = figures_for(rows, plain_probs >= plain_threshold)
    held_out = _held_out_author(texts, l2)
    trained_at = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    sha = data_sha(extra)
    figures = {
        "version": f"care-{trained_at[:10]}-{sha[:8]}",
        "trained_at": trained_at,
        "data_sha": sha,
        "writers": dict(sorted(Counter(r.writer for r in rows).items())),
        "l2": l2,
        "log_loss": {str(k): round(v, 4) for k, v in loss.items()},
        "threshold": threshold,
        "cross_validated": cv,
        "cross_validated_classifier_alone": {k: cv_plain[k] for k in ("precision", "recall")},
        "held_out_author": held_out,
    }
    probes = np.asarray(embedder.embed(list(PROBES)), dtype=np.float64)
    model_id = engine_model_id(embedder)
    figures["model_id"] = model_id
    model = Classifier(model_id, weights, bias, stage2, stage2_bias, threshold, probes, figures)
    model.plain, model.plain_bias, model.plain_threshold = plain, plain_bias, plain_threshold
    return model, figures


def _held_out_author(texts: list[Prepared], l2: float) -> dict[str, Any] | None:
    """Train on every writer but the earlier one, test on the earlier one's texts (same threshold rule)."""
    inside = [t for t in texts if t.row.writer != LEGACY_WRITER]
    outside = [t for t in texts if t.row.writer == LEGACY_WRITER]
    if not outside or not inside:
        return None
    y_in = np.array([t.row.signpost for t in inside], dtype=float)
    fold = folds_of([t.row for t in inside])
    features = out_of_fold_features(inside, fold, l2)
    threshold = choose_threshold(calibrated_out_of_fold(features, y_in, fold), y_in)
    w2, b2 = fit_logistic(features, y_in, STAGE2_L2)
    model = fit_stage1(inside, l2)
    probs = np.array([float(sigmoid(stage2_features(t, model) @ w2 + b2)) for t in outside])
    result = figures_for([t.row for t in outside], probs >= threshold)
    result["writer"] = LEGACY_WRITER
    return result


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def describe(figures: dict[str, Any]) -> list[str]:
    """The figures as lines for a terminal."""
    cv = figures["cross_validated"]
    lines = [
        f"care classifier {figures['version']} on {figures['model_id']}",
        f"  texts by writer: {figures['writers']}; L2 {figures['l2']}; threshold {figures['threshold']}",
        f"  5-fold cross-validated: precision {cv['precision']}, recall {cv['recall']} ({cv['texts']} texts)",
    ]
    lines += [f"    {kind:34s} card shown {share:.2f}" for kind, share in cv["carded_by_kind"].items()]
    held = figures.get("held_out_author")
    if held:
        lines.append(
            f"  trained without writer {held['writer']!r}, tested on its {held['texts']} texts: "
            f"precision {held['precision']}, recall {held['recall']}"
        )
    return lines
