"""Speed of "you're not alone": story-page query, draft query (embedding included), time added to posting,
the CPU time of embedding one 280-word story (one thread) and worker memory, at 10k and 100k stories, for
each sentence model.  Usage:

    .venv/bin/python bench/similar_speed.py [--model minilm|mpnet|all] [10000 100000]

The index part uses synthetic unit vectors (the index cannot tell them from real ones); the draft query and
posting embed real text with the real model. Each size runs in a fresh process so RSS is that of one worker;
"model RSS" is that process right after loading the model, before the index is built.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DRAFT = (
    "He screamed DON'T LEAVE ME when I handed him over at nursery this morning and I cried in the car. "
    "Everyone says it gets better but three weeks in it is still awful."
)


def rss_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(pct / 100 * (len(ordered) - 1))))]


def one_size(size: int, model: str) -> dict[str, float]:
    import numpy as np

    from forum.similar.engine import get_embedder, story_text
    from forum.similar.index import BruteForceIndex

    embedder = get_embedder(model)
    embedder.embed(["warm up"])
    model_rss = rss_mb()
    rng = np.random.default_rng(42)
    index = BruteForceIndex(dimensions=embedder.dimensions)
    for start in range(0, size, 10_000):
        block = rng.standard_normal((min(10_000, size - start), embedder.dimensions)).astype(np.float32)
        index.add(range(start, start + len(block)), block / np.linalg.norm(block, axis=1, keepdims=True))
    from forum.similar.engine import release_free_memory

    release_free_memory()  # as the app's worker does after loading its index
    story_ms, draft_ms, post_ms = [], [], []
    for i in range(200):
        query = index.vectors([i % size])[0]
        t = time.perf_counter()
        nearest = index.search(query, 2, frozenset({i}))  # query expansion, as forum/similar/store.py does
        expanded = query + index.vectors([n for n, _ in nearest]).mean(0)
        index.search(expanded / np.linalg.norm(expanded), 5 * 4 + 1, frozenset({i}))
        story_ms.append((time.perf_counter() - t) * 1000)
    for i in range(40):
        t = time.perf_counter()
        vector = embedder.embed([f"{DRAFT} ({i})"])[0]
        nearest = index.search(vector, 2)
        expanded = vector + index.vectors([n for n, _ in nearest]).mean(0)
        index.search(expanded / np.linalg.norm(expanded), 3 * 4)
        draft_ms.append((time.perf_counter() - t) * 1000)
    long_story = " ".join([DRAFT] * 8)  # ~280 words, a long story
    cpu_ms = []
    for i in range(10):
        t, cpu = time.perf_counter(), time.process_time()
        embedder.embed(
            [story_text("A hard morning", f"{long_story} ({i})", ["nurseryguilt", "dropoffguilt"])]
        )
        post_ms.append((time.perf_counter() - t) * 1000)
        cpu_ms.append((time.process_time() - cpu) * 1000)
    return {
        "model": model,
        "stories": size,
        "story_p50_ms": statistics.median(story_ms),
        "story_p95_ms": percentile(story_ms, 95),
        "draft_p50_ms": statistics.median(draft_ms),
        "draft_p95_ms": percentile(draft_ms, 95),
        "posting_adds_ms": statistics.median(post_ms),
        "story_cpu_ms": statistics.median(cpu_ms),
        "model_rss_mb": model_rss,
        "worker_rss_mb": rss_mb(),
    }


def main() -> None:
    if len(sys.argv) > 3 and sys.argv[1] == "--one":
        print(json.dumps(one_size(int(sys.argv[2]), sys.argv[3])))
        return
    from forum.similar.engine import MODELS

    parser = argparse.ArgumentParser(description="Speed and memory of similar stories")
    parser.add_argument("--model", default="all", choices=[*MODELS, "all"])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    args = parser.parse_args()
    print(
        f"{'model':>7} {'stories':>8} {'story p50':>10} {'story p95':>10} {'draft p50':>10} "
        f"{'draft p95':>10} {'posting +':>10} {'CPU/story':>10} {'model RSS':>10} {'RSS MB':>8}"
    )
    for model in MODELS if args.model == "all" else [args.model]:
        for size in args.sizes:
            out = subprocess.run(
                [sys.executable, __file__, "--one", str(size), model],
                capture_output=True,
                text=True,
                check=True,
            )
            r = json.loads(out.stdout.strip().splitlines()[-1])
            print(
                f"{r['model']:>7} {r['stories']:>8} {r['story_p50_ms']:>10.2f} {r['story_p95_ms']:>10.2f} "
                f"{r['draft_p50_ms']:>10.1f} {r['draft_p95_ms']:>10.1f} {r['posting_adds_ms']:>10.1f} "
                f"{r['story_cpu_ms']:>10.1f} {r['model_rss_mb']:>10.0f} {r['worker_rss_mb']:>8.0f}"
            )
    print("(milliseconds; CPU/story: CPU time to embed one 280-word story on one thread; RSS in MB)")


if __name__ == "__main__":
    main()
