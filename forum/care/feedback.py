"""Learning from the moderators: their verdicts on welfare items, and those verdicts as training data.

Consent rules for exported text (stated on the privacy page; change both together):
- only a post that is still published when the export runs (a deleted, removed or hidden post never leaves);
- never a post written as "Anonymous parent" (its writer chose not to be tied to it anywhere);
- never a post by an account that has since been deleted;
- only the words of the post itself (a story's title and body, or a reply's or update's body): no ids, names,
  dates, tags, or anyone else's words; and the post's text is cut to the detector's reading budget.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import sqlalchemy as sa

from forum.care.rules import MAX_CHARS
from forum.care.services import detector
from forum.errors import NotAllowed, NotFound
from forum.extensions import db
from forum.models import Status, User
from forum.models.care import CareVerdict
from forum.moderation.services import audit
from forum.moderation.targets import load_target

VERDICT_WRITER = "moderators"


def verdicts_for(keys: list[tuple[str, int]]) -> dict[tuple[str, int], bool]:
    """The verdicts already given on these (kind, id) items."""
    if not keys:
        return {}
    kinds = {kind for kind, _ in keys}
    condition = sa.or_(
        *(
            sa.and_(
                CareVerdict.target_type == kind, CareVerdict.target_id.in_([i for k, i in keys if k == kind])
            )
            for kind in kinds
        )
    )
    rows = db.session.execute(
        sa.select(CareVerdict.target_type, CareVerdict.target_id, CareVerdict.needed).where(condition)
    )
    return {(kind, item_id): needed for kind, item_id, needed in rows}


def record_verdict(moderator: User, target: Any, needed: bool) -> CareVerdict:
    """A moderator says whether a welfare item's post needed the support card (a new verdict replaces the
    last); audited, one commit."""
    if not moderator.is_moderator:
        raise NotAllowed("Only moderators can judge the support card.")
    verdict = db.session.scalar(
        sa.select(CareVerdict).where(
            CareVerdict.target_type == target.kind, CareVerdict.target_id == target.id
        )
    )
    if verdict is None:
        verdict = CareVerdict(target_type=target.kind, target_id=target.id, story_id=target.story.id)
        db.session.add(verdict)
    verdict.needed = needed
    verdict.detector_version = detector().version[:80]
    audit(
        moderator,
        "care-verdict",
        target,
        reason="the card was right" if needed else "the card was not needed",
    )
    db.session.commit()
    return verdict


def _exportable_text(target: Any) -> str | None:
    """The post's own words when the consent rules allow them to leave; None otherwise."""
    item, story = target.item, target.story
    if item.status != Status.PUBLISHED.value or story.status != Status.PUBLISHED.value:
        return None
    if story.anonymous and target.author_id == story.author_id:
        return None
    author = target.author
    if author is None or getattr(author, "deleted_at", None) is not None:
        return None
    title = getattr(item, "title", None) or ""
    text = f"{title}\n{item.body}".strip() if title else item.body.strip()
    return text[:MAX_CHARS] or None


def exported_labels() -> Iterator[dict[str, Any]]:
    """Each allowed verdict as a training row (label scheme of forum/care/data/KINDS.md, no ids)."""
    for verdict in db.session.scalars(sa.select(CareVerdict).order_by(CareVerdict.id)):
        try:
            target = load_target(verdict.target_type, verdict.target_id)
        except NotFound:
            continue
        text = _exportable_text(target)
        if text:
            yield {
                "text": text,
                "signpost": verdict.needed,
                "kind": "moderator_right" if verdict.needed else "moderator_not_needed",
                "form": "post",
                "writer": VERDICT_WRITER,
            }


def write_labels(path: Path) -> tuple[int, int]:
    """Write the exported rows to path (JSON lines): (rows written, verdicts held back by the rules)."""
    total = db.session.scalar(sa.select(sa.func.count()).select_from(CareVerdict)) or 0
    rows = list(exported_labels())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return len(rows), total - len(rows)
