"""How the care classifier is fitted: the candidate methods (weights, n-grams, hidden layer, L2, folds), the
weight of each training text and the cross-validation folds. The candidates are compared by bench/care_cv.py
on the training data alone; the one kept is METHOD (forum.care.training uses it)."""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

from forum.care.operating import figures_for


class Row(Protocol):
    """A training text as far as weights and folds care."""

    signpost: bool
    kind: str
    writer: str


L2_GRID = (0.3,)  # 0.3 beat 1.0 and 3.0 on cross-validated log-loss (2026-12-02); widen when data grows
FOLDS = 5
# Row weights within a class: the writers' hard negatives (idioms, escapes, recovery, accidents...) count
# more than easy ones; the short real titles are many, so each counts less.
HARD_NEGATIVE_WEIGHT = 2.0
SHORT_BACKGROUND_WEIGHT = 0.25
BACKGROUND_SHORT = "reddit-background-short"
BACKGROUND_LONG = "reddit-background"  # the long real posts: the false-alarm cap is measured on these
MODERATOR_WRITERS = ("moderators", "moderator")  # exported verdicts (forum.care.feedback.VERDICT_WRITER)
LABELLED_WRITER_MIN = 50  # a writer with fewer texts is not held out on its own


@dataclass(frozen=True)
class Method:
    """How stage 1 is fitted and how the folds are drawn; the candidates are compared by cross-validation on
    the training data (bench/care_cv.py) and the better one is METHOD."""

    name: str
    hard_negative_weight: float = HARD_NEGATIVE_WEIGHT
    # Each writer carries the same weight within each kind (a kind written mostly by one hand must not teach
    # that hand's style as the kind).
    balance_writers: bool = False
    ngrams: bool = True
    l2: float = L2_GRID[0]  # stage 1's L2 strength
    hidden: int = 0  # units of stage 1's hidden layer over the embedding; 0: the logistic regression alone
    decay: float = 1e-2  # the hidden layer's weight decay
    epochs: tuple[int, ...] = (4, 8, 16, 24)  # the hidden layer's candidate stopping points, chosen by CV
    # "stratified": 5 folds stratified by writer, kind and label; "writer": each fold holds out one writer
    # (the background posts spread over the folds), once three or more writers have enough texts.
    folds: str = "stratified"
    # Each long real background post's weight within the negatives: real forum posts are what the false-alarm
    # target is about, and the writers' texts outnumber them.
    background_weight: float = 1.0
    negative_units: int = 6  # per text that needs no card: its strongest units under the first-round model


METHODS = {
    m.name: m
    for m in (
        Method("logistic", folds="writer"),  # the method of the first learned build
        Method("logistic, hard x4", hard_negative_weight=4.0, folds="writer"),
        Method("logistic, writers balanced", balance_writers=True, folds="writer"),
        Method(
            "logistic, writers balanced, hard x4",
            hard_negative_weight=4.0,
            balance_writers=True,
            folds="writer",
        ),
        Method("logistic, no n-grams, writers balanced", ngrams=False, balance_writers=True, folds="writer"),
        Method("logistic, writers balanced, L2 1", l2=1.0, balance_writers=True, folds="writer"),
        Method("logistic, writers balanced, L2 0.1", l2=0.1, balance_writers=True, folds="writer"),
        Method("logistic, writers balanced, L2 3", l2=3.0, balance_writers=True, folds="writer"),
        Method("mlp-32, writers balanced", hidden=32, balance_writers=True, folds="writer"),
        Method("mlp-32, writers balanced, L2 1", l2=1.0, hidden=32, balance_writers=True, folds="writer"),
        # Compared under bench/care_cv.py's rule 2 (fewest real posts carded): real posts weighted more, and
        # more of each negative post's strongest windows taught as negatives.
        Method(
            "balanced, L2 1, real posts x2", l2=1.0, balance_writers=True, folds="writer", background_weight=2
        ),
        Method(
            "balanced, L2 1, real posts x4", l2=1.0, balance_writers=True, folds="writer", background_weight=4
        ),
        Method(
            "balanced, L2 1, 12 negative units",
            l2=1.0,
            balance_writers=True,
            folds="writer",
            negative_units=12,
        ),
        Method(
            "balanced, L2 1, real posts x2, 12 negative units",
            l2=1.0,
            balance_writers=True,
            folds="writer",
            background_weight=2,
            negative_units=12,
        ),
        Method(
            "balanced, L2 3, real posts x2", l2=3.0, balance_writers=True, folds="writer", background_weight=2
        ),
    )
}
# Kept by bench/care_cv.py's rule 2 on MPNet with writers a-j (bench/results/care-cv-20261202-132208-mpnet.txt):
# the only candidate with every kind >= 0.80 at a held-out-writer recall of 0.93 (humour 0.82; the logistic
# ones 0.73-0.78), precision 0.878 there (logistic 0.795-0.817), 3.2% of held-out long real posts carded at
# recall 0.90 (logistic 3.6-6.8%).
METHOD = METHODS["mlp-32, writers balanced, L2 1"]


def weight_of(
    row: Row, hard_negative_weight: float = HARD_NEGATIVE_WEIGHT, background_weight: float = 1.0
) -> float:
    """A text's weight within its class (see HARD_NEGATIVE_WEIGHT and Method.background_weight)."""
    if row.writer == BACKGROUND_SHORT:
        return SHORT_BACKGROUND_WEIGHT
    if row.writer == BACKGROUND_LONG:
        return background_weight
    if not row.signpost and row.kind.startswith("neg_"):
        return hard_negative_weight
    return 1.0


def is_labelled_writer(writer: str) -> bool:
    """A writer of labelled texts (not the background posts, not the moderators' exported verdicts)."""
    return not writer.startswith("reddit-background") and writer not in MODERATOR_WRITERS


def weights_for(rows: Sequence[Row], method: Method | None = None) -> np.ndarray:
    """Each text's weight within its class under a method: weight_of, and with ``balance_writers`` each
    (writer, kind) cell scaled so that every writer of a kind carries the same share of it (the kind's total
    weight unchanged)."""
    method = method or METHOD
    weight = np.array([weight_of(r, method.hard_negative_weight, method.background_weight) for r in rows])
    if method.balance_writers:
        cells = Counter((r.writer, r.kind) for r in rows if is_labelled_writer(r.writer))
        kinds = Counter(r.kind for r in rows if is_labelled_writer(r.writer))
        writers_of = Counter(kind for _, kind in cells)
        for i, r in enumerate(rows):
            if is_labelled_writer(r.writer):
                weight[i] *= kinds[r.kind] / (writers_of[r.kind] * cells[(r.writer, r.kind)])
    return weight


def folds_of(rows: Sequence[Row], folds: int = FOLDS, seed: int = 0) -> np.ndarray:
    """A fold number per text, stratified by writer, kind and label (so each fold holds its share of every
    writer's kinds and of the background posts)."""
    rng = np.random.default_rng(seed)
    fold = np.empty(len(rows), dtype=int)
    strata: dict[tuple[str, str, bool], list[int]] = defaultdict(list)
    for i, row in enumerate(rows):
        strata[(row.writer, row.kind, row.signpost)].append(i)
    offset = 0
    for key in sorted(strata):
        members = rng.permutation(strata[key])
        fold[members] = (np.arange(len(members)) + offset) % folds
        offset += len(members)
    return fold


def writer_folds(rows: Sequence[Row], seed: int = 0) -> np.ndarray | None:
    """A fold per labelled writer with at least LABELLED_WRITER_MIN texts (each fold holds out one writer
    whole), the other texts (background posts, moderators' verdicts, small writers) spread over the folds,
    stratified by kind; None when fewer than three writers qualify."""
    counts = Counter(r.writer for r in rows if is_labelled_writer(r.writer))
    writers = sorted(w for w, n in counts.items() if n >= LABELLED_WRITER_MIN)
    if len(writers) < 3:
        return None
    rest = [i for i, r in enumerate(rows) if r.writer not in writers]
    fold = np.full(len(rows), -1, dtype=int)
    for i, r in enumerate(rows):
        if r.writer in writers:
            fold[i] = writers.index(r.writer)
    fold[rest] = folds_of([rows[i] for i in rest], len(writers), seed)
    return fold


def folds_for(rows: Sequence[Row], method: Method | None = None) -> tuple[np.ndarray, str]:
    """The method's folds and their name."""
    method = method or METHOD
    if method.folds == "writer":
        fold = writer_folds(rows)
        if fold is not None:
            return fold, "writer"
    return folds_of(rows), "stratified"


def per_writer(rows: Sequence[Row], predicted: np.ndarray) -> list[dict[str, Any]]:
    """Figures per labelled writer from out-of-fold decisions."""
    out = []
    for writer in sorted({r.writer for r in rows if is_labelled_writer(r.writer)}):
        index = [i for i, r in enumerate(rows) if r.writer == writer]
        if len(index) >= LABELLED_WRITER_MIN:
            result = figures_for([rows[i] for i in index], predicted[index])
            result["writer"] = writer
            out.append(result)
    return out
