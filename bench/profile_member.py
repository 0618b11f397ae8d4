"""Profile a signed-in member's pages in-process (cProfile), to see where a request's CPU goes.

    DATABASE_URL=sqlite:///bench/.cache/village-100000.db .venv/bin/python bench/profile_member.py [N] [label]

Signs in as the seeded member1@seed.example.com (bench/seed.py) through a server-side login session, warms
each page up, then requests it N times (default 200) plainly and N times under cProfile. Prints, per page, the
CPU ms per request (time.process_time, plain and profiled) and the SQL statements per request, then the top
functions by cumulative and by own time for the home and story pages (PROFILE=notifications,compose: for
those instead; PAGES= limits the pages run); written to
bench/results/profile-member-<label>-<time>.txt.
"""

from __future__ import annotations

import cProfile
import io
import os
import pstats
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VILLAGE_ENV", "production")
os.environ.setdefault("SECRET_KEY", "bench-secret")
os.environ.setdefault("SESSION_COOKIE_SECURE", "0")
os.environ.setdefault("RATELIMIT_ENABLED", "0")

import sqlalchemy as sa  # noqa: E402
from flask import Flask  # noqa: E402
from flask.testing import FlaskClient  # noqa: E402

from forum import create_app  # noqa: E402
from forum.auth.sessions import start_session  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.models import Status, Story, Tag, User  # noqa: E402


def pages() -> dict[str, str]:
    published = sa.select(Story.id).where(Story.status == Status.PUBLISHED.value)
    long = db.session.scalar(published.where(Story.reply_count >= 50).order_by(Story.id).limit(1))
    tag = db.session.scalar(sa.select(Tag.name).order_by(Tag.story_count.desc()).limit(1))
    return {
        "home": "/",
        "tag": f"/tags/{tag}",
        "story": f"/stories/{long}",
        "not-alone": "/not-alone",
        "notifications": "/notifications",
        "compose": "/stories/new",
    }


def signed_in(app: Flask, browser: str) -> tuple[FlaskClient, dict[str, str], list[str]]:
    """A test client signed in as the seeded member through a server-side login session (its user agent
    `browser`), the pages' paths, and the list every SQL statement the app runs is appended to."""
    with app.app_context():
        member = db.session.scalar(sa.select(User).where(User.email == "member1@seed.example.com"))
        token = start_session(member, browser)
        db.session.commit()
        targets = pages()
        db.session.remove()
    client = app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = token
        session["_fresh"] = True
    statements: list[str] = []
    with app.app_context():
        sa.event.listen(db.engine, "before_cursor_execute", lambda *a: statements.append(a[2]))
    return client, targets, statements


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    label = sys.argv[2] if len(sys.argv) > 2 else "run"
    app = create_app()
    out = io.StringIO()
    client, targets, statements = signed_in(app, "profile")
    only = os.environ.get("PAGES")  # e.g. PAGES=home,story
    if only:
        targets = {name: path for name, path in targets.items() if name in only.split(",")}
    out.write(f"profile: {count} requests per page, signed in; {time.strftime('%Y-%m-%d %H:%M:%S')}\n")
    out.write(f"{'page':<14} {'cpu ms':>7} {'sql/req':>8} {'profiled ms':>12}\n")
    profiles = {}
    for name, path in targets.items():
        for _ in range(5):
            response = client.get(path)
            assert response.status_code == 200, (path, response.status_code)
        statements.clear()
        start = time.process_time()
        for _ in range(count):
            client.get(path)
        cpu = (time.process_time() - start) * 1000 / count
        sql = len(statements) / count
        profiler = cProfile.Profile(time.process_time)  # CPU, not wall time: the machine is shared
        start = time.process_time()
        profiler.enable()
        for _ in range(count):
            client.get(path)
        profiler.disable()
        profiled = (time.process_time() - start) * 1000 / count
        out.write(f"{name:<14} {cpu:>7.2f} {sql:>8.1f} {profiled:>12.2f}\n")
        profiles[name] = profiler
    shown = os.environ.get("PROFILE", "home,story").split(",")  # e.g. PROFILE=notifications,compose
    for name in [n for n in shown if n in profiles]:
        for order in ("cumulative", "tottime"):
            text = io.StringIO()
            pstats.Stats(profiles[name], stream=text).sort_stats(order).print_stats(35)
            body = text.getvalue()
            out.write(
                f"\n=== {name}, by {order} time (CPU seconds; cProfile adds overhead, ratios matter) ===\n"
            )
            out.write(body[body.find("   ncalls") :])
    print(out.getvalue())
    results = ROOT / "bench" / "results"
    results.mkdir(exist_ok=True)
    (results / f"profile-member-{label}-{time.strftime('%Y%m%d-%H%M%S')}.txt").write_text(out.getvalue())


if __name__ == "__main__":
    main()
