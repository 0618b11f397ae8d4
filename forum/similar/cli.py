"""`flask similar rebuild`: recompute every story's vector (a new model, or an imported site)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from forum.extensions import db
from forum.models import Story
from forum.similar.store import embed_many

similar_cli = AppGroup("similar", help="Similar stories.")


@similar_cli.command("rebuild")
@click.option("--missing-only", is_flag=True, help="Only stories that have no vector yet.")
def rebuild(missing_only: bool) -> None:
    """Recompute story vectors in batches, with a progress bar."""
    query = sa.select(Story.id).order_by(Story.id)
    if missing_only:
        query = query.where(Story.embedding.is_(None))
    ids = list(db.session.scalars(query))
    with click.progressbar(length=len(ids), label="Embedding stories") as bar:
        embed_many(ids, progress=bar.update)
    click.echo(f"{len(ids)} stories embedded.")
