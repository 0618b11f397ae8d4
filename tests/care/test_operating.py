"""The operating point and the post-level aggregation: a recall target, a false-alarm cap on held-out real
posts that may raise the threshold but never below the recall floor, and text features that do not let a
long post's many sentences stand in for one risky sentence; the background posts are never evaluation posts."""

from __future__ import annotations

import numpy as np

from forum.care import classifier as clf
from forum.care.operating import choose_operating_point

# Ten positives scored 0.95 down to 0.50 (step 0.05), five labelled negatives, ten background posts.
POSITIVES = np.linspace(0.95, 0.50, 10)
NEGATIVES = np.array([0.1, 0.2, 0.3, 0.2, 0.1])


def _point(background: np.ndarray, cap: float, target: float = 0.9, floor: float = 0.8):
    probs = np.concatenate([POSITIVES, NEGATIVES, background])
    y = np.concatenate([np.ones(10), np.zeros(5 + len(background))])
    is_background = np.concatenate([np.zeros(15, dtype=bool), np.ones(len(background), dtype=bool)])
    return choose_operating_point(probs, y, is_background, target=target, floor=floor, cap=cap)


def test_the_recall_target_decides_when_background_posts_stay_quiet() -> None:
    point = _point(np.full(10, 0.05), cap=0.1)
    assert point.limited_by == "recall target"
    assert point.recall >= 0.9 and point.threshold == 0.55 and point.background_alarms == 0.0


def test_the_false_alarm_cap_raises_the_threshold_within_the_recall_floor() -> None:
    # Two of ten background posts score 0.57 and 0.56, above the target's threshold (0.55): 20% alarms.
    background = np.array([0.57, 0.56, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    assert _point(background, cap=0.2).limited_by == "recall target"
    point = _point(background, cap=0.1)
    assert point.limited_by == "false-alarm cap"
    assert point.background_alarms <= 0.1 and point.recall >= 0.8
    assert 0.56 < point.threshold <= 0.57


def test_the_recall_floor_wins_over_the_cap() -> None:
    # Background posts above every positive but the best: meeting the cap would cost most of the recall.
    background = np.array([0.9, 0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1])
    point = _point(background, cap=0.1, floor=0.8)
    assert point.limited_by == "recall floor"
    assert point.recall >= 0.8 and point.threshold == 0.6


def test_one_risky_sentence_is_kept_apart_from_the_post_length() -> None:
    # Two posts with the same strongest sentence: one short, one long with more ordinary sentences.
    short = clf.text_features(np.array([3.0, -2.0]), [(0, 1), (1, 2)], [False, False], 0.0, False)
    spans = [(i, i + 1) for i in range(20)]
    long = clf.text_features(np.array([3.0] + [-2.0] * 19), spans, [False] * 20, 0.0, False)
    names = dict(zip(clf.STAGE2, range(len(clf.STAGE2)), strict=True))
    assert short[names["best plain unit"]] == long[names["best plain unit"]] == 3.0
    assert short[names["second plain sentence"]] == long[names["second plain sentence"]] == -2.0
    assert long[names["log sentences"]] > short[names["log sentences"]] > 0


def test_a_single_sentence_is_its_own_second_sentence() -> None:
    features = clf.text_features(np.array([1.5]), [(0, 1)], [False], 1.5, True)
    assert features.tolist() == [1.5, clf.NO_UNIT, 1.5, clf.NO_UNIT, 1.5, 1.0, 0.0]


def test_units_are_windows_of_one_to_three_sentences() -> None:
    assert clf.unit_spans(3) == [(0, 1), (1, 2), (2, 3), (0, 2), (1, 3), (0, 3)]
    assert clf.unit_spans(1) == [(0, 1)]
    assert clf.unit_spans(3, (1,)) == [(0, 1), (1, 2), (2, 3)]


def test_background_posts_are_never_the_labelled_evaluation_posts() -> None:
    import json
    from pathlib import Path

    from forum.care import training

    root = Path(__file__).resolve().parents[2]
    labelled = root / "bench/data/care_reddit/labels.jsonl"
    evaluation = {json.loads(line)["id"] for line in labelled.read_text().splitlines() if line.strip()}
    for path in (training.BACKGROUND_IDS, training.short_ids_path()):
        ids = [line.strip() for line in path.read_text().splitlines() if line.strip()[:1] not in ("", "#")]
        assert len(ids) > 500 and not evaluation & set(ids), path.name
