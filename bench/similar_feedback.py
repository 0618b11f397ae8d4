"""Learning from the community, simulated on a labelled set: does the re-ranking learn from panel signals?

A SIMULATION, not a quality claim for the site: there are no real members' signals yet, so simulated members
stand in for them. The stories are imported into an empty temporary site (real model, real import command);
then, story by story in a shuffled order (one simulated day each), a member looks at the plain panel (top 5)
and answers some of its matches: "this helped" when the match has the story's theme, "not like mine"
otherwise, with some answers flipped (noise). `flask similar learn`'s code then trains on the signals before
the cut and measures on the later ones; finally P@5 (same theme) of the held-back stories' panels is compared,
plain against learned. Theme labels only simulate what members would say; the site itself never reads them.

    nice .venv/bin/python bench/similar_feedback.py [--data PATH] [--answer 0.6] [--noise 0.1] [--cut 0.7]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DEFAULT_DATA = ROOT.parent / "shared" / "data" / "stories-dev.jsonl"
K = 5
MEMBERS = 20


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    parser.add_argument("--answer", type=float, default=0.6, help="chance a shown match gets an answer")
    parser.add_argument("--noise", type=float, default=0.1, help="chance an answer is flipped")
    parser.add_argument("--cut", type=float, default=0.7, help="share of the days before the cut")
    parser.add_argument("--seed", type=int, default=14)
    args = parser.parse_args()

    import sqlalchemy as sa

    from forum import create_app
    from forum.config import Config
    from forum.extensions import db
    from forum.models import SimilarSignal, Story
    from forum.similar import feedback, learning, store
    from tests.factories import make_user

    stories = [json.loads(line) for line in args.data.read_text().splitlines() if line.strip()]
    theme = {s["id"]: s["theme"] for s in stories}
    tmp = Path(tempfile.mkdtemp())
    app = create_app(
        Config(
            instance_path=tmp,
            SECRET_KEY="bench",
            SQLALCHEMY_DATABASE_URI=f"sqlite:///{tmp / 'f.db'}",
            CARE_CHECK_ON_WRITE=False,
            RATELIMIT_ENABLED=False,
        )
    )
    with app.app_context():
        db.create_all()
    cpu = time.process_time()
    result = app.test_cli_runner().invoke(args=["stories", "import", str(args.data), "--author", "Bench"])
    source_of = {row["id"]: row["source_id"] for row in map(json.loads, result.stdout.splitlines())}
    imported_cpu = time.process_time() - cpu
    rng = np.random.default_rng(args.seed)
    order = list(source_of)
    rng.shuffle(order)
    start = datetime(2026, 1, 1, tzinfo=UTC)
    cut = start + timedelta(days=int(len(order) * args.cut))

    with app.test_request_context():
        members = [make_user(pseudonym=f"Sim{n}") for n in range(MEMBERS)]
        answers = 0
        for day, story_id in enumerate(order):
            source = db.session.get(Story, story_id)
            member = members[day % MEMBERS]
            with learning.plain_only():
                shown = store.similar_to_story(source, member, K)
            for match in shown:
                if rng.random() >= args.answer:
                    continue
                alike = theme[source_of[match.story.id]] == theme[source_of[story_id]]
                if rng.random() < args.noise:
                    alike = not alike
                feedback.record_signal(member, source, match.story, "helped" if alike else "not-like-mine")
                answers += 1
            db.session.execute(
                sa.update(SimilarSignal)
                .where(SimilarSignal.source_id == story_id)
                .values(updated_at=start + timedelta(days=day))
            )
            db.session.commit()
        cpu = time.process_time()
        ranker = feedback.retrain(cut=cut)
        train_cpu = time.process_time() - cpu
        print(
            f"{len(stories)} stories from {args.data.name}; import with embeddings {imported_cpu:.0f} s CPU"
        )
        print(
            f"{answers} simulated answers (answer rate {args.answer}, noise {args.noise}), cut at day "
            f"{(cut - start).days} of {len(order)}; training {train_cpu:.1f} s CPU"
        )
        if ranker is None:
            print("Too little evidence to train.")
            return
        f = ranker.figures
        print(
            f"Held-back pairwise accuracy within a story ({f['held_pairs']} pairs): plain "
            f"{f['plain_pairwise']}, learned {f['learned_pairwise']}; AUC plain {f['plain_auc']}, "
            f"learned {f['learned_auc']}; trained on {f['trained_on']}, held back {f['held_back']}; "
            f"gain lower bound {f['gain_low']}; {'in use' if ranker.applied else 'not in use'}"
        )
        print(
            "Weights: "
            + ", ".join(f"{n} {w:+.2f}" for n, w in zip(ranker.features, ranker.weights, strict=True))
        )
        # The held-back stories' panels (a visitor's view), plain and learned (forced on to measure it), with
        # the learned order allowed to reach 0 (the default), 3, 8 and all candidates below the shown five.
        late = [s for day, s in enumerate(order) if start + timedelta(days=day) >= cut]
        app.extensions["similar_ranker"] = (time.monotonic(), dataclasses.replace(ranker, applied=True))
        print(f"On the {len(late)} held-back stories' panels (same theme):  P@5    MRR")
        for name, reach in (
            ("plain", None),
            ("learned, reach 0", 0),
            ("learned, reach 3", 3),
            ("learned, reach 8", 8),
            ("learned, reach all", 100),
        ):
            precision, reciprocal = [], []
            for story_id in late:
                source = db.session.get(Story, story_id)
                if reach is None:
                    with learning.plain_only():
                        matches = store.similar_to_story(source, None, K)
                else:
                    app.config["SIMILAR_LEARNED_REACH"] = reach
                    matches = store.similar_to_story(source, None, K)
                same = [theme[source_of[m.story.id]] == theme[source_of[story_id]] for m in matches]
                precision.append(sum(same) / K)
                reciprocal.append(next((1 / (i + 1) for i, hit in enumerate(same) if hit), 0.0))
            print(f"  {name:<46} {np.mean(precision):.3f}  {np.mean(reciprocal):.3f}")


if __name__ == "__main__":
    main()
