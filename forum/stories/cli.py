"""`flask stories ...`: maintenance commands for stories."""

from __future__ import annotations

import json
from typing import TextIO

import click
from flask import current_app
from flask.cli import AppGroup

from forum.similar.store import embed_many
from forum.stories.importer import import_stories
from forum.stories.reminders import send_due_reminders

stories_cli = AppGroup("stories", help="Stories: reminders and upkeep.")


@stories_cli.command("send-reminders")
def send_reminders() -> None:
    """Deliver due "add an update" reminders (does nothing between 21:00 and 08:00 site time)."""
    click.echo(f"Sent {send_due_reminders()} update reminder(s).")


@stories_cli.command("import")
@click.argument("file", type=click.File("r", encoding="utf-8"))
@click.option(
    "--author", default="Imported stories", help="Pseudonym the stories are posted as (created if needed)."
)
def import_command(file: TextIO, author: str) -> None:
    """Import stories from a JSON Lines file; prints {"source_id", "id"} per story, errors on stderr."""
    imported: list[int] = []
    embed_later = current_app.config.get("SIMILAR_EMBED_ON_WRITE", True)
    current_app.config["SIMILAR_EMBED_ON_WRITE"] = False  # vectors are computed in batches afterwards
    for outcome in import_stories(file, author):
        if outcome.error:
            click.echo(f"line {outcome.line}: skipped: {outcome.error}", err=True)
        else:
            imported.append(outcome.story_id)  # type: ignore[arg-type]
            click.echo(json.dumps({"source_id": outcome.source_id, "id": outcome.story_id}))
    if embed_later and imported:
        embed_many(imported)
