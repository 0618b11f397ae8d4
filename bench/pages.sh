#!/usr/bin/env bash
# Page speed side by side (Village on SQLite and PostgreSQL, hello-world, FlaskBB): see bench/pages.py.
# Usage: bench/pages.sh            env: STORIES=100000 DUR=10s RUNS=2 CONN=16 FLASKBB_DIR=... BENCH_POSTGRES_URL=...
set -euo pipefail
cd "$(dirname "$0")/.."
make install >/dev/null
command -v wrk >/dev/null || { export DEBIAN_FRONTEND=noninteractive; apt-get install -y -qq wrk >/dev/null; }
exec .venv/bin/python bench/pages.py "$@"
