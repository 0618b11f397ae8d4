"""Moderation services: reports, actions on posts, appeals, notes, settings; every action audited."""

from __future__ import annotations

import sqlalchemy as sa
from flask import current_app

from forum import staff_lists, text
from forum.errors import NotAllowed, ValidationFailed
from forum.extensions import db
from forum.jobs import queue as jobs
from forum.models import (
    Appeal,
    AuditEntry,
    Flag,
    FlagReason,
    ModeratorNote,
    Role,
    SiteSetting,
    Status,
    Story,
    User,
    utcnow,
)
from forum.moderation import alerts, claims, trust
from forum.moderation.auditlog import audit
from forum.moderation.claims import claim  # noqa: F401  (re-exported: services.claim)
from forum.moderation.targets import Target, target_of
from forum.notifications.services import notify_message
from forum.stories import hooks, lifecycle
from forum.stories.tags import tags_named

REASON_LABELS = {
    FlagReason.AT_RISK.value: "Someone may be at risk (self-harm, a child in danger)",
    FlagReason.CHILD_DETAILS.value: "Shares a child's identifying details (full name, photo, nursery name)",
    FlagReason.UNKIND.value: "Unkind or bullying",
    FlagReason.SPAM.value: "Spam or advertising",
    FlagReason.OFF_TOPIC.value: "Off-topic",
    FlagReason.OTHER.value: "Something else",
}
REMOVAL_REASONS = {
    "unkind": "It was unkind or bullying",
    "spam": "It was spam or advertising",
    "child-details": "It shared a child's identifying details",
    "off-topic": "It was off-topic for Village",
    "unsafe": "It could put someone at risk",
    "other": "It broke the community guidelines",
}
DEFAULT_WELFARE_MESSAGE = (
    "Hello. One of our moderators wanted to check in after reading your post. It sounds like things are "
    "really hard right now, and you don't have to face this alone. These people are there to listen, "
    "day and night:"
)
DEFAULT_RESOURCES = [
    "Samaritans (UK): call 116 123, any time",
    "NHS 111 (UK): call 111, or 999 in an emergency",
    "PANDAS Foundation (UK): support for perinatal mental health, pandasfoundation.org.uk",
    "Family Lives (UK): call 0808 800 2222",
    "988 Suicide & Crisis Lifeline (US): call or text 988",
    "Postpartum Support International (US): call or text 1-800-944-4773, postpartum.net",
]


def _open_flags(target: Target) -> sa.Select[tuple[Flag]]:
    return sa.select(Flag).where(
        Flag.target_type == target.kind, Flag.target_id == target.id, Flag.resolved_at.is_(None)
    )


def report(reporter: User, target: Target, *, reason: str, note: str = "") -> Flag:
    """A member reports a post; welfare reports never count towards hiding it."""
    if reason not in REASON_LABELS:
        raise ValidationFailed([("reason", "Please choose a reason.")])
    note = note.strip()[:1000]
    if reason == FlagReason.OTHER.value and not note:
        raise ValidationFailed([("note", "Please tell us a little about what's wrong.")])
    if target.author_id == reporter.id:
        raise NotAllowed("You can't report your own post; you can edit or delete it instead.")
    hooks.run_before_write(reporter, "report", note, target.item)
    if db.session.scalar(_open_flags(target).where(Flag.reporter_id == reporter.id)):
        raise ValidationFailed([(None, "You've already reported this. A moderator will look at it soon.")])
    flag = Flag(
        reporter_id=reporter.id,
        target_type=target.kind,
        target_id=target.id,
        story_id=target.story.id,
        author_id=target.author_id,
        reason=reason,
        note=note,
    )
    db.session.add(flag)
    db.session.flush()
    _auto_hide_if_needed(target)
    if reason == FlagReason.AT_RISK.value:
        alerts.welfare_alert(target)
    lifecycle.commit()  # an auto-hide reaches the page cache and the similar index like any other
    return flag


def system_flag(target: Target, reason: str, note: str, *, commit: bool = True) -> Flag:
    """A flag raised by the site itself (watched words, welfare signposting); commit=False leaves the commit
    to a caller that records more in the same transaction."""
    flag = Flag(
        reporter_id=None,
        target_type=target.kind,
        target_id=target.id,
        story_id=target.story.id,
        author_id=target.author_id,
        reason=reason,
        note=note,
    )
    db.session.add(flag)
    if reason == FlagReason.AT_RISK.value:
        db.session.flush()
        alerts.welfare_alert(target)
    if commit:
        db.session.commit()
    return flag


def _auto_hide_if_needed(target: Target) -> None:
    """Hide a post once its reporters weigh AUTO_HIDE_FLAGS (trusted members' reports weigh more)."""
    threshold = int(current_app.config.get("AUTO_HIDE_FLAGS", 3))
    reporters = list(
        db.session.scalars(
            sa.select(User).where(
                User.id.in_(
                    sa.select(Flag.reporter_id).where(
                        Flag.target_type == target.kind,
                        Flag.target_id == target.id,
                        Flag.resolved_at.is_(None),
                        Flag.reason != FlagReason.AT_RISK.value,
                    )
                )
            )
        )
    )
    flaggers = len(reporters)
    weight = sum(trust.HIDE_WEIGHT[lvl] for lvl in trust.levels(reporters).values())
    if weight >= threshold and target.item.status == Status.PUBLISHED.value:
        _set_status(target, Status.HIDDEN.value)
        audit(None, "auto-hide", target, reason=f"{flaggers} members reported it")


def _set_status(target: Target, status: str) -> None:
    lifecycle.set_status(target.item, status)


def resolve_flags(target: Target, resolution: str) -> int:
    """Close the item's open reports (each reporter is thanked and told the outcome); its claim goes."""
    flags = list(db.session.scalars(_open_flags(target)))
    now = utcnow()
    for flag in flags:
        flag.resolved_at, flag.resolution = now, resolution
        if flag.reporter_id:
            decided = "no action was needed" if resolution == "dismissed" else "a moderator acted on it"
            reporter = db.session.get(User, flag.reporter_id)
            assert reporter is not None  # deleting a member sets reporter_id to NULL
            notify_message(
                reporter,
                f"Thanks for your report about a {target.label}. We looked at it: {decided}.",
                kind="moderation",
                story=target.story,
            )
    claims.release(target)
    return len(flags)


def _tell_author(target: Target, message: str) -> None:
    author = target.author
    if author is not None and not author.is_deleted:
        notify_message(author, message, kind="moderation", story=target.story)


def act_on_item(moderator: User, target: Target, action: str, *, reason: str = "", message: str = "") -> None:
    """Dismiss, hide, remove, restore, lock or unlock an item; resolves its open flags and is audited."""
    if not moderator.is_moderator:
        raise NotAllowed("Only moderators can do that.")
    claims.ensure_free(moderator, target)
    title = target.story.title or "your story"
    why = " ".join(filter(None, [REMOVAL_REASONS.get(reason, ""), message.strip()]))
    if action == "dismiss":
        resolve_flags(target, "dismissed")
        if target.item.status == Status.HIDDEN.value:
            _set_status(target, Status.PUBLISHED.value)
    elif action == "hide":
        _set_status(target, Status.HIDDEN.value)
        resolve_flags(target, "upheld")
    elif action == "remove":
        if reason not in REMOVAL_REASONS:
            raise ValidationFailed([("reason", "Please choose a reason for the removal.")])
        _set_status(target, Status.REMOVED.value)
        resolve_flags(target, "upheld")
        extra = f" A note from the moderators: {message.strip()}" if message.strip() else ""
        _tell_author(
            target,
            f"Your {target.label} on \u201c{title}\u201d was removed: {REMOVAL_REASONS[reason]}."
            f"{extra} You can appeal once if you think this was a mistake.",
        )
    elif action in ("restore", "approve"):
        was_pending = target.item.status == Status.PENDING.value
        _set_status(target, Status.PUBLISHED.value)
        resolve_flags(target, "dismissed" if action == "restore" else "upheld")
        if action == "approve" and was_pending:
            told = f"A moderator approved your {target.label} on \u201c{title}\u201d: all can see it now."
        else:
            told = f"A moderator restored your {target.label} on \u201c{title}\u201d: it is visible again."
        _tell_author(target, told + (f" {why}" if why else ""))
    elif action in ("lock", "unlock"):
        lifecycle.set_locked(target.story, action == "lock")
        resolve_flags(target, "upheld")
    else:
        raise ValidationFailed([(None, "Unknown action.")])
    audit(
        moderator,
        action,
        target,
        reason=" ".join(filter(None, [REMOVAL_REASONS.get(reason, reason), message])),
    )
    lifecycle.commit()


def edit_title_and_tags(moderator: User, story: Story, *, title: str, tags: str, reason: str = "") -> None:
    """Correct a story's title or tags (an edit by a moderator, audited); the author is told what changed."""
    before = {t.id for t in story.tags}
    old_title, old_tags = story.title, sorted(t.name for t in story.tags)
    story.title = text.clean_line(title)[:150] or None
    story.tags = tags_named(text.parse_tags(tags))
    db.session.flush()
    lifecycle.retagged(story, before, {t.id for t in story.tags})
    new_tags = sorted(t.name for t in story.tags)
    changed = [
        *([f"the title to \u201c{story.title or 'no title'}\u201d"] if story.title != old_title else []),
        *([f"the tags to {', '.join(new_tags) or 'none'}"] if new_tags != old_tags else []),
    ]
    why = reason.strip()[:500]
    if changed:
        _tell_author(
            target_of(story),
            f"A moderator changed {' and '.join(changed)} on your story."
            + (f" The reason: {why}" if why else ""),
        )
    audit(
        moderator,
        "edit",
        target_of(story),
        reason=f"title/tags now: {story.title!r} {new_tags}" + (f"; {why}" if why else ""),
    )
    jobs.enqueue_follow_ups(story, edited=True)  # a new title or tags: a new vector
    lifecycle.commit()
    hooks.content_changed.send(current_app._get_current_object(), item=story)  # type: ignore[attr-defined]


def send_support(moderator: User, target: Target) -> None:
    """Send the author of a welfare-reported post a private, kind message with support resources."""
    author = target.author
    if author is None:
        raise ValidationFailed([(None, "This post has no member to write to.")])
    claims.ensure_free(moderator, target)
    lines = "\n".join(f"- {line}" for line in support_resources())
    notify_message(author, f"{welfare_message()}\n{lines}", kind="moderation", story=target.story)
    resolve_flags(target, "upheld")
    audit(moderator, "send-support", target)
    db.session.commit()


def support_resources() -> list[str]:
    """The support resources shown in welfare messages (one line each), as admins keep them."""
    from forum.care.resources import as_lines

    return as_lines() or DEFAULT_RESOURCES


_SETTING = sa.select(SiteSetting.value).where(SiteSetting.key == sa.bindparam("key"))


def get_setting(key: str, default: str = "") -> str:
    """A site setting's value (kept for a few seconds: forum.staff_lists)."""
    value = staff_lists.kept(f"setting:{key}", lambda: db.session.scalar(_SETTING, {"key": key}))
    return default if value is None else value


def set_setting(moderator: User, key: str, value: str) -> None:
    """Change a site setting (audited)."""
    row = db.session.get(SiteSetting, key) or SiteSetting(key=key)
    row.value = value
    db.session.add(row)
    audit(moderator, "setting", reason=f"{key} = {value[:200]}")
    db.session.commit()


def welfare_message() -> str:
    """The editable opening of the welfare message."""
    return get_setting("welfare_message", DEFAULT_WELFARE_MESSAGE)


def reveal_author(moderator: User, story: Story) -> User | None:
    """Show a moderator who wrote an anonymous story; every look is audited."""
    if not moderator.is_moderator:
        raise NotAllowed("Only moderators can see who wrote an anonymous story.")
    audit(moderator, "reveal-author", target_of(story))
    db.session.commit()
    return db.session.get(User, story.author_id) if story.author_id else None


def add_note(moderator: User, member: User, body: str) -> ModeratorNote:
    """A private note about a member, for moderators only."""
    body = body.strip()
    if not body:
        raise ValidationFailed([("body", "The note is empty.")])
    note = ModeratorNote(member_id=member.id, author_id=moderator.id, body=body[:2000])
    db.session.add(note)
    audit(moderator, "note", subject_id=member.id)
    db.session.commit()
    return note


def appeal(member: User, target: Target, message: str) -> Appeal:
    """A member appeals the removal of their post, once."""
    message = message.strip()
    if target.author_id != member.id or target.item.status != Status.REMOVED.value:
        raise NotAllowed("Only the author of a removed post can appeal.")
    if not 10 <= len(message) <= 2000:
        raise ValidationFailed([("message", "Please write between 10 and 2,000 characters.")])
    if db.session.scalar(
        sa.select(Appeal.id).where(
            Appeal.member_id == member.id, Appeal.target_type == target.kind, Appeal.target_id == target.id
        )
    ):
        raise ValidationFailed([(None, "You've already appealed this removal.")])
    remover = db.session.scalar(
        sa.select(AuditEntry.actor_id)
        .where(
            AuditEntry.target_type == target.kind,
            AuditEntry.target_id == target.id,
            AuditEntry.action == "remove",
        )
        .order_by(AuditEntry.id.desc())
    )
    entry = Appeal(
        member_id=member.id,
        target_type=target.kind,
        target_id=target.id,
        story_id=target.story.id,
        message=message,
        removed_by_id=remover,
    )
    db.session.add(entry)
    db.session.commit()
    return entry


def decide_appeal(moderator: User, entry: Appeal, target: Target, *, restore: bool) -> None:
    """Restore the post or uphold the removal; the member is told."""
    others = db.session.scalar(
        sa.select(sa.func.count())
        .select_from(User)
        .where(User.role.in_([Role.MODERATOR.value, Role.ADMIN.value]), User.id != entry.removed_by_id)
    )
    if entry.removed_by_id == moderator.id and others:
        raise NotAllowed("Another moderator should decide this appeal, since you removed the post.")
    entry.decided_at, entry.decision = utcnow(), "restored" if restore else "upheld"
    if restore:
        _set_status(target, Status.PUBLISHED.value)
        _tell_author(target, f"Your appeal was accepted: your {target.label} is visible again.")
    else:
        _tell_author(target, f"We looked at your appeal again and the {target.label} stays removed.")
    audit(moderator, "appeal-" + entry.decision, target)
    lifecycle.commit()


def set_role(admin: User, member: User, role: str) -> None:
    """Admins promote members to moderators and back."""
    if not admin.is_admin:
        raise NotAllowed("Only admins can change roles.")
    if role not in (Role.MEMBER.value, Role.MODERATOR.value) or member.is_admin:
        raise ValidationFailed([(None, "That role change isn't possible here.")])
    member.role = role
    audit(admin, "promote" if role == Role.MODERATOR.value else "demote", subject_id=member.id)
    db.session.commit()
