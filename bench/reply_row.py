"""Only the write rows of bench/pages.sh (posting a reply, signed in), on one database: for A/B runs of a change to
the write path without the whole page bench.

    DATABASE_URL=sqlite:///path/to/seeded.db .venv/bin/python bench/reply_row.py [--label now]

Serves the app as pages.sh does (gunicorn, 2 sync workers, production settings, write limits off) and loads it
with the same wrk script, RUNS runs of DUR each (env, as for pages.sh), and prints req/s, p50/p99 and worker CPU
ms per request. The reply goes to the last story with 50 or more replies, as in pages.sh.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import pages  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--label", default="now")
    args = parser.parse_args()
    database_url = os.environ["DATABASE_URL"]
    redis = database_url.startswith("postgresql")
    env = pages.village_env(database_url, redis)
    story = pages.pick_targets(database_url)["_reply_story"]
    pidfile = pages.CACHE / f"village-{pages.PORT_OURS}.pid"
    out = pages.CACHE / "reply-row"
    out.mkdir(parents=True, exist_ok=True)
    server = pages.serve_village(env, pidfile)
    try:
        base = f"http://127.0.0.1:{pages.PORT_OURS}"
        cookie, token = pages.sign_in(base)
        row = pages.wrk_signed_in(
            base,
            "reply-row",
            "reply-post",
            f"/stories/{story}/replies",
            pages.reply_script(cookie, token, story),
            out,
            pidfile,
        )
        row["rss"] = pages.worker_rss_mb(pidfile)[0]
    finally:
        server.terminate()
        server.wait()
    print(json.dumps({"label": args.label, **row}))


if __name__ == "__main__":
    main()
