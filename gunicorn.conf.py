"""Production defaults for `gunicorn -c gunicorn.conf.py wsgi:app` (every value can be overridden by env)."""

import multiprocessing
import os

bind = os.environ.get("BIND", "127.0.0.1:8000")
# Each worker holds its own copy of the embedding model (~70 MB) and story index: size by cores, not threads.
workers = int(os.environ.get("WEB_CONCURRENCY", min(multiprocessing.cpu_count() * 2 + 1, 8)))
threads = int(os.environ.get("GUNICORN_THREADS", 1))
worker_class = "gthread" if threads > 1 else "sync"
timeout = int(os.environ.get("GUNICORN_TIMEOUT", 30))
graceful_timeout = 20
keepalive = 5
# The similarity model must be created after the fork (lazily, on first use), never in the master.
preload_app = False
# Workers are not recycled by default: each holds the model and the story index, which a new worker must load
# again (a latency spike), and memory is steady. Set GUNICORN_MAX_REQUESTS to recycle after that many requests.
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", 0))
max_requests_jitter = max_requests // 10
# Trust X-Forwarded-* only from the local reverse proxy; set PROXY_FIX_HOPS=1 for the app as well.
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")
accesslog = os.environ.get("GUNICORN_ACCESS_LOG") or None
errorlog = "-"
# Workers serve pages and never migrate (`flask db upgrade` runs before them): no alembic in their memory.
raw_env = ["VILLAGE_ENV=production", "VILLAGE_MIGRATIONS=0"]
for name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(name, "1")
