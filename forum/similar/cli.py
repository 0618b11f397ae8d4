"""`flask similar rebuild`: recompute story vectors (a new model, or an imported site); `flask similar
build-index`: this host's approximate-index files from the stored vectors; `flask similar learn`: train the
re-ranking from members' signals."""

from __future__ import annotations

import time
from datetime import datetime
from pathlib import Path

import click
import sqlalchemy as sa
from flask import current_app
from flask.cli import AppGroup

from forum.extensions import db
from forum.models import Story
from forum.similar import ann, feedback, learning, worker
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


@similar_cli.command("build-index")
@click.option("--force", is_flag=True, help="Build a new generation even when this host's files are current.")
def build_index(force: bool) -> None:
    """Build this host's approximate-index files (instance/similar-index/) from the stored vectors.

    Run it on a new host of a large site before its workers start: otherwise the first worker that needs
    the files builds them in a request (about 12 minutes of CPU at a million stories) while the host's other
    workers wait. Workers map the new files at their next full reload; changes since are loaded as usual.
    """
    index = worker.new_index(current_app)
    spec, stored = index.spec, stored_model()
    if stored not in (None, spec.version):
        raise click.ClickException(
            f"Stored vectors come from {stored}, not {spec.version}: run `flask similar rebuild` first."
        )
    directory = index.directory or Path(current_app.instance_path) / "similar-index"
    meta = ann.read_meta(directory)
    if meta is not None and meta.get("model") == spec.version and not force:
        click.echo(f"{directory}: generation {meta['generation']} of {meta['count']} stories is current.")
        return
    count = index.count_with_vectors()
    click.echo(f"Building the approximate index of {count} stories ({spec.title}) in {directory} ...")
    started, cpu = time.perf_counter(), time.process_time()
    with ann.host_lock(directory):
        meta = index.build_files(directory)
    click.echo(
        f"Generation {meta['generation']}: {meta['count']} stories in {time.perf_counter() - started:.0f} s "
        f"({time.process_time() - cpu:.0f} s of CPU)."
    )
    if count < index.ann_threshold:
        click.echo(
            f"Workers use these files once the site has {index.ann_threshold} stories with vectors "
            "(SIMILAR_ANN_THRESHOLD); below that they keep the exact index."
        )


@similar_cli.command("learn")
@click.option(
    "--cut", type=click.DateTime(), help="Train on evidence before this UTC date, measure on the rest."
)
def learn(cut: datetime | None) -> None:
    """Train the re-ranking on the signals and reactions before a cut date, measure it against the plain
    order on the later ones, print the figures and store it (it is used only when it does better)."""
    counts = feedback.signal_counts()
    click.echo("Signals: " + ", ".join(f"{verdict} {n}" for verdict, n in counts.items()))
    ranker = feedback.retrain(cut=cut)
    if ranker is None:
        click.echo(
            f"Too little evidence to learn from (at least {learning.MIN_TRAIN} before the cut, both kinds)."
        )
        return
    f = ranker.figures
    click.echo(
        f"Version {ranker.version} trained {ranker.trained_at} on {f['trained_on']} pieces of evidence before "
        f"{f['cut']}; held back {f['held_back']} ({f['signals']} from signals, {f['reaction_examples']} from "
        f"reactions, {f['outside_ranking']} outside the candidates)."
    )
    click.echo(
        f"Held-back pairwise accuracy ({f['held_pairs']} pairs): plain {f['plain_pairwise']}, learned "
        f"{f['learned_pairwise']}; AUC plain {f['plain_auc']}, learned {f['learned_auc']}; gain's lower bound "
        f"{f['gain_low']}."
    )
    for name, weight in zip(ranker.features, ranker.weights, strict=False):
        click.echo(f"  {name:8} {weight:+.3f}")
    click.echo(
        "In use." if ranker.applied else "Not in use: it did not clearly beat the plain order, which stays."
    )
