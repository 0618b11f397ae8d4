"""`flask mail deliver` (once, for cron) and `flask mail deliver --forever` (the worker)."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from forum.notifications.mail import sender

mail_cli = AppGroup("mail", help="Outgoing notification mail.")


@mail_cli.command("deliver")
@click.option("--forever", is_flag=True, help="Keep running: deliver, wait, deliver again (a worker).")
@click.option("--interval", default=30.0, show_default=True, help="Seconds between runs with --forever.")
def deliver_command(forever: bool, interval: float) -> None:
    """Send every message that is due, then exit (or keep going with --forever)."""
    if forever:
        click.echo(f"Delivering mail every {interval:g} s; stop with Ctrl-C or SIGTERM.")
        sender.run_forever(interval)
        return
    result = sender.deliver_due()
    click.echo(str(result))
