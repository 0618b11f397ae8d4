"""`flask similar rebuild`: recompute story vectors (a new model, or an imported site)."""

from __future__ import annotations

import click
import sqlalchemy as sa
from flask.cli import AppGroup

from forum.extensions import db
from forum.models import Story
from forum.similar.store import current_model, embed_many, record_model, stored_model

similar_cli = AppGroup("similar", help="Similar stories.")


@similar_cli.command("rebuild")
@click.option("--missing-only", is_flag=True, help="Only stories that have no vector yet.")
def rebuild(missing_only: bool) -> None:
    """Recompute story vectors in batches, with a progress bar, outside the web workers.

    When the stored vectors come from another model (SIMILAR_MODEL changed), every vector is recomputed and
    the new model recorded at the end; until then workers keep similar stories off rather than mix models.
    """
    spec, stored = current_model(), stored_model()
    if missing_only and stored not in (None, spec.version):
        click.echo(f"Stored vectors come from {stored}; recomputing all of them with {spec.version}.")
        missing_only = False
    query = sa.select(Story.id).order_by(Story.id)
    if missing_only:
        query = query.where(Story.embedding.is_(None))
    ids = list(db.session.scalars(query))
    with click.progressbar(length=len(ids), label="Embedding stories") as bar:
        embed_many(ids, progress=bar.update)
    if not missing_only:
        record_model(spec, replace=True)
        db.session.commit()
    click.echo(f"{len(ids)} stories embedded with {spec.title}.")
