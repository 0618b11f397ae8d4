"""Training texts as the care detector sees them (their sentence windows' embeddings and n-grams, which
sentences the rules guard), with the sentence vectors cached on disk per embedding model."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from forum.care.classifier import NGRAM_BUCKETS, Design, Embedder, Stage1, ngram_indices, unit_vectors

if TYPE_CHECKING:
    from forum.care.training import Labelled

log = logging.getLogger("forum.care.training")


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
    """A training text as the detector sees it: its units' embeddings and n-grams (the windows of sentences,
    then the whole text last), which sentences the rules guard, and whether a phrase survived the rules."""

    row: Labelled
    vectors: np.ndarray  # float32 rows: the units, then the whole text
    grams: list[np.ndarray]
    spans: list[tuple[int, int]]
    guarded: list[bool]
    phrase: bool

    @classmethod
    def build(
        cls, row: Labelled, vectors: np.ndarray, sentences: list[str], guarded: list[bool], phrase: bool
    ) -> Prepared:
        units, spans = unit_vectors(vectors)
        whole = vectors.mean(axis=0)
        whole = whole / max(float(np.linalg.norm(whole)), 1e-12)
        texts = [" ".join(sentences[a:b]) for a, b in spans] + [" ".join(sentences)]
        grams = [ngram_indices(t) for t in texts]
        return cls(row, np.vstack([units, whole[None, :]]).astype(np.float32), grams, spans, guarded, phrase)

    def logits(self, model: Stage1) -> np.ndarray:
        """Stage-1 logits of the units, then of the whole text."""
        return model.design_logits(Design(self.vectors, self.grams, NGRAM_BUCKETS))


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
