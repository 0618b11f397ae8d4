"""`flask users ...`: manage members from the command line."""
from flask.cli import AppGroup

users_cli = AppGroup("users", help="Manage members.")
