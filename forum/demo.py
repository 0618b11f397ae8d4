"""`flask demo load`: realistic demo stories and replies for a new site (only into an empty database)."""
from flask.cli import AppGroup

demo_cli = AppGroup("demo", help="Demo content.")
