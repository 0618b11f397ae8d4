"""Speed of "you're not alone": story-page query, draft query (embedding included), time added to posting,
the CPU time of embedding one 280-word story (one thread) and worker memory, at 10k and 100k stories, for
each sentence model.  Usage:

    .venv/bin/python bench/similar_speed.py [--model minilm|mpnet|all] [--embedding-only] [10000 100000 1000000]
    .venv/bin/python bench/similar_speed.py --breakdown 100000 minilm [--single-file]   # memory, step by step
    .venv/bin/python bench/similar_speed.py --shared minilm   # two workers: what the mapped weights share

The index part uses synthetic unit vectors (the index cannot tell them from real ones); the draft query and
posting embed real text with the real model. Each size runs in a fresh process so RSS is that of one worker;
"model RSS" is that process right after loading the model, before the index is built.

From SIMILAR_ANN_THRESHOLD stories on (as the app does) the index is the approximate one (forum/similar/ann.py):
a separate builder process writes the host's files (as one worker per host does) and measures recall@10
against an exact scan, then the measured worker maps them read-only. The synthetic vectors there are
clustered (topics and sub-topics, as stories are): on uniformly random vectors "the 10 nearest" is noise.
RSS is split into private memory (anon) and mapped file pages (file): the index file's pages and the model's
mapped weights (forum/similar/convert.py, write_mapped) are shared by every worker on the host, counted once in
the page cache. Pss (shared pages divided among the processes mapping them) and USS (pages of this process
alone) say what a worker adds to a host. "steady" columns: the same process after it has also embedded the
150 dev stories (../shared/data/stories-dev.jsonl, when present), which touch most of the model's word table
as a long-running worker's texts do; the columns before them are right after the timed queries.
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
from typing import Any

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DRAFT = (
    "He screamed DON'T LEAVE ME when I handed him over at nursery this morning and I cried in the car. "
    "Everyone says it gets better but three weeks in it is still awful."
)


DEV_STORIES = ROOT.parent / "shared" / "data" / "stories-dev.jsonl"


def rss_mb(field: str = "VmRSS") -> float:
    """A field of /proc/self/status (VmRSS, RssAnon, RssFile), or of smaps_rollup (Pss), in MB; "USS" is
    Private_Clean + Private_Dirty."""
    if field in ("Pss", "USS"):
        rollup = {
            line.split(":")[0]: int(line.split()[1]) / 1024
            for line in Path("/proc/self/smaps_rollup").read_text().splitlines()[1:]
        }
        return rollup["Pss"] if field == "Pss" else rollup["Private_Clean"] + rollup["Private_Dirty"]
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


def dev_texts() -> list[str]:
    if not DEV_STORIES.exists():
        return []
    rows = [json.loads(line) for line in DEV_STORIES.open(encoding="utf-8") if line.strip()]
    return [f"{row.get('title', '')}. {row.get('body', '')}" for row in rows]


ANN_THRESHOLD = 250_000  # forum.config.Config.SIMILAR_ANN_THRESHOLD
BLOCK = 50_000


def clustered(size: int, dimensions: int):
    """Synthetic story vectors in blocks (the same every time): ~500 stories a topic, ~20 a sub-topic."""
    import numpy as np

    rng = np.random.default_rng(18)
    topics = rng.standard_normal((max(size // 500, 4), dimensions)).astype(np.float32)
    subs = rng.standard_normal((max(size // 20, 4), dimensions)).astype(np.float32) * 0.7
    topic_of = rng.integers(0, len(topics), len(subs))
    for start in range(0, size, BLOCK):
        block = np.random.default_rng(1000 + start // BLOCK)
        n = min(BLOCK, size - start)
        sub = block.integers(0, len(subs), n)
        rows = (
            topics[topic_of[sub]]
            + subs[sub]
            + 0.6 * block.standard_normal((n, dimensions)).astype(np.float32)
        )
        yield np.arange(start, start + n), rows / np.linalg.norm(rows, axis=1, keepdims=True)


def build_ann(size: int, dimensions: int, directory: str) -> dict[str, float]:
    """The host's builder: write the files, then recall@10 of the mapped index against an exact scan."""
    import datetime

    from forum.similar import ann

    t, cpu = time.perf_counter(), time.process_time()
    ann.build(
        Path(directory), lambda: clustered(size, dimensions), dimensions, "bench", datetime.datetime.now()
    )
    built_s, built_cpu = time.perf_counter() - t, time.process_time() - cpu
    return {**recall_ann(size, dimensions, directory), "build_s": built_s, "build_cpu_s": built_cpu}


def recall_ann(size: int, dimensions: int, directory: str) -> dict[str, float]:
    """recall@10 of the host's files (as a worker maps them) against exact scans, for 100 stories."""
    import numpy as np

    from forum.similar import ann

    index = ann.MappedIndex(Path(directory), ann.read_meta(Path(directory)) or {})
    queries = np.stack([index.vectors([int(i)])[0] for i in range(0, size, size // 100)][:100])
    centred = queries - index.mean
    centred /= np.linalg.norm(centred, axis=1, keepdims=True)
    # Two references: an exact scan of the float vectors, and one of the same int8 codes the files hold (the
    # codes an exact index keeps too): among ~20 stories of one sub-topic at almost equal distance, which ten
    # come first is decided by differences smaller than int8 rounding.
    best = {name: np.full((len(queries), 10), -np.inf, dtype=np.float32) for name in ("float", "int8")}
    best_ids = {name: np.zeros((len(queries), 10), dtype=np.int64) for name in ("float", "int8")}
    for ids, rows in clustered(size, dimensions):
        rows = rows - index.mean
        codes = ann.quantize(rows).astype(np.float32)
        for name, matrix in (("float", rows), ("int8", codes)):
            scores = (matrix / np.linalg.norm(matrix, axis=1, keepdims=True)) @ centred.T
            both = np.concatenate([best[name], scores.T], axis=1)
            both_ids = np.concatenate(
                [best_ids[name], np.broadcast_to(ids, (len(queries), len(ids)))], axis=1
            )
            top = np.argsort(-both, axis=1)[:, :10]
            best[name] = np.take_along_axis(both, top, 1)
            best_ids[name] = np.take_along_axis(both_ids, top, 1)
    found = [{i for i, _ in index.search(q, 10)} for q in queries]
    recall = {
        name: float(
            np.mean([len(f & set(e.tolist())) / 10 for f, e in zip(found, best_ids[name], strict=True)])
        )
        for name in best_ids
    }
    return {"recall_at_10": recall["int8"], "recall_at_10_float": recall["float"]}


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
    extra: dict[str, float] = {}
    index: Any
    if size >= ANN_THRESHOLD:
        import tempfile

        from forum.similar import ann

        # SIMILAR_BENCH_ANN_DIR: files (and their recall) kept from an earlier run of the same size, as a
        # restarted worker finds its host's files; otherwise built afresh in a temporary folder.
        directory = os.environ.get("SIMILAR_BENCH_ANN_DIR") or tempfile.mkdtemp(prefix="similar-ann-")
        kept = Path(directory) / "bench.json"
        if kept.exists() and (ann.read_meta(Path(directory)) or {}).get("count") == size:
            extra = json.loads(kept.read_text())
        else:
            out = subprocess.run(
                [sys.executable, __file__, "--build", str(size), str(embedder.dimensions), directory],
                capture_output=True,
                text=True,
                check=True,
            )
            extra = json.loads(out.stdout.strip().splitlines()[-1])
            kept.write_text(json.dumps(extra))
        index = ann.MappedIndex(Path(directory), ann.read_meta(Path(directory)) or {})
    else:
        rng = np.random.default_rng(42)
        index = BruteForceIndex(
            capacity=size + size // 16 + 1024, dimensions=embedder.dimensions
        )  # as the app
        for start in range(0, size, 10_000):
            block = rng.standard_normal((min(10_000, size - start), embedder.dimensions)).astype(np.float32)
            index.add(range(start, start + len(block)), block / np.linalg.norm(block, axis=1, keepdims=True))
    from forum.similar.engine import release_free_memory

    release_free_memory()  # as the app's worker does after loading its index
    story_ms, draft_ms, post_ms, story_cpu, draft_cpu = [], [], [], [], []
    for i in range(200):
        query = index.vectors([i % size])[0]
        t, cpu = time.perf_counter(), time.process_time()
        nearest = index.search(query, 2, frozenset({i}))  # query expansion, as forum/similar/store.py does
        expanded = query + index.vectors([n for n, _ in nearest]).mean(0)
        index.search(expanded / np.linalg.norm(expanded), 5 * 4 + 1, frozenset({i}))
        story_ms.append((time.perf_counter() - t) * 1000)
        story_cpu.append((time.process_time() - cpu) * 1000)
    for i in range(40):
        t, cpu = time.perf_counter(), time.process_time()
        vector = embedder.embed([f"{DRAFT} ({i})"])[0]
        nearest = index.search(vector, 2)
        expanded = vector + index.vectors([n for n, _ in nearest]).mean(0)
        index.search(expanded / np.linalg.norm(expanded), 3 * 4)
        draft_ms.append((time.perf_counter() - t) * 1000)
        draft_cpu.append((time.process_time() - cpu) * 1000)
    long_story = " ".join([DRAFT] * 8)  # ~280 words, a long story
    cpu_ms = []
    for i in range(10):
        t, cpu = time.perf_counter(), time.process_time()
        embedder.embed(
            [story_text("A hard morning", f"{long_story} ({i})", ["nurseryguilt", "dropoffguilt"])]
        )
        post_ms.append((time.perf_counter() - t) * 1000)
        cpu_ms.append((time.process_time() - cpu) * 1000)
    measured = {
        "worker_rss_mb": rss_mb(),
        "anon_mb": rss_mb("RssAnon"),
        "file_mb": rss_mb("RssFile"),
        "pss_mb": rss_mb("Pss"),
        "uss_mb": rss_mb("USS"),
    }
    texts = dev_texts()
    for start in range(0, len(texts), 16):
        embedder.embed(texts[start : start + 16])
    release_free_memory()  # as the app does after a full load (the scratch heap kept up to 64 MB otherwise)
    return {
        **measured,
        "steady_rss_mb": rss_mb() if texts else float("nan"),
        "steady_pss_mb": rss_mb("Pss") if texts else float("nan"),
        "steady_uss_mb": rss_mb("USS") if texts else float("nan"),
        "model": model,
        "stories": size,
        "story_p50_ms": statistics.median(story_ms),
        "story_p95_ms": percentile(story_ms, 95),
        "draft_p50_ms": statistics.median(draft_ms),
        "draft_p95_ms": percentile(draft_ms, 95),
        "posting_adds_ms": statistics.median(post_ms),
        "story_cpu_ms": statistics.median(cpu_ms),
        # CPU time per query (the wall-clock columns include waiting for a core on a busy machine)
        "story_query_cpu_p95_ms": percentile(story_cpu, 95),
        "draft_query_cpu_p95_ms": percentile(draft_cpu, 95),
        "model_rss_mb": model_rss,
        "index": "usearch" if size >= ANN_THRESHOLD else "exact",
        **extra,
    }


def breakdown(size: int, model: str, single_file: bool = False) -> None:
    """What a worker's memory is made of, step by step (RSS, private anon, mapped files, Pss, USS in MB):
    the imports (the app's packages, onnxruntime, numpy), the model's session, the exact index, the scratch
    of queries and embeddings, and the steady state after the dev stories. `single_file`: the session loads
    model.onnx itself (weights copied into the process), as before the mapped form."""
    import numpy as np

    from forum.similar import engine
    from forum.similar.index import BruteForceIndex

    def show(step: str) -> None:
        values = [rss_mb(), rss_mb("RssAnon"), rss_mb("RssFile"), rss_mb("Pss"), rss_mb("USS")]
        print(f"{step:<44}" + "".join(f"{v:>8.1f}" for v in values), flush=True)

    print(f"{model} {size} stories, {'model.onnx' if single_file else 'mapped form'}")
    print(f"{'':<44}{'RSS':>8}{'anon':>8}{'file':>8}{'Pss':>8}{'USS':>8}")
    show("python, the app's packages, onnxruntime")
    if single_file:
        engine.model_file = lambda spec: spec.directory / "model.onnx"  # type: ignore[assignment]
    embedder = engine.get_embedder(model)
    show("+ the model's session and tokenizer")
    embedder.embed(["warm up"])
    show("+ a first short text")
    rng = np.random.default_rng(42)
    index = BruteForceIndex(capacity=size + size // 16 + 1024, dimensions=embedder.dimensions)
    for start in range(0, size, 10_000):
        block = rng.standard_normal((min(10_000, size - start), embedder.dimensions)).astype(np.float32)
        index.add(range(start, start + len(block)), block / np.linalg.norm(block, axis=1, keepdims=True))
    del block
    engine.release_free_memory()
    show(f"+ the exact index of {size} stories")
    for i in range(200):
        query = index.vectors([i])[0]
        nearest = index.search(query, 2, frozenset({i}))
        expanded = query + index.vectors([n for n, _ in nearest]).mean(0)
        index.search(expanded / np.linalg.norm(expanded), 21, frozenset({i}))
    show("+ 200 story queries")
    long_story = " ".join([DRAFT] * 8)
    for i in range(10):
        embedder.embed([f"{long_story} ({i})"])
    show("+ 10 long stories (scratch heap kept)")
    texts = dev_texts()
    for start in range(0, len(texts), 16):
        embedder.embed(texts[start : start + 16])
    show(f"+ {len(texts)} dev stories (word table touched)")
    engine.release_free_memory()
    show("after malloc_trim")


def _shared_worker(model: str, single_file: bool, barrier: Any, out: Any) -> None:
    from forum.similar import engine

    if single_file:
        engine.model_file = lambda spec: spec.directory / "model.onnx"  # type: ignore[assignment]
    embedder = engine.get_embedder(model)
    texts = dev_texts()
    for start in range(0, len(texts), 16):
        embedder.embed(texts[start : start + 16])
    engine.release_free_memory()
    barrier.wait()  # both loaded and warm: measure while both map the files
    out.put((round(rss_mb()), round(rss_mb("Pss")), round(rss_mb("USS"))))
    barrier.wait()


def shared(model: str) -> None:
    """Two worker-like processes with the same model (no index), after embedding the dev stories: RSS, Pss
    and USS of each, loading model.onnx (weights copied into each) and the mapped form (weights shared)."""
    import multiprocessing

    context = multiprocessing.get_context("spawn")
    for single_file in (True, False):
        barrier, out = context.Barrier(2), context.Queue()
        workers = [
            context.Process(target=_shared_worker, args=(model, single_file, barrier, out)) for _ in range(2)
        ]
        for process in workers:
            process.start()
        rows = [out.get() for _ in workers]
        for process in workers:
            process.join()
        form = "model.onnx " if single_file else "mapped form"
        print(f"{model} {form}: each of two workers (RSS, Pss, USS MB): {rows}", flush=True)


def embedding_cost(model: str) -> dict[str, float]:
    """Embedding cost alone (the "embedding cost" section): CPU per 280-word story and per draft on one
    thread, and the RSS of a process that has only loaded the model (and embedded with it)."""
    import onnxruntime  # noqa: F401 - before anything that may load usearch (see forum/similar/ann.py)

    from forum.similar.engine import get_embedder, story_text

    embedder = get_embedder(model)
    embedder.embed(["warm up"])
    long_story = " ".join([DRAFT] * 8)  # ~280 words
    story_cpu, draft_cpu = [], []
    for i in range(20):
        cpu = time.process_time()
        embedder.embed(
            [story_text("A hard morning", f"{long_story} ({i})", ["nurseryguilt", "dropoffguilt"])]
        )
        story_cpu.append((time.process_time() - cpu) * 1000)
        cpu = time.process_time()
        embedder.embed([f"{DRAFT} ({i})"])
        draft_cpu.append((time.process_time() - cpu) * 1000)
    return {
        "model": model,
        "version": embedder.spec.version,
        "story_cpu_ms": statistics.median(story_cpu),
        "story_cpu_min_ms": min(story_cpu),
        "draft_cpu_ms": statistics.median(draft_cpu),
        "model_rss_mb": rss_mb(),
    }


def main() -> None:
    if len(sys.argv) > 4 and sys.argv[1] == "--recall":  # files built before (SIMILAR_BENCH_ANN_DIR)
        print(json.dumps(recall_ann(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
        return
    if len(sys.argv) > 4 and sys.argv[1] == "--build":
        print(json.dumps(build_ann(int(sys.argv[2]), int(sys.argv[3]), sys.argv[4])))
        return
    if len(sys.argv) > 3 and sys.argv[1] == "--breakdown":  # --breakdown SIZE MODEL [--single-file]
        breakdown(int(sys.argv[2]), sys.argv[3], single_file="--single-file" in sys.argv)
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--shared":  # --shared MODEL
        shared(sys.argv[2])
        return
    if len(sys.argv) > 2 and sys.argv[1] == "--embed":
        print(json.dumps(embedding_cost(sys.argv[2])))
        return
    if len(sys.argv) > 3 and sys.argv[1] == "--one":
        print(json.dumps(one_size(int(sys.argv[2]), sys.argv[3])))
        return
    from forum.similar.engine import MODELS

    parser = argparse.ArgumentParser(description="Speed and memory of similar stories")
    parser.add_argument("--model", default="all", choices=[*MODELS, "all"])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000])
    parser.add_argument("--embedding-only", action="store_true", help="only the embedding cost section")
    args = parser.parse_args()
    models = list(MODELS) if args.model == "all" else [args.model]
    print("embedding cost (one thread; CPU ms per 280-word story and per 40-word draft, RSS MB):")
    print(f"{'model version':>36} {'CPU/story':>10} {'min':>7} {'CPU/draft':>10} {'model RSS':>10}")
    for model in models:  # each in a fresh process: its RSS is the model's alone
        out = subprocess.run(
            [sys.executable, __file__, "--embed", model], capture_output=True, text=True, check=True
        )
        r = json.loads(out.stdout.strip().splitlines()[-1])
        print(
            f"{r['version']:>36} {r['story_cpu_ms']:>10.1f} {r['story_cpu_min_ms']:>7.1f} "
            f"{r['draft_cpu_ms']:>10.1f} {r['model_rss_mb']:>10.0f}"
        )
    if args.embedding_only:
        return
    print(
        f"{'model':>7} {'stories':>8} {'story p50':>10} {'story p95':>10} {'draft p50':>10} "
        f"{'draft p95':>10} {'posting +':>10} {'CPU/story':>10} {'model RSS':>10} {'RSS MB':>8} {'anon':>6} "
        f"{'file':>6} {'Pss':>6} {'USS':>6} {'index':>8} {'recall@10':>9} {'story CPU95':>11} {'draft CPU95':>11} "
        f"{'steady RSS':>10} {'Pss':>6} {'USS':>6}"
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
                f"{r['story_cpu_ms']:>10.1f} {r['model_rss_mb']:>10.0f} {r['worker_rss_mb']:>8.0f} "
                f"{r['anon_mb']:>6.0f} {r['file_mb']:>6.0f} {r['pss_mb']:>6.0f} {r['uss_mb']:>6.0f} {r['index']:>8} "
                f"{r.get('recall_at_10', float('nan')):>9.3f} "
                f"{r['story_query_cpu_p95_ms']:>11.2f} {r['draft_query_cpu_p95_ms']:>11.1f} "
                f"{r['steady_rss_mb']:>10.0f} {r['steady_pss_mb']:>6.0f} {r['steady_uss_mb']:>6.0f}"
            )
    print(
        "(milliseconds; CPU/story: CPU time to embed one 280-word story on one thread; RSS in MB, anon: private, "
        "file: mapped files, shared with other processes; Pss: shared pages divided among their processes, USS: "
        "this process's alone; CPU95: p95 of each query's CPU time; steady: after also embedding the 150 dev "
        "stories)"
    )


if __name__ == "__main__":
    main()
