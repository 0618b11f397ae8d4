"""What changed in a reported post since it was first reported: the stored revisions, as a line diff.

A story or reply keeps each earlier version as a Revision when it is edited. The version at the first report
is the first revision saved after that report (or the current text when none was). The diff is plain data
(each line with "+", "-" or " "), so the template escapes every character of it."""

from __future__ import annotations

import difflib
from dataclasses import dataclass, field
from datetime import datetime

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Revision
from forum.moderation.targets import Target

MAX_DIFF_LINES = 80


@dataclass
class EditHistory:
    edits: int = 0
    lines: list[tuple[str, str]] = field(default_factory=list)

    @property
    def edited(self) -> bool:
        return self.edits > 0


def _text(title: str | None, body: str) -> str:
    return f"{title}\n\n{body}" if title else body


def since(target: Target, reported_at: datetime) -> EditHistory:
    """Edits to the item after reported_at, and the diff from the reported text to the current one."""
    if target.kind == "story":
        column = Revision.story_id
    elif target.kind == "reply":
        column = Revision.reply_id
    else:
        return EditHistory()
    revisions = list(
        db.session.scalars(
            sa.select(Revision)
            .where(column == target.id, Revision.created_at >= reported_at)
            .order_by(Revision.created_at, Revision.id)
        )
    )
    if not revisions:
        return EditHistory()
    first = revisions[0]
    reported = _text(first.title if target.kind == "story" else None, first.body)
    diff = difflib.unified_diff(
        reported.splitlines(), target.text.splitlines(), lineterm="", n=1, fromfile="reported", tofile="now"
    )
    lines = [(line[0], line[1:]) for line in diff if not line.startswith(("---", "+++", "@@"))]
    return EditHistory(edits=len(revisions), lines=lines[:MAX_DIFF_LINES])
