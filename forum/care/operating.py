"""The care classifier's operating point and its figures, from cross-validated (out-of-fold) probabilities.

The threshold aims first at a recall target; when that threshold shows the card on too many held-out real
posts (background texts, taken as needing no card), it is raised until the false-alarm cap holds, but never
so far that recall falls below a floor. Everything here sees training texts only.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import numpy as np

STEP = 1000  # thresholds are multiples of 1/STEP
FOLD_NAMES = {"stratified": "5-fold", "writer": "leave-one-writer-out"}


class Row(Protocol):
    signpost: bool
    kind: str


def choose_threshold(probs: np.ndarray, y: np.ndarray, target: float) -> float:
    """The highest threshold whose cross-validated recall reaches the target."""
    positives = np.sort(probs[y == 1])[::-1]
    needed = int(np.ceil(target * len(positives)))
    return float(np.floor(positives[max(needed - 1, 0)] * STEP) / STEP)


def alarm_rate(probs: np.ndarray, threshold: float) -> float:
    """The share of texts at or above the threshold."""
    return float((probs >= threshold).mean()) if len(probs) else 0.0


@dataclass
class OperatingPoint:
    threshold: float
    recall: float
    background_alarms: float  # share of held-out background posts shown the card
    limited_by: str  # "recall target", "false-alarm cap" or "recall floor"


def choose_operating_point(
    probs: np.ndarray, y: np.ndarray, background: np.ndarray, target: float, floor: float, cap: float
) -> OperatingPoint:
    """The threshold for the recall target, raised (if need be) until the background posts' alarm rate is at
    most ``cap``, but no higher than the threshold that keeps recall at ``floor``."""
    y = np.asarray(y, dtype=float)
    background = np.asarray(background, dtype=bool)
    at_target = choose_threshold(probs, y, target)
    scores = np.asarray(probs)[background]

    def point(threshold: float, why: str) -> OperatingPoint:
        recall = float((probs[y == 1] >= threshold).mean())
        return OperatingPoint(threshold, round(recall, 3), round(alarm_rate(scores, threshold), 3), why)

    if alarm_rate(scores, at_target) <= cap:
        return point(at_target, "recall target")
    # The lowest threshold (a multiple of 1/STEP) that meets the cap: just above the background score that
    # would be the first one too many.
    ranked = np.sort(scores)[::-1]
    allowed = min(int(np.floor(cap * len(ranked) + 1e-9)), len(ranked) - 1)
    meets_cap = float(np.floor(ranked[allowed] * STEP) + 1) / STEP
    at_floor = choose_threshold(probs, y, floor)
    if meets_cap <= at_floor:
        return point(max(meets_cap, at_target), "false-alarm cap")
    return point(at_floor, "recall floor")


def figures_for(rows: Sequence[Row], predicted: np.ndarray) -> dict[str, Any]:
    """Precision, recall, and per kind the share of texts given the card."""
    y = np.array([r.signpost for r in rows], dtype=bool)
    predicted = np.asarray(predicted, dtype=bool)
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


def log_loss(y: np.ndarray, p: np.ndarray) -> float:
    """Mean negative log-likelihood of the labels under the probabilities."""
    p = np.clip(p, 1e-9, 1 - 1e-9)
    return float(-(y * np.log(p) + (1 - y) * np.log(1 - p)).mean())


def describe(figures: dict[str, Any]) -> list[str]:
    """The figures as lines for a terminal."""
    cv, point = figures["cross_validated"], figures["operating_point"]
    lines = [
        f"care classifier {figures['version']} on {figures['model_id']}",
        f"  texts by writer: {figures['writers']}; L2 {figures['l2']}; threshold {figures['threshold']}",
        f"  {FOLD_NAMES.get(figures.get('folds', 'stratified'), 'cross-validated')} cross-validated: "
        f"precision {cv['precision']}, recall {cv['recall']} ({cv['texts']} texts)",
        f"  held-out real background posts shown the card: {point['background_alarms']} "
        f"(threshold set by the {point['limited_by']})",
    ]
    if "method" in figures:
        lines.insert(
            4, f"  method: {figures['method']['name']} (stopping point {figures['method']['epochs_chosen']})"
        )
    lines += [f"    {kind:34s} card shown {share:.2f}" for kind, share in cv["carded_by_kind"].items()]
    for held in figures.get("held_out_author") or []:
        lines.append(
            f"  trained without {held['writer']!r}, tested on its {held['texts']} texts: "
            f"precision {held['precision']}, recall {held['recall']}"
        )
    return lines
