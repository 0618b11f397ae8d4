"""Gentle signposting: whether a text suggests that its writer, her child or someone near her may be at risk.

Two layers (see data/TAXONOMY.md for what should bring up the card):
1. rules (forum.care.rules): a reviewed phrase list (data/phrases.txt, plus admin phrases) filtered by context
   rules (data/context.json: negation, idioms, jokes, advice, accidents, past told as recovery);
2. a learned classifier (forum.care.classifier) on the similar-stories sentence embeddings: every sentence and
   pair of neighbouring sentences is scored, and a calibrated text probability is made from the strongest
   plain unit, the strongest unit the rules guard, the whole text and whether a phrase survived the rules.

The card shows when either says so: a reviewed (or admin's) phrase that survived the context rules always
brings it up, as it does at once when a post is saved (forum.care.services), so the check while writing, the
check after posting and the bench all decide alike.

Without a classifier for the engine's current embedding model the detector runs on the rules alone and logs
why; ``flask --app wsgi care retrain`` makes one. The reasons in CareResult are for admins looking at one
result; the app must not store them.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from forum.care.classifier import (
    Classifier,
    Embedder,
    ModelMismatch,
    load_classifier,
    text_features,
    unit_vectors,
)
from forum.care.rules import (  # noqa: F401 - re-exported for callers of the earlier single module
    CONTEXT_PATH,
    DATA,
    MAX_CHARS,
    MAX_EMBEDDED,
    MAX_RUN,
    MAX_SENTENCES,
    MAX_WORD_CHARS,
    MAX_WORDS,
    PHRASES_PATH,
    PhraseSet,
    Rules,
    SentenceCheck,
    budget_sentences,
    check_sentence,
    clean_phrases,
    normalise,
    read_phrase_file,
    split_sentences,
    within_budget,
)
from forum.similar.engine import get_embedder

log = logging.getLogger(__name__)

PHRASE_SCORE = 0.95  # the score of a phrase match that survived the context rules, when rules decide alone
CACHE_SIZE = 4096  # sentence embeddings kept per Detector


@dataclass
class CareResult:
    """Whether to show the support card, how strongly, and why (for admins; never store it)."""

    signpost: bool
    score: float
    reasons: list[str] = field(default_factory=list)
    # A reviewed phrase survived the context rules. The card follows `signpost` (tuned for recall: a kind
    # card shown to the writer alone costs little); a welfare report to the moderators needs this stronger
    # evidence, or one ordinary post in three would land in their queue (rules alone: 1% of real posts).
    phrase_hit: bool = False


@dataclass
class Analysis:
    """The rule layer's view of one text, and which of its sentences the classifier reads."""

    checks: list[SentenceCheck]
    embedded: list[int]  # indices into checks, in text order, each sentence text once

    def embedded_texts(self) -> list[str]:
        return [self.checks[i].text for i in self.embedded]

    @property
    def phrase_hit(self) -> bool:
        return any(check.hits for check in self.checks)


def choose_embedded(checks: Sequence[SentenceCheck]) -> list[int]:
    """Up to MAX_EMBEDDED distinct sentences: those with crisis cues first, then the rest, in text order."""
    first: dict[str, int] = {}
    for i, check in enumerate(checks):
        first.setdefault(check.text, i)
    ranked = sorted(first.values(), key=lambda i: (not checks[i].cued, i))
    return sorted(ranked[:MAX_EMBEDDED])


def default_embedder() -> Embedder | None:
    """The similar-stories engine's embedder, or None when it cannot be loaded here."""
    try:
        return get_embedder()
    except Exception as error:  # noqa: BLE001 - no model means rules only, never a crash
        log.warning("care detector: sentence embedder unavailable (%s); phrase rules only", error)
        return None


def _logit(p: np.ndarray) -> np.ndarray:
    p = np.clip(np.asarray(p, dtype=np.float64), 1e-9, 1 - 1e-9)
    return np.log(p / (1 - p))


def rules_result(checks: list[SentenceCheck]) -> CareResult:
    """The rules' decision alone: a phrase that survived the context rules shows the card."""
    reasons = []
    for number, check in enumerate(checks, 1):
        if check.hits:
            reasons.append(f"sentence {number}: phrase " + ", ".join(f'"{hit}"' for hit in check.hits))
        reasons.extend(f"sentence {number}: ignored {why}" for why in check.ignored)
    hit = any(check.hits for check in checks)
    return CareResult(hit, PHRASE_SCORE if hit else 0.0, reasons, phrase_hit=hit)


class Detector:
    """Decides whether to show a writer the calm support card."""

    def __init__(
        self,
        extra_phrases: Iterable[str] = (),
        *,
        embedder: Embedder | None = None,
        classifier: Classifier | None = None,
        use_classifier: bool = True,
        alone: bool = False,
        model_dir: Path = DATA,
    ) -> None:
        self.rules = Rules.load()
        self.phrases = PhraseSet([*read_phrase_file(PHRASES_PATH), *clean_phrases(extra_phrases)])
        self.alone = alone  # the classifier alone decides (for the bench's comparison), rules unheard
        self.embedder, self.classifier = embedder, classifier
        self.problem: str | None = None  # why the classifier is not in use, for the admin page
        self._use_classifier, self._model_dir = use_classifier, model_dir
        self._lock = threading.Lock()
        self._loaded = False
        self._cache: dict[str, np.ndarray] = {}
        self._cache_lock = threading.Lock()

    def _load(self) -> None:
        """Load the embedder and weights on first use (they are heavy)."""
        with self._lock:
            if self._loaded:
                return
            if self._use_classifier:
                self.embedder = self.embedder or default_embedder()
                if self.embedder is None:
                    self.problem = "the sentence embedder is unavailable"
                elif self.classifier is None:
                    try:
                        self.classifier = load_classifier(self.embedder, self._model_dir)
                    except ModelMismatch as error:
                        self.problem = str(error)
                        log.error("care detector: %s; phrase rules only", error)
            self._loaded = True

    @property
    def uses_classifier(self) -> bool:
        """True when texts are scored by the classifier as well as the phrase list."""
        self._load()
        return self.classifier is not None and self.embedder is not None

    def analyse(self, text: str) -> Analysis:
        """The phrase-and-context analysis of the sentences of text (within the reading budget)."""
        sentences = budget_sentences(split_sentences(text))
        recovered = any(self.rules.has("recovery", normalise(s)) for s in sentences)
        checks = [check_sentence(s, self.phrases, self.rules, recovered) for s in sentences]
        return Analysis(checks, choose_embedded(checks))

    def rule_checks(self, text: str) -> list[SentenceCheck]:
        """The rule layer's check of every sentence of text."""
        return self.analyse(text).checks

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings, cached so re-checking an edited draft embeds only new sentences."""
        assert self.embedder is not None
        with self._cache_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                for text, vector in zip(missing, np.asarray(self.embedder.embed(missing)), strict=True):
                    self._cache[text] = vector
                while len(self._cache) > CACHE_SIZE:
                    del self._cache[next(iter(self._cache))]
            return np.stack([self._cache[t] for t in texts])

    def score(self, analysis: Analysis) -> CareResult:
        """The classifier's calibrated decision for one analysed text (the rules enter as stage-2 inputs)."""
        assert self.classifier is not None
        checks, chosen = analysis.checks, analysis.embedded
        if not chosen:
            return rules_result(checks)
        vectors = self._vectors(analysis.embedded_texts())
        units, spans = unit_vectors(vectors, self.classifier.widths)
        unit_texts = [" ".join(checks[i].text for i in chosen[a:b]) for a, b in spans]
        unit_p = np.asarray(self.classifier.probabilities(units, unit_texts), dtype=np.float64)
        whole = vectors.mean(axis=0)
        whole = whole / max(float(np.linalg.norm(whole)), 1e-12)
        whole_text = " ".join(analysis.embedded_texts())
        whole_p = float(np.asarray(self.classifier.probabilities(whole[None, :], [whole_text]))[0])
        guarded = [checks[i].guarded for i in chosen]
        threshold = self.classifier.threshold
        features = text_features(
            _logit(unit_p), spans, guarded, float(_logit(np.array(whole_p))), analysis.phrase_hit
        )
        if self.alone:
            p, threshold = self.classifier.plain_probability(features), self.classifier.plain_threshold
        elif hasattr(self.classifier, "post_probability"):
            p = self.classifier.post_probability(features)
        else:  # a bare unit scorer: the strongest unit decides
            p = float(max(unit_p.max(), whole_p))
        rules = rules_result(checks)
        reasons = rules.reasons
        for j in np.argsort(-unit_p)[:3]:
            a, b = spans[j]
            if unit_p[j] >= 0.5:
                where = ", ".join(str(chosen[i] + 1) for i in range(a, b))
                guard = " (guarded: " + ", ".join(checks[chosen[a]].guards) + ")" if any(guarded[a:b]) else ""
                reasons.append(f"sentence {where}: classifier {unit_p[j]:.2f}{guard}")
        reasons.append(f"whole text: classifier {whole_p:.2f}; calibrated {p:.2f} (card at {threshold:g})")
        signpost = p >= threshold or (rules.signpost and not self.alone)
        return CareResult(signpost, round(p, 3), reasons, phrase_hit=analysis.phrase_hit)

    def check(self, text: str) -> CareResult:
        """Whether text should show its writer the support card."""
        return self.check_many([text])[0]

    def check_many(self, texts: Sequence[str]) -> list[CareResult]:
        """check() for many texts."""
        analyses = [self.analyse(text or "") for text in texts]
        if not self.uses_classifier:
            return [rules_result(a.checks) for a in analyses]
        return [self.score(a) for a in analyses]

    @property
    def version(self) -> str:
        """What decides: the classifier's version, or that the rules decide alone."""
        if self.uses_classifier and self.classifier is not None:
            return getattr(self.classifier, "version", "classifier")
        return "rules only"


_detector: Detector | None = None
_detector_lock = threading.Lock()


def get_detector() -> Detector:
    """The shared Detector, created on first use."""
    global _detector
    with _detector_lock:
        if _detector is None:
            _detector = Detector()
        return _detector
