"""WSGI entry point: `gunicorn wsgi:app` or `flask --app wsgi ...`."""

import gc

from forum import create_app

app = create_app()

# What start-up made (modules, the ORM's mappers, compiled statements and templates) lives as long as the
# worker: out of the collector's sight, so its full collections no longer walk those objects again and again
# (each of them cost a worker tens of milliseconds; see README, Performance).
gc.freeze()
