"""Bench for gentle signposting: precision and recall, by kind, of the rules alone, the classifier alone and
the combination (the detector as shipped), on every evaluation set; false alarms on real posts; cost per text.

    nice python -m bench.care_quality           # everything; writes bench/results/care-quality-<time>.*
    nice python -m bench.care_quality --quick   # the author-split sets only, no timing

Evaluation sets (measuring only: nothing here is ever trained on or used to choose a setting):
- bench/data/care_eval/writer-*.jsonl: independent writers who never saw the detector or its training data,
  each its own author-split set, and all of them pooled ("author-split (all)");
- bench/data/care_sentences.jsonl: the old set, written by the same hand as forum/care/data/train.jsonl;
- bench/data/care_reddit/labels.jsonl: real r/Parenting posts (their text is in
  ../shared/data/reddit-parenting-pddl.jsonl), labelled for whether they should show the card; read as far
  as it has been written.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import time
from collections import defaultdict
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))  # so `python bench/care_quality.py` works too
from forum.care.classifier import Classifier, engine_model_id  # noqa: E402
from forum.care.detector import Detector, default_embedder  # noqa: E402
from forum.care.prepared import VectorCache  # noqa: E402

DATA = ROOT / "bench" / "data"
AUTHOR_SPLIT = DATA / "care_eval"  # every writer-*.jsonl in it is one author-split set
POOLED = "author-split (all)"
OLD_SET = DATA / "care_sentences.jsonl"
REDDIT_LABELS = DATA / "care_reddit" / "labels.jsonl"
REDDIT_POSTS = ROOT.parent / "shared" / "data" / "reddit-parenting-pddl.jsonl"
STORIES = ROOT.parent / "shared" / "data" / "stories-dev.jsonl"
RESULTS = ROOT / "bench" / "results"
TARGETS = {"recall": 0.90, "kind_recall": 0.80, "precision": 0.85, "false_alarms": 0.05}


class SharedCache:
    """One embedder cache for every detector variant, so each sentence is embedded once per run (and, with
    --vectors, once across runs: that file holds evaluation sentences only and training never reads it)."""

    def __init__(self, embedder: Any, path: Path | None = None) -> None:
        self.cache = VectorCache(embedder, path)
        self.model_id = engine_model_id(embedder)  # the classifier is looked up by the engine's model

    def embed(self, texts: list[str]) -> np.ndarray:
        return self.cache.get(list(texts))


def read_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def eval_sets() -> dict[str, list[dict[str, Any]]]:
    """Rows {"text", "signpost", "kind"} of each set that exists."""
    sets: dict[str, list[dict[str, Any]]] = {}
    writers = sorted(AUTHOR_SPLIT.glob("writer-*.jsonl"))
    for path in writers:
        sets[f"author-split ({path.stem})"] = read_jsonl(path)
    if len(writers) > 1:
        sets[POOLED] = [row for path in writers for row in sets[f"author-split ({path.stem})"]]
    if OLD_SET.exists():
        sets["old set"] = [
            {"text": r["text"], "signpost": bool(r["crisis"]), "kind": r["kind"]} for r in read_jsonl(OLD_SET)
        ]
    if REDDIT_LABELS.exists() and REDDIT_POSTS.exists():
        posts = {p["id"]: p for p in read_jsonl(REDDIT_POSTS)}
        rows = []
        for label in read_jsonl(REDDIT_LABELS):
            post = posts.get(label.get("id"))
            if post is not None and (post.get("body") or "").strip():
                text = f"{post.get('title') or ''}\n{post['body']}".strip()
                rows.append(
                    {
                        "id": post["id"],
                        "text": text,
                        "signpost": bool(label["signpost"]),
                        "kind": label["kind"],
                    }
                )
        # The labeller's random stratum (an unbiased sample of long posts, bench/data/care_reddit/README.md)
        # gives the false-alarm rate on ordinary real posts; the keyword stratum is rich in alarming words.
        eligible = sorted(i for i, p in posts.items() if len((p.get("body") or "").split()) >= 100)
        random_ids = set(random.Random(20261201).sample(eligible, 400)) if len(eligible) >= 400 else set()
        for name, keep in (("random", True), ("keyword", False)):
            part = [r for r in rows if (r["id"] in random_ids) == keep]
            if part:
                sets[f"real posts, {name} stratum"] = part
    return sets


def measure(rows: Sequence[dict[str, Any]], decided: Sequence[bool]) -> dict[str, Any]:
    """Precision, recall, counts, recall by positive kind and false-alarm rate by negative kind."""
    truth = [bool(r["signpost"]) for r in rows]
    tp = sum(t and p for t, p in zip(truth, decided, strict=True))
    fp = sum(p and not t for t, p in zip(truth, decided, strict=True))
    fn = sum(t and not p for t, p in zip(truth, decided, strict=True))
    negatives = len(truth) - sum(truth)
    by_kind: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])  # carded, total, positive?
    for row, p in zip(rows, decided, strict=True):
        entry = by_kind[row["kind"]]
        entry[0] += int(p)
        entry[1] += 1
        entry[2] = int(bool(row["signpost"]))
    return {
        "texts": len(rows),
        "positives": sum(truth),
        "precision": round(tp / max(tp + fp, 1), 3),
        "recall": round(tp / max(tp + fn, 1), 3),
        "false_alarm_rate": round(fp / max(negatives, 1), 3),
        "tp": tp,
        "fp": fp,
        "fn": fn,
        "recall_by_kind": {k: [v[0], v[1]] for k, v in sorted(by_kind.items()) if v[2]},
        "false_alarms_by_kind": {k: [v[0], v[1]] for k, v in sorted(by_kind.items()) if not v[2]},
    }


def approaches(embedder: Any, alternatives: Sequence[str] = ()) -> dict[str, Detector]:
    """The detector variants measured: rules alone, the classifier alone, the shipped combination, and any
    other classifier files given as NAME=PATH (approaches compared before one is kept)."""
    variants = {"rules only": Detector(use_classifier=False)}
    if embedder is not None:
        variants["classifier only"] = Detector(embedder=embedder, alone=True)
        variants["combined (shipped)"] = Detector(embedder=embedder)
        for alternative in alternatives:
            name, path = alternative.split("=", 1)
            variants[name] = Detector(embedder=embedder, classifier=Classifier.load(Path(path)))
    return variants


def cost_per_text(detector: Detector, runs: int) -> dict[str, float]:
    """CPU milliseconds to check a 300-word text, with nothing cached (each text is new to the detector)."""
    words = " ".join(r["body"] for r in read_jsonl(STORIES)).split()
    texts = [" ".join(words[i * 300 : (i + 1) * 300]) for i in range(runs + 1)]
    detector.check(texts[0])  # load the model outside the measurement
    cpu, wall = [], []
    for text in texts[1:]:
        detector._cache.clear()
        start_cpu, start_wall = time.process_time(), time.perf_counter()
        detector.check(text)
        cpu.append((time.process_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start_wall) * 1000)
    return {
        "runs": runs,
        "cpu_ms_median": round(statistics.median(cpu), 1),
        "cpu_ms_max": round(max(cpu), 1),
        "wall_ms_median": round(statistics.median(wall), 1),
    }


def report(results: dict[str, Any]) -> list[str]:
    """The results as text: a summary table, then per-kind tables."""
    out = [f"care quality bench, {results['when']}; detector {results['version']}", ""]
    head = (
        f"{'set':30s} {'approach':22s} {'texts':>5s} {'prec':>6s} {'recall':>6s} {'FA rate':>7s} "
        f"{'TP':>4s} {'FP':>4s} {'FN':>4s}"
    )
    out += [head, "-" * len(head)]
    for set_name, by_approach in results["sets"].items():
        for name, m in by_approach.items():
            out.append(
                f"{set_name:30s} {name:22s} {m['texts']:5d} {m['precision']:6.3f} {m['recall']:6.3f} "
                f"{m['false_alarm_rate']:7.3f} {m['tp']:4d} {m['fp']:4d} {m['fn']:4d}"
            )
    for set_name, by_approach in results["sets"].items():
        names = list(by_approach)
        out += [
            "",
            f"{set_name}: recall by kind (cards shown / texts)",
            f"{'kind':26s} " + " ".join(f"{n:>20s}" for n in names),
        ]
        kinds = sorted({k for m in by_approach.values() for k in m["recall_by_kind"]})
        for kind in kinds:
            cells = [by_approach[n]["recall_by_kind"].get(kind, [0, 0]) for n in names]
            out.append(f"{kind:26s} " + " ".join(f"{a / max(b, 1):8.2f} ({a:3d}/{b:3d})" for a, b in cells))
        out += ["", f"{set_name}: false alarms by kind (cards shown / texts)"]
        kinds = sorted({k for m in by_approach.values() for k in m["false_alarms_by_kind"]})
        for kind in kinds:
            cells = [by_approach[n]["false_alarms_by_kind"].get(kind, [0, 0]) for n in names]
            out.append(f"{kind:26s} " + " ".join(f"{a / max(b, 1):8.2f} ({a:3d}/{b:3d})" for a, b in cells))
    if "cost" in results:
        c = results["cost"]
        out += [
            "",
            f"cost per 300-word text (shipped detector, nothing cached, {c['runs']} texts): CPU median "
            f"{c['cpu_ms_median']} ms, max {c['cpu_ms_max']} ms; wall median {c['wall_ms_median']} ms",
        ]
    out += ["", "targets (shipped detector), per author-split set:"]
    out += [f"  {line}" for line in results["targets"]]
    return out


def _met(ok: bool) -> str:
    return "met" if ok else "NOT met"


def check_targets(results: dict[str, Any]) -> list[str]:
    """Each target, met or not, on the shipped detector: the author-split targets on each author-split set
    (each writer, then pooled), the false-alarm target on the real posts' random stratum."""
    lines = []
    for set_name, by_approach in results["sets"].items():
        split = by_approach.get("combined (shipped)")
        if not set_name.startswith("author-split") or not split:
            continue
        worst = min(split["recall_by_kind"].items(), key=lambda kv: kv[1][0] / max(kv[1][1], 1))
        worst_recall = worst[1][0] / max(worst[1][1], 1)
        lines.append(
            f"{set_name}: "
            f"recall {split['recall']} {_met(split['recall'] >= TARGETS['recall'])} (>= 0.90); "
            f"lowest kind {worst[0]} {worst_recall:.2f} {_met(worst_recall >= TARGETS['kind_recall'])} "
            f"(>= 0.80 each); "
            f"precision {split['precision']} {_met(split['precision'] >= TARGETS['precision'])} (>= 0.85)"
        )
    real = results["sets"].get("real posts, random stratum", {}).get("combined (shipped)")
    if real:
        rate = real["false_alarm_rate"]
        lines.append(
            f"false alarms on ordinary real posts {rate} {_met(rate <= TARGETS['false_alarms'])} (<= 0.05)"
        )
    return lines


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="author-split sets only, no timing")
    parser.add_argument("--runs", type=int, default=20, help="texts timed for the cost figure")
    parser.add_argument("--vectors", type=Path, default=None, help="keep evaluation sentence vectors here")
    parser.add_argument("--embed-only", action="store_true", help="only fill the --vectors file")
    parser.add_argument(
        "--alternative", action="append", default=[], help="NAME=PATH of another classifier file to compare"
    )
    args = parser.parse_args(argv)
    embedder = default_embedder()
    shared = SharedCache(embedder, args.vectors) if embedder is not None else None
    if args.embed_only and shared is not None:
        rules = Detector(use_classifier=False)
        for rows in eval_sets().values():
            shared.embed([s for r in rows for s in rules.analyse(r["text"]).embedded_texts()])
        return 0
    variants = approaches(shared, args.alternative)
    shipped = variants.get("combined (shipped)", variants["rules only"])
    results: dict[str, Any] = {
        "when": datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC"),
        "version": shipped.version,
        "sets": {},
    }
    decided: dict[
        str, dict[str, list[bool]]
    ] = {}  # set -> approach -> decisions (the pooled set reuses them)
    sets = eval_sets()
    for set_name, rows in sets.items():
        if args.quick and not set_name.startswith("author-split"):
            continue
        if set_name == POOLED:
            parts = [n for n in sets if n.startswith("author-split (writer-")]
            decided[set_name] = {name: [d for n in parts for d in decided[n][name]] for name in variants}
        else:
            texts = [r["text"] for r in rows]
            decided[set_name] = {
                name: [r.signpost for r in detector.check_many(texts)] for name, detector in variants.items()
            }
        results["sets"][set_name] = {name: measure(rows, d) for name, d in decided[set_name].items()}
        print(f"measured {set_name} ({len(rows)} texts)", file=sys.stderr)
    if not args.quick and embedder is not None:
        results["cost"] = cost_per_text(Detector(embedder=embedder), args.runs)
    results["targets"] = check_targets(results)
    lines = report(results)
    print("\n".join(lines))
    if not args.quick:
        RESULTS.mkdir(exist_ok=True)
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
        (RESULTS / f"care-quality-{stamp}.txt").write_text("\n".join(lines) + "\n", encoding="utf-8")
        (RESULTS / f"care-quality-{stamp}.json").write_text(
            json.dumps(results, indent=1) + "\n", encoding="utf-8"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
