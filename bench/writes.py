"""Write speed against hello-world in one session: posting a reply and posting a story, under gunicorn (2 sync
workers, wrk -t2 -c16, the flags of bench/pages.py, whose helpers this uses), on an already seeded database.

    DATABASE_URL=sqlite:///…/village.db .venv/bin/python bench/writes.py [--with-worker]

bench/pages.sh's reply-post row is the same measurement on its 100k-story databases; this one runs in a minute
on any seeded database (bench/seed.py), e.g. while pages.sh's are being built. The job worker is not running
by default (as in pages.sh): the follow-up jobs wait in the table, and the script runs them afterwards and
reports their CPU per job separately. With --with-worker a `flask jobs work --forever` process runs beside
gunicorn on the same two cores during the load (req/s then include what the follow-up work takes from them;
"cpu ms" stays the web workers' own).
Writes bench/results/writes-<time>.txt.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import pages  # noqa: E402  (bench/pages.py: serve, sign in, wrk with CPU ticks)

ROOT = pages.ROOT
HELLO = "from flask import Flask\napp = Flask(__name__)\n\n@app.get('/')\ndef index():\n    return 'Hello, World!'\n"


def hello_row(out: Path) -> dict:
    (out / "hello.py").write_text(HELLO)
    pidfile = out / "hello.pid"
    server = subprocess.Popen(
        [
            str(ROOT / ".venv/bin/gunicorn"),
            "-w",
            "2",
            "-b",
            f"127.0.0.1:{pages.PORT_PEER}",
            "--pid",
            str(pidfile),
        ]
        + ["--log-level", "warning", "--chdir", str(out), "hello:app"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            if pidfile.exists():
                break
            time.sleep(0.1)
        time.sleep(1)
        return pages.wrk_signed_in(
            f"http://127.0.0.1:{pages.PORT_PEER}", "hello", "hello", "/", "", out, pidfile
        )
    finally:
        server.terminate()
        server.wait(timeout=30)


def jobs_cpu(env: dict[str, str]) -> str:
    """Run what the writes queued and say what it cost."""
    code = (
        "import time\nfrom forum import create_app\nfrom forum.jobs import worker\n"
        "app = create_app()\nwith app.app_context():\n"
        "    n = worker.pending_count(); t = time.process_time(); r = worker.work_due(limit=100000)\n"
        "    ms = (time.process_time() - t) * 1000\n"
        "    print(f'{n} jobs queued by the writes; worker: {r}; {ms:.0f} ms CPU, {ms / max(n, 1):.1f} ms per job')\n"
    )
    done = subprocess.run([sys.executable, "-c", code], env=env, cwd=ROOT, capture_output=True, text=True)
    return (done.stdout.strip().splitlines() or [done.stderr.strip()[-300:]])[-1]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--with-worker", action="store_true")
    args = parser.parse_args()
    url = os.environ["DATABASE_URL"]
    out = pages.CACHE / "writes" / time.strftime("%Y%m%d-%H%M%S")
    out.mkdir(parents=True, exist_ok=True)
    rows = {"hello": hello_row(out)}
    env = pages.village_env(url, redis=False)
    env.pop("VILLAGE_INSTANCE_PATH")
    env.update({k: v for k, v in os.environ.items() if k in ("VILLAGE_INSTANCE_PATH", "SECRET_KEY")})
    catch_up = (
        "import sys; sys.path.insert(0, 'bench')\nfrom forum import create_app\n"
        "from profile_writes import catch_up_schema\n"
        "with create_app().app_context():\n    catch_up_schema()\n"
    )
    subprocess.run([sys.executable, "-c", catch_up], env=env, cwd=ROOT, check=True)
    story = pages.pick_targets(url)["_reply_story"]
    pidfile = out / "village.pid"
    server = pages.serve_village(env, pidfile)
    worker = None
    if args.with_worker:
        worker = subprocess.Popen(
            [
                str(ROOT / ".venv/bin/flask"),
                "--app",
                "wsgi",
                "jobs",
                "work",
                "--forever",
                "--interval",
                "0.5",
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
    try:
        cookie, token = pages.sign_in(f"http://127.0.0.1:{pages.PORT_OURS}")
        reply = pages.post_script(
            cookie, token, f"/stories/{story}/replies", "body=Sending+hugs,+thread+%d+reply+%d+at+%d"
        )
        new_story = pages.post_script(
            cookie,
            token,
            "/stories/new",
            "title=Bench+story&tags=sleep&body=Bench+run+%d-%d-%d:+my+toddler+has+not+slept+through+the+night+"
            "for+weeks+and+I+am+running+on+empty.+We+tried+a+later+bedtime+and+white+noise.",
        )
        base = f"http://127.0.0.1:{pages.PORT_OURS}"
        for name, script in (("reply-post", reply), ("story-post", new_story)):
            rows[name] = pages.wrk_signed_in(base, "village", name, "/", script, out, pidfile)
    finally:
        server.terminate()
        server.wait(timeout=30)
        if worker:
            worker.terminate()
            worker.wait(timeout=30)
    hello = rows["hello"]["rps"]
    lines = [
        f"writes: {url.split('@')[-1]}; 2 sync workers; wrk -t2 -c{pages.CONN} -d{pages.DUR} x{pages.RUNS}, medians; "
        f"job worker {'running beside gunicorn' if worker else 'stopped (jobs wait)'}; load {os.getloadavg()[0]:.1f}",
        f"{'page':<12} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'cpu ms':>7} {'x hello':>8} {'errors':>6}",
    ]
    for name, row in rows.items():
        lines.append(
            f"{name:<12} {row['rps']:>8.0f} {row['p50']:>7.2f} {row['p99']:>7.2f} {row['cpu']:>7.2f} "
            f"{row['rps'] / hello:>8.3f} {row['errors']:>6.0f}"
        )
    if not worker:
        lines.append("jobs afterwards: " + jobs_cpu(env))
    text = "\n".join(lines)
    print(text)
    (ROOT / "bench" / "results" / f"writes-{time.strftime('%Y%m%d-%H%M%S')}.txt").write_text(text + "\n")


if __name__ == "__main__":
    main()
