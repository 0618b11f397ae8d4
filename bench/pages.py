"""Page speed side by side: Village (SQLite and PostgreSQL) against a bare Flask "hello world" and FlaskBB.

    bench/pages.sh                      # or: .venv/bin/python bench/pages.py
    STORIES=100000 DUR=10s RUNS=2 CONN=16 bench/pages.sh
    WORKERS=5 bench/pages.sh            # every app with production's worker count on 2 cores
    MEMBER_PAGES=home,story BENCH_DATABASES=postgresql bench/pages.sh   # fewer rows

Every app runs under gunicorn with the same flags (2 sync workers, or WORKERS=n) on 127.0.0.1 and is loaded with
wrk through the kit in ../shared/peers/flaskbb (setup.sh, serve.sh, bench.sh), in one session so the machine's
noise hits all of them alike. Village runs in production mode: on SQLite alone (the embedded default) and on
PostgreSQL with Redis (the production setup). Databases are seeded with bench/seed.py on first use and kept in
bench/.cache.
Signed-out pages are served as a visitor sees them (the page cache is part of the product); the signed-in rows
go around it: a member (member1 of the seed) reading the home page, the busiest tag, a story with 50 replies,
/not-alone, her notifications and the compose page ("<page>-member"), and posting a reply ("reply-post").
Writes run with the per-member write limits off (`RATELIMIT_ENABLED=0`): otherwise the benchmark would measure
the limiter turning it away.

Prints one table: req/s, p50/p99 latency, worker CPU ms per request, ratio to hello-world and to the matching
FlaskBB page, and the largest worker's RSS after the run and at its peak; for the signed-in rows also the whole
machine's CPU ms per request ("all ms": PostgreSQL, Redis and wrk besides the workers) and how busy its cores were.
Writes it to bench/results/pages-<time>.txt.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import statistics
import subprocess
import sys
import time
import urllib.parse
import urllib.request
from pathlib import Path

from benchlib import postgres_reachable  # bench/ is the running script's folder, so on sys.path

ROOT = Path(__file__).resolve().parent.parent
KIT = Path(os.environ.get("FLASKBB_KIT", ROOT.parent / "shared" / "peers" / "flaskbb"))
CACHE = ROOT / "bench" / ".cache"
PEER_DIR = Path(os.environ.get("FLASKBB_DIR", CACHE / "flaskbb"))
STORIES = int(os.environ.get("STORIES", 100_000))
DUR, RUNS, CONN = (
    os.environ.get("DUR", "10s"),
    int(os.environ.get("RUNS", 2)),
    int(os.environ.get("CONN", 16)),
)
# The signed-in rows to run (all by default): MEMBER_PAGES=home,story bench/pages.sh
MEMBER_PAGES = os.environ.get("MEMBER_PAGES", "home,tag,story,notalone,notices,compose").split(",")
# Which Village databases to run: BENCH_DATABASES=postgresql skips SQLite.
BENCH_DATABASES = os.environ.get("BENCH_DATABASES", "sqlite,postgresql").split(",")
PG_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/village_bench")
REDIS_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/3")
PORT_OURS = int(os.environ.get("PAGES_PORT", 18501))  # another port when two benches share the machine
PORT_PEER = int(os.environ.get("PAGES_PEER_PORT", 18401))
# Sync workers per app, the same for all three: 2 by default (the kit's anchor session); WORKERS=5 is what
# gunicorn.conf.py starts on 2 cores in production (2 x cores + 1), where a worker waiting on PostgreSQL or
# Redis leaves its core to another.
WORKERS = int(os.environ.get("WORKERS", 2))
PASSWORD = "village bench password"
# Our page -> the FlaskBB page it is compared with.
MATCHING = {"home": "index", "deep": "forum", "tag": "forum", "story": "topic", "search": "search"}


def run(cmd: list[str], **kwargs) -> str:
    return subprocess.run(cmd, check=True, text=True, capture_output=True, **kwargs).stdout


def wrk_env(label: str, out: Path, pidfile: Path) -> dict[str, str]:
    return {
        **os.environ,
        "DUR": DUR,
        "RUNS": str(RUNS),
        "CONN": str(CONN),
        "LABEL": label,
        "OUT": str(out),
        "PIDFILE": str(pidfile),
    }


def parse_table(path: Path) -> dict[str, dict[str, float]]:
    rows = {}
    for line in path.read_text().splitlines()[1:]:
        parts = line.split()
        if len(parts) >= 7 and parts[2].replace(".", "").isdigit():
            rows[parts[1]] = {
                "rps": float(parts[2]),
                "p50": float(parts[3]),
                "p99": float(parts[5]),
                "cpu": float(parts[6]),
                # bench.sh ends a row with "<errors> http=<status of a probe> bytes=<size>"
                "errors": int(m.group(1)) if (m := re.search(r"(\d+) http=", line)) else 0,
            }
    return rows


def worker_rss_mb(pidfile: Path) -> tuple[float, float]:
    """The largest worker's resident memory now and its peak (VmRSS, VmHWM), in MB."""
    master = pidfile.read_text().strip()
    now = peak = 0.0
    for pid in run(["ps", "-o", "pid=", "--ppid", master]).split():
        status = Path(f"/proc/{pid}/status").read_text()
        now = max(now, int(re.search(r"VmRSS:\s+(\d+)", status).group(1)) / 1024)
        peak = max(peak, int(re.search(r"VmHWM:\s+(\d+)", status).group(1)) / 1024)
    return now, peak


# --- the peers -------------------------------------------------------------------------------------------


def ensure_flaskbb() -> None:
    if not (PEER_DIR / "venv").exists() or not list((PEER_DIR / "data").glob(".seeded-*")):
        PEER_DIR.mkdir(parents=True, exist_ok=True)
        print("pages: installing and seeding FlaskBB (first run only, ~3 min)", flush=True)
        subprocess.run(["bash", str(KIT / "setup.sh"), str(PEER_DIR), "2000"], check=True)


def bench_peer(app: str, label: str, targets: list[str], out: Path) -> dict[str, dict[str, float]]:
    subprocess.run(
        ["bash", str(KIT / "serve.sh"), str(PEER_DIR), str(PORT_PEER), str(WORKERS), "1", app], check=True
    )
    try:
        pidfile = PEER_DIR / f"gunicorn-{PORT_PEER}.pid"
        subprocess.run(
            ["bash", str(KIT / "bench.sh"), f"http://127.0.0.1:{PORT_PEER}", *targets],
            check=True,
            env=wrk_env(label, out, pidfile),
        )
        rows = parse_table(out / "table.txt")
        rss, peak = worker_rss_mb(pidfile)
        for row in rows.values():
            row["rss"], row["peak"] = rss, peak
        return rows
    finally:
        subprocess.run(["bash", str(KIT / "serve.sh"), str(PEER_DIR), str(PORT_PEER), "stop"], check=False)


# --- Village -----------------------------------------------------------------------------------------------


def village_env(database_url: str, redis: bool) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "VILLAGE_ENV": "production",
        "SECRET_KEY": "bench-secret",
        "SESSION_COOKIE_SECURE": "0",
        "RATELIMIT_ENABLED": "0",
        "VILLAGE_INSTANCE_PATH": str(CACHE / "instance"),
    }
    env.pop("REDIS_URL", None)
    if redis:
        env["REDIS_URL"] = REDIS_URL
    return env


def ensure_seeded(database_url: str) -> None:
    if database_url.startswith("postgresql"):
        import sqlalchemy as sa

        server = sa.create_engine(database_url.rsplit("/", 1)[0] + "/postgres", isolation_level="AUTOCOMMIT")
        with server.connect() as conn:
            name = database_url.rsplit("/", 1)[1]
            if not conn.scalar(sa.text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
                conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
        server.dispose()
    count = stories_in(database_url)
    if count == 0:
        print(f"pages: seeding {STORIES:,} stories into {database_url} (first run only)", flush=True)
        subprocess.run(
            [sys.executable, str(ROOT / "bench" / "seed.py"), str(STORIES)],
            check=True,
            env=village_env(database_url, redis=False),
        )
    elif count != STORIES:
        print(f"pages: note: {database_url} holds {count:,} stories, not {STORIES:,}", flush=True)


def stories_in(database_url: str) -> int:
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    try:
        with engine.connect() as conn:
            return conn.scalar(sa.text("SELECT count(*) FROM stories")) or 0
    except sa.exc.OperationalError:
        return 0
    except sa.exc.ProgrammingError:
        return 0
    finally:
        engine.dispose()


def pick_targets(database_url: str) -> dict[str, str]:
    """Paths for each page, read from the seeded database."""
    code = r"""
import json, sqlalchemy as sa
from forum import create_app
from forum.extensions import db
from forum.feeds.queries import encode_cursor
from forum.models import Story, Tag, Status
app = create_app()
with app.app_context():
    published = sa.select(Story).where(Story.status == Status.PUBLISHED.value)
    deep = db.session.scalars(published.order_by(Story.created_at.desc(), Story.id.desc()).offset(1000).limit(1)).one()
    # The story page read is a story with 50 to 99 replies; replies are posted to another (the last with 50 or
    # more), so the story read does not grow by every run's posted replies (one reached 6,881 replies by one
    # member, and its page was measured reading them).
    long = db.session.scalar(published.where(Story.reply_count.between(50, 99)).order_by(Story.id).limit(1))
    target = db.session.scalar(published.where(Story.reply_count >= 50).order_by(Story.id.desc()).limit(1))
    tag = db.session.scalar(sa.select(Tag.name).order_by(Tag.story_count.desc()).limit(1))
    similar = db.session.scalar(published.where(Story.embedding.is_not(None)).order_by(Story.id.desc()).limit(1))
    print(json.dumps({"deep": encode_cursor(deep.created_at, deep.id), "long": long.id, "tag": tag,
                      "similar": similar.id, "target": target.id}))
"""
    found = json.loads(
        run([sys.executable, "-c", code], env=village_env(database_url, redis=False), cwd=ROOT)
        .strip()
        .splitlines()[-1]
    )
    return {
        "home": "/",
        "deep": f"/?cursor={urllib.parse.quote(found['deep'])}",
        "tag": f"/tags/{found['tag']}",
        "story": f"/stories/{found['long']}",
        "search": "/search?q=teacher",
        "similar": f"/api/stories/{found['similar']}/similar",
        "_reply_story": str(found["target"]),
    }


def serve_village(env: dict[str, str], pidfile: Path, checkout: Path = ROOT) -> subprocess.Popen:
    """gunicorn serving this checkout (or another one, with this checkout's virtualenv: bench/member_ab.py)."""
    log = CACHE / "village-gunicorn.log"
    process = subprocess.Popen(
        [
            str(ROOT / ".venv" / "bin" / "gunicorn"),
            "-c",
            str(checkout / "gunicorn.conf.py"),
            "-b",
            f"127.0.0.1:{PORT_OURS}",
            "-w",
            str(WORKERS),
            "--worker-class",
            "sync",
            "--pid",
            str(pidfile),
            "--timeout",
            "60",
            "--log-level",
            "warning",
            "--no-control-socket",
            "wsgi:app",
        ],
        cwd=checkout,
        env={**env, "PYTHONPATH": str(checkout)},
        stdout=log.open("ab"),
        stderr=subprocess.STDOUT,
    )
    for _ in range(300):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{PORT_OURS}/", timeout=2)
            if pidfile.exists():
                return process
        except OSError:
            pass
        time.sleep(0.2)
    process.kill()
    raise SystemExit(f"pages: Village did not come up; see {log}")


# The browser the signed-in rows are: the sign-in and every request after it say the same User-Agent, as one
# browser does. (Flask-Login's session protection compares it with the one at sign-in: wrk's requests without
# it marked the session not fresh on every request, so each answer re-signed and set the session cookie, work
# a member's browser never causes.)
BROWSER = "Mozilla/5.0 (X11; Linux x86_64) village-bench"


def sign_in(base: str) -> tuple[str, str]:
    """A seeded member's session cookie and a CSRF token for it, signed in as BROWSER."""
    import http.cookiejar

    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.addheaders = [("User-Agent", BROWSER)]
    page = opener.open(base + "/login").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    data = urllib.parse.urlencode(
        {"csrf_token": token, "identifier": "member1@seed.example.com", "password": PASSWORD}
    ).encode()
    opener.open(base + "/login", data)
    page = opener.open(base + "/stories/new").read().decode()
    token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
    cookie = "; ".join(f"{c.name}={c.value}" for c in jar)
    if "village_session" not in cookie:
        raise SystemExit("pages: could not sign in as the seeded member")
    return cookie, token


def read_script(cookie: str) -> str:
    """wrk Lua reading a page as the signed-in member's browser."""
    return f'wrk.headers["Cookie"]=[[{cookie}]]\nwrk.headers["User-Agent"]="{BROWSER}"\n'


def post_script(cookie: str, token: str, path: str, fields: str) -> str:
    """wrk Lua posting a form as the signed-in member: `fields` is a Lua format string given the thread's number,
    the request's number and the time (each thread its own texts)."""
    return f"""
local counter, thread_id = 0, 0
local threads = {{}}
function setup(thread) thread:set("id", #threads + 1); table.insert(threads, thread) end
function init(args) thread_id = id end
function request()
  counter = counter + 1
  local body = "csrf_token={token}&" .. string.format("{fields}", thread_id, counter, os.time())
  return wrk.format("POST", "{path}",
    {{["Cookie"]=[[{cookie}]], ["User-Agent"]="{BROWSER}", ["Content-Type"]="application/x-www-form-urlencoded"}}, body)
end
"""


def reply_script(cookie: str, token: str, story: str) -> str:
    """Replies to one story, as the reply row posts them (undo_earlier_writes finds them by their opening)."""
    return post_script(
        cookie, token, f"/stories/{story}/replies", "body=Sending+hugs+from+a+bench+run,+thread+%d+reply+%d"
    )


def wrk_signed_in(base: str, label: str, name: str, path: str, lua: str, out: Path, pidfile: Path) -> dict:
    """wrk with a member's cookie, same flags as bench.sh; CPU from the workers' /proc counters."""
    script = out / f"{name}.lua"
    script.write_text(lua)
    subprocess.run(["wrk", "-t2", f"-c{CONN}", "-d3s", "-s", str(script), base + path], capture_output=True)
    rps, p50, p99, cpu, machine, busy, errors = [], [], [], [], [], [], 0
    for _ in range(RUNS):
        before, machine_before = _ticks(pidfile), machine_ticks()
        result = run(
            [
                "wrk",
                "-t2",
                f"-c{CONN}",
                f"-d{DUR}",
                "--latency",
                "--timeout",
                "10s",
                "-s",
                str(script),
                base + path,
            ]
        )
        ticks = _ticks(pidfile) - before
        machine_after = machine_ticks()
        (out / f"{name}.run{len(rps) + 1}").write_text(result)
        if not re.search(r"^\s*50%\s+\S+", result, re.M):
            raise SystemExit(f"pages: wrk gave no latencies for {label} {name}:\n{result}")
        requests = int(re.search(r"(\d+) requests in", result).group(1))
        rps.append(float(re.search(r"Requests/sec:\s+([\d.]+)", result).group(1)))
        p50.append(_ms(re.search(r"^\s*50%\s+(\S+)", result, re.M).group(1)))
        p99.append(_ms(re.search(r"^\s*99%\s+(\S+)", result, re.M).group(1)))
        cpu.append(ticks * 1000 / os.sysconf("SC_CLK_TCK") / max(requests, 1))
        all_ms, busy_percent = machine_cost(machine_before, machine_after, requests)
        machine.append(all_ms)
        busy.append(busy_percent)
        errors += int(m.group(1)) if (m := re.search(r"Non-2xx or 3xx responses: (\d+)", result)) else 0
    return {
        "rps": statistics.median(rps),
        "p50": statistics.median(p50),
        "p99": statistics.median(p99),
        "cpu": statistics.median(cpu),
        "machine": statistics.median(machine),
        "busy": statistics.median(busy),
        "errors": errors,
    }


def machine_ticks() -> tuple[int, int]:
    """(busy, all) CPU ticks of the whole machine, every core, from /proc/stat: what the request cost outside the
    workers too (PostgreSQL, Redis, wrk), and whether the cores were saturated."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle and iowait
    return sum(fields) - idle, sum(fields)


def machine_cost(before: tuple[int, int], after: tuple[int, int], requests: int) -> tuple[float, float]:
    """(the whole machine's CPU ms per request, how busy its cores were in %) between two machine_ticks()."""
    used, elapsed = after[0] - before[0], after[1] - before[1]
    return used * 1000 / os.sysconf("SC_CLK_TCK") / max(requests, 1), 100 * used / max(elapsed, 1)


def worker_pids(pidfile: Path) -> list[int]:
    """The gunicorn workers of the master in this pid file."""
    return [int(pid) for pid in run(["ps", "-o", "pid=", "--ppid", pidfile.read_text().strip()]).split()]


def process_ticks(pid: int) -> tuple[str, int, int]:
    """(name, user ticks, system ticks) of one process, from /proc/<pid>/stat (OSError once it is gone)."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat.rsplit(")", 1)[1].split()
    return stat[stat.index("(") + 1 : stat.rindex(")")], int(fields[11]), int(fields[12])


def _ticks(pidfile: Path) -> int:
    return sum(user + system for _name, user, system in map(process_ticks, worker_pids(pidfile)))


def _ms(value: str) -> float:
    number = float(re.match(r"[\d.]+", value).group(0))
    return (
        number / 1000
        if value.endswith("us")
        else number * 1000
        if value.endswith("s") and not value.endswith("ms")
        else number
    )


BENCH_REPLY = "Sending hugs from a bench run,%"


def undo_earlier_writes(database_url: str) -> None:
    """Take out what earlier runs' reply rows wrote (their replies, the story author's notifications about them,
    the jobs they queued: bench databases have no job worker), recount the stories they went to, and ANALYZE, so
    every run starts from the seeded database. Left in, they piled up (16,000 replies by one member to one story,
    24,000 notifications for its author after a few runs) and the planner's figures, either stale or fresh,
    sent PostgreSQL scanning them: the reply row fell from 150 to 94 req/s with the seed's figures, and with fresh
    ones the members' pages halved (the sign-in statement's unread count became a scan of all notifications)."""
    import sqlalchemy as sa

    engine = sa.create_engine(database_url)
    bench = "SELECT id FROM replies WHERE body LIKE :bench"
    try:
        with engine.begin() as conn:
            stories = list(
                conn.scalars(
                    sa.text("SELECT DISTINCT story_id FROM replies WHERE body LIKE :bench"),
                    {"bench": BENCH_REPLY},
                )
            )
            if stories:
                conn.execute(
                    sa.text(f"DELETE FROM notifications WHERE reply_id IN ({bench})"), {"bench": BENCH_REPLY}
                )
                conn.execute(
                    sa.text(f"DELETE FROM reactions WHERE reply_id IN ({bench})"), {"bench": BENCH_REPLY}
                )
                conn.execute(sa.text("DELETE FROM replies WHERE body LIKE :bench"), {"bench": BENCH_REPLY})
                conn.execute(
                    sa.text(
                        "UPDATE stories SET reply_count = (SELECT count(*) FROM replies r WHERE r.story_id = stories.id"
                        " AND r.status = 'published') WHERE id IN :ids"
                    ).bindparams(sa.bindparam("ids", expanding=True)),
                    {"ids": stories},
                )
            conn.execute(sa.text("DELETE FROM jobs"))
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            # On PostgreSQL the rows taken out are dead until vacuumed, and autovacuum may not have come by: the
            # jobs table held 194,700 of them after an evening of runs. Index entries too: a plain VACUUM skips the
            # indexes when few pages hold dead rows, and left 76,505 dead entries in the stories' indexes (each
            # reply's counter update writes new ones), scanned past by later runs. About 10 s here.
            vacuum = (
                "VACUUM (INDEX_CLEANUP ON, ANALYZE)" if engine.dialect.name == "postgresql" else "ANALYZE"
            )
            conn.execute(sa.text(vacuum))
    finally:
        engine.dispose()


def bench_village(db_label: str, database_url: str, redis: bool, out: Path) -> dict[str, dict[str, float]]:
    ensure_seeded(database_url)
    undo_earlier_writes(database_url)
    env = village_env(database_url, redis)
    if redis:
        subprocess.run(["redis-cli", "-n", REDIS_URL.rsplit("/", 1)[1], "FLUSHDB"], capture_output=True)
    targets = pick_targets(database_url)
    pidfile = CACHE / f"village-{PORT_OURS}.pid"
    server = serve_village(env, pidfile)
    base = f"http://127.0.0.1:{PORT_OURS}"
    try:
        get_targets = [f"{name}={path}" for name, path in targets.items() if not name.startswith("_")]
        print(
            "pages: village-{} worker RSS after start {:.0f} MB (peak {:.0f})".format(
                db_label, *worker_rss_mb(pidfile)
            ),
            flush=True,
        )
        subprocess.run(
            ["bash", str(KIT / "bench.sh"), base, *get_targets],
            check=True,
            env=wrk_env(f"village-{db_label}", out, pidfile),
        )
        rows = parse_table(out / "table.txt")
        print(
            "pages: village-{} worker RSS after visitors {:.0f} MB (peak {:.0f})".format(
                db_label, *worker_rss_mb(pidfile)
            ),
            flush=True,
        )
        cookie, token = sign_in(base)
        read_lua = read_script(cookie)
        # A member's pages: the feed, a tag page, a 50-reply story, her similar stories, notifications, compose.
        member_pages = {
            "home": "/",
            "tag": targets["tag"],
            "story": targets["story"],
            "notalone": "/not-alone",
            "notices": "/notifications",
            "compose": "/stories/new",
        }
        for page, path in member_pages.items():
            if page in MEMBER_PAGES:
                name = f"{page}-member"
                rows[name] = wrk_signed_in(base, db_label, name, path, read_lua, out, pidfile)
        story = targets["_reply_story"]
        reply_lua = reply_script(cookie, token, story)
        rows["reply-post"] = wrk_signed_in(
            base, db_label, "reply-post", f"/stories/{story}/replies", reply_lua, out, pidfile
        )
        rss, peak = worker_rss_mb(pidfile)
        for row in rows.values():
            row["rss"], row["peak"] = rss, peak
        return rows
    finally:
        server.terminate()
        server.wait(timeout=30)


def main() -> None:
    if not shutil.which("wrk"):
        raise SystemExit("pages: wrk is missing (apt-get install -y wrk)")
    CACHE.mkdir(parents=True, exist_ok=True)
    stamp = time.strftime("%Y%m%d-%H%M%S")
    out = CACHE / "pages" / stamp
    ensure_flaskbb()
    results: dict[str, dict[str, dict[str, float]]] = {}
    results["hello"] = bench_peer("hello:app", "hello", ["hello=/"], out / "hello")
    results["flaskbb"] = bench_peer(
        "wsgi:app",
        "flaskbb",
        [
            "index=/",
            "forum=/forum/2",
            "topic=/topic/100",
            "search=/search@csrf_token={csrf}&search_query=parent0042&search_types=post",
        ],
        out / "flaskbb",
    )
    databases = []
    if "sqlite" in BENCH_DATABASES:
        sqlite_url = os.environ.get("BENCH_SQLITE_URL", f"sqlite:///{CACHE / f'village-{STORIES}.db'}")
        databases.append(("sqlite", sqlite_url, False))
    if "postgresql" not in BENCH_DATABASES:
        pass  # not asked for
    elif postgres_reachable(PG_URL):
        databases.append(("postgresql", PG_URL, True))
    else:
        print("pages: PostgreSQL not reachable; SQLite only", flush=True)
    for label, url, redis in databases:
        results[f"village-{label}"] = bench_village(label, url, redis, out / label)
    table = render(results)
    print(table)
    (ROOT / "bench" / "results").mkdir(exist_ok=True)
    (ROOT / "bench" / "results" / f"pages-{stamp}.txt").write_text(table + "\n")
    (out / "results.json").write_text(json.dumps(results, indent=1))


def render(results: dict[str, dict[str, dict[str, float]]]) -> str:
    hello = results["hello"]["hello"]
    peer = results["flaskbb"]
    lines = [
        f"pages: {STORIES:,} Village stories; FlaskBB 2,000 topics / 20,000 posts; {WORKERS} sync workers each; "
        f"wrk -t2 -c{CONN} -d{DUR} x{RUNS}, medians; load {os.getloadavg()[0]:.1f}",
        f"{'app':<18} {'page':<15} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms':>7} {'x hello':>8} "
        f"{'x flaskbb':>10} {'rss MB':>7} {'peak MB':>7} {'errors':>6} {'all ms':>7} {'busy %':>6}",
    ]
    for app, rows in results.items():
        for page, row in rows.items():
            match = MATCHING.get(page.split("-")[0]) if app.startswith("village") else None
            ratio = f"{row['rps'] / peer[match]['rps']:.1f}" if match and match in peer else "-"
            lines.append(
                f"{app:<18} {page:<15} {row['rps']:>8.0f} {row['p50']:>7.2f} {row['p99']:>7.2f} "
                f"{row['cpu']:>7.2f} {row['rps'] / hello['rps']:>8.3f} {ratio:>10} {row.get('rss', 0):>7.0f} "
                f"{row.get('peak', 0):>7.0f} {row['errors']:>6.0f} "
                + (
                    f"{row['machine']:>7.2f} {row['busy']:>6.0f}"
                    if "machine" in row
                    else f"{'-':>7} {'-':>6}"
                )
            )
    return "\n".join(lines)


if __name__ == "__main__":
    main()
