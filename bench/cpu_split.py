"""Where the machine's CPU goes while one signed-in row of bench/pages.sh runs: per kind of process (the gunicorn
workers, PostgreSQL, Redis), user and system time, per request, and how busy the cores were.

    .venv/bin/python bench/cpu_split.py story            # or home, tag, reply, a path: /stories/5
    WORKERS=5 .venv/bin/python bench/cpu_split.py reply --rounds 3

Serves this checkout on the PostgreSQL + Redis bench database as pages.py does (production settings, write
limits off, WORKERS sync workers) and loads it with wrk at pages.py's concurrency, 10 s per round after a warm-up.
A process's CPU is read from /proc before and after each round; wrk's own share is what "all" holds beyond the
listed processes. A row that leaves the cores idle is waiting (WAL flushes, round trips), not computing.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import pages  # noqa: E402


def every_process_ticks() -> dict[int, tuple[str, int, int]]:
    """pid -> (name, user ticks, system ticks) of every process on the machine."""
    found = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                found[int(entry.name)] = pages.process_ticks(int(entry.name))
            except OSError:
                pass  # gone meanwhile
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("page", help="home, tag, story, reply, or a path")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--dur", default="10s")
    args = parser.parse_args()
    pages.undo_earlier_writes(pages.PG_URL)
    targets = pages.pick_targets(pages.PG_URL)
    pidfile = pages.CACHE / f"village-{pages.PORT_OURS}.pid"
    out = pages.CACHE / "cpu-split"
    out.mkdir(parents=True, exist_ok=True)
    server = pages.serve_village(pages.village_env(pages.PG_URL, True), pidfile)
    try:
        base = f"http://127.0.0.1:{pages.PORT_OURS}"
        subprocess.run(["wrk", "-t2", f"-c{pages.CONN}", "-d8s", base + "/"], capture_output=True, check=True)
        cookie, token = pages.sign_in(base)
        if args.page == "reply":
            path = f"/stories/{targets['_reply_story']}/replies"
            script = pages.reply_script(cookie, token, targets["_reply_story"])
        else:
            path, script = targets.get(args.page, args.page), pages.read_script(cookie)
        lua = out / "row.lua"
        lua.write_text(script)
        wrk = ["wrk", "-t2", f"-c{pages.CONN}", "-s", str(lua)]
        subprocess.run([*wrk, "-d5s", base + path], capture_output=True, check=True)
        tick_ms = 1000 / os.sysconf("SC_CLK_TCK")
        print(f"{args.page} ({path}), {pages.WORKERS} sync workers, wrk -c{pages.CONN} -d{args.dur}")
        for _ in range(args.rounds):
            before, machine_before = every_process_ticks(), pages.machine_ticks()
            result = pages.run([*wrk, f"-d{args.dur}", base + path])
            after, machine_after = every_process_ticks(), pages.machine_ticks()
            requests = int(re.search(r"(\d+) requests in", result).group(1))
            rps = float(re.search(r"Requests/sec:\s+([\d.]+)", result).group(1))
            workers = {int(pidfile.read_text()), *pages.worker_pids(pidfile)}
            kinds: dict[str, list[int]] = {}
            for pid, (name, user, system) in after.items():
                if pid in before:
                    kind = "workers" if pid in workers else name.split("/")[0]
                    spent = kinds.setdefault(kind, [0, 0])
                    spent[0] += user - before[pid][1]
                    spent[1] += system - before[pid][2]
            all_ms, busy = pages.machine_cost(machine_before, machine_after, requests)
            largest = sorted(kinds.items(), key=lambda item: -sum(item[1]))[:3]
            parts = "  ".join(
                f"{kind} {user * tick_ms / requests:.2f}+{system * tick_ms / requests:.2f}"
                for kind, (user, system) in largest
            )
            print(
                f"  {rps:6.0f} req/s  busy {busy:3.0f}%  all {all_ms:.2f} ms/request"
                f"  (user+system ms) {parts}",
                flush=True,
            )
    finally:
        server.terminate()
        server.wait(timeout=30)


if __name__ == "__main__":
    main()
