"""Gentle signposting: check writing for crisis language and show the writer alone a support card.

Only the fact that a card was shown is recorded (SignpostShown), never the text that caused it.
"""

from __future__ import annotations

import threading
from typing import Any

import sqlalchemy as sa
from flask import Flask, current_app

from forum import staff_lists
from forum.care.classifier import latest_figures
from forum.care.detector import CareResult, Detector, rules_result
from forum.errors import NotAllowed, ValidationFailed
from forum.extensions import db
from forum.jobs import queue as jobs
from forum.models import (
    CareCard,
    CarePhrase,
    FlagReason,
    Job,
    Reply,
    SignpostShown,
    Story,
    SupportResource,
    User,
    utcnow,
)
from forum.moderation.services import audit, get_setting, system_flag
from forum.moderation.targets import target_of
from forum.stories import hooks

WELFARE_SETTING = "care_welfare_reports"
CHECK_JOB = "care.check"
_lock = threading.Lock()
_cached: tuple[tuple[str, ...], Detector] | None = None


_EXTRA_PHRASES = sa.select(CarePhrase.phrase).order_by(CarePhrase.phrase)


def extra_phrases() -> tuple[str, ...]:
    """The phrases admins added, in a stable order (kept for a few seconds: forum.staff_lists)."""
    return staff_lists.kept("care_phrases", lambda: tuple(db.session.scalars(_EXTRA_PHRASES)))


def phrases_stored() -> bool:
    """Whether the database has the admins' phrase table (one not yet migrated has none)."""
    return sa.inspect(db.engine).has_table(CarePhrase.__tablename__)


def detector(stored_phrases: bool = True) -> Detector:
    """The process's detector, rebuilt when admins change the phrase list (``stored_phrases=False``: the
    built-in phrases only, for a database without the admins' table)."""
    global _cached
    phrases = extra_phrases() if stored_phrases else ()
    with _lock:
        if _cached is None or _cached[0] != phrases:
            embedder = _cached[1].embedder if _cached else None
            _cached = (phrases, Detector(extra_phrases=phrases, embedder=embedder))
        return _cached[1]


def reset_detector() -> None:
    """Forget the process's detector, so the next check loads the classifier file afresh."""
    global _cached
    with _lock:
        _cached = None


def detector_status() -> dict[str, Any]:
    """For the admin page: which detector decides, why the classifier is not in use (if so), its figures."""
    current = detector()
    version = current.version
    model = current.classifier
    figures = getattr(model, "figures", None) or latest_figures()
    return {"version": version, "problem": current.problem, "figures": figures}


def check(text: str, stored_phrases: bool = True) -> CareResult:
    """Whether this text should show its writer the support card (with reasons, for admins only)."""
    return detector(stored_phrases).check(text[:20_000])


def record_shown(place: str) -> None:
    """Count that a card was shown (no text, no member)."""
    db.session.add(SignpostShown(place=place))
    db.session.commit()


def shown_counts() -> dict[str, int]:
    """How many cards were shown, per place, for the admin page."""
    return dict(
        db.session.execute(sa.select(SignpostShown.place, sa.func.count()).group_by(SignpostShown.place))
        .tuples()
        .all()
    )


def card_for(story: Story, viewer: Any) -> CareCard | None:
    """The undismissed card on this story for the member who wrote the post that raised it; else None."""
    if not getattr(viewer, "is_authenticated", False):
        return None
    return db.session.scalar(
        sa.select(CareCard).where(
            CareCard.story_id == story.id, CareCard.user_id == viewer.id, CareCard.dismissed_at.is_(None)
        )
    )


def check_pending(item: Story | Reply) -> bool:
    """Whether this post's care.check job is still queued or running (a failed one is not waited for)."""
    model = "story" if isinstance(item, Story) else "reply"
    return (
        db.session.scalar(
            sa.select(Job.id)
            .where(
                Job.kind == CHECK_JOB,
                Job.state.in_(("queued", "running")),
                Job.payload["model"].as_string() == model,
                Job.payload["id"].as_integer() == item.id,
            )
            .limit(1)
        )
        is not None
    )


def _own_post(viewer: Any, kind: str, item_id: int) -> Story | Reply | None:
    if not getattr(viewer, "is_authenticated", False):
        return None
    item: Story | Reply | None = (
        db.session.get(Story, item_id) if kind == "story" else db.session.get(Reply, item_id)
    )
    return item if item is not None and item.author_id == viewer.id else None


def awaits_check(item: Story | Reply, viewer: Any) -> bool:
    """True on the page the writer lands on while her post's classifier check is still to come and no card
    is showing yet: the page then asks landing_card for the outcome for a few seconds."""
    if _own_post(viewer, "story" if isinstance(item, Story) else "reply", item.id) is None:
        return False
    story = item if isinstance(item, Story) else item.story
    return card_for(story, viewer) is None and check_pending(item)


def landing_card(viewer: Any, kind: str, item_id: int) -> tuple[Story | None, bool]:
    """For the landing page's question about a just-posted story or reply: the story whose card is now
    waiting for the writer (or None) and whether the check is still pending. Stored state only, never the
    model. Anyone but the writer (visitors, other members, moderators) gets (None, False), exactly as for a
    checked post with no card, so nothing tells whether someone else's post raised one."""
    item = _own_post(viewer, kind, item_id)
    if item is None:
        return None, False
    story = item if isinstance(item, Story) else item.story
    if card_for(story, viewer) is not None:
        return story, False
    return None, check_pending(item)


def dismiss_card(user: User, card_id: int) -> None:
    """The writer closes their card."""
    card = db.session.get(CareCard, card_id)
    if card is not None and card.user_id == user.id:
        card.dismissed_at = utcnow()
        db.session.commit()


RESOURCE_FIELDS = ("name", "helps_with", "phone", "url", "hours", "region")


def _require_admin(admin: User) -> None:
    if not admin.is_admin:
        raise NotAllowed("Only admins can change the support resources and crisis phrases.")


def _audit(admin: User, action: str, reason: str) -> None:
    audit(admin, action, reason=reason)


def save_resource(
    admin: User, resource: SupportResource | None, *, checked: bool, position: int | None, **fields: str
) -> SupportResource:
    """Add a support resource (resource None) or change one; audited, one commit."""
    _require_admin(admin)
    unknown = set(fields) - set(RESOURCE_FIELDS)
    if unknown:
        raise ValueError(f"unknown resource fields: {sorted(unknown)}")
    name = " ".join((fields.get("name") or "").split())
    if not name:
        raise ValidationFailed([("name", "Please give the name.")])
    adding = resource is None
    if resource is None:
        resource = SupportResource()
        db.session.add(resource)
    for key in RESOURCE_FIELDS:
        setattr(resource, key, (fields.get(key) or "").strip())
    resource.name = name
    resource.needs_check = not checked
    resource.position = position or 0
    _audit(
        admin,
        "care-resource-add" if adding else "care-resource-edit",
        f"{resource.name} ({resource.region or 'everywhere'}): {resource.phone} {resource.url}".strip(),
    )
    db.session.commit()
    return resource


def delete_resource(admin: User, resource: SupportResource) -> None:
    """Remove a support resource; audited, one commit."""
    _require_admin(admin)
    _audit(admin, "care-resource-delete", f"{resource.name} ({resource.region or 'everywhere'})")
    db.session.delete(resource)
    db.session.commit()


def add_phrase(admin: User, phrase: str) -> str:
    """Add a phrase to the reviewed crisis list (lower-cased, spaces tidied); audited, one commit."""
    _require_admin(admin)
    phrase = " ".join(phrase.split()).lower()
    if not 3 <= len(phrase) <= 200:
        raise ValidationFailed([("phrase", "Please enter a phrase of 3 to 200 characters.")])
    if not db.session.scalar(sa.select(CarePhrase.id).where(CarePhrase.phrase == phrase)):
        db.session.add(CarePhrase(phrase=phrase))
        _audit(admin, "care-phrase-add", phrase)
        db.session.commit()
    return phrase


def delete_phrase(admin: User, phrase: CarePhrase) -> None:
    """Take a phrase off the crisis list; audited, one commit."""
    _require_admin(admin)
    _audit(admin, "care-phrase-delete", phrase.phrase)
    db.session.delete(phrase)
    db.session.commit()


def welfare_reports_enabled() -> bool:
    return get_setting(WELFARE_SETTING, "1") == "1"


def _post_text(item: Story | Reply) -> str:
    return f"{getattr(item, 'title', None) or ''}\n{item.body}"


def rules_check(text: str) -> CareResult:
    """The reviewed phrase list and its context rules alone: cheap enough to run while the writer waits."""
    return rules_result(detector().analyse(text[:20_000]).checks)


def _leave_card(item: Story | Reply, *, count: bool) -> None:
    story = item if isinstance(item, Story) else item.story
    if not db.session.scalar(
        sa.select(CareCard.id).where(CareCard.user_id == item.author_id, CareCard.story_id == story.id)
    ):
        db.session.add(CareCard(user_id=item.author_id, story_id=story.id))
    if count:
        db.session.add(SignpostShown(place="story" if isinstance(item, Story) else "reply"))


def _wants_check(app: Flask, item: Any) -> bool:
    return (
        isinstance(item, (Story, Reply))
        and item.author_id is not None
        and bool(app.config.get("CARE_CHECK_ON_WRITE", True))
    )


def _after_write(sender: Flask, item: Any, **extra: Any) -> None:
    """After a story or reply is saved: a reviewed crisis phrase that survived the context rules leaves its
    writer the card at once, on the page she lands on. The classifier's fuller check and the moderators'
    welfare report follow in a background job (check_post)."""
    if not _wants_check(sender, item):
        return
    try:
        result = rules_check(_post_text(item))
    except Exception:  # noqa: BLE001 - the check is a kindness; it must never lose or block a post
        sender.logger.exception("Care check failed for a new post")
        db.session.rollback()
        return
    if result.signpost:
        _leave_card(item, count=True)
        db.session.commit()


def check_post(item: Story | Reply) -> None:
    """The background job after a story or reply is saved: the whole check (classifier and rules). When it
    warrants the card, the writer finds it on her next page (unless the phrase rules already left it), and a
    phrase that survived the rules goes to the welfare queue. Committed with the job: a retry repeats nothing."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    if not _wants_check(app, item):
        return
    text = _post_text(item)
    result = check(text)
    if not result.signpost:
        return
    _leave_card(item, count=not rules_check(text).signpost)  # the rules' card was counted when it was left
    if welfare_reports_enabled() and result.phrase_hit:
        system_flag(
            target_of(item),
            FlagReason.AT_RISK.value,
            "Automatic: the care check suggests the writer may be struggling. The writer was shown support.",
            commit=False,
        )


def install() -> None:
    """Check every new story and reply: the phrase rules after it is saved, the whole check in a job."""
    hooks.content_created.connect(_after_write, weak=False)
    jobs.after_post(CHECK_JOB, (Story, Reply))(check_post)


def admin_phrases() -> sa.Select[tuple[CarePhrase]]:
    """The crisis phrases admins added (beside the reviewed list), alphabetically."""
    return sa.select(CarePhrase).order_by(CarePhrase.phrase)
