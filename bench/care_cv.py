"""Compare ways of fitting the care classifier by cross-validation on the TRAINING data only.

    nice python -m bench.care_cv                      # every method in forum.care.methods.METHODS
    nice python -m bench.care_cv --method logistic    # some of them
    SIMILAR_MODEL=minilm nice python -m bench.care_cv # on the other embedding model

Nothing under bench/data is read: the evaluation sets are for measuring the shipped detector only. Each method
is scored by leave-one-writer-out cross-validation (every labelled writer with enough texts held out whole in
turn, the background real posts spread over the folds): the classifier and its calibration never saw the
writer it is scored on, which is what a new parent's words look like to it. The first method is also scored
by the 5-fold stratified cross-validation the detector used before, to show how far within-writer figures
flatter it. Results go to bench/results/care-cv-<time>.txt.

Rule 1 for keeping a method (fixed before the first comparison): at the threshold for a leave-one-writer-out
recall of 0.93, every kind's recall >= 0.80; among the methods meeting that, the highest precision; a method
with a hidden layer must beat the best logistic one by more than 0.01 to be kept (simpler wins a tie). (A
first draft also required at most 5% of the held-out long background posts carded at that point; a smoke run
of the first method alone showed no method would meet it there, so it is reported, and the shipped operating
point's false-alarm cap handles it.)

Rule 2 (fixed on 2 December 2026 before the real-post weight and negative-unit candidates were compared, once
the shipped detector met the precision and recall targets with room and missed only the false alarms on
ordinary real posts): every kind >= 0.80 at recall 0.93, and precision there within 0.01 of the best such
method; among those, the fewest held-out long real background posts carded at recall 0.90 (the floor to which
the shipped operating point lets its false-alarm cap lower recall), ties broken by precision; a hidden layer
must card 0.005 fewer to be kept.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from forum.care import classifier, training  # noqa: E402
from forum.care.detector import default_embedder  # noqa: E402
from forum.care.methods import METHODS  # noqa: E402
from forum.care.operating import choose_threshold, log_loss  # noqa: E402

RESULTS = ROOT / "bench" / "results"
RECALLS = (0.90, 0.93)
KEEP_AT = 0.93
KIND_FLOOR = 0.80
FLOOR_AT, PRECISION_SLACK, HIDDEN_MARGIN_FA = 0.90, 0.01, 0.005  # rule 2


def at_recall(
    rows: Sequence[training.Labelled], probs: np.ndarray, target: float, labelled: np.ndarray
) -> dict[str, Any]:
    """Figures at the threshold whose out-of-fold recall reaches ``target``: precision over the writers'
    labelled texts (the background posts apart), recall by kind, the share of each hard-negative kind and of
    the long background posts shown the card, and precision and recall per held-out writer."""
    y = np.array([r.signpost for r in rows], dtype=float)
    threshold = choose_threshold(probs, y, target)
    card = probs >= threshold
    tp = int((card & (y == 1) & labelled).sum())
    fp = int((card & (y == 0) & labelled).sum())
    kinds: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for row, shown, own in zip(rows, card, labelled, strict=True):
        if own:
            kinds[row.kind][0] += int(shown)
            kinds[row.kind][1] += 1
    background = np.array([r.writer == training.BACKGROUND_WRITER for r in rows])
    writers = {}
    for writer in sorted({r.writer for r, own in zip(rows, labelled, strict=True) if own}):
        mine = np.array([r.writer == writer for r in rows])
        w_tp = int((card & (y == 1) & mine).sum())
        w_fp = int((card & (y == 0) & mine).sum())
        writers[writer] = {
            "precision": round(w_tp / max(w_tp + w_fp, 1), 3),
            "recall": round(w_tp / max(int(((y == 1) & mine).sum()), 1), 3),
        }
    positive = {k: round(a / b, 3) for k, (a, b) in sorted(kinds.items()) if not k.startswith("neg_")}
    lowest = min(positive.items(), key=lambda kv: kv[1])
    return {
        "threshold": threshold,
        "precision": round(tp / max(tp + fp, 1), 3),
        "recall": round(float(card[y == 1].mean()), 3),
        "lowest_kind": list(lowest),
        "background_alarms": round(float(card[background].mean()), 3) if background.any() else None,
        "recall_by_kind": positive,
        "carded_by_negative_kind": {
            k: round(a / b, 3) for k, (a, b) in sorted(kinds.items()) if k.startswith("neg_")
        },
        "writers": writers,
    }


def evaluate(texts: list[training.Prepared], method: training.Method) -> dict[str, Any]:
    """One method's cross-validated figures (see the module's docstring)."""
    rows = [t.row for t in texts]
    labelled = np.array([training.is_labelled_writer(r.writer) for r in rows])
    start = time.process_time()
    scores = training.out_of_fold(texts, method)
    y = np.array([r.signpost for r in rows], dtype=float)
    return {
        "method": method.name,
        "folds": scores.scheme,
        "epochs": scores.epochs,
        "log_loss": round(log_loss(y, scores.probs), 4),
        "cpu_s": round(time.process_time() - start, 1),
        **{f"recall_{t:.2f}": at_recall(rows, scores.probs, t, labelled) for t in RECALLS},
    }


def keep(results: list[dict[str, Any]]) -> str | None:
    """The method kept by rule 2 (see the module's docstring)."""
    key, floor = f"recall_{KEEP_AT:.2f}", f"recall_{FLOOR_AT:.2f}"
    fit = [r for r in results if r["folds"] == "writer" and r[key]["lowest_kind"][1] >= KIND_FLOOR]
    if not fit:
        return None
    best_precision = max(r[key]["precision"] for r in fit)
    fit = [r for r in fit if r[key]["precision"] >= best_precision - PRECISION_SLACK]

    def order(r: dict[str, Any]) -> tuple[float, float]:  # fewest real posts carded, then precision
        return (r[floor]["background_alarms"] or 0.0, -r[key]["precision"])

    logistic = [r for r in fit if not METHODS[r["method"]].hidden]
    hidden = [r for r in fit if METHODS[r["method"]].hidden]
    best = min(logistic, key=order) if logistic else None
    best_hidden = min(hidden, key=order) if hidden else None
    if best_hidden and (not best or order(best_hidden)[0] < order(best)[0] - HIDDEN_MARGIN_FA):
        return str(best_hidden["method"])
    return str(best["method"]) if best else None


def report(results: list[dict[str, Any]], header: list[str]) -> list[str]:
    """The comparison as text."""
    out = [*header, ""]
    head = f"{'method':46s} {'folds':10s} {'logloss':>7s}"
    for t in RECALLS:
        head += f" | @R{t:.2f}: {'thr':>5s} {'prec':>5s} {'rec':>5s} {'bgFA':>5s} {'low kind':>25s}"
    out += [head, "-" * len(head)]
    for r in results:
        line = f"{r['method']:46s} {r['folds']:10s} {r['log_loss']:7.4f}"
        for t in RECALLS:
            m = r[f"recall_{t:.2f}"]
            low = f"{m['lowest_kind'][0]} {m['lowest_kind'][1]:.2f}"
            line += (
                f" |         {m['threshold']:5.3f} {m['precision']:5.3f} {m['recall']:5.3f} "
                f"{m['background_alarms'] or 0:5.3f} {low:>25s}"
            )
        out.append(line)
    for t in RECALLS:
        key = f"recall_{t:.2f}"
        names = [r["method"] for r in results]
        out += [
            "",
            f"at the threshold for recall {t:.2f}: recall by kind, then share of each negative kind carded",
        ]
        out.append(f"{'kind':24s} " + " ".join(f"{i + 1:>6d}" for i in range(len(names))))
        kinds = sorted({k for r in results for k in r[key]["recall_by_kind"]})
        negatives = sorted({k for r in results for k in r[key]["carded_by_negative_kind"]})
        for kind in kinds:
            out.append(
                f"{kind:24s} " + " ".join(f"{r[key]['recall_by_kind'].get(kind, 0):6.2f}" for r in results)
            )
        for kind in negatives:
            out.append(
                f"{kind:24s} "
                + " ".join(f"{r[key]['carded_by_negative_kind'].get(kind, 0):6.2f}" for r in results)
            )
        out.append("per held-out writer (precision / recall):")
        writers = sorted({w for r in results for w in r[key]["writers"]})
        for writer in writers:
            cells = [r[key]["writers"].get(writer, {"precision": 0, "recall": 0}) for r in results]
            out.append(f"{writer:24s} " + " ".join(f"{c['precision']:.2f}/{c['recall']:.2f}" for c in cells))
        out += [f"  {i + 1}: {name}" for i, name in enumerate(names)]
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--method", action="append", default=[], help="a name in METHODS (repeat)")
    parser.add_argument("--no-stratified", action="store_true", help="skip the 5-fold stratified baseline")
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    embedder = default_embedder()
    if embedder is None:
        print("the similar-stories embedder is unavailable", file=sys.stderr)
        return 1
    model_id = classifier.engine_model_id(embedder)
    cache = ROOT / "instance" / "care" / f"vectors-{classifier.model_path(model_id).stem}.npz"
    rows = training.load_training()
    texts = training.prepare(rows, embedder, cache)
    names = args.method or list(METHODS)
    methods = [replace(METHODS[n], folds="writer") for n in names]
    if not args.no_stratified:  # the first method as the earlier folds measured it, for comparison
        methods.insert(0, replace(methods[0], name=f"{methods[0].name} [5-fold]", folds="stratified"))
    results: list[dict[str, Any]] = []
    for method in methods:
        results.append(evaluate(texts, method))
        m = results[-1][f"recall_{KEEP_AT:.2f}"]
        print(
            f"{method.name}: done ({results[-1]['cpu_s']} s CPU); at recall {KEEP_AT}: precision "
            f"{m['precision']}, lowest kind {m['lowest_kind']}, bgFA {m['background_alarms']}",
            file=sys.stderr,
        )
    writers = dict(sorted({r.writer: sum(x.writer == r.writer for x in rows) for r in rows}.items()))
    kept = keep(results)
    header = [
        f"care classifier, cross-validation on the training data only, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC",
        f"embedding model {model_id}; texts by writer {writers}; data sha {training.data_sha()[:12]}",
        "folds 'writer': each labelled writer held out whole in turn (leave-one-writer-out); 'stratified': the",
        "earlier 5 folds stratified by writer, kind and label. Precision over the writers' labelled texts;",
        "bgFA: share of the held-out long real background posts shown the card. CPU seconds under load.",
        f"rule 2 (fixed before comparing): at recall {KEEP_AT} every kind >= {KIND_FLOOR} and precision within",
        f"{PRECISION_SLACK} of the best; then fewest held-out long real posts carded at recall {FLOOR_AT} (ties:",
        f"precision); a hidden layer must card {HIDDEN_MARGIN_FA} fewer.  kept: {kept}",
    ]
    lines = report(results, header)
    print("\n".join(lines))
    RESULTS.mkdir(exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    out = args.out or RESULTS / f"care-cv-{stamp}.txt"
    out.write_text("\n".join(lines) + "\n", encoding="utf-8")
    out.with_suffix(".json").write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
