"""Quality of "you're not alone" on a labelled set: precision@5 and MRR, beside a TF-IDF baseline.

Imports the stories into an empty temporary site through the real import command, then asks the real
`GET /api/stories/<id>/similar?k=5` for each one.  Usage (from the repo root):

    .venv/bin/python bench/similar_quality.py [../shared/data/stories-dev.jsonl]
"""

from __future__ import annotations

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


def village_rankings(data: Path) -> tuple[dict[str, list[str]], float]:
    """Import into a temporary site and ask the real API for each story's 5 closest."""
    from forum import create_app
    from forum.config import Config
    from forum.extensions import db

    tmp = Path(tempfile.mkdtemp())
    app = create_app(
        Config(instance_path=tmp, SECRET_KEY="bench", SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'q.db'}")
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
    return ranked, imported


def main() -> None:
    data = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_DATA
    stories = [json.loads(line) for line in data.read_text().splitlines() if line.strip()]
    theme = {s["id"]: s["theme"] for s in stories}
    rows = [("TF-IDF baseline (title + body)", *evaluate(tfidf_rankings(stories), theme))]
    ranked, seconds = village_rankings(data)
    rows.append(("Village: MiniLM, whole story + tags, centred, expanded", *evaluate(ranked, theme)))
    print(f"{len(stories)} stories from {data.name}; import with embeddings took {seconds:.1f} s")
    print(f"{'method':<55} {'P@5':>6} {'MRR':>6}")
    for name, p5, mrr in rows:
        print(f"{name:<55} {p5:>6.3f} {mrr:>6.3f}")


if __name__ == "__main__":
    main()
