"""Where a write's CPU goes: post replies and stories through the app (the test client, CSRF on, signed in as
a seeded member) under cProfile, and print CPU ms per request and the costliest parts.

    .venv/bin/python bench/profile_writes.py [--replies 60] [--stories 30] [--label before]
    .venv/bin/python bench/profile_writes.py --two-writers [--replies 150]   # what a second writer adds

Each write's statements and commits are counted and the last one's listed, with their wall-clock times.
--two-writers runs one process posting replies, then two at once, and compares how long the first write
statement of each transaction took (where a SQLite writer waits for the other's lock).

The database is DATABASE_URL (seeded with bench/seed.py; member1@seed.example.com signs in). The app runs with
the production settings that matter for a write (care check and embedding on, rate limits off as in
bench/pages.sh) and, unless JOBS_INLINE=1, background jobs queued as in production: the job worker's CPU is
measured separately (`jobs: … ms per job run`), since it is not spent in the request. CPU is process time,
so other load on the machine slows it less than wall-clock time (but caches and memory bandwidth are shared:
say "under load" when the machine was busy). Writes bench/results/profile-writes-<label>-<time>.txt.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import re
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("OPENBLAS_NUM_THREADS", "1")

import sqlalchemy as sa  # noqa: E402

from forum import create_app  # noqa: E402
from forum.config import Config  # noqa: E402
from forum.extensions import db  # noqa: E402
from forum.models import Story  # noqa: E402

PASSWORD = "village bench password"
# Parts of a write, by the function whose cumulative time counts for them (file suffix, function name).
PARTS = [
    ("before-write checks", "forum/stories/hooks.py", "run_before_write"),
    ("care check (content_created)", "forum/care/services.py", "_after_write"),
    ("similar embed (content_created)", "forum/similar/store.py", "_on_story_written"),
    ("moderation near-duplicate flags", "forum/moderation/protection.py", "flag_near_duplicates"),
    ("moderation watched-word flags", "forum/moderation/protection.py", "flag_watched_words"),
    ("page cache invalidation", "forum/pagecache.py", "invalidate"),
    ("followers fan-out (before commit)", "forum/notifications/mail/outbox.py", "_fan_out_replies"),
    ("mail outbox on flush", "forum/notifications/mail/outbox.py", "_write"),
    ("Markdown render", "forum/text.py", "render_markdown"),
    ("jobs enqueued", "forum/jobs/queue.py", "enqueue"),
    ("commit (all)", "sqlalchemy/orm/session.py", "commit"),
    ("reply service", "forum/stories/services.py", "add_reply"),
    ("story service", "forum/stories/services.py", "publish_story"),
    ("CSRF check", "flask_wtf/csrf.py", "protect"),
    ("member loaded", "forum/auth/sessions.py", "load_user"),
]


def token(page: str) -> str:
    found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
    assert found, "no CSRF token on the page"
    return found.group(1)


def key(page: str) -> str:
    found = re.search(r'name="submission_key"[^>]*value="([^"]+)"', page)
    return found.group(1) if found else ""


def part_times(stats: pstats.Stats) -> dict[str, float]:
    """Cumulative seconds per part (a function counted once even when it recurses)."""
    found: dict[str, float] = {}
    raw = stats.stats  # type: ignore[attr-defined]
    for label, path, name in PARTS:
        total = 0.0
        for (filename, _line, func), (_cc, _nc, _tt, ct, _callers) in raw.items():
            if func == name and filename.endswith(path):
                total += ct
        if total:
            found[label] = total
    return found


def profile(client, requests: list[tuple[str, dict[str, str]]]) -> tuple[float, pstats.Stats]:
    profiler = cProfile.Profile(time.process_time)
    start = time.process_time()
    for path, data in requests:
        profiler.enable()
        answer = client.post(path, data=data)
        profiler.disable()
        assert answer.status_code in (302, 303), (
            path,
            answer.status_code,
            answer.get_data(as_text=True)[:300],
        )
    cpu = (time.process_time() - start) * 1000 / max(len(requests), 1)
    return cpu, pstats.Stats(profiler)


def measure(client, requests: list[tuple[str, dict[str, str]]]) -> float:
    """CPU ms per request without the profiler (its overhead roughly triples a write's CPU)."""
    start = time.process_time()
    for path, data in requests:
        answer = client.post(path, data=data)
        assert answer.status_code in (302, 303), (path, answer.status_code)
    return (time.process_time() - start) * 1000 / max(len(requests), 1)


class StatementLog:
    """The SQL statements and commits of the requests sent while it is on (engine events), with the wall time
    each statement and commit took: what a write waits for besides its own CPU."""

    def __init__(self, engine: sa.Engine) -> None:
        self.engine, self.on = engine, False
        self.statements: list[tuple[str, float]] = []
        self.commits: list[float] = []
        self._started = 0.0
        sa.event.listen(engine, "before_cursor_execute", self._before)
        sa.event.listen(engine, "after_cursor_execute", self._after)
        sa.event.listen(engine, "commit", self._commit_started)

    def _before(self, *args: object) -> None:
        self._started = time.perf_counter()

    def _after(self, conn: object, cursor: object, statement: str, *args: object) -> None:
        if self.on:
            self.statements.append((" ".join(statement.split())[:150], time.perf_counter() - self._started))

    def _commit_started(self, conn: object) -> None:
        if self.on:
            self.commits.append(time.perf_counter())


def trace(client, log: StatementLog, requests: list[tuple[str, dict[str, str]]], lines: list[str]) -> None:
    """Statements and commits per request, wall against CPU, and the statements of the last request."""
    wall = cpu = 0.0
    counts: list[int] = []
    commits: list[int] = []
    for path, data in requests:
        log.statements, log.commits = [], []
        log.on = True
        start_wall, start_cpu = time.perf_counter(), time.process_time()
        answer = client.post(path, data=data)
        wall += time.perf_counter() - start_wall
        cpu += time.process_time() - start_cpu
        log.on = False
        assert answer.status_code in (302, 303), (path, answer.status_code)
        counts.append(len(log.statements))
        commits.append(len(log.commits))
    n = max(len(requests), 1)
    lines.append(
        f"   statements per request {sum(counts) / n:.1f} (min {min(counts)}, max {max(counts)}), "
        f"commits per request {sum(commits) / n:.1f}; wall {wall * 1000 / n:.1f} ms, CPU {cpu * 1000 / n:.1f} ms "
        "per request (one client: the wait beyond CPU is the database's own work and its syncs)"
    )
    lines.append("   the last request's statements (wall ms, statement):")
    for statement, seconds in log.statements:
        lines.append(f"     {seconds * 1000:6.2f}  {statement}")


def summary(title: str, plain: float, cpu: float, stats: pstats.Stats, count: int, lines: list[str]) -> None:
    lines.append(
        f"\n== {title}: {plain:.1f} ms CPU per request without the profiler; "
        f"{count} requests profiled, {cpu:.1f} ms CPU per request with it; parts (profiled ms per request):"
    )
    for label, seconds in sorted(part_times(stats).items(), key=lambda kv: -kv[1]):
        lines.append(f"  {label:38s} {seconds * 1000 / count:7.2f} ms")
    lines.append(listing(stats, "cumulative", r"forum|sqlalchemy/orm/session|onnx|tokeniz", 30))
    # Own time, whatever the module: where the CPU is spent rather than on whose behalf.
    lines.append("   by own time:")
    lines.append(listing(stats, "tottime", 25))


def listing(stats: pstats.Stats, order: str, *restrictions: str | int) -> str:
    """The profile's table in this order, from its header line on."""
    out = io.StringIO()
    stats.stream = out  # type: ignore[attr-defined]
    stats.sort_stats(order).print_stats(*restrictions)
    body = out.getvalue()
    return body[body.find("   ncalls") :] if "   ncalls" in body else body


def run_jobs(app, lines: list[str]) -> None:
    """Run what the requests queued, one job at a time as a worker does, and report CPU per kind of job."""
    if app.config.get("JOBS_INLINE", True):
        return
    from collections import Counter

    from forum.jobs import worker

    cpu: Counter[str] = Counter()
    runs: Counter[str] = Counter()
    result = worker.Result()
    with app.app_context():
        while True:
            start = time.process_time()
            job = worker.claim()
            if job is None:
                break
            worker.run_claimed(job, result)
            cpu[job.kind] += time.process_time() - start
            runs[job.kind] += 1
    total = sum(cpu.values()) * 1000
    lines.append(f"\n== jobs the requests queued, run afterwards by a worker ({result}): {total:.0f} ms CPU")
    for kind, seconds in cpu.most_common():
        lines.append(
            f"   {kind:22s} {runs[kind]:4d} runs {seconds * 1000 / runs[kind]:6.1f} ms CPU each (claim to finish)"
        )


def catch_up_schema() -> None:
    """Tables and columns the code has but the bench database (seeded earlier) lacks: created as they are in the
    models, without migrating (other work in the tree may add columns before their migration exists)."""
    inspector = sa.inspect(db.engine)
    missing = [t for t in db.metadata.sorted_tables if not inspector.has_table(t.name)]
    for table in missing:
        table.create(db.engine)
    with db.engine.begin() as conn:
        for table in set(db.metadata.sorted_tables) - set(missing):
            have = {c["name"] for c in inspector.get_columns(table.name)}
            for column in table.columns:
                if column.name not in have:
                    kind = column.type.compile(dialect=db.engine.dialect)
                    conn.execute(sa.text(f"ALTER TABLE {table.name} ADD COLUMN {column.name} {kind}"))


def first_write_waits(
    client, engine: sa.Engine, requests: list[tuple[str, dict[str, str]]], start: float
) -> dict:
    """Post the requests from `start` (a shared clock time) and say how long each transaction's first write
    statement took against all other statements, wall-clock: on SQLite the first write is where a writer waits for
    another's lock (the busy handler sleeps 1, 2, 5, 10 ... ms between tries)."""
    times = {"first_write": 0.0, "other": 0.0}
    state = {"started": 0.0, "writing": False}

    def before(*args: object) -> None:
        state["started"] = time.perf_counter()

    def after(conn: object, cursor: object, statement: str, *args: object) -> None:
        took = time.perf_counter() - state["started"]
        if not state["writing"] and statement.lstrip().split(" ", 1)[0] in ("INSERT", "UPDATE", "DELETE"):
            state["writing"] = True
            times["first_write"] += took
        else:
            times["other"] += took

    sa.event.listen(engine, "before_cursor_execute", before)
    sa.event.listen(engine, "after_cursor_execute", after)
    time.sleep(max(0.0, start - time.time()))
    wall, cpu = time.perf_counter(), time.process_time()
    for path, data in requests:
        state["writing"] = False
        answer = client.post(path, data=data)
        assert answer.status_code in (302, 303), (path, answer.status_code)
    n = max(len(requests), 1)
    return {
        "wall_ms": (time.perf_counter() - wall) * 1000 / n,
        "cpu_ms": (time.process_time() - cpu) * 1000 / n,
        "first_write_ms": times["first_write"] * 1000 / n,
        "other_statements_ms": times["other"] * 1000 / n,
    }


def two_writers(replies: int, label: str) -> None:
    """One process posting replies alone, then two at once on the same database: the waits a second writer adds."""
    import subprocess

    def writers(count: int) -> list[dict]:
        start = time.time() + 40  # after both have started, signed in and warmed up
        command = [sys.executable, __file__, "--writer", str(replies), "--start", str(start)]
        children = [subprocess.Popen(command, stdout=subprocess.PIPE, text=True) for _ in range(count)]
        return [json.loads(child.communicate()[0].strip().splitlines()[-1]) for child in children]

    lines = [
        f"profile-writes two writers ({label}): {replies} replies per process; load {os.getloadavg()[0]:.1f}"
    ]
    for count in (1, 2, 1, 2):
        for result in writers(count):
            lines.append(f"  {count} writer(s): " + ", ".join(f"{k} {v:.2f}" for k, v in result.items()))
    text = "\n".join(lines)
    print(text)
    out = (
        ROOT
        / "bench"
        / "results"
        / f"profile-writes-two-writers-{label}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    )
    out.write_text(text + "\n")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--replies", type=int, default=60)
    parser.add_argument("--stories", type=int, default=30)
    parser.add_argument("--label", default="now")
    parser.add_argument(
        "--two-writers", action="store_true", help="the first-write waits of one writer, then of two at once"
    )
    parser.add_argument("--writer", type=int, default=0, help=argparse.SUPPRESS)  # a --two-writers process
    parser.add_argument("--start", type=float, default=0.0, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.two_writers:
        two_writers(args.replies, args.label)
        return
    overrides: dict[str, object] = {"RATELIMIT_ENABLED": False, "PAGE_CACHE_ENABLED": True}
    if "JOBS_INLINE" in os.environ:
        overrides["JOBS_INLINE"] = os.environ["JOBS_INLINE"] == "1"
    app = create_app(Config(**overrides))  # type: ignore[arg-type]
    client = app.test_client()
    with app.app_context():
        catch_up_schema()
        story_id = db.session.scalar(
            sa.select(Story.id).where(Story.reply_count >= 50).order_by(Story.id).limit(1)
        )
        url = str(db.engine.url)
    page = client.get("/login").get_data(as_text=True)
    signed_in = client.post(
        "/login",
        data={"csrf_token": token(page), "identifier": "member1@seed.example.com", "password": PASSWORD},
    )
    assert signed_in.status_code in (302, 303), signed_in.status_code
    page = client.get("/stories/new").get_data(as_text=True)
    csrf = token(page)
    run = f"{time.time():.0f}"

    def reply(i: int) -> tuple[str, dict[str, str]]:
        body = f"Sending hugs from a profile run {run}, reply {i}. It does get easier, one night at a time."
        return f"/stories/{story_id}/replies", {"csrf_token": csrf, "body": body}

    def story(i: int) -> tuple[str, dict[str, str]]:
        body = (
            f"Profile run {run}, story {i}: my toddler has not slept through the night for weeks and I am "
            "running on empty. We tried a later bedtime, a dream feed and white noise. Some nights are "
            f"better than others; tonight was not one of them (number {i})."
        )
        return "/stories/new", {
            "csrf_token": csrf,
            "title": f"Sleep, again ({run}/{i})",
            "body": body,
            "tags": "sleep, toddlers",
        }

    for i in range(3):  # warm up: models loaded, caches filled
        for path, data in (reply(-1 - i), story(-1 - i)):
            client.post(path, data=data)
    if args.writer:
        with app.app_context():
            engine = db.engine
        run = f"{run}-{os.getpid()}"
        result = first_write_waits(client, engine, [reply(i) for i in range(args.writer)], args.start)
        print(json.dumps(result))
        return
    lines = [
        f"profile-writes ({args.label}): {url.split('@')[-1]}, jobs "
        f"{'inline' if app.config.get('JOBS_INLINE', True) else 'queued for the worker'}; "
        f"load {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores"
    ]
    run_jobs(app, [])
    with app.app_context():
        log = StatementLog(db.engine)
    plain = measure(client, [reply(1000 + i) for i in range(args.replies)])
    cpu, stats = profile(client, [reply(i) for i in range(args.replies)])
    summary("reply-post", plain, cpu, stats, args.replies, lines)
    trace(client, log, [reply(2000 + i) for i in range(10)], lines)
    run_jobs(app, lines)
    plain = measure(client, [story(1000 + i) for i in range(args.stories)])
    cpu, stats = profile(client, [story(i) for i in range(args.stories)])
    summary("story-post", plain, cpu, stats, args.stories, lines)
    trace(client, log, [story(2000 + i) for i in range(5)], lines)
    run_jobs(app, lines)
    text = "\n".join(lines)
    print(text)
    out = ROOT / "bench" / "results" / f"profile-writes-{args.label}-{time.strftime('%Y%m%d-%H%M%S')}.txt"
    out.write_text(text + "\n")
    print(f"\nwritten to {out}")


if __name__ == "__main__":
    main()
