"""Bench for gentle signposting: precision and recall of each detector layer on a held-out set.

    python -m bench.care_quality                    # bench/data/care_sentences.jsonl, all layers
    python -m bench.care_quality --stories PATH     # also: which stories would show the card
    python -m bench.care_quality --timing           # also: milliseconds per 300-word story

The evaluation sentences were written separately from forum/care/data/train.jsonl (no shared
sentences); everything the detector tunes is tuned by cross-validation on the training set only.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # so `python bench/care_quality.py` works too
from forum.care.detector import PHRASES_PATH, Detector, PhraseSet, normalise, read_phrase_file  # noqa: E402

EVAL_PATH = Path(__file__).parent / "data" / "care_sentences.jsonl"
STORIES_PATH = Path(__file__).resolve().parents[2] / "shared" / "data" / "stories-dev.jsonl"


def load_eval(path: Path) -> list[dict]:
    """The labelled evaluation rows."""
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def scores(truth: Sequence[bool], predicted: Sequence[bool]) -> tuple[float, float, int, int, int]:
    """Precision, recall, true positives, false positives and false negatives on crisis rows."""
    tp = sum(t and p for t, p in zip(truth, predicted))
    fp = sum(p and not t for t, p in zip(truth, predicted))
    fn = sum(t and not p for t, p in zip(truth, predicted))
    return tp / max(tp + fp, 1), tp / max(tp + fn, 1), tp, fp, fn


def layers(detector: Detector) -> dict[str, Callable[[list[str]], list[bool]]]:
    """Each layer as a function from texts to signpost decisions."""
    raw = PhraseSet(read_phrase_file(PHRASES_PATH))
    rules_only = Detector(use_classifier=False)
    out: dict[str, Callable[[list[str]], list[bool]]] = {
        "phrase list, no context rules": lambda texts: [bool(raw.find(normalise(t))) for t in texts],
        "phrase list + context rules": lambda texts: [r.signpost for r in rules_only.check_many(texts)],
    }
    if detector.uses_classifier and detector.classifier is not None:
        threshold = detector.classifier.threshold

        def classifier_alone(texts: list[str], cut: float) -> list[bool]:
            checks = [detector.rule_checks(t) for t in texts]
            probs = detector.sentence_probabilities([c for cs in checks for c in cs])
            assert probs is not None
            decisions, at = [], 0
            for cs in checks:
                decisions.append(bool(len(cs)) and float(probs[at : at + len(cs)].max()) >= cut)
                at += len(cs)
            return decisions

        out["cue gate + classifier (p >= 0.5)"] = lambda texts: classifier_alone(texts, 0.5)
        out[f"cue gate + classifier (p >= {threshold:g}, tuned)"] = lambda texts: classifier_alone(
            texts, threshold
        )
    out["combination (Detector.check)"] = lambda texts: [r.signpost for r in detector.check_many(texts)]
    return out


def report_eval(detector: Detector, rows: list[dict]) -> None:
    """Print precision and recall for every layer, then the combination's mistakes."""
    texts, truth = [r["text"] for r in rows], [bool(r["crisis"]) for r in rows]
    print(f"{len(rows)} sentences, {sum(truth)} crisis, {len(rows) - sum(truth)} not\n")
    print(f"{'layer':44s} {'precision':>9s} {'recall':>7s} {'TP':>4s} {'FP':>4s} {'FN':>4s}")
    for name, decide in layers(detector).items():
        precision, recall, tp, fp, fn = scores(truth, decide(texts))
        print(f"{name:44s} {precision:9.3f} {recall:7.3f} {tp:4d} {fp:4d} {fn:4d}")
    results = detector.check_many(texts)
    for label, wanted in (
        ("Missed crisis sentences (false negatives)", True),
        ("Wrongly flagged sentences (false positives)", False),
    ):
        print(f"\n{label}:")
        for row, result in zip(rows, results):
            if bool(row["crisis"]) == wanted and result.signpost != wanted:
                print(
                    f"  [{row['kind']}] {row['text']}\n      score {result.score:.2f}; {'; '.join(result.reasons) or '-'}"
                )


def report_stories(detector: Detector, path: Path) -> None:
    """Print how many stories would show the card, with the reasons, for eyeballing."""
    stories = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    results = detector.check_many([f"{s.get('title', '')}.\n{s['body']}" for s in stories])
    shown = [(s, r) for s, r in zip(stories, results) if r.signpost]
    print(f"\n{len(shown)} of {len(stories)} stories in {path.name} would show the card:")
    for story, result in shown:
        print(
            f"  {story['id']} [{story.get('theme', '')}] {story.get('title', '')!r}: score {result.score:.2f}"
        )
        for reason in result.reasons:
            print(f"      {reason}")


def report_timing(detector: Detector, path: Path, runs: int = 30) -> None:
    """Print the median time to check a 300-word story (embedding included)."""
    words = " ".join(
        json.loads(line)["body"] for line in path.read_text(encoding="utf-8").splitlines()
    ).split()
    stories = [" ".join(words[i * 300 : (i + 1) * 300]) for i in range(runs)]
    detector.check(stories[0])  # load the model outside the timing
    times = []
    for story in stories:
        start = time.perf_counter()
        detector.check(story)
        times.append((time.perf_counter() - start) * 1000)
    print(
        f"\n300-word story: median {statistics.median(times):.1f} ms, max {max(times):.1f} ms over {runs} stories"
    )


def main(argv: list[str] | None = None) -> int:
    """Run the bench."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--eval", type=Path, default=EVAL_PATH)
    parser.add_argument("--stories", type=Path, nargs="?", const=STORIES_PATH, default=None)
    parser.add_argument("--timing", action="store_true")
    args = parser.parse_args(argv)
    detector = Detector()
    if not detector.uses_classifier:
        print("NOTE: the sentence embedder is unavailable here; only the rule layers are measured.\n")
    report_eval(detector, load_eval(args.eval))
    if args.stories:
        report_stories(detector, args.stories)
    if args.timing:
        report_timing(detector, args.stories or STORIES_PATH)
    return 0


if __name__ == "__main__":
    sys.exit(main())
