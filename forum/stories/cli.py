"""`flask stories ...`: maintenance commands for stories."""
from __future__ import annotations

import click
from flask.cli import AppGroup

from forum.stories.reminders import send_due_reminders

stories_cli = AppGroup("stories", help="Stories: reminders and upkeep.")


@stories_cli.command("send-reminders")
def send_reminders() -> None:
    """Deliver due "add an update" reminders (does nothing between 21:00 and 08:00 site time)."""
    click.echo(f"Sent {send_due_reminders()} update reminder(s).")
