"""Interleaved A/B of signed-in pages: the same seeded database served by two checkouts of Village in turn.

    bench/member_ab.py BASE_DIR [--pages story,notices,reply] [--databases postgresql] [--rounds 3]

BASE_DIR is another checkout (e.g. `git worktree add /tmp/village-base HEAD~1`); it runs with this checkout's
virtualenv and model files. Each round serves each side with gunicorn (2 sync workers, as bench/pages.py),
signs in the seeded member, and loads each page with wrk (bench/pages.py's flags and CPU counters); "reply" is
pages.py's reply row (posting replies to the 50-reply story; earlier runs' replies are taken out first). Rounds
alternate the order of the sides, so a noisy host's drift falls on both. Prints one row per side, round and page.
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import tempfile
from pathlib import Path

import pages

MODEL_DIR = Path("forum") / "similar" / "model"


def serve(checkout: Path, env: dict[str, str], pidfile: Path) -> subprocess.Popen:
    """pages.serve_village for this checkout, with this checkout's model files (generated at install, not in git)."""
    model = checkout / MODEL_DIR
    for item in (pages.ROOT / MODEL_DIR).iterdir():
        if not (model / item.name).exists():
            (model / item.name).symlink_to(item)
    return pages.serve_village(env, pidfile, checkout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("base", type=Path)
    parser.add_argument("--pages", default="story")
    parser.add_argument("--databases", default="postgresql")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    sides = {"base": args.base.resolve(), "new": pages.ROOT}
    urls = {"sqlite": f"sqlite:///{pages.CACHE / f'village-{pages.STORIES}.db'}", "postgresql": pages.PG_URL}
    results: dict[tuple[str, str, str], list[dict]] = {}
    out = Path(tempfile.mkdtemp(prefix="member-ab-"))
    for database in args.databases.split(","):
        url = urls[database]
        pages.undo_earlier_writes(url)
        targets = pages.pick_targets(url)
        paths = {"home": "/", "tag": targets["tag"], "story": targets["story"], "notalone": "/not-alone"}
        paths |= {"notices": "/notifications", "compose": "/stories/new", "reply": targets["story"]}
        reply_story = targets["_reply_story"]
        env = pages.village_env(url, redis=database == "postgresql")
        for number in range(args.rounds):
            order = list(sides) if number % 2 == 0 else list(reversed(sides))
            for side in order:
                if "reply" in args.pages:
                    pages.undo_earlier_writes(url)  # each side's replies start from the seeded thread
                if database == "postgresql":
                    subprocess.run(
                        ["redis-cli", "-n", pages.REDIS_URL.rsplit("/", 1)[1], "FLUSHDB"], check=True
                    )
                pidfile = out / f"{side}.pid"
                server = serve(sides[side], env, pidfile)
                try:
                    base = f"http://127.0.0.1:{pages.PORT_OURS}"
                    cookie, token = pages.sign_in(base)
                    for page in args.pages.split(","):
                        # A fresh worker loads the similar-stories index on its first story page (seconds at
                        # 100k): warm both workers up well past it (bench/pages.py's visitor rows do that there).
                        warm = ["wrk", "-t2", f"-c{pages.CONN}", "-d15s", base + paths[page]]
                        subprocess.run(warm, capture_output=True, check=True)
                        path, script = paths[page], pages.read_script(cookie)
                        if page == "reply":
                            path = f"/stories/{reply_story}/replies"
                            script = pages.reply_script(cookie, token, reply_story)
                        row = pages.wrk_signed_in(
                            base, database, f"{side}-{page}", path, script, out, pidfile
                        )
                        results.setdefault((database, page, side), []).append(row)
                        print(
                            f"{database:10} {page:8} {side:4} round {number + 1}: {row['rps']:7.0f} req/s"
                            f"  p99 {row['p99']:6.1f} ms  cpu {row['cpu']:5.2f} ms  all {row['machine']:5.2f} ms"
                            f"  busy {row['busy']:3.0f}%  errors {row['errors']}",
                            flush=True,
                        )
                finally:
                    server.terminate()
                    server.wait(timeout=30)
    print(f"\nmedians over {args.rounds} rounds (wrk -t2 -c{pages.CONN} -d{pages.DUR} x{pages.RUNS} each):")
    for (database, page, side), rows in sorted(results.items()):
        rps = statistics.median(r["rps"] for r in rows)
        cpu = statistics.median(r["cpu"] for r in rows)
        p99 = statistics.median(r["p99"] for r in rows)
        print(f"{database:10} {page:8} {side:4} {rps:7.0f} req/s  p99 {p99:6.1f} ms  cpu {cpu:5.2f} ms")


if __name__ == "__main__":
    main()
