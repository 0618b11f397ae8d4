"""`flask care check`: run the crisis-language detector on one text per line of standard input."""

from __future__ import annotations

import json
import sys

import click
from flask.cli import AppGroup

from forum.care import services

care_cli = AppGroup("care", help="Care and safety.")


@care_cli.command("check")
def check() -> None:
    """Print one JSON line per input line: {"signpost": true|false, "score": ..., "reasons": [...]}."""
    for line in sys.stdin:
        text = line.rstrip("\n")
        result = services.check(text)
        click.echo(
            json.dumps(
                {"signpost": result.signpost, "score": round(result.score, 3), "reasons": result.reasons},
                ensure_ascii=False,
            )
        )
