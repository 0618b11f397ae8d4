"""Command-line entry points: thin click wrappers over the services, every feature's command group, and the
whole-database backup and restore (forum.backup)."""

from __future__ import annotations

from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext

from forum import backup, backup_tools
from forum.auth.cli import users_cli
from forum.care.cli import care_cli
from forum.demo import demo_cli
from forum.errors import ForumError
from forum.jobs.cli import jobs_cli
from forum.notifications.mail.cli import mail_cli
from forum.similar.cli import similar_cli
from forum.stories.cli import stories_cli


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path))
@with_appcontext
def backup_command(path: Path) -> None:
    """Write a consistent online backup of the whole database to PATH (SQLite file or pg_dump -Fc archive)."""
    try:
        result = backup.backup_database(path)
    except ForumError as error:
        raise click.ClickException(error.message) from error
    click.echo(
        f"Backed up the {result.dialect} database to {result.path} "
        f"({backup_tools.human_size(result.size)}, {result.size} bytes)."
    )


@click.command("restore")
@click.argument("path", type=click.Path(path_type=Path))
@click.option("--force", is_flag=True, help="Replace the database even though it already holds data.")
@with_appcontext
def restore_command(path: Path, force: bool) -> None:
    """Replace the whole database with the backup at PATH; refuses a database with data unless --force."""
    try:
        result = backup.restore_database(path, force=force)
    except ForumError as error:
        raise click.ClickException(error.message) from error
    counts = ", ".join(backup.amount(count, name) for name, count in result.counts.items())
    replaced = " (the data that was there before was replaced)" if result.replaced_data else ""
    click.echo(f"Restored the {result.dialect} database from {result.path}: {counts}{replaced}.")


def init_app(app: Flask) -> None:
    """Register every feature's command group (`flask --app wsgi <group> <command>`)."""
    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(stories_cli)
    app.cli.add_command(similar_cli)
    app.cli.add_command(care_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(jobs_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
