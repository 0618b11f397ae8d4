"""Gentle signposting: decide whether a text suggests that its writer may be in crisis.

Two layers, combined per sentence:
1. a reviewed phrase list (data/phrases.txt, plus admin phrases passed to Detector) filtered by
   context rules (data/context.json: negation, idioms, jokes, advice, past told as recovery);
2. a logistic regression on the similar-stories sentence embeddings, trained on data/train.jsonl.

Retrain after editing data/train.jsonl: ``python -m forum.care.detector --train``
(deterministic; writes data/classifier.npz). The explanation in CareResult.reasons is for admins
looking at one result; the app must not store it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import logging
import re
import sys
import threading
import unicodedata
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

import numpy as np

log = logging.getLogger(__name__)

DATA = Path(__file__).parent / "data"
PHRASES_PATH = DATA / "phrases.txt"
CONTEXT_PATH = DATA / "context.json"
TRAIN_PATH = DATA / "train.jsonl"
MODEL_PATH = DATA / "classifier.npz"
PHRASE_SCORE = 0.95  # a surviving phrase match scores at least this
NEGATION_WINDOW = 7  # words before a phrase that may negate it ("I don't think they'd be better off...")
MAX_WORDS = 60  # longer run-on "sentences" are cut into chunks before embedding
NGRAM_BUCKETS = 2048
CACHE_SIZE = 4096  # sentence embeddings kept per Detector
PROBE = "I keep thinking they would be better off without me."


class Embedder(Protocol):
    """The similar-stories engine's interface: L2-normalised float32 rows, one per text."""

    def embed(self, texts: list[str]) -> np.ndarray: ...


@dataclass
class CareResult:
    """Whether to show the support card, how strongly, and why (for admins; never store it)."""

    signpost: bool
    score: float
    reasons: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- text normalisation

_QUOTES = str.maketrans({"\u2018": "'", "\u2019": "'", "\u02bc": "'", "`": "'", "\u00b4": "'"})
_INVISIBLE = re.compile(r"[\u200b-\u200f\u2060\ufeff\u00ad]")
_REWRITES = [
    (re.compile(p), r)
    for p, r in [
        (r"\bcan'?t\b|\bcan not\b", "cannot"),
        (r"\bwon'?t\b", "will not"),
        (r"\bshan'?t\b", "shall not"),
        (r"\bain'?t\b", "am not"),
        (r"\b(\w+)n't\b", r"\1 not"),
        (r"\b(do|does|did|is|are|was|were|would|could|should|have|has|had|need)nt\b", r"\1 not"),
        (r"\bi'?m\b", "i am"),
        (r"\bive\b", "i have"),
        (r"\b(you|they|we)re\b", r"\1 are"),
        (r"\b(it|that|there|he|she)'?s been\b", r"\1 has been"),
        (r"\b(it|that|there|what|he|she|who|here|everything|nothing|life)'s\b", r"\1 is"),
        (r"\b(that|there|what)s\b", r"\1 is"),
        (r"'re\b", " are"),
        (r"'ve\b", " have"),
        (r"'ll\b", " will"),
        (r"'d\b", " would"),
        (r"\bgonna\b", "going to"),
        (r"\bwanna\b", "want to"),
        (r"\bany more\b", "anymore"),
        (r"\bno one\b", "noone"),
        (r"\bha(?:ha)+h?\b", "haha"),
        (r"[^a-z0-9* ]+", " "),
    ]
]
_CLAUSE_PUNCT = re.compile(r"[,;:()\u2013\u2014]|\s-\s")
_SENTENCE_END = re.compile(r"(?<=[.!?\u2026])[\"'\u201d\u2019)\]]*\s+|\s*\n\s*")


def normalise(text: str) -> str:
    """Lower-case words only, with contractions spelt out (I'm -> i am, can't -> cannot)."""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text)).translate(_QUOTES).lower()
    text = text.replace("-", " ")
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    return " ".join(text.split())


def split_sentences(text: str) -> list[str]:
    """Sentences of text; tiny fragments ('lol.') stay with the sentence before them."""
    sentences: list[str] = []
    for piece in _SENTENCE_END.split(text or ""):
        piece = piece.strip()
        if not piece:
            continue
        if sentences and len(normalise(piece).split()) < 2:
            sentences[-1] = f"{sentences[-1]} {piece}"
            continue
        words = piece.split()
        sentences.extend(" ".join(words[i : i + MAX_WORDS]) for i in range(0, len(words), MAX_WORDS))
    return sentences


# ---------------------------------------------------------------- phrases and context rules


def phrase_regex(phrase: str) -> str | None:
    """Regex source for one phrase ('*' = up to three words); None when nothing is left."""
    parts = [normalise(part) for part in phrase.split("*")]
    parts = [re.escape(part) for part in parts if part]
    if not parts:
        return None
    return r"(?<!\S)" + r" (?:\S+ ){0,3}".join(parts) + r"(?!\S)"


def clean_phrases(lines: Iterable[str]) -> list[str]:
    """Phrase entries without comments ('#' onwards) and blank lines."""
    return [entry for entry in (line.split("#", 1)[0].strip() for line in lines) if entry]


def read_phrase_file(path: Path) -> list[str]:
    """Phrases from a file: one a line, '#' starts a comment."""
    return clean_phrases(path.read_text(encoding="utf-8").splitlines())


class PhraseSet:
    """Compiled phrases with a one-regex pre-filter, since most clauses match nothing."""

    def __init__(self, phrases: Iterable[str]) -> None:
        compiled = {}
        for phrase in phrases:
            source = phrase_regex(phrase)
            if source and phrase.strip().lower() not in compiled:
                compiled[phrase.strip().lower()] = source
        self.items = [(name, re.compile(source)) for name, source in compiled.items()]
        self.any = re.compile("|".join(f"(?:{s})" for s in compiled.values()) or r"(?!x)x")

    def find(self, clause: str) -> list[tuple[str, int, int]]:
        """(phrase, first word, end word) for every match in a normalised clause."""
        if not self.any.search(clause):
            return []
        found = []
        for name, pattern in self.items:
            for match in pattern.finditer(clause):
                start = clause.count(" ", 0, match.start())
                found.append((name, start, start + len(match.group().split())))
        return found

    def __contains__(self, text: str) -> bool:
        return bool(self.any.search(text))


@dataclass
class Rules:
    """Context rules from data/context.json, compiled."""

    lists: dict[str, PhraseSet]
    symbols: list[str]
    negators: set[str]
    breaks: set[str]
    others: set[str]

    @classmethod
    def load(cls, path: Path = CONTEXT_PATH) -> Rules:
        """Read and compile the context rules."""
        raw = json.loads(path.read_text(encoding="utf-8"))
        lists = {k: PhraseSet(v) for k, v in raw.items() if not k.startswith("_") and k != "humour_symbols"}
        words = {
            key: set(normalise(" ".join(raw[key])).split()) for key in ("negators", "clause_breaks", "others")
        }
        return cls(
            lists, raw.get("humour_symbols", []), words["negators"], words["clause_breaks"], words["others"]
        )

    def has(self, kind: str, text: str) -> bool:
        """True when a normalised text contains an entry of one list."""
        return text in self.lists[kind]

    def is_joke(self, raw: str, text: str) -> bool:
        """A joking or hedged sentence ('lol', 'haha', an emoji), unless it says it is no joke."""
        joking = self.has("humour", text) or any(s in raw.lower() for s in self.symbols)
        return joking and not self.has("serious", text)


@dataclass
class SentenceCheck:
    """What the rule layer saw in one sentence."""

    text: str
    cued: bool = False  # has crisis-related words, so the classifier looks at it
    hits: list[str] = field(default_factory=list)
    ignored: list[str] = field(default_factory=list)
    guards: list[str] = field(default_factory=list)


def _scope(tokens: list[str], start: int, end: int, breaks: set[str]) -> tuple[int, int]:
    """The part of a clause around a match, cut at 'but', 'and' and the like outside it."""
    left = max((i + 1 for i in range(start) if tokens[i] in breaks), default=0)
    right = next((i for i in range(end, len(tokens)) if tokens[i] in breaks), len(tokens))
    return left, right


def _is_past(rules: Rules, before: str, scope: str) -> bool:
    """A match told in the past ('last year I felt I couldn't go on'), not a recent night."""
    if rules.has("present_strong", scope) or rules.has("recent", before):
        return False
    return rules.has("past_strong", before) or (rules.has("past", scope) and not rules.has("present", scope))


def check_sentence(sentence: str, phrases: PhraseSet, rules: Rules, recovered: bool) -> SentenceCheck:
    """Phrase matches of one sentence, each kept or ignored with a reason, plus context guards."""
    whole = normalise(sentence)
    result = SentenceCheck(sentence, cued=rules.has("cues", whole))
    joke = rules.is_joke(sentence, whole)
    before_parts: list[str] = []
    for clause in (normalise(c) for c in _CLAUSE_PUNCT.split(sentence)):
        tokens = clause.split()
        idioms = [(s, e) for _, s, e in rules.lists["idioms"].find(clause)]
        for name, start, end in phrases.find(clause):
            left, right = _scope(tokens, start, end, rules.breaks)
            scope = " ".join(tokens[left:right])
            before = " ".join(before_parts + tokens[:end])
            why = None
            if any(s < end and start < e for s, e in idioms):
                why = "idiom"
            elif joke:
                why = "joking"
            elif rules.negators & set(tokens[max(left, start - NEGATION_WINDOW) : start]):
                why = "negated"
            elif rules.has("not_own", " ".join(tokens[left:start])) or (
                start > 0 and tokens[start - 1] in rules.others
            ):
                why = "advice or reported question"
            elif rules.has("accidental", scope) and not rules.has("intentional", scope):
                why = "accident"
            elif recovered and _is_past(rules, before, scope):
                why = "past, in a recovery story"
            if why:
                result.ignored.append(f'"{name}" ({why})')
            elif name not in result.hits:
                result.hits.append(name)
        before_parts.extend(tokens)
    accident = rules.has("accidental", whole) and not rules.has("intentional", whole)
    told_past = rules.has("past_strong", whole) or rules.has("past", whole)
    guards = {
        "joking": joke,
        "idiom": rules.has("idioms", whole),
        "reassurance": rules.has("reassurance", whole),
        "advice or reported question": rules.has("not_own", whole),
        "accident": accident,
        "recovery story": rules.has("recovery", whole) and told_past,
        "past, in a recovery story": recovered and rules.has("past_strong", whole),
    }
    ignored_why = {why.rsplit("(", 1)[1].rstrip(")") for why in result.ignored}
    result.guards = sorted({name for name, on in guards.items() if on} | ignored_why)
    return result


# ---------------------------------------------------------------- classifier


def ngram_features(texts: Sequence[str]) -> np.ndarray:
    """Hashed word uni- and bigrams of the normalised texts, L2-normalised rows."""
    out = np.zeros((len(texts), NGRAM_BUCKETS))
    for row, text in enumerate(texts):
        words = normalise(text).split()
        for gram in [*words, *(f"{a} {b}" for a, b in zip(words, words[1:]))]:
            out[row, zlib.crc32(gram.encode()) % NGRAM_BUCKETS] = 1.0
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1.0)


def features(vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
    """Classifier input: the sentence embedding beside hashed n-grams (embeddings blur negation)."""
    return np.hstack([np.asarray(vectors, dtype=np.float64), ngram_features(texts)])


@dataclass
class Classifier:
    """Logistic regression on sentence features, with the tuned combination settings."""

    weights: np.ndarray
    bias: float
    threshold: float
    damp: float
    train_sha: str
    probe: np.ndarray

    def probabilities(self, vectors: np.ndarray, texts: Sequence[str]) -> np.ndarray:
        """Crisis probability for each sentence, given its embedding row."""
        return _sigmoid(features(vectors, texts) @ self.weights + self.bias)

    def save(self, path: Path = MODEL_PATH) -> None:
        """Write the weights and settings as a small .npz."""
        np.savez_compressed(
            path,
            weights=self.weights.astype(np.float32),
            bias=self.bias,
            threshold=self.threshold,
            damp=self.damp,
            train_sha=self.train_sha,
            probe=self.probe.astype(np.float32),
        )

    @classmethod
    def load(cls, path: Path = MODEL_PATH) -> Classifier:
        """Read weights written by save()."""
        with np.load(path) as npz:
            return cls(
                npz["weights"].astype(np.float64),
                float(npz["bias"]),
                float(npz["threshold"]),
                float(npz["damp"]),
                str(npz["train_sha"]),
                npz["probe"].astype(np.float64),
            )


def _sigmoid(z: np.ndarray) -> np.ndarray:
    """Logistic function."""
    return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def fit_logistic(x: np.ndarray, y: np.ndarray, l2: float, iterations: int = 25) -> tuple[np.ndarray, float]:
    """Class-balanced, L2-regularised logistic regression by Newton's method (deterministic).

    Features outnumber sentences, so each step solves an n-by-n system (Woodbury identity).
    """
    x1 = np.hstack([x.astype(np.float64), np.ones((len(x), 1))])
    sample = np.where(y == 1, 0.5 / max(y.mean(), 1e-9), 0.5 / max(1 - y.mean(), 1e-9))
    inv_penalty = np.full(x1.shape[1], 1.0 / l2)
    inv_penalty[-1] = 1e4  # the bias is all but unpenalised
    theta = np.zeros(x1.shape[1])
    for _ in range(iterations):
        p = _sigmoid(x1 @ theta)
        gradient = x1.T @ (sample * (p - y)) + theta / inv_penalty
        z = x1 * np.sqrt(sample * p * (1 - p))[:, None]
        inner = np.eye(len(x1)) + (z * inv_penalty) @ z.T
        step = inv_penalty * gradient - inv_penalty * (
            z.T @ np.linalg.solve(inner, z @ (inv_penalty * gradient))
        )
        theta -= step
        if np.abs(step).max() < 1e-6:
            break
    return theta[:-1], float(theta[-1])


def out_of_fold(x: np.ndarray, y: np.ndarray, l2: float, folds: int = 5, seed: int = 0) -> np.ndarray:
    """Stratified k-fold probabilities, each from a model that did not see the sentence."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(y), dtype=int)
    for label in (0, 1):
        members = rng.permutation(np.flatnonzero(y == label))
        fold[members] = np.arange(len(members)) % folds
    probs = np.empty(len(y))
    for k in range(folds):
        w, b = fit_logistic(x[fold != k], y[fold != k], l2)
        probs[fold == k] = _sigmoid(x[fold == k] @ w + b)
    return probs


def load_labelled(path: Path) -> tuple[list[str], np.ndarray]:
    """Texts and 0/1 crisis labels from a JSON-lines file."""
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    return [row["text"] for row in rows], np.array([int(bool(row["crisis"])) for row in rows])


def file_sha(path: Path) -> str:
    """SHA-256 of a file, to tell whether the stored weights match the training data."""
    return hashlib.sha256(path.read_bytes()).hexdigest()  # nosemgrep - a file checksum


def default_embedder() -> Embedder | None:
    """The similar-stories engine's embedder, or None when it cannot be loaded here."""
    try:
        from forum.similar.engine import get_embedder

        return get_embedder()
    except Exception as error:  # noqa: BLE001 - no model means rules only, never a crash
        log.warning("care detector: sentence embedder unavailable (%s); phrase rules only", error)
        return None


def load_classifier(embedder: Embedder, path: Path = MODEL_PATH) -> Classifier:
    """Stored weights when they match train.jsonl and the embedder; otherwise retrain in memory."""
    if path.exists():
        model = Classifier.load(path)
        probe = embedder.embed([PROBE])[0].astype(np.float64)
        if model.train_sha == file_sha(TRAIN_PATH) and float(probe @ model.probe) > 0.99:
            return model
    log.warning("care detector: %s is missing or stale; retraining in memory (run --train)", path.name)
    return train(embedder, save_to=None)


def combine(
    checks: list[SentenceCheck], probs: np.ndarray | None, threshold: float, damp: float
) -> CareResult:
    """One result from per-sentence phrase hits and classifier probabilities (max over sentences)."""
    best, reasons = 0.0, []
    for number, check in enumerate(checks, 1):
        score = 0.0
        if probs is not None:
            p = float(probs[number - 1])
            score = p * damp if check.guards and not check.hits else p
            if p >= threshold * damp or check.hits or check.ignored:
                guarded = (
                    f" (x{damp:g}: {', '.join(check.guards)})" if check.guards and not check.hits else ""
                )
                reasons.append(f"sentence {number}: classifier {p:.2f}{guarded}")
        if check.hits:
            score = max(score, PHRASE_SCORE)
            reasons.append(f"sentence {number}: phrase " + ", ".join(f'"{hit}"' for hit in check.hits))
        reasons.extend(f"sentence {number}: ignored {why}" for why in check.ignored)
        best = max(best, score)
    return CareResult(best >= threshold, round(best, 3), reasons)


class Detector:
    """Decides whether to show a writer the calm support card."""

    def __init__(
        self,
        extra_phrases: Iterable[str] = (),
        *,
        embedder: Embedder | None = None,
        classifier: Classifier | None = None,
        use_classifier: bool = True,
    ) -> None:
        self.rules = Rules.load()
        self.phrases = PhraseSet([*read_phrase_file(PHRASES_PATH), *clean_phrases(extra_phrases)])
        self.embedder, self.classifier = embedder, classifier
        self._use_classifier = use_classifier
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
                if self.embedder is not None and self.classifier is None:
                    self.classifier = load_classifier(self.embedder)
            self._loaded = True

    @property
    def uses_classifier(self) -> bool:
        """True when sentences are scored by the classifier as well as the phrase list."""
        self._load()
        return self.classifier is not None and self.embedder is not None

    def rule_checks(self, text: str) -> list[SentenceCheck]:
        """The phrase-and-context analysis of every sentence of text."""
        sentences = split_sentences(text)
        recovered = any(self.rules.has("recovery", normalise(s)) for s in sentences)
        return [check_sentence(s, self.phrases, self.rules, recovered) for s in sentences]

    def sentence_probabilities(self, checks: Sequence[SentenceCheck]) -> np.ndarray | None:
        """Classifier probabilities (0 for sentences without crisis cues), or None without it."""
        if not self.uses_classifier or self.classifier is None:
            return None
        probs = np.zeros(len(checks))
        cued = [i for i, check in enumerate(checks) if check.cued]
        if cued:
            texts = [checks[i].text for i in cued]
            probs[cued] = self.classifier.probabilities(self._vectors(texts), texts)
        return probs

    def _vectors(self, texts: list[str]) -> np.ndarray:
        """Sentence embeddings, cached so re-checking an edited draft embeds only new sentences."""
        assert self.embedder is not None
        with self._cache_lock:
            missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
            if missing:
                for text, vector in zip(missing, np.asarray(self.embedder.embed(missing))):
                    self._cache[text] = vector
                while len(self._cache) > CACHE_SIZE:
                    del self._cache[next(iter(self._cache))]
            return np.stack([self._cache[t] for t in texts])

    def check(self, text: str) -> CareResult:
        """Whether text should show its writer the support card."""
        return self.check_many([text])[0]

    def check_many(self, texts: Sequence[str]) -> list[CareResult]:
        """check() for many texts, embedding all their sentences in one batch."""
        per_text = [self.rule_checks(text or "") for text in texts]
        probs = self.sentence_probabilities([c for checks in per_text for c in checks])
        if probs is None or self.classifier is None:
            return [combine(checks, None, PHRASE_SCORE, 1.0) for checks in per_text]
        results, at = [], 0
        for checks in per_text:
            part = probs[at : at + len(checks)]
            at += len(checks)
            results.append(combine(checks, part, self.classifier.threshold, self.classifier.damp))
        return results


_detector: Detector | None = None
_detector_lock = threading.Lock()


def get_detector() -> Detector:
    """The shared Detector, created on first use."""
    global _detector
    with _detector_lock:
        if _detector is None:
            _detector = Detector()
        return _detector


# ---------------------------------------------------------------- training

L2_GRID = (0.03, 0.1, 0.3, 1.0)


def tune(checks: list[SentenceCheck], probs: np.ndarray, y: np.ndarray) -> tuple[float, float]:
    """(threshold, damp) with the best recall at precision >= 0.95 on out-of-fold scores (else best F1).

    Crisis sentences are far rarer in real posts than in train.jsonl, hence the strict precision.
    """
    probs = np.where([c.cued for c in checks], probs, 0.0)
    hits = np.array([bool(c.hits) for c in checks])
    guarded = np.array([bool(c.guards) and not c.hits for c in checks])
    best: tuple[float, ...] = (-1.0,)
    for damp in (0.25, 0.5, 0.75, 1.0):
        scores = np.where(hits, np.maximum(probs, PHRASE_SCORE), np.where(guarded, probs * damp, probs))
        for threshold in np.round(np.arange(0.3, 0.951, 0.05), 2):
            predicted = scores >= threshold
            tp = float((predicted & (y == 1)).sum())
            precision, recall = tp / max(predicted.sum(), 1), tp / max((y == 1).sum(), 1)
            f1 = 2 * precision * recall / max(precision + recall, 1e-9)
            key = (float(precision >= 0.95), recall if precision >= 0.95 else f1, precision, threshold, -damp)
            best = max(best, key)
    return float(best[3]), float(-best[4])


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean binary cross-entropy."""
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def train(embedder: Embedder | None = None, save_to: Path | None = MODEL_PATH) -> Classifier:
    """Fit the classifier on data/train.jsonl, tune it by 5-fold cross-validation, optionally save."""
    embedder = embedder or default_embedder()
    if embedder is None:
        raise RuntimeError("the similar-stories embedder is needed to train the care classifier")
    texts, y = load_labelled(TRAIN_PATH)
    x = features(np.asarray(embedder.embed(texts)), texts)
    # Repeated 5-fold cross-validation (3 shuffles): one split alone moves the threshold by a step.
    oof = {l2: np.mean([out_of_fold(x, y, l2, seed=seed) for seed in range(3)], axis=0) for l2 in L2_GRID}
    l2 = min(L2_GRID, key=lambda value: log_loss(y, oof[value]))
    probs = oof[l2]
    rules_only = Detector(use_classifier=False)
    checks = [
        check_sentence(
            t, rules_only.phrases, rules_only.rules, rules_only.rules.has("recovery", normalise(t))
        )
        for t in texts
    ]
    threshold, damp = tune(checks, probs, y)
    weights, bias = fit_logistic(x, y, l2)
    probe = np.asarray(embedder.embed([PROBE])[0], dtype=np.float64)
    model = Classifier(weights, bias, threshold, damp, file_sha(TRAIN_PATH), probe)
    log.info("care classifier: l2=%s threshold=%s damp=%s", l2, threshold, damp)
    if save_to is not None:
        model.save(save_to)
    return model


def main(argv: list[str] | None = None) -> int:
    """Command line: retrain the classifier, or check texts given as arguments."""
    parser = argparse.ArgumentParser(description="Gentle signposting crisis detector")
    parser.add_argument(
        "--train", action="store_true", help="retrain data/classifier.npz from data/train.jsonl"
    )
    parser.add_argument("texts", nargs="*", help="texts to check")
    args = parser.parse_args(argv)
    logging.basicConfig(format="%(message)s")
    log.setLevel(logging.INFO)
    if args.train:
        model = train()
        print(f"wrote {MODEL_PATH}: threshold {model.threshold:g}, damp {model.damp:g}")
    for text in args.texts:
        result = get_detector().check(text)
        print(json.dumps({"signpost": result.signpost, "score": result.score, "reasons": result.reasons}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
