"""The daily or weekly digest: what a member set to "in the digest", reactions as people, new stories in the
tags she follows and stories in those tags still waiting for a first reply.

A digest row only records its period; its content is read when it is sent, so nothing hidden or removed in
between goes out.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime, timedelta

import sqlalchemy as sa
from flask import url_for

from forum.extensions import db
from forum.feeds.queries import awaiting_support
from forum.models import (
    Follow,
    MailOutbox,
    MailPreference,
    Notification,
    Reply,
    Status,
    Story,
    User,
    story_tags,
)
from forum.notifications.mail import kinds as K
from forum.notifications.mail import prefs as P
from forum.notifications.mail.outbox import queue
from forum.notifications.mail.render import Item, excerpt, story_name
from forum.visibility import story_filters

PERIODS = {"daily": timedelta(days=1), "weekly": timedelta(days=7)}
LIVE = Status.PUBLISHED.value
MAX_ITEMS = 20
BATCH = 200


def queue_due_digests(now: datetime) -> int:
    """Queue a digest for every confirmed member whose period has passed; returns how many were queued."""
    queued = 0
    for period_name, period in PERIODS.items():
        rows = db.session.execute(
            sa.select(MailPreference, User)
            .join(User, User.id == MailPreference.user_id)
            .where(
                MailPreference.digest == period_name,
                MailPreference.verified_email.is_not(None),
                MailPreference.verified_email == User.email,
                sa.or_(
                    MailPreference.last_digest_at.is_(None), MailPreference.last_digest_at <= now - period
                ),
            )
            .limit(BATCH)
        ).all()
        for prefs, user in rows:
            since = prefs.last_digest_at or now - period
            prefs.last_digest_at = now
            if _has_content(user, prefs, since, now):
                queue(
                    db.session(),
                    user.id,
                    K.DIGEST_KIND,
                    {"since": since.isoformat(), "until": now.isoformat()},
                    due_at=now,
                )
                queued += 1
    db.session.commit()
    return queued


def _digest_kinds(prefs: MailPreference) -> list[str]:
    """Notification kinds this member reads in the digest (reactions always)."""
    wanted = {kind for kind in K.KINDS if P.mode(prefs, kind) == K.DIGEST}
    return [K.REACTION_NOTIFICATION] + [n for n, kind in K.NOTIFICATION_KINDS.items() if kind in wanted]


def _notifications(user: User, prefs: MailPreference, since: datetime, until: datetime) -> sa.Select:
    return sa.select(Notification).where(
        Notification.user_id == user.id,
        Notification.kind.in_(_digest_kinds(prefs)),
        Notification.created_at > since,
        Notification.created_at <= until,
    )


def _tag_stories(user: User, since: datetime, until: datetime) -> sa.Select:
    followed = sa.select(Follow.tag_id).where(Follow.user_id == user.id, Follow.tag_id.is_not(None))
    tagged = sa.select(story_tags.c.story_id).where(story_tags.c.tag_id.in_(followed))
    return (
        sa.select(Story)
        .where(Story.id.in_(tagged), Story.status == LIVE, Story.author_id.is_distinct_from(user.id))
        .where(*story_filters(user))  # blocks (by identity), muted tags and hidden notes, as on the site
        .where(Story.created_at > since - timedelta(days=7), Story.created_at <= until)
        .order_by(Story.created_at.desc())
    )


def _has_content(user: User, prefs: MailPreference, since: datetime, until: datetime) -> bool:
    any_note = db.session.scalar(_notifications(user, prefs, since, until).limit(1))
    return (
        any_note is not None
        or db.session.scalar(_tag_stories(user, since, until).where(Story.created_at > since).limit(1))
        is not None
    )


def digest_items(row: MailOutbox, recipient: User) -> list[Item]:
    since = datetime.fromisoformat(row.payload["since"])
    until = datetime.fromisoformat(row.payload["until"])
    prefs = P.get(recipient.id)
    items: list[Item] = []
    by_story: dict[int, list[Reply]] = defaultdict(list)
    reactions: dict[int, int] = defaultdict(int)
    stories: dict[int, Story] = {}
    for note in db.session.scalars(_notifications(recipient, prefs, since, until).order_by(Notification.id)):
        story = note.story
        if story is None or story.status != LIVE:
            continue
        stories[story.id] = story
        if note.kind == K.REACTION_NOTIFICATION:
            reactions[story.id] += note.actor_count or 0
        elif note.reply is not None and note.reply.status == LIVE:
            by_story[story.id].append(note.reply)
    for story_id, replies in by_story.items():
        story = stories[story_id]
        n = len(replies)
        items.append(
            Item(
                heading=f"{n} new repl{'y' if n == 1 else 'ies'} in {story_name(story, recipient.id)}",
                url=url_for(
                    "stories.show", story_id=story_id, _anchor=f"reply-{replies[0].id}", _external=True
                ),
                excerpt=excerpt(replies[-1].body),
                action="Read the replies",
            )
        )
    for story_id, count in reactions.items():
        if count > 0:
            items.append(
                Item(
                    heading=f"{count} parent{'s' if count != 1 else ''} sent support on "
                    f"{story_name(stories[story_id], recipient.id)}",
                    url=url_for("stories.show", story_id=story_id, _external=True),
                    action="See your story",
                )
            )
    tag_stories = list(db.session.scalars(_tag_stories(recipient, since, until).limit(MAX_ITEMS)))
    still_waiting = set(
        db.session.scalars(
            sa.select(Story.id).where(Story.id.in_([s.id for s in tag_stories]), awaiting_support())
        )
    )
    for story in tag_stories:
        waiting = story.id in still_waiting
        if story.created_at <= since and not waiting:
            continue
        items.append(
            Item(
                heading=("Still waiting for a first reply: " if waiting else "New in a tag you follow: ")
                + story_name(story, recipient.id),
                url=url_for("stories.show", story_id=story.id, _external=True),
                excerpt="" if story.content_note else excerpt(story.body),
                action="Read the story",
            )
        )
    return items[:MAX_ITEMS]
