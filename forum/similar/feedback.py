"""Members' private verdicts on the similar-stories panel, and retraining the re-ranking from them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError

from forum.errors import NotFound, ValidationFailed
from forum.extensions import db
from forum.models import SimilarSignal, Status, Story, User, Verdict, utcnow
from forum.similar import learning, store

VERDICTS = {v.value for v in Verdict}
MESSAGES = {
    Verdict.HELPED.value: "Thank you: noted that this story helped. Only you can see this.",
    Verdict.NOT_LIKE_MINE.value: "Thank you: noted that this story isn't like yours. Only you can see this.",
    None: "Your answer is taken back.",
}


def record_signal(user: User, source: Story, match: Story, verdict: str | None) -> str | None:
    """Set her verdict on a match shown beside a story, change it, or take it back (verdict None); returns
    the verdict she now holds. Both stories must be published and different (the view has checked she may
    see them); nothing about anyone else's verdicts changes the answer."""
    if verdict is not None and verdict not in VERDICTS:
        raise ValidationFailed([("verdict", "Choose “this helped” or “not like mine”.")])
    published = match.status == source.status == Status.PUBLISHED.value
    if source.id == match.id or not published:
        raise NotFound("We couldn't find that story. It may have been removed.")
    mine = (
        SimilarSignal.user_id == user.id,
        SimilarSignal.source_id == source.id,
        SimilarSignal.match_id == match.id,
    )
    row = db.session.scalar(sa.select(SimilarSignal).where(*mine))
    if verdict is None:
        if row is not None:
            db.session.delete(row)
        db.session.commit()
        return None
    if row is None:
        db.session.add(
            SimilarSignal(user_id=user.id, source_id=source.id, match_id=match.id, verdict=verdict)
        )
        try:
            db.session.commit()
            return verdict
        except IntegrityError:  # the same tap arrived twice at once: the other one created the row
            db.session.rollback()
            row = db.session.scalar(sa.select(SimilarSignal).where(*mine))
            if row is None:
                raise
    if row.verdict != verdict:
        row.verdict, row.updated_at = verdict, utcnow()
    db.session.commit()
    return verdict


def verdicts_for(user: Any, source: Story, match_ids: Iterable[int]) -> dict[int, str]:
    """Her own verdicts on these matches beside this story (a visitor has none)."""
    ids = list(match_ids)
    if not getattr(user, "is_authenticated", False) or not ids:
        return {}
    rows = db.session.execute(
        sa.select(SimilarSignal.match_id, SimilarSignal.verdict).where(
            SimilarSignal.user_id == user.id,
            SimilarSignal.source_id == source.id,
            SimilarSignal.match_id.in_(ids),
        )
    )
    return {match_id: verdict for match_id, verdict in rows}


def signal_counts() -> dict[str, int]:
    """How many verdicts of each kind the site holds (counts only, for the admin page)."""
    rows = db.session.execute(
        sa.select(SimilarSignal.verdict, sa.func.count()).group_by(SimilarSignal.verdict)
    )
    counts: dict[str, int] = {verdict: int(n) for verdict, n in rows}
    return {v: int(counts.get(v, 0)) for v in sorted(VERDICTS)}


def _plain_ranking(story: Story) -> list[store.Match]:
    """The plain candidates a visitor would be offered for this story, deep enough to train on."""
    with learning.plain_only():
        return store.similar_to_story(story, None, learning.DEPTH)


def retrain(cut: datetime | None = None) -> learning.Ranker | None:
    """Train the re-ranking on the evidence before `cut`, measure it on the rest and store it (used only
    when it beat the plain order); None when there is too little evidence yet."""
    previous = learning.stored_ranker()
    ranker = learning.train(_plain_ranking, cut=cut, version=(previous.version + 1) if previous else 1)
    if ranker is not None:
        learning.save_ranker(ranker)
        db.session.commit()
    return ranker
