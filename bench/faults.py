"""Faults under load: nothing acknowledged is lost or doubled, and the site recovers by itself.

    .venv/bin/python bench/faults.py            # SQLite, then PostgreSQL + Redis when reachable
    SCENARIO_SECONDS=20 WRITERS=6 READERS=4 .venv/bin/python bench/faults.py

For each database a fresh site is migrated and served by gunicorn (2 workers, production mode) on 127.0.0.1.
PostgreSQL and Redis are the bench's own: a throwaway PostgreSQL cluster (initdb and pg_ctl, as the postgres
user, data in a temporary folder, on a free port) and a redis-server on a free port, started and stopped (and
restarted as faults) by the bench. The machine's own PostgreSQL and Redis, which other work may be using, are
never touched. Without initdb or redis-server the PostgreSQL run is skipped (or runs without Redis).
Signed-in writers post stories, replies, reactions and reports through the real forms (CSRF tokens, submission
keys, redirects), readers load feeds, tag pages, story pages and search, and while that runs one fault is
injected at a time:

- kill -9 of a gunicorn worker in the middle of writes;
- a PostgreSQL restart (PostgreSQL only);
- Redis stopped and started again (with REDIS_URL, the PostgreSQL run);
- the SQLite file and its log refusing every write for 5 s, as on a full disk (SQLite only).

A write whose answer never arrived (a killed worker, a dropped connection) or was a 5xx is sent again with the
same submission key, as the browser's "Post" would be. Every written text carries a unique marker; after each
scenario the database is reconciled: every acknowledged write (2xx/3xx) must be there exactly once, nothing is
there twice, counters match the rows (no half-applied write), and on SQLite `PRAGMA integrity_check` is ok.
A double tap (the same form posted twice at once) is part of the mix. Recovery is the time from the end of the
fault until the last failed request. The last line sums up every scenario:

    faults: acknowledged=N lost=N duplicated=N worst_recovery_s=X
"""

from __future__ import annotations

import glob
import http.client
import http.cookiejar
import os
import random
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / "bench" / ".cache" / "faults"
PORT = 18601
BASE = f"http://127.0.0.1:{PORT}"
SECONDS = float(os.environ.get("SCENARIO_SECONDS", 15))
WRITERS, READERS = int(os.environ.get("WRITERS", 6)), int(os.environ.get("READERS", 4))
PASSWORD = "faults bench password"
MARKER = re.compile(r"fw-[0-9a-f]{12}")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class ThrowawayPostgres:
    """A PostgreSQL cluster of the bench's own: initdb into a temporary folder, pg_ctl on a free port, run as
    the postgres user (initdb refuses root); restarted as a fault, deleted at the end."""

    def __init__(self) -> None:
        found = sorted(glob.glob("/usr/lib/postgresql/*/bin/pg_ctl")) or [shutil.which("pg_ctl") or ""]
        self.bin = Path(found[-1]).parent if found[-1] else None
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="village-faults-pg-"))
        self.data = self.dir / "data"
        self.url = f"postgresql+psycopg://postgres@127.0.0.1:{self.port}/village_faults"

    @property
    def available(self) -> bool:
        return self.bin is not None and (self.bin / "initdb").exists()

    def _run(self, *args: str) -> None:
        # Output to a file, never a pipe: the server pg_ctl starts keeps its output open, and reading a pipe
        # to its end would wait for the server to stop.
        as_postgres = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        with (self.dir / "commands.log").open("ab") as log:
            subprocess.run(
                [*as_postgres, *args], check=True, stdout=log, stderr=subprocess.STDOUT, cwd=self.dir
            )

    def start(self) -> None:
        if os.geteuid() == 0:
            shutil.chown(self.dir, "postgres", "postgres")
            (self.dir / "commands.log").touch()
        self._run(
            str(self.bin / "initdb"), "-D", str(self.data), "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        options = f"-p {self.port} -c listen_addresses=127.0.0.1 -k {self.dir} -c fsync=off"
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-o",
            options,
            "-l",
            str(self.dir / "log"),
            "-w",
            "start",
        )

    def restart(self) -> None:
        self._run(
            str(self.bin / "pg_ctl"),
            "-D",
            str(self.data),
            "-l",
            str(self.dir / "log"),
            "-m",
            "fast",
            "-w",
            "restart",
        )

    def stop(self) -> None:
        try:
            self._run(str(self.bin / "pg_ctl"), "-D", str(self.data), "-m", "fast", "-w", "stop")
        except subprocess.CalledProcessError:
            pass  # never started
        shutil.rmtree(self.dir, ignore_errors=True)


class ThrowawayRedis:
    """A redis-server of the bench's own on a free port, in memory only; stopped and started as a fault."""

    def __init__(self) -> None:
        self.binary = shutil.which("redis-server")
        self.port = free_port()
        self.dir = Path(tempfile.mkdtemp(prefix="village-faults-redis-"))
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        assert self.binary
        self.process = subprocess.Popen(
            [
                self.binary,
                "--bind",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.dir),
            ],
            stdout=(self.dir / "log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        for _ in range(50):
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", self.port)) == 0:
                    return
            time.sleep(0.1)
        raise SystemExit("faults: the bench's redis-server did not start")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            self.process.wait(timeout=30)
            self.process = None

    def remove(self) -> None:
        self.stop()
        shutil.rmtree(self.dir, ignore_errors=True)


POSTGRES: ThrowawayPostgres | None = None
REDIS: ThrowawayRedis | None = None


class NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):  # noqa: ANN002, ANN003
        return None  # a 303 after a post is the acknowledgement; don't follow it


@dataclass
class Ledger:
    """What the clients saw: markers acknowledged, failed, or of unknown outcome; and every request's result."""

    acknowledged: dict[str, str] = field(default_factory=dict)  # marker -> kind
    failed: dict[str, str] = field(default_factory=dict)
    errors: list[float] = field(default_factory=list)  # times of failed requests
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    samples: list[str] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def result(self, ok: bool, status: int = 0) -> None:
        with self.lock:
            self.requests += 1
            if not ok:
                self.statuses[status] += 1
            if not ok:
                self.errors.append(time.monotonic())


class Member:
    """One signed-in browser."""

    def __init__(self, email: str) -> None:
        self.jar = http.cookiejar.CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)
        self.email = email
        self.token = ""

    def request(self, path: str, data: dict[str, str] | None = None, timeout: float = 10) -> tuple[int, str]:
        """(status, body); status 0 when no answer arrived."""
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        try:
            with self.opener.open(BASE + path, body, timeout=timeout) as response:
                return response.status, response.read().decode(errors="replace")
        except urllib.error.HTTPError as error:
            return error.code, error.read().decode(errors="replace")
        except (OSError, http.client.HTTPException):
            return 0, ""

    def refresh_token(self, path: str = "/stories/new") -> bool:
        status, page = self.request(path)
        found = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page)
        if status == 200 and found:
            self.token = found.group(1)
            return True
        return False

    def sign_in(self) -> None:
        for _ in range(60):
            if self.refresh_token("/login"):
                status, _ = self.request(
                    "/login", {"csrf_token": self.token, "identifier": self.email, "password": PASSWORD}
                )
                if status in (302, 303) and self.refresh_token():
                    return
            time.sleep(0.5)
        raise SystemExit(f"faults: {self.email} could not sign in")


# What each member already did, across scenarios: a second reaction would take the first back.
REACTED: dict[str, set[tuple[int, str]]] = {}
REPORTED: dict[str, set[int]] = {}


def writer(
    member: Member, story_ids: list[int], ledger: Ledger, stop: threading.Event, rng: random.Random
) -> None:
    member.sign_in()
    reacted = REACTED.setdefault(member.email, set())
    reported = REPORTED.setdefault(member.email, set())
    # Reports go to their own stories: three of them hide a story, which must not stop the replies.
    open_ids, report_ids = story_ids[:-5], story_ids[-5:]
    while not stop.is_set():
        marker = f"fw-{uuid.uuid4().hex[:12]}"
        key = uuid.uuid4().hex
        roll = rng.random()
        story = rng.choice(open_ids)
        if roll < 0.3:
            kind, path = "story", "/stories/new"
            data = {
                "title": f"Fault run {marker}",
                "body": f"Drop-off was hard again today. {marker}",
                "tags": "faulttest dropoffguilt",
                "submission_key": key,
            }
        elif roll < 0.75:
            kind, path = "reply", f"/stories/{story}/replies"
            data = {"body": f"Sending hugs, it does get easier. {marker}", "submission_key": key}
        elif roll < 0.9:
            reaction = rng.choice(["hugs", "me-too", "been-there", "got-this"])
            if (story, reaction) in reacted:
                continue
            reacted.add((story, reaction))
            kind, path, data, marker = (
                "reaction",
                f"/stories/{story}/reactions",
                {"kind": reaction},
                f"reaction:{member.email}:{story}:{reaction}",
            )
        else:
            story = rng.choice(report_ids)
            if story in reported:
                continue
            reported.add(story)
            kind, path = "report", f"/report/story/{story}"
            data = {"reason": "off-topic", "note": f"Fault run {marker}"}
        if kind in ("story", "reply") and rng.random() < 0.1:
            _double_tap(member, path, data, marker, kind, ledger)
            continue
        _submit(member, path, data, marker, kind, ledger, retry=kind in ("story", "reply"))


def _ok(status: int, kind: str, body: str) -> bool:
    # Every form answers a saved post with a redirect; a 200 is the form again, with a message.
    return 300 <= status < 400


def _submit(
    member: Member, path: str, data: dict[str, str], marker: str, kind: str, ledger: Ledger, retry: bool
) -> None:
    for attempt in range(8):
        status, body = member.request(path, {**data, "csrf_token": member.token})
        # A kind refusal is an answer, not an error: a repeated report, a story hidden by earlier reports.
        refused = status in (400, 429) or (kind == "report" and status in (200, 404))
        ledger.result(_ok(status, kind, body) or refused, status)
        if not _ok(status, kind, body) and not refused and os.environ.get("FAULTS_DEBUG"):
            text = re.sub(r"<[^>]+>|\s+", " ", body)
            ledger.samples.append(f"{status} POST {path} {text[-300:]}")
        if _ok(status, kind, body):
            with ledger.lock:
                ledger.acknowledged[marker] = kind
                ledger.failed.pop(marker, None)
            return
        if status in (200, 400) and "security check" in body:
            member.refresh_token()
            continue
        with ledger.lock:
            ledger.failed[marker] = kind
        if not retry or status in (200, 404, 409, 422):
            return
        time.sleep(0.5 * (attempt + 1))  # the browser's "try again", with the same submission key


def _double_tap(
    member: Member, path: str, data: dict[str, str], marker: str, kind: str, ledger: Ledger
) -> None:
    threads = [
        threading.Thread(target=_submit, args=(member, path, data, marker, kind, ledger, True))
        for _ in range(2)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()


def reader(story_ids: list[int], ledger: Ledger, stop: threading.Event, rng: random.Random) -> None:
    visitor = Member("visitor")
    while not stop.is_set():
        path = rng.choice(
            [
                "/",
                "/tags",
                f"/stories/{rng.choice(story_ids[:-5])}",
                "/search?q=nursery",
                "/tags/dropoffguilt",
            ]
        )
        status, _ = visitor.request(path)
        ledger.result(status == 200, status)
        if status != 200 and os.environ.get("FAULTS_DEBUG"):
            ledger.samples.append(f"{status} GET {path}")
        time.sleep(0.01)


# --- the site under test -------------------------------------------------------------------------------


def env_for(database_url: str, redis: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VILLAGE_ENV": "production",
        "SECRET_KEY": "faults-secret",
        "SESSION_COOKIE_SECURE": "0",
        "RATELIMIT_ENABLED": "0",
        "VILLAGE_INSTANCE_PATH": str(CACHE / "instance"),
        "OPENBLAS_NUM_THREADS": "1",
    }
    env.pop("REDIS_URL", None)
    if redis and REDIS is not None:
        env["REDIS_URL"] = REDIS.url
    return env


SETUP = r"""
import sys
from datetime import timedelta
from forum import create_app
from forum.auth.services import register_member
from forum.extensions import db
from forum.models import utcnow
from forum.stories.services import publish_story
app = create_app()
with app.app_context():
    members = [register_member(pseudonym=f"writer{i}", email=f"writer{i}@faults.example.com", password=sys.argv[1])
               for i in range(int(sys.argv[2]))]
    for m in members:
        m.created_at = utcnow() - timedelta(days=30)
    db.session.commit()
    ids = [publish_story(members[i % len(members)], title=f"Seed story {i}", tags="dropoffguilt",
                         body=f"A hard drop-off this morning, number {i}; she clung to my coat.").id for i in range(20)]
    print(" ".join(map(str, ids)))
"""


def fresh_site(database_url: str, redis: bool) -> list[int]:
    import sqlalchemy as sa

    if database_url.startswith("sqlite"):
        path = Path(database_url.split("///", 1)[1])
        for suffix in ("", "-wal", "-shm"):
            Path(f"{path}{suffix}").unlink(missing_ok=True)
        path.parent.mkdir(parents=True, exist_ok=True)
    else:
        server = sa.create_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        name = database_url.rsplit("/", 1)[1]
        with server.connect() as conn:
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        server.dispose()
    env = env_for(database_url, redis)
    flask = [str(ROOT / ".venv" / "bin" / "flask"), "--app", "wsgi"]
    subprocess.run([*flask, "db", "upgrade"], cwd=ROOT, env=env, check=True, capture_output=True)
    seeded = subprocess.run(
        [str(ROOT / ".venv" / "bin" / "python"), "-c", SETUP, PASSWORD, str(WRITERS)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
    )
    if seeded.returncode:
        raise SystemExit(f"faults: seeding the site failed:\n{seeded.stderr[-3000:]}")
    return [int(x) for x in seeded.stdout.split()]


class Server:
    def __init__(self, env: dict[str, str]) -> None:
        self.pidfile = CACHE / f"gunicorn-{PORT}.pid"
        self.process = subprocess.Popen(
            [
                str(ROOT / ".venv" / "bin" / "gunicorn"),
                "-c",
                str(ROOT / "gunicorn.conf.py"),
                "-b",
                f"127.0.0.1:{PORT}",
                "-w",
                "2",
                "--worker-class",
                "sync",
                "--pid",
                str(self.pidfile),
                "--timeout",
                "30",
                "--no-control-socket",
                "wsgi:app",
            ],
            cwd=ROOT,
            env=env,
            stdout=(CACHE / "gunicorn.log").open("ab"),
            stderr=subprocess.STDOUT,
        )
        for _ in range(150):
            if Member("probe").request("/")[0] == 200:
                return
            time.sleep(0.2)
        raise SystemExit(f"faults: the app did not come up; see {CACHE / 'gunicorn.log'}")

    def workers(self) -> list[int]:
        master = self.process.pid
        return [
            int(p)
            for p in subprocess.run(
                ["ps", "-o", "pid=", "--ppid", str(master)], capture_output=True, text=True
            ).stdout.split()
        ]

    def reload(self) -> None:
        """New workers (new database connections), as after a deploy."""
        os.kill(self.process.pid, 1)
        time.sleep(3)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=30)


# --- faults ----------------------------------------------------------------------------------------------


def kill_worker(server: Server, _db: str) -> float:
    victim = random.choice(server.workers())
    os.kill(victim, 9)
    return time.monotonic()


def restart_postgres(_server: Server, _db: str) -> float:
    """Restart the bench's own PostgreSQL cluster (fast shutdown: every connection is cut)."""
    assert POSTGRES is not None
    POSTGRES.restart()
    return time.monotonic()


def bounce_redis(_server: Server, _db: str) -> float:
    """Stop the bench's own redis-server for 5 s and start it again, empty."""
    assert REDIS is not None
    REDIS.stop()
    time.sleep(5)
    REDIS.start()
    return time.monotonic()


def read_only_sqlite(_server: Server, database_url: str) -> float:
    """The database file and its write-ahead log refuse every write for 5 s (as on a full or read-only disk).

    chattr +i, because the bench runs as root and root ignores file modes; open file handles are refused too.
    """
    path = database_url.split("///", 1)[1]
    files = [path, f"{path}-wal"]
    subprocess.run(["chattr", "+i", *files], check=True)
    try:
        time.sleep(5)
    finally:
        subprocess.run(["chattr", "-i", *files], check=True)
    return time.monotonic()


# --- reconciliation --------------------------------------------------------------------------------------


def reconcile(database_url: str, ledger: Ledger) -> dict[str, int | str]:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    with engine.connect() as conn:
        texts = [
            row[0]
            for row in conn.execute(
                sa.text(
                    "SELECT body FROM stories UNION ALL SELECT body FROM replies UNION ALL SELECT note FROM flags"
                )
            )
        ]
        found = Counter(m for text in texts if text for m in MARKER.findall(text))
        reactions = Counter(
            f"reaction:{email}:{story}:{kind}"
            for email, story, kind in conn.execute(
                sa.text(
                    "SELECT u.email, r.story_id, r.kind FROM reactions r JOIN users u ON u.id = r.user_id "
                    "WHERE r.story_id IS NOT NULL"
                )
            )
        )
        found.update(reactions)
        counters_off = conn.scalar(
            sa.text(
                "SELECT count(*) FROM stories s WHERE s.reply_count <> (SELECT count(*) FROM replies r "
                "WHERE r.story_id = s.id AND r.status = 'published') OR s.reaction_count <> (SELECT count(DISTINCT "
                "user_id) FROM reactions x WHERE x.story_id = s.id)"
            )
        )
        # tags.story_count kept by increments: two interleaved posts must not leave a count of one.
        tags_off = conn.scalar(
            sa.text(
                "SELECT count(*) FROM tags t WHERE t.story_count <> (SELECT count(*) FROM story_tags st "
                "JOIN stories s ON s.id = st.story_id WHERE st.tag_id = t.id AND s.status = 'published')"
            )
        )
        untagged = conn.scalar(
            sa.text(
                "SELECT count(*) FROM stories s WHERE s.title LIKE 'Fault run %' AND NOT EXISTS "
                "(SELECT 1 FROM story_tags t WHERE t.story_id = s.id)"
            )
        )
        integrity = (
            conn.scalar(sa.text("PRAGMA integrity_check")) if database_url.startswith("sqlite") else "ok"
        )
    engine.dispose()
    acknowledged = set(ledger.acknowledged)
    return {
        "acknowledged": len(acknowledged),
        "lost": sum(1 for m in acknowledged if found[m] == 0),
        "lost_kinds": dict(Counter(ledger.acknowledged[m] for m in acknowledged if found[m] == 0)),
        "duplicated": sum(1 for m, n in found.items() if n > 1),
        "failed_but_saved": sum(1 for m in ledger.failed if m not in acknowledged and found[m] == 1),
        "half_applied": int(counters_off or 0) + int(untagged or 0) + int(tags_off or 0),
        "integrity": integrity,
    }


def run_scenario(name: str, fault, server: Server, database_url: str, story_ids: list[int]) -> dict:  # noqa: ANN001
    ledger, stop = Ledger(), threading.Event()
    rng = random.Random(name)
    threads = [
        threading.Thread(
            target=writer,
            args=(
                Member(f"writer{i}@faults.example.com"),
                story_ids,
                ledger,
                stop,
                random.Random(rng.random()),
            ),
            daemon=True,
        )
        for i in range(WRITERS)
    ]
    threads += [
        threading.Thread(
            target=reader, args=(story_ids, ledger, stop, random.Random(rng.random())), daemon=True
        )
        for _ in range(READERS)
    ]
    for thread in threads:
        thread.start()
    time.sleep(SECONDS / 3)
    fault_ended = fault(server, database_url)
    time.sleep(SECONDS)
    stop.set()
    for thread in threads:
        thread.join(timeout=60)
    last_error = max(ledger.errors, default=0.0)
    for sample in ledger.samples[:20]:
        print("   ", sample[:400], flush=True)
    result = reconcile(database_url, ledger)
    result.update(
        scenario=name,
        requests=ledger.requests,
        errors=len(ledger.errors),
        statuses=dict(ledger.statuses),
        recovery_s=round(max(0.0, last_error - fault_ended), 1) if ledger.errors else 0.0,
    )
    return result


def main() -> None:
    CACHE.mkdir(parents=True, exist_ok=True)
    # Stopped from outside (timeout, Ctrl-C): unwind, so the throwaway servers are stopped and removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    plans = [
        (
            "sqlite",
            f"sqlite:///{CACHE / 'village.db'}",
            False,
            [("kill -9 worker", kill_worker), ("read-only database", read_only_sqlite)],
        )
    ]
    only = os.environ.get("FAULTS_DATABASES", "sqlite,postgresql").split(",")
    plans = [plan for plan in plans if plan[0] in only]
    global POSTGRES, REDIS
    if "postgresql" in only:
        POSTGRES, REDIS = ThrowawayPostgres(), ThrowawayRedis()
        if not POSTGRES.available:
            print("faults: no initdb/pg_ctl for a throwaway PostgreSQL; SQLite only", flush=True)
        else:
            scenarios = [("kill -9 worker", kill_worker), ("postgresql restart", restart_postgres)]
            if REDIS.binary:
                scenarios.append(("redis stop/start", bounce_redis))
            else:
                print("faults: no redis-server; PostgreSQL runs without Redis", flush=True)
            plans.append(("postgresql", POSTGRES.url, bool(REDIS.binary), scenarios))
    results = []
    try:
        for db_name, url, redis, scenarios in plans:
            if db_name == "postgresql":
                assert POSTGRES is not None and REDIS is not None
                POSTGRES.start()
                if redis:
                    REDIS.start()
                print(
                    f"faults: throwaway PostgreSQL on port {POSTGRES.port}, Redis on {REDIS.port}", flush=True
                )
            story_ids = fresh_site(url, redis)
            server = Server(env_for(url, redis))
            try:
                for name, fault in scenarios:
                    outcome = run_scenario(name, fault, server, url, story_ids)
                    outcome["db"] = db_name
                    results.append(outcome)
                    print(_row(outcome), flush=True)
            finally:
                server.stop()
    finally:
        if POSTGRES is not None:
            POSTGRES.stop()
        if REDIS is not None:
            REDIS.remove()
    print(
        "faults: "
        + " ".join(
            [
                f"acknowledged={sum(r['acknowledged'] for r in results)}",
                f"lost={sum(r['lost'] for r in results)}",
                f"duplicated={sum(r['duplicated'] for r in results)}",
                f"worst_recovery_s={max((r['recovery_s'] for r in results), default=0.0):.1f}",
            ]
        )
    )
    bad = any(r["lost"] or r["duplicated"] or r["half_applied"] or r["integrity"] != "ok" for r in results)
    sys.exit(1 if bad else 0)


def _row(r: dict) -> str:
    return (
        f"{r['db']:<11} {r['scenario']:<20} requests={r['requests']:<6} errors={r['errors']:<5} "
        f"acknowledged={r['acknowledged']:<5} lost={r['lost']} duplicated={r['duplicated']} "
        f"half_applied={r['half_applied']} failed_but_saved={r['failed_but_saved']} "
        f"integrity={r['integrity']} recovery_s={r['recovery_s']}"
        + (
            f"\n{'':<11} failed requests by status {r['statuses']}; lost by kind {r['lost_kinds']}"
            if r["errors"] or r["lost"]
            else ""
        )
    )


if __name__ == "__main__":
    main()
