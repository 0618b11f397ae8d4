"""One-tap decisions from the queue, alone or in bulk.

Each decision is one transaction through the post lifecycle (counters, feeds, the page cache and the similar
index follow) and is audited:
- dismiss, hide, remove (with a reason), restore, approve: on the post (services.act_on_item);
- agree-and-warn / agree-and-suspend / agree-and-silence: remove the post with the reason and warn, suspend or
  make the author read-only for the chosen days; the author is told the reason and when it ends;
- delete-spammer: every post of the author and the account (forum.auth.services.erase_account, which moves
  every status through the lifecycle);
- support: send the welfare message.
Destructive decisions, and every decision on a welfare item except sending support, need a confirmation
(`needs_confirmation`); another moderator's live claim refuses them all (forum.moderation.claims).
"""

from __future__ import annotations

import sqlalchemy as sa

from forum.auth.services import erase_account
from forum.errors import NotAllowed, ValidationFailed
from forum.extensions import db
from forum.models import Flag, Reply, Status, Story, User, utcnow
from forum.moderation import claims, members, services
from forum.moderation.auditlog import audit
from forum.moderation.services import REMOVAL_REASONS
from forum.moderation.targets import Target

ITEM_DECISIONS = ("dismiss", "hide", "remove", "restore", "approve")
AGREE = {"agree-warn": "warn", "agree-suspend": "suspend", "agree-silence": "silence"}
DECISIONS = (*ITEM_DECISIONS, *AGREE, "delete-spammer", "support")
LABELS = {
    "dismiss": "Dismiss",
    "hide": "Hide",
    "remove": "Remove",
    "restore": "Restore",
    "approve": "Approve",
    "agree-warn": "Remove and warn",
    "agree-suspend": "Remove and suspend",
    "agree-silence": "Remove and make read-only",
    "delete-spammer": "Delete spammer",
    "support": "Send support",
}
DESTRUCTIVE = frozenset({"delete-spammer"})
DURATIONS = (1, 3, 7, 14, 30, 90)


def needs_confirmation(decision: str, *, welfare: bool) -> bool:
    """Deleting a spammer always; on a welfare item anything but sending support (it sits next to it)."""
    return decision in DESTRUCTIVE or (welfare and decision != "support")


def _author(target: Target) -> User:
    author = target.author
    if author is None or author.is_deleted:
        raise ValidationFailed([(None, "This post's author has left Village; act on the post instead.")])
    return author


def decide(
    moderator: User, target: Target, decision: str, *, reason: str = "", message: str = "", days: int = 0
) -> str:
    """Apply one decision; returns what was done, for the moderator."""
    if not moderator.is_moderator:
        raise NotAllowed("Only moderators can do that.")
    if decision not in DECISIONS:
        raise ValidationFailed([(None, "Unknown decision.")])
    if decision in ITEM_DECISIONS:
        services.act_on_item(moderator, target, decision, reason=reason, message=message)
        return f"Done: {LABELS[decision].lower()}."
    if decision == "support":
        services.send_support(moderator, target)
        return "Support resources sent."
    if decision == "delete-spammer":
        return delete_spammer(moderator, target)
    # agree-and-warn/suspend/silence: check everything first, so nothing is half done
    claims.ensure_free(moderator, target)
    if reason not in REMOVAL_REASONS:
        raise ValidationFailed([("reason", "Please choose a reason; the member will see it.")])
    action = AGREE[decision]
    if action != "warn":
        members.check_days(days)
    author = _author(target)
    members.check_allowed(moderator, author, action, target)
    why = " ".join(filter(None, [REMOVAL_REASONS[reason] + ".", message.strip()]))
    members.act_on_member(moderator, author, action, reason=why, days=days, target=target, commit=False)
    services.act_on_item(moderator, target, "remove", reason=reason, message=message)  # commits both
    return f"Done: {LABELS[decision].lower()}" + (f" ({days} days)." if action != "warn" else ".")


def delete_spammer(moderator: User, target: Target) -> str:
    """Remove every post of the author and the account; every report on her posts is upheld."""
    # Deleting the account behind an anonymous post makes her named posts vanish too, which tells who she
    # was; so it goes through the audited reveal first, like any other way of learning it (and only then is
    # anything about her account, such as being staff or her post counts, shown).
    if target.is_anonymous and not members.revealed_by(moderator, target):
        raise NotAllowed(
            "Deleting the account behind an anonymous post shows who wrote it. Use “Who wrote this?” "
            "first (your look is recorded in the audit log), then delete."
        )
    author = _author(target)
    if author.is_moderator:
        raise NotAllowed("A moderator's account can't be deleted from the queue.")
    claims.ensure_free(moderator, target)
    stories = db.session.scalar(
        sa.select(sa.func.count()).select_from(Story).where(Story.author_id == author.id)
    )
    replies = db.session.scalar(
        sa.select(sa.func.count()).select_from(Reply).where(Reply.author_id == author.id)
    )
    services.resolve_flags(target, "upheld")  # thanks this item's reporters
    db.session.execute(
        sa.update(Flag)
        .where(Flag.author_id == author.id, Flag.resolved_at.is_(None))
        .values(resolved_at=utcnow(), resolution="upheld")
        .execution_options(synchronize_session=False)
    )
    audit(
        moderator,
        "delete-spammer",
        target,
        subject_id=None if target.is_anonymous else author.id,
        reason=f"account and {stories} stories, {replies} replies deleted",
    )
    db.session.flush()
    erase_account(author, keep_stories=False)  # one commit, announced through the lifecycle
    return f"Deleted the account and all its posts ({stories} stories, {replies} replies)."


def spammer_summary(target: Target) -> str:
    """What delete-spammer would delete, for the confirmation (counts only for a named author: an anonymous
    author's other posts are not the moderator's to see)."""
    author = target.author
    if author is None:
        return "This post's author has left Village."
    if target.is_anonymous:
        return "The account behind this anonymous post and everything it wrote will be deleted."
    counts = [
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(model)
            .where(model.author_id == author.id, model.status != Status.DELETED.value)
        )
        for model in (Story, Reply)
    ]
    return (
        f"{author.pseudonym}'s account will be deleted with all {counts[0]} of their stories and "
        f"{counts[1]} replies. This can't be undone."
    )
