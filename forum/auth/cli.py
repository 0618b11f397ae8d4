"""`flask users ...`: manage members from the command line."""

from __future__ import annotations

import click
from flask.cli import AppGroup

from forum.auth import services
from forum.errors import ForumError
from forum.models import Role

users_cli = AppGroup("users", help="Manage members.")


def _fail(error: ForumError) -> None:
    for _field, message in error.errors:
        click.echo(f"Error: {message}", err=True)
    raise SystemExit(1)


@users_cli.command("create-admin")
@click.option("--pseudonym", prompt=True, help="The admin's pseudonym.")
@click.option("--email", prompt=True, help="The admin's email address.")
@click.option(
    "--password",
    prompt=True,
    hide_input=True,
    confirmation_prompt=True,
    envvar="VILLAGE_ADMIN_PASSWORD",
    help="Password (or set VILLAGE_ADMIN_PASSWORD).",
)
def create_admin(pseudonym: str, email: str, password: str) -> None:
    """Create an administrator account."""
    try:
        user = services.register_member(
            pseudonym=pseudonym, email=email, password=password, role=Role.ADMIN.value
        )
    except ForumError as error:
        _fail(error)
        return
    click.echo(f"Admin {user.pseudonym!r} created.")


@users_cli.command("set-role")
@click.argument("pseudonym")
@click.argument("role", type=click.Choice([r.value for r in Role]))
def set_role(pseudonym: str, role: str) -> None:
    """Make a member a member, moderator or admin."""
    try:
        user = services.set_role(pseudonym, role)
    except ForumError as error:
        _fail(error)
        return
    click.echo(f"{user.pseudonym} is now {role}.")
