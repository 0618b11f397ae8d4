"""Ranking ideas for "you're not alone", measured on the dev set only, each half checked separately.

Embeds every dev story (whole text, as the site does, and each sentence on its own) with one model, then
scores rankings computed in memory: the site's method (centred cosine, query expanded with the two nearest
stories) against hybrid BM25 fusion, hubness correction (CSLS), sentence best-match re-ranking and
corpus-density sentence weights. No variant reads a theme label except to measure it. Usage:

    nice .venv/bin/python bench/similar_ranking_lab.py [--model minilm|mpnet] [--data PATH]

Choose on the dev set; the independent set is for bench/similar_quality.py, once, at the end.
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
from collections import Counter
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "stories-dev.jsonl"
SPLIT = re.compile(r"(?<=[.!?])[\"')\]]*\s+|\n+")


def unit(x: np.ndarray) -> np.ndarray:
    return x / np.maximum(np.linalg.norm(x, axis=-1, keepdims=True), 1e-12)


def zrows(s: np.ndarray) -> np.ndarray:
    s = s.copy()
    np.fill_diagonal(s, np.nan)
    out = (s - np.nanmean(s, 1, keepdims=True)) / np.nanstd(s, 1, keepdims=True)
    return np.nan_to_num(out, nan=-9.0)


def expand(scores: np.ndarray, vectors: np.ndarray, k: int = 2) -> np.ndarray:
    """The site's query expansion: add the k nearest stories' vectors to the query."""
    s = scores.copy()
    np.fill_diagonal(s, -np.inf)
    nearest = np.argsort(-s, 1)[:, :k]
    return unit(vectors + vectors[nearest].mean(1)) @ vectors.T


def csls(scores: np.ndarray, k: int) -> np.ndarray:
    """Hubness correction: subtract each story's mean similarity to its k nearest."""
    s = scores.copy()
    np.fill_diagonal(s, -np.inf)
    r = np.sort(s, 1)[:, -k:].mean(1)
    return 2 * scores - r[:, None] - r[None, :]


def bm25(stories: list[dict], k1: float = 1.2, b: float = 0.75) -> np.ndarray:
    toks = [re.findall(r"[a-z']+", f"{s.get('title') or ''} {s['body']}".lower()) for s in stories]
    n, avg = len(toks), float(np.mean([len(t) for t in toks]))
    df = Counter(w for t in toks for w in set(t))
    idf = {w: math.log(1 + (n - c + 0.5) / (c + 0.5)) for w, c in df.items()}
    tfs = [Counter(t) for t in toks]
    out = np.zeros((n, n))
    for i, t in enumerate(toks):
        for j, tf in enumerate(tfs):
            norm = k1 * (1 - b + b * len(toks[j]) / avg)
            out[i, j] = sum(idf[w] * tf[w] * (k1 + 1) / (tf[w] + norm) for w in set(t) if w in tf)
    return out


def rrf(parts: list[tuple[np.ndarray, float]], k: int) -> np.ndarray:
    out = 0.0
    for s, weight in parts:
        s = s.copy()
        np.fill_diagonal(s, -np.inf)
        out = out + weight / (k + np.argsort(np.argsort(-s, 1), 1) + 1)
    return out


def main() -> None:
    from forum.similar import engine

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default=engine.DEFAULT_MODEL, choices=list(engine.MODELS))
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    stories = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    theme = np.array([s["theme"] for s in stories])
    half = np.array([int(re.sub(r"\D", "", s["id"]) or 0) % 2 for s in stories])
    n = len(stories)

    model = engine.Embedder(args.model)
    whole = model.embed([engine.story_text(s["title"], s["body"], s.get("tags") or []) for s in stories])
    sentences, owner = [], []
    for i, s in enumerate(stories):
        text = f"{(s.get('title') or '').strip()}. {s['body']}"
        for part in SPLIT.split(text):
            if len(part.strip()) > 2:
                sentences.append(part.strip())
                owner.append(i)
    owner_arr = np.array(owner)
    sent = unit(model.embed(sentences))
    sent = unit(sent - sent.mean(0))
    centred = unit(whole - whole.mean(0))
    base = centred @ centred.T

    def show(name: str, scores: np.ndarray) -> None:
        s = scores.copy()
        np.fill_diagonal(s, -np.inf)
        hits = theme[np.argsort(-s, 1)[:, :5]] == theme[:, None]
        p5 = hits.mean(1)
        rr = np.where(hits.any(1), 1 / (hits.argmax(1) + 1), 0.0)
        even, odd = p5[half == 0].mean(), p5[half == 1].mean()
        print(
            f"{name:<46} {p5.mean():.3f} {rr.mean():.3f} {even:.3f} {odd:.3f}"
            f" {p5[theme == 'dropoff-crying'].mean():.2f}"
        )

    print(f"{n} stories from {args.data.name}, {model.spec.title} ({model.spec.precision})")
    print(f"{'ranking':<46} {'P@5':>5} {'MRR':>5} {'even':>5} {'odd':>5} drop-off")
    expanded = expand(base, centred)
    show("centred cosine", base)
    show("centred + expansion (the site's method)", expanded)
    lexical = bm25(stories)
    show("BM25 alone", lexical)
    for k in (10, 60):
        for weight in (0.3, 1.0):
            show(f"RRF k={k}: expansion + {weight} x BM25", rrf([(expanded, 1.0), (lexical, weight)], k))
    for k in (5, 10, 20):
        show(f"CSLS k={k}, then expansion", expand(csls(base, k), centred))
    # Sentence best match: for each sentence its closest sentence in the other story, averaged both ways.
    sims = sent @ sent.T
    by_story = [np.where(owner_arr == j)[0] for j in range(n)]
    best = np.stack([sims[:, rows].max(1) for rows in by_story], 1)  # sentence x story
    one_way = np.stack([best[rows].mean(0) for rows in by_story])
    chamfer = (one_way + one_way.T) / 2
    show("sentence best match alone", chamfer)
    for weight in (0.3, 0.5, 1.0):
        show(f"z(expansion) + {weight} z(sentence best match)", zrows(expanded) + weight * zrows(chamfer))
    for k in (5, 20):
        show(
            f"z(CSLS k={k}, expansion) + 0.5 z(sentence)",
            zrows(expand(csls(base, k), centred)) + 0.5 * zrows(chamfer),
        )
    pooled = np.zeros_like(whole)
    np.add.at(pooled, owner_arr, sent)
    show("mean of centred sentence vectors", unit(pooled) @ unit(pooled).T)
    # Corpus-density weights: a sentence close to many other stories' sentences is "setting", weigh it down.
    other = owner_arr[:, None] != owner_arr[None, :]
    density = np.sort(np.where(other, sims, -1), 1)[:, -10:].mean(1)
    weights = np.exp(-(density - density.mean()) / density.std())
    weighted = np.zeros_like(whole)
    np.add.at(weighted, owner_arr, sent * weights[:, None])
    mixed = unit(unit(weighted) + centred)
    show("density-weighted sentences + whole, expanded", expand(mixed @ mixed.T, mixed))


if __name__ == "__main__":
    main()
