"""Fill an empty Village database with N stories (default 100,000) for benchmarks and load tests.

    .venv/bin/python bench/seed.py [N] [--members 20000] [--replies 5] [--reactions 10] [--workers 2]

The database is the app's (DATABASE_URL, default the SQLite file under instance/); it is migrated first and
must hold no stories. Texts come from ../shared/data: the 150 dev stories and the 1,481 Reddit parenting posts
that have a body, each story a source text with its own opening and closing lines, title, tags, age and setting, so
no two stories are identical. Replies are 1-3 sentences from the same texts; about one story in 500 gets 50
replies (the "long thread" page). Everything goes through forum.stories.bulk and forum.auth.services: the same
validation, tag parsing, Markdown rendering and sanitising as the compose form; preparing runs in a process pool
while the main process writes.

Vectors: each distinct source text is embedded once with the real model (in batches, in the pool) and its
seeded variants carry that vector; the added lines change it little (the script prints the mean cosine between
some variants' exact vectors and the vectors they carry: about 0.9). `flask similar
rebuild` recomputes exact vectors for every story when wanted (hours at 100k on 2 cores).

Every seeded member's password is BENCH_PASSWORD, so load tests can sign in as member1@seed.example.com.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import multiprocessing as mp
import os
import random
import re
import sys
import time
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from pathlib import Path

os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")
ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
DATA = Path(os.environ.get("VILLAGE_DATA", ROOT.parent / "shared" / "data"))
CACHE = ROOT / "bench" / ".cache"
BENCH_PASSWORD = "village bench password"
CHUNK = 1000
LONG_THREAD_EVERY = 500
LONG_THREAD_REPLIES = 50

WHEN = [
    "This morning",
    "Today",
    "Yesterday",
    "Last night",
    "This week",
    "On Monday",
    "After a long weekend",
    "At drop-off today",
    "Tonight",
    "For the third day running",
    "Since the clocks changed",
    "Two weeks in",
]
WHO = [
    "my son",
    "my daughter",
    "our toddler",
    "my little one",
    "our eldest",
    "the baby",
    "my two-year-old",
    "my four-year-old",
    "our youngest",
    "my boy",
    "my girl",
    "our three-year-old",
]
WHAT = [
    "had a really hard time",
    "surprised me",
    "fell apart",
    "clung to me",
    "was fine and I wasn't",
    "cried the whole way",
    "would not settle",
    "asked me not to go",
    "seemed a bit better",
    "had a meltdown",
    "wouldn't let go of my coat",
    "finally slept",
    "said something that broke my heart",
    "made me laugh",
]
CLOSERS = [
    "",
    "",
    "",
    "Has anyone been through this?",
    "Any advice welcome.",
    "Thanks for reading.",
    "I just needed to say it somewhere.",
    "Does it get easier?",
    "Tell me I'm not the only one.",
]
OPENERS = [
    "",
    "",
    "",
    "Sending hugs.",
    "Same here.",
    "Been there.",
    "This was us last year.",
    "You're not alone.",
    "Oh, this is hard.",
    "Thank you for sharing this.",
]
TAG_POOL = [
    "nurseryguilt",
    "dropoffguilt",
    "toddler",
    "sleep",
    "tantrums",
    "pottytraining",
    "backtowork",
    "newborn",
    "breastfeeding",
    "siblings",
    "speechdelay",
    "screentime",
    "pickyeating",
    "coparenting",
    "postnatal",
    "settlingin",
    "firstday",
    "biting",
    "mumlife",
    "dadlife",
    "separationanxiety",
    "school",
]
LABEL_TAGS = {
    "Mommit": "mumlife",
    "daddit": "dadlife",
    "beyondthebump": "newborn",
    "BabyBumps": "pregnancy",
    "pregnant": "pregnancy",
    "breastfeeding": "breastfeeding",
    "raisingkids": "raisingkids",
    "Parenting": "parenting",
}
AGE_BANDS = ["under-1", "1-2", "2-3", "3-4", "4-5", "5-plus", None]
SETTINGS = ["nursery", "childminder", "preschool", "school", "family", "other", None]
KINDS = ["hugs", "me-too", "been-there", "got-this"]
_SENTENCE = re.compile(r"(?<=[.!?])\s+")


def load_sources() -> tuple[list[dict], list[str], list[str]]:
    """Story sources (title, body, tags), a pool of titles and a pool of reply sentences."""
    sources: list[dict] = []
    titles: list[str] = []
    for line in (DATA / "stories-dev.jsonl").open(encoding="utf-8"):
        story = json.loads(line)
        sources.append({"title": story["title"], "body": story["body"], "tags": story.get("tags", [])})
        titles.append(story["title"])
    for line in (DATA / "reddit-parenting-pddl.jsonl").open(encoding="utf-8"):
        post = json.loads(line)
        title = (post.get("title") or "").strip()[:150]
        if title:
            titles.append(title)
        body = (post.get("body") or "").strip()
        if 80 <= len(body) <= 12_000:
            tag = LABEL_TAGS.get(post.get("label", ""), "parenting")
            sources.append({"title": title, "body": body, "tags": [tag]})
    sentences = [
        s.strip()
        for src in sources
        for s in _SENTENCE.split(src["body"])
        if 25 <= len(s.strip()) <= 280 and "http" not in s
    ]
    return sources, titles, sentences


def source_text(source: dict) -> str:
    from forum.similar.engine import story_text

    return story_text(source["title"], source["body"], source["tags"])


def embed_texts(texts: list[str]) -> list[bytes]:
    from forum.similar.engine import get_embedder, to_bytes

    return [to_bytes(v) for v in get_embedder().embed(texts)]


def source_vectors(sources: list[dict], pool: mp.pool.Pool) -> list[bytes]:
    """One vector per source text, computed in batches across the pool and cached between runs."""
    from forum.similar.engine import model_spec

    texts = [source_text(s) for s in sources]
    spec = model_spec()  # SIMILAR_MODEL, as the pool's embedders and the site read it
    # The cache is per model version: vectors of two models (or widths) must never be mixed.
    key = hashlib.sha256("\x00".join([spec.version, *texts]).encode()).hexdigest()[:16]
    cached = CACHE / f"source-vectors-{key}.bin"
    width = 4 * spec.dimensions
    if cached.exists():
        blob = cached.read_bytes()
        return [blob[i * width : (i + 1) * width] for i in range(len(texts))]
    batches = [texts[i : i + 32] for i in range(0, len(texts), 32)]
    vectors = [v for batch in pool.imap(embed_texts, batches) for v in batch]
    CACHE.mkdir(parents=True, exist_ok=True)
    cached.write_bytes(b"".join(vectors))
    return vectors


def make_story_body(rng: random.Random, source: dict) -> str:
    # The source's whole text, so the vector it carries stays close to the story's exact one.
    opening = f"{rng.choice(WHEN)}, {rng.choice(WHO)} {rng.choice(WHAT)}."
    closer = rng.choice(CLOSERS)
    return "\n\n".join([opening, source["body"], *([closer] if closer else [])])


def make_reply_body(rng: random.Random, sentences: list[str]) -> str:
    parts = [rng.choice(OPENERS)] + [rng.choice(sentences) for _ in range(rng.randint(1, 3))]
    return " ".join(p for p in parts if p)


def prepare_chunk(spec: tuple[int, int, int, int, float, float]) -> dict:
    """Generate and prepare one chunk of stories with their replies and reactions (runs in the pool)."""
    from forum.stories import bulk

    first, count, members, seed, replies_mean, reactions_mean = spec
    rng = random.Random(seed)
    g = _GLOBAL
    start = datetime.now(UTC) - timedelta(days=3 * 365)
    spacing = (3 * 365 * 86400) / g["total"]
    stories, replies, reactions, seen = [], [], [], set()
    for i in range(first, first + count):
        source_index = rng.randrange(len(g["sources"]))
        source = g["sources"][source_index]
        body = make_story_body(rng, source)
        while body in seen:
            body = make_story_body(rng, source)
        seen.add(body)
        created = start + timedelta(seconds=i * spacing + rng.random() * spacing)
        tags = list(source["tags"])[:4] + rng.sample(TAG_POOL, rng.randint(1, 3))
        title = source["title"] if rng.random() < 0.5 else rng.choice(g["titles"])
        stories.append(
            bulk.prepare_story(
                bulk.NewStory(
                    author_id=rng.randint(1, members),
                    body=body,
                    created_at=created,
                    title=title or None,
                    tags=tags,
                    anonymous=rng.random() < 0.15,
                    age_band=rng.choice(AGE_BANDS),
                    setting=rng.choice(SETTINGS),
                    embedding=g["vectors"][source_index],
                )
            )
        )
        n_replies = (
            LONG_THREAD_REPLIES
            if i % LONG_THREAD_EVERY == 0
            else min(int(rng.expovariate(1 / replies_mean)), 40)
        )
        for r in range(n_replies):
            reply = bulk.prepare_reply(
                bulk.NewReply(
                    story_id=i - first,
                    author_id=rng.randint(1, members),
                    body=make_reply_body(rng, g["sentences"]),
                    created_at=created + timedelta(minutes=5 + r * rng.randint(1, 90)),
                )
            )
            replies.append(reply)
        for _ in range(int(rng.expovariate(1 / reactions_mean)) if reactions_mean else 0):
            target_reply = n_replies and rng.random() < 0.3
            reactions.append(
                {
                    "user_id": rng.randint(1, members),
                    "kind": rng.choice(KINDS),
                    "story": i - first,
                    "reply": rng.randrange(len(replies) - n_replies, len(replies)) if target_reply else None,
                }
            )
    return {"stories": stories, "replies": replies, "reactions": reactions}


_GLOBAL: dict = {}


def _init_worker(globals_: dict) -> None:
    _GLOBAL.update(globals_)


def seed_chunks(
    chunks: Iterable[dict], offset: int, totals: dict[str, int], began: float, wanted: int
) -> None:
    """Insert prepared chunks through the bulk paths (main process), reporting progress every 10,000 stories."""
    from forum.stories import bulk

    for chunk in chunks:
        for story in chunk["stories"]:
            story.row["author_id"] += offset
        story_ids = bulk.insert_stories(chunk["stories"])
        for reply in chunk["replies"]:
            reply["story_id"], reply["author_id"] = story_ids[reply["story_id"]], reply["author_id"] + offset
        reply_ids = bulk.insert_replies(chunk["replies"])
        reactions = [
            {
                "user_id": r["user_id"] + offset,
                "kind": r["kind"],
                "story_id": None if r["reply"] is not None else story_ids[r["story"]],
                "reply_id": reply_ids[r["reply"]] if r["reply"] is not None else None,
            }
            for r in chunk["reactions"]
        ]
        totals["reactions"] += bulk.insert_reactions(reactions)
        totals["stories"] += len(story_ids)
        totals["replies"] += len(chunk["replies"])
        elapsed = time.perf_counter() - began
        if totals["stories"] % 10_000 == 0 or totals["stories"] == wanted:
            print(
                f"seed: {totals['stories']:,} stories, {totals['replies']:,} replies, "
                f"{totals['reactions']:,} reactions, {elapsed:.0f}s "
                f"({totals['stories'] / elapsed:.0f} stories/s)",
                flush=True,
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("stories", nargs="?", type=int, default=100_000)
    parser.add_argument("--members", type=int, default=20_000)
    parser.add_argument("--replies", type=float, default=5.0, help="mean replies per story")
    parser.add_argument("--reactions", type=float, default=10.0, help="mean reactions per story")
    parser.add_argument("--workers", type=int, default=os.cpu_count() or 2)
    args = parser.parse_args()

    import sqlalchemy as sa
    from flask_migrate import upgrade

    from forum import create_app
    from forum.auth.passwords import hash_password
    from forum.auth.services import create_members
    from forum.extensions import db
    from forum.models import Story, User
    from forum.stories import bulk

    began = time.perf_counter()
    app = create_app()
    sources, titles, sentences = load_sources()
    with app.app_context():
        upgrade(directory=str(ROOT / "migrations"))
        if db.session.scalar(sa.select(sa.func.count()).select_from(Story)):
            sys.exit("seed: the database already holds stories; seed an empty one (see DATABASE_URL).")
        print(
            f"seed: {args.stories:,} stories into {db.engine.url.render_as_string(hide_password=True)}",
            flush=True,
        )
        first_member = (db.session.scalar(sa.select(sa.func.max(User.id))) or 0) + 1
        password_hash = hash_password(BENCH_PASSWORD)
        for start in range(0, args.members, 5000):
            create_members(
                [
                    (f"parent{n}", f"member{n}@seed.example.com")
                    for n in range(start + 1, min(args.members, start + 5000) + 1)
                ],
                password_hash,
            )
        print(f"seed: {args.members:,} members in {time.perf_counter() - began:.0f}s", flush=True)

    ctx = mp.get_context("fork")
    with ctx.Pool(args.workers) as pool:
        t = time.perf_counter()
        vectors = source_vectors(sources, pool)
        print(f"seed: {len(sources):,} source texts embedded in {time.perf_counter() - t:.0f}s", flush=True)
    shared = {
        "sources": sources,
        "titles": titles,
        "sentences": sentences,
        "vectors": vectors,
        "total": args.stories,
    }
    specs = [
        (first, min(CHUNK, args.stories - first), args.members, 42 + first, args.replies, args.reactions)
        for first in range(0, args.stories, CHUNK)
    ]
    totals = {"stories": 0, "replies": 0, "reactions": 0}
    with ctx.Pool(args.workers, initializer=_init_worker, initargs=(shared,)) as pool, app.app_context():
        offset = first_member - 1
        with bulk.search_indexes_deferred():
            seed_chunks(pool.imap(prepare_chunk, specs), offset, totals, began, args.stories)
        print(f"seed: search indexes built, {time.perf_counter() - began:.0f}s", flush=True)
        if db.engine.dialect.name == "postgresql":
            with db.engine.connect() as conn:
                conn.execution_options(isolation_level="AUTOCOMMIT").execute(sa.text("VACUUM ANALYZE"))
        else:
            db.session.execute(sa.text("ANALYZE"))
            db.session.commit()
        elapsed = time.perf_counter() - began
        drift = vector_drift()
    print(
        json.dumps(
            {
                "seed_stories": totals["stories"],
                "replies": totals["replies"],
                "reactions": totals["reactions"],
                "members": args.members,
                "seconds": round(elapsed, 1),
                "stories_per_s": round(totals["stories"] / elapsed, 1),
                "variant_vs_source_cosine": round(drift, 3),
            }
        )
    )


def vector_drift(sample: int = 24) -> float:
    """Mean cosine between seeded stories' exact vectors and the source vectors they were given."""
    import numpy as np
    import sqlalchemy as sa
    from sqlalchemy.orm import selectinload

    from forum.extensions import db
    from forum.models import Story
    from forum.similar import engine

    stories = list(
        db.session.scalars(
            sa.select(Story).order_by(Story.id).limit(sample).options(selectinload(Story.tags))
        )
    )
    exact = engine.get_embedder().embed(
        [engine.story_text(s.title, s.body, [t.name for t in s.tags]) for s in stories]
    )
    given = np.stack([engine.from_bytes(s.embedding) for s in stories])
    return float((exact * given).sum(1).mean())


if __name__ == "__main__":
    main()
