"""`flask care ...`: run the crisis-language detector, export moderators' verdicts, retrain the classifier."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click
from flask import current_app
from flask.cli import AppGroup

from forum.care import classifier, operating, services, training
from forum.care.detector import default_embedder
from forum.care.feedback import write_labels

care_cli = AppGroup("care", help="Care and safety.")


def _labels_path() -> Path:
    """Where exported moderator labels are kept: in the instance folder, never in the repository (a post
    deleted later must be able to leave with the next export)."""
    return Path(current_app.instance_path) / "care" / "moderator-labels.jsonl"


@care_cli.command("check")
def check() -> None:
    """Print one JSON line per input line: {"signpost": true|false, "score": ..., "reasons": [...]}."""
    stored = services.phrases_stored()
    if not stored:  # the contract holds without a migrated database; say what is left out
        click.echo(
            "care check: this database has no admins' phrase table (run `flask --app wsgi db upgrade`); "
            "checking with the built-in phrases only",
            err=True,
        )
    for line in sys.stdin:
        text = line.rstrip("\n")
        result = services.check(text, stored)
        click.echo(
            json.dumps(
                {"signpost": result.signpost, "score": round(result.score, 3), "reasons": result.reasons},
                ensure_ascii=False,
            )
        )


@care_cli.command("export-labels")
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    default=None,
    help="default: instance/care/moderator-labels.jsonl",
)
def export_labels(out: Path | None) -> None:
    """Write moderators' card verdicts as training rows (text only, under the privacy page's rules)."""
    out = out or _labels_path()
    written, held_back = write_labels(out)
    click.echo(
        f"wrote {written} labelled posts to {out}; {held_back} verdicts held back by the consent rules"
    )


@care_cli.command("retrain")
@click.option("--labels", type=click.Path(path_type=Path), default=None, help="exported moderator labels")
@click.option("--model-dir", type=click.Path(path_type=Path, file_okay=False), default=None)
@click.option("--dry-run", is_flag=True, help="print the cross-validated figures, write nothing")
def retrain(labels: Path | None, model_dir: Path | None, dry_run: bool) -> None:
    """Rebuild the classifier from the committed training data plus exported labels, print its cross-validated
    figures, then (unless --dry-run) write it for the similar-stories engine's current model."""
    labels = labels or (_labels_path() if _labels_path().exists() else None)
    if labels is not None and not labels.exists():
        raise click.ClickException(f"{labels} does not exist (run: flask care export-labels)")
    embedder = default_embedder()
    if embedder is None:
        raise click.ClickException("the similar-stories embedder is unavailable here; nothing to train on")
    model_id = classifier.engine_model_id(embedder)
    cache = Path(current_app.instance_path) / "care" / f"vectors-{classifier.model_path(model_id).stem}.npz"
    click.echo(f"training on {model_id} (sentence vectors cached in {cache}) ...")
    model, figures = training.train(embedder, [labels] if labels else [], cache_path=cache)
    for line in operating.describe(figures):
        click.echo(line)
    if dry_run:
        click.echo("dry run: nothing written")
        return
    path = classifier.model_path(model.model_id, model_dir or classifier.DATA)
    model.save(path)
    services.reset_detector()
    click.echo(f"wrote {path}; running workers pick it up when they restart")
