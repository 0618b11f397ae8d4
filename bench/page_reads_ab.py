"""In one process, interleaved: a member's page with its reads in her sign-in statement, and with them on their own.

    DATABASE_URL=... [REDIS_URL=...] .venv/bin/python bench/page_reads_ab.py [story|notifications|not-alone] [ROUNDS N]

A page that registers reads with forum.auth.sessions.read_with_sign_in falls back to its own statements when
they are not registered; this takes the registration away and puts it back between rounds of N requests
(default 20 rounds of 100), in the same process, with the same connection, caches and kept pages, so the only
difference is where the reads run. On a noisy host, interleaving in one process is what separates a few tenths of a
millisecond from the machine's drift (two servers started in turn differed by 15% on their own). Prints the
CPU ms per request (time.process_time) and statements per request of each round and their medians; the seeded
member (bench/seed.py) signs in through a server-side login session, as bench/profile_member.py does.
"""

from __future__ import annotations

import statistics
import sys
import time

# Imported first: it puts this checkout on the path and sets the production settings the bench runs with.
from profile_member import signed_in

from forum import create_app
from forum.auth import sessions

ENDPOINTS = {
    "story": "stories.show",
    "notifications": "notifications.index",
    "not-alone": "similar.not_alone",
}


def main() -> None:
    page = sys.argv[1] if len(sys.argv) > 1 else "story"
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 20
    count = int(sys.argv[3]) if len(sys.argv) > 3 else 100
    app = create_app()
    client, targets, statements = signed_in(app, "page-reads-ab")
    path = targets[page]
    registered = sessions._PAGE_READS[ENDPOINTS[page]]
    results: dict[str, list[tuple[float, float]]] = {"with sign-in": [], "own statements": []}
    print(
        f"page_reads_ab: {page} ({path}), {rounds} rounds of {count} requests each way; {time.strftime('%F %T')}"
    )
    for number in range(rounds):
        order = list(results) if number % 2 == 0 else list(reversed(results))
        for mode in order:
            if mode == "with sign-in":
                sessions._PAGE_READS[ENDPOINTS[page]] = registered
            else:
                sessions._PAGE_READS.pop(ENDPOINTS[page], None)
            for _ in range(5):
                assert client.get(path).status_code == 200
            statements.clear()
            start = time.process_time()
            for _ in range(count):
                client.get(path)
            cpu = (time.process_time() - start) * 1000 / count
            results[mode].append((cpu, len(statements) / count))
            print(
                f"round {number + 1:2} {mode:15} {cpu:6.2f} ms  {len(statements) / count:4.1f} statements",
                flush=True,
            )
    sessions._PAGE_READS[ENDPOINTS[page]] = registered
    for mode, rows in results.items():
        cpus = sorted(cpu for cpu, _ in rows)
        print(
            f"{mode:15} median {statistics.median(cpus):6.2f} ms  (quartiles {cpus[len(cpus) // 4]:.2f}-"
            f"{cpus[3 * len(cpus) // 4]:.2f})  {rows[0][1]:.1f} statements per request"
        )


if __name__ == "__main__":
    main()
