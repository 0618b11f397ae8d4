"""Command-line entry points: thin click wrappers over the services."""

from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Register every feature's command group (`flask --app wsgi <group> <command>`)."""
    from forum.auth.cli import users_cli
    from forum.backup import backup_command, restore_command
    from forum.care.cli import care_cli
    from forum.demo import demo_cli
    from forum.notifications.mail.cli import mail_cli
    from forum.similar.cli import similar_cli
    from forum.stories.cli import stories_cli

    app.cli.add_command(users_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(stories_cli)
    app.cli.add_command(similar_cli)
    app.cli.add_command(care_cli)
    app.cli.add_command(mail_cli)
    app.cli.add_command(backup_command)
    app.cli.add_command(restore_command)
