"""Learning from the community: a small re-ranking of similar stories, learned from what members tell us.

Evidence about a (source story, matched story) pair, strongest first:
- "this helped" (label 1) or "not like mine" (label 0) on a match in the panel beside a story (weight 1);
- a "me too" or "been there" reaction: the reactor's own published, named stories are like the story she
  reacted to (label 1, weight REACTION_WEIGHT), each against a story of the same plain ranking that no
  evidence marks (label 0, same weight).
Only pairs whose match is among the source's plain candidates are used: the re-ranking only ever reorders
those, and a pair from outside them would teach it that a low similarity is good.

The model is a logistic regression (numpy, L2, Newton steps) over a few features of the pair that the ranking
already has or gets cheaply. It is trained on the evidence before a cut date and measured on the evidence
after it (time split); the similar query path uses it only when it orders the held-back pairs better than
the plain ranking does, and not by luck (the bootstrap's 5th percentile of the gain is above zero), and then
only to reorder the matches it shows (see rerank). It is stored as a site setting with its version, training
date and figures.

Privacy: the model is a handful of numbers for the whole site; it remembers no story, pair or member, and
the figures it keeps are counts.
"""

from __future__ import annotations

import contextvars
import json
import re
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, TypeVar

import numpy as np
import sqlalchemy as sa
from flask import current_app
from sqlalchemy.orm import aliased, selectinload, undefer

from forum.extensions import db
from forum.models import Reaction, ReactionKind, SimilarSignal, SiteSetting, Status, Story, Verdict, utcnow
from forum.similar import fitting

SETTING = "similar_ranker"
FEATURES = ("cosine", "top", "tags", "words", "setting", "age", "length", "updates")
FEATURE_VERSION = 1
MONOTONE = ("cosine", "top")  # the plain order's own features: their weights stay >= 0
REACTION_WEIGHT = 0.5
DEPTH = 20  # plain candidates per source story considered when training
HOLD_BACK = 0.25  # without a cut date, the latest quarter of the evidence is held back
MIN_TRAIN = 10  # examples before the cut needed to fit anything
MIN_HELD_PAIRS = 5  # held-back (better, worse) pairs needed before the model may be used
MAX_EVIDENCE = 20_000  # the newest pieces of evidence read per training (bounded work)
RELOAD_SECONDS = 60.0  # how often a worker looks for a model trained elsewhere
WORD_CHARS = 3_000
_WORD = re.compile(r"[a-z][a-z']{3,}")
_plain_only: contextvars.ContextVar[bool] = contextvars.ContextVar("similar_plain_only", default=False)


class Scored(Protocol):
    story: Story
    score: float


M = TypeVar("M", bound=Scored)


@dataclass
class Example:
    """One piece of evidence about a pair: label 1 (alike) or 0, its weight and when it was given."""

    source_id: int
    match_id: int
    label: int
    weight: float
    at: datetime
    kind: str  # "signal" or "reaction"


@dataclass
class Ranker:
    """A trained re-ranking: standardised features times weights, plus how it was made and measured."""

    version: int
    trained_at: str
    weights: list[float]
    bias: float
    mean: list[float]
    scale: list[float]
    applied: bool = False
    features: list[str] = field(default_factory=lambda: list(FEATURES))
    feature_version: int = FEATURE_VERSION
    figures: dict[str, Any] = field(default_factory=dict)

    def score(self, x: np.ndarray) -> np.ndarray:
        z = (x - np.asarray(self.mean)) / np.asarray(self.scale)
        return z @ np.asarray(self.weights) + self.bias


# Features ------------------------------------------------------------------------------------------------


def _words(story: Story) -> frozenset[str]:
    text = f"{story.title or ''} {story.body[:WORD_CHARS]}".lower()
    return frozenset(_WORD.findall(text))


def _jaccard(a: frozenset[str], b: frozenset[str]) -> float:
    return len(a & b) / len(a | b) if a and b else 0.0


def pair_features(source: Story, match: Story, score: float, rank: int) -> np.ndarray:
    """The features of one (source, match) pair at a plain rank (0 = first) with the index's cosine."""
    shorter, longer = sorted((len(source.body or ""), len(match.body or "")))
    return np.array(
        [
            score,
            1.0 / (1.0 + rank),
            _jaccard(frozenset(t.name for t in source.tags), frozenset(t.name for t in match.tags)),
            _jaccard(_words(source), _words(match)),
            float(bool(source.setting) and source.setting == match.setting),
            float(bool(source.age_band) and source.age_band == match.age_band),
            shorter / longer if longer else 0.0,
            float(match.update_count > 0),
        ],
        dtype=np.float64,
    )


# Evidence ------------------------------------------------------------------------------------------------


def gather_evidence(limit: int = MAX_EVIDENCE) -> list[Example]:
    """Every signal and every "me too"/"been there" pair between published stories, newest `limit` of each."""
    source, match = aliased(Story), aliased(Story)
    published = Status.PUBLISHED.value
    examples = [
        Example(s, m, int(verdict == Verdict.HELPED.value), 1.0, at, "signal")
        for s, m, verdict, at in db.session.execute(
            sa.select(
                SimilarSignal.source_id,
                SimilarSignal.match_id,
                SimilarSignal.verdict,
                SimilarSignal.updated_at,
            )
            .join(source, source.id == SimilarSignal.source_id)
            .join(match, match.id == SimilarSignal.match_id)
            .where(source.status == published, match.status == published)
            .order_by(SimilarSignal.updated_at.desc())
            .limit(limit)
        )
    ]
    reacted, own = aliased(Story), aliased(Story)
    # Her named stories only: a pair with one of her anonymous stories is never formed, so no figure can move
    # with how many anonymous stories a member has.
    pairs = db.session.execute(
        sa.select(own.id, Reaction.story_id, Reaction.created_at)
        .join(reacted, reacted.id == Reaction.story_id)
        .join(own, own.author_id == Reaction.user_id)
        .where(
            Reaction.kind.in_([ReactionKind.ME_TOO.value, ReactionKind.BEEN_THERE.value]),
            reacted.status == published,
            reacted.author_id.is_distinct_from(Reaction.user_id),
            own.status == published,
            own.anonymous.is_(False),
            own.id != reacted.id,
        )
        .order_by(Reaction.created_at.desc())
        .limit(limit)
    )
    examples += [Example(s, m, 1, REACTION_WEIGHT, at, "reaction") for s, m, at in pairs]
    return examples


def featurise(
    examples: list[Example], rank_for: Callable[[Story], Sequence[Scored]]
) -> tuple[list[Example], np.ndarray, int]:
    """Features of the examples whose match is among their source's plain candidates (plus a sampled
    unmarked candidate against each reaction pair); returns them, their features and how many were left out."""
    stories = {
        s.id: s
        for s in db.session.scalars(
            sa.select(Story)
            .where(Story.id.in_({e.source_id for e in examples}))
            .options(selectinload(Story.tags), undefer(Story.embedding))  # each one's ranking reads it
        )
    }
    marked: dict[int, set[int]] = {}
    for e in examples:
        marked.setdefault(e.source_id, set()).add(e.match_id)
    rng = np.random.default_rng(14)
    kept: list[Example] = []
    rows: list[np.ndarray] = []
    outside = 0
    plain: dict[int, list[Scored]] = {}
    for e in sorted(examples, key=lambda e: (e.at, e.source_id, e.match_id)):
        source = stories.get(e.source_id)
        if source is None:
            outside += 1
            continue
        if e.source_id not in plain:
            plain[e.source_id] = sorted(rank_for(source), key=lambda m: -m.score)
        ranking = plain[e.source_id]
        where = {m.story.id: i for i, m in enumerate(ranking)}
        if e.match_id not in where:
            outside += 1
            continue
        i = where[e.match_id]
        kept.append(e)
        rows.append(pair_features(source, ranking[i].story, ranking[i].score, i))
        if e.kind == "reaction":
            unmarked = [j for j, m in enumerate(ranking) if m.story.id not in marked[e.source_id]]
            if unmarked:
                j = int(rng.choice(unmarked))
                kept.append(Example(e.source_id, ranking[j].story.id, 0, e.weight, e.at, "reaction"))
                rows.append(pair_features(source, ranking[j].story, ranking[j].score, j))
    width = len(FEATURES)
    return kept, (np.vstack(rows) if rows else np.zeros((0, width))), outside


# Training ------------------------------------------------------------------------------------------------


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 3)


def train(
    rank_for: Callable[[Story], Sequence[Scored]], cut: datetime | None = None, version: int = 1
) -> Ranker | None:
    """Fit on the evidence before `cut` (default: all but the latest HOLD_BACK share) and measure the plain
    and learned orders on the evidence after it. None when there is too little evidence to fit."""
    examples, x, outside = featurise(gather_evidence(), rank_for)
    if not examples:
        return None
    times = sorted(e.at for e in examples)
    if cut is not None and cut.tzinfo is None:
        cut = cut.replace(tzinfo=UTC)  # a date given on the command line is UTC
    if cut is None:
        cut = times[min(len(times) - 1, int(len(times) * (1 - HOLD_BACK)))]
    early = np.array([e.at < cut for e in examples])
    labels = np.array([e.label for e in examples])
    weights = np.array([e.weight for e in examples])
    sources = np.array([e.source_id for e in examples])
    if early.sum() < MIN_TRAIN or len(set(labels[early])) < 2:
        return None
    monotone = [FEATURES.index(name) for name in MONOTONE]
    beta, bias, mean, scale = fitting.fit_monotone(x[early], labels[early], weights[early], monotone)
    ranker = Ranker(
        version=version,
        trained_at=utcnow().isoformat(timespec="seconds"),
        weights=[round(float(b), 6) for b in beta],
        bias=round(bias, 6),
        mean=[float(v) for v in mean],
        scale=[float(v) for v in scale],
    )
    late = ~early
    plain_score = -np.array([1.0 / f for f in x[:, 1]])  # the plain order: its rank (feature "top")
    learned = ranker.score(x)
    plain_pairs, held_pairs = fitting.pairwise(plain_score[late], labels[late], sources[late])
    learned_pairs, _ = fitting.pairwise(learned[late], labels[late], sources[late])
    kinds = [e.kind for e in examples]
    ranker.figures = {
        "cut": cut.isoformat(timespec="seconds"),
        "trained_on": int(early.sum()),
        "held_back": int(late.sum()),
        "signals": sum(1 for k in kinds if k == "signal"),
        "reaction_examples": sum(1 for k in kinds if k == "reaction"),
        "outside_ranking": outside,
        "held_pairs": held_pairs,
        "plain_pairwise": _round(plain_pairs),
        "learned_pairwise": _round(learned_pairs),
        "plain_auc": _round(fitting.auc(plain_score[late], labels[late])),
        "learned_auc": _round(fitting.auc(learned[late], labels[late])),
    }
    low = fitting.gain_lower_bound(learned[late], plain_score[late], labels[late], sources[late])
    ranker.figures["gain_low"] = _round(low)
    ranker.applied = bool(held_pairs >= MIN_HELD_PAIRS and low > 0)
    return ranker


# Storing and applying ------------------------------------------------------------------------------------


def stored_ranker() -> Ranker | None:
    """The model last stored (applied or not), or None."""
    row = db.session.get(SiteSetting, SETTING)
    if row is None or not row.value:
        return None
    try:
        return Ranker(**json.loads(row.value))
    except (TypeError, ValueError):
        return None


def save_ranker(ranker: Ranker) -> None:
    """Store the model (the caller commits) and use it in this worker at once; others reload within a minute."""
    row = db.session.get(SiteSetting, SETTING)
    if row is None:
        row = SiteSetting(key=SETTING)
        db.session.add(row)
    row.value = json.dumps(asdict(ranker))
    current_app.extensions["similar_ranker"] = (time.monotonic(), ranker)


def active_ranker() -> Ranker | None:
    """The model this worker applies: stored, measured better than the plain order, for these features."""
    checked, ranker = current_app.extensions.get("similar_ranker", (None, None))
    if checked is None or time.monotonic() - checked > RELOAD_SECONDS:
        ranker = stored_ranker()
        current_app.extensions["similar_ranker"] = (time.monotonic(), ranker)
    if ranker is None or not ranker.applied or ranker.feature_version != FEATURE_VERSION:
        return None
    return ranker


@contextmanager
def plain_only() -> Iterator[None]:
    """Within this block the similar query path keeps the plain order (training needs it)."""
    token = _plain_only.set(True)
    try:
        yield
    finally:
        _plain_only.reset(token)


def rerank(matches: list[M], exclude_ids: set[int], k: int) -> list[M]:
    """Reorder the plain candidates of a story (its id is the one excluded) by the learned model, when one is
    in use; text queries and untrained sites keep the plain order. By default it only reorders the k shown
    (SIMILAR_LEARNED_REACH lets it pick them from further down): signals are given on shown matches, so the
    held-back figures say nothing about the candidates below, and in a simulation on the dev set reaching 3
    further lowered P@5 (bench/similar_feedback.py)."""
    if _plain_only.get() or len(exclude_ids) != 1 or len(matches) < 2:
        return matches
    ranker = active_ranker()
    source = db.session.get(Story, next(iter(exclude_ids))) if ranker is not None else None
    if ranker is None or source is None:
        return matches
    reach = matches[: k + int(current_app.config.get("SIMILAR_LEARNED_REACH", 0))]
    x = np.vstack([pair_features(source, m.story, m.score, i) for i, m in enumerate(reach)])
    order = np.argsort(-ranker.score(x), kind="stable")
    return [reach[i] for i in order] + matches[len(reach) :]
