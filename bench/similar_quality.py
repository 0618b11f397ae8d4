"""Quality of "you're not alone" on a labelled set: precision@5 and MRR, beside a TF-IDF baseline.

Imports the stories into an empty temporary site through the real import command, then asks the real
`GET /api/stories/<id>/similar?k=5` for each one, once per sentence model.  Usage (from the repo root):

    .venv/bin/python bench/similar_quality.py [--data PATH ...] [--model minilm|mpnet|all]

`--data` may be given more than once (default: the dev set, ../shared/data/stories-dev.jsonl); each set is
reported on its own, with P@5 per theme. bench/data/similar_eval/writer-s.jsonl is the independent set: run
it to report a method, never to choose between candidates (see bench/data/similar_eval/README.md).
"""

from __future__ import annotations

import argparse
import json
import math
import re
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "stories-dev.jsonl"
K = 5


def evaluate(ranked: dict[str, list[str]], theme: dict[str, str]) -> tuple[float, float]:
    """Mean precision@5 (same theme) and mean reciprocal rank of the first same-theme story."""
    precisions, reciprocal = [], []
    for sid, results in ranked.items():
        same = [theme[r] == theme[sid] for r in results[:K]]
        precisions.append(sum(same) / K)
        reciprocal.append(next((1 / (i + 1) for i, hit in enumerate(same) if hit), 0.0))
    return sum(precisions) / len(precisions), sum(reciprocal) / len(reciprocal)


def per_theme(ranked: dict[str, list[str]], theme: dict[str, str]) -> dict[str, float]:
    """Precision@5 of each theme's stories."""
    by_theme: dict[str, list[float]] = {}
    for sid, results in ranked.items():
        hits = sum(theme[r] == theme[sid] for r in results[:K])
        by_theme.setdefault(theme[sid], []).append(hits / K)
    return {name: sum(v) / len(v) for name, v in sorted(by_theme.items())}


def tfidf_rankings(stories: list[dict]) -> dict[str, list[str]]:
    """A TF-IDF cosine baseline on title + body (no stop-word tricks)."""
    docs = [Counter(re.findall(r"[a-z']+", f"{s.get('title') or ''} {s['body']}".lower())) for s in stories]
    df = Counter(word for doc in docs for word in doc)
    idf = {w: math.log(len(docs) / (1 + n)) + 1 for w, n in df.items()}
    vectors = []
    for doc in docs:
        v = {w: (1 + math.log(c)) * idf[w] for w, c in doc.items()}
        norm = math.sqrt(sum(x * x for x in v.values())) or 1.0
        vectors.append({w: x / norm for w, x in v.items()})
    ranked = {}
    for i, v in enumerate(vectors):
        scores = [
            (sum(x * vectors[j].get(w, 0.0) for w, x in v.items()), stories[j]["id"])
            for j in range(len(vectors))
            if j != i
        ]
        ranked[stories[i]["id"]] = [sid for _, sid in sorted(scores, reverse=True)[:K]]
    return ranked


def seed_story_text() -> str:
    """The demo's first story (forum/demo.py): the drop-off Village exists for, as its writer posts it."""
    from forum.demo import STORIES
    from forum.similar.engine import story_text

    _author, title, body, tags, *_rest = STORIES[0]
    return story_text(title, body, tags.replace("#", "").split())


def village_rankings(data: Path, model: str) -> tuple[dict[str, list[str]], float, list[str]]:
    """Import into a temporary site using `model` and ask the real API for each story's 5 closest; also the
    5 closest to the seed's drop-off story, asked as the compose page asks while she writes."""
    from forum import create_app
    from forum.config import Config
    from forum.extensions import db
    from forum.similar import store

    tmp = Path(tempfile.mkdtemp())
    app = create_app(
        Config(
            instance_path=tmp,
            SECRET_KEY="bench",
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'q.db'}",
            SIMILAR_MODEL=model,
            CARE_CHECK_ON_WRITE=False,  # the crisis check is benched by bench/care_quality.py
        )
    )
    with app.app_context():
        db.create_all()
    started = time.perf_counter()
    result = app.test_cli_runner().invoke(args=["stories", "import", str(data), "--author", "Bench"])
    imported = time.perf_counter() - started
    source_of = {}
    for line in result.stdout.splitlines():
        row = json.loads(line)
        source_of[row["id"]] = row["source_id"]
    client = app.test_client()
    ranked = {}
    for story_id, source in source_of.items():
        similar = client.get(f"/api/stories/{story_id}/similar?k={K}").get_json()["similar"]
        ranked[source] = [source_of[s["id"]] for s in similar]
    with app.test_request_context():
        seed = [source_of[m.story.id] for m in store.similar_to_text(seed_story_text(), None, K)]
    return ranked, imported, seed


def report(data: Path, models: list[str]) -> None:
    """Print P@5 and MRR of the TF-IDF baseline and of Village with each model on one labelled set."""
    from forum.similar.engine import MODELS

    stories = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    theme = {s["id"]: s["theme"] for s in stories}
    baseline = tfidf_rankings(stories)
    rows = [("TF-IDF baseline (title + body)", *evaluate(baseline, theme), per_theme(baseline, theme), 0.0)]
    seeds = []
    for model in models:
        ranked, seconds, seed = village_rankings(data, model)
        name = f"Village: {MODELS[model].title} ({MODELS[model].precision}), centred, expanded"
        rows.append((name, *evaluate(ranked, theme), per_theme(ranked, theme), seconds))
        seeds.append((MODELS[model].title, seed))
    print(f"{len(stories)} stories from {data.name}")
    print(f"{'method':<62} {'P@5':>6} {'MRR':>6} {'import s':>9}")
    for name, p5, mrr, _, seconds in rows:
        print(f"{name:<62} {p5:>6.3f} {mrr:>6.3f} {seconds:>9.1f}")
    print(f"\nP@5 per theme ({data.name}):")
    themes = list(rows[0][3])
    labels = ["TF-IDF"] + [r[0].split(": ")[1].split(" (")[0] for r in rows[1:]]
    print(f"{'theme':<28}" + "".join(f"{label[:15]:>16}" for label in labels))
    for t in themes:
        print(f"{t:<28}" + "".join(f"{r[3][t]:>16.2f}" for r in rows))
    print("\nThe seed's drop-off story (forum/demo.py) while she writes: themes of its 5 closest, in order")
    for title, seed in seeds:
        print(f"{title:<28}" + ", ".join(theme[s] for s in seed))
    print(flush=True)


def main() -> None:
    from forum.similar.engine import MODELS

    parser = argparse.ArgumentParser(description="Quality of you're-not-alone on labelled sets")
    parser.add_argument(
        "legacy_data", nargs="?", type=Path, help=argparse.SUPPRESS
    )  # the old positional form
    parser.add_argument("--data", type=Path, action="append", help="a labelled JSONL set (repeatable)")
    parser.add_argument("--model", default="all", choices=[*MODELS, "all"])
    args = parser.parse_args()
    sets = [*([args.legacy_data] if args.legacy_data else []), *(args.data or [])] or [DEFAULT_DATA]
    for data in sets:
        report(data, list(MODELS) if args.model == "all" else [args.model])


if __name__ == "__main__":
    main()
