"""Posting, editing and deleting stories, replies and updates, and reactions. One commit per action."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from forum import drafts
from forum import text as textlib
from forum.errors import NotAllowed, ValidationFailed
from forum.extensions import db
from forum.jobs import queue as jobs
from forum.models import (
    Reaction,
    ReactionKind,
    Reply,
    Revision,
    Status,
    Story,
    StoryUpdate,
    UpdateReminder,
    User,
    utcnow,
)
from forum.notifications import services as notes
from forum.permissions import require
from forum.stories import hooks, lifecycle
from forum.stories.submissions import commit_once, existing
from forum.stories.tags import tags_named
from forum.stories.validation import validate_reply, validate_story, validate_update

REMINDER_WEEKS = (1, 3)


def _author(item: Story | Reply) -> int | None:
    return item.author_id


def _story_author(update: StoryUpdate) -> int | None:
    return update.story.author_id


def _status_for(author: User, kind: str, text: str, target: Any) -> str:
    pending = hooks.run_before_write(author, kind, text, target)
    return Status.PENDING.value if pending else Status.PUBLISHED.value


def _app() -> Any:
    return current_app._get_current_object()  # type: ignore[attr-defined]


def publish_story(
    author: User,
    *,
    body: str,
    title: str | None = None,
    tags: str | Iterable[str] = (),
    anonymous: bool = False,
    age_band: str | None = None,
    setting: str | None = None,
    content_note: str | None = None,
    submission_key: str | None = None,
    remind_after_weeks: int | None = None,
) -> Story:
    """Post a story (or return the one already posted with this submission key)."""
    found = existing(Story, submission_key, author.id, _author)
    if found is not None:
        return found
    fields = validate_story(title, body, tags, age_band, setting, content_note)
    if remind_after_weeks is not None and remind_after_weeks not in REMINDER_WEEKS:
        raise ValidationFailed([("remind", "Please pick one of the reminder options.")])
    status = _status_for(author, "story", f"{fields['title'] or ''}\n{fields['body']}", None)

    def build() -> Story:
        now = utcnow()
        story = Story(
            author_id=author.id,
            anonymous=bool(anonymous),
            title=fields["title"],
            body=fields["body"],
            body_html=textlib.render_markdown(fields["body"]),
            age_band=fields["age_band"],
            setting=fields["setting"],
            content_note=fields["content_note"],
            status=status,
            created_at=now,
            last_activity_at=now,
            submission_key=submission_key or None,
        )
        story.tags = tags_named(fields["tag_names"])
        db.session.add(story)
        db.session.flush()
        if remind_after_weeks:
            db.session.add(
                UpdateReminder(
                    story_id=story.id, user_id=author.id, due_at=now + timedelta(weeks=remind_after_weeks)
                )
            )
        drafts.discard_posted(author.id, drafts.STORY_DRAFT_KEY)
        lifecycle.published(story)
        jobs.enqueue_follow_ups(story)  # embedding, the care report, moderators' flags: in this transaction
        return story

    story = commit_once(Story, submission_key, author.id, _author, build)
    hooks.content_created.send(_app(), item=story)
    return story


def edit_story(
    editor: User,
    story: Story,
    *,
    body: str,
    title: str | None = None,
    tags: str | Iterable[str] = (),
    anonymous: bool | None = None,
    age_band: str | None = None,
    setting: str | None = None,
    content_note: str | None = None,
) -> Story:
    """Change the author's own story, keeping the previous version for moderators."""
    require("edit_story", story, editor)
    if anonymous is not None and bool(anonymous) != story.anonymous:
        # Readers may already have linked a named story to her, and naming an anonymous one would unmask every
        # "Anonymous parent" reply she wrote in it: anonymity is chosen once, when posting.
        raise ValidationFailed([("anonymous", "Whether a story is anonymous is fixed when it is posted.")])
    fields = validate_story(title, body, tags, age_band, setting, content_note)
    status = _status_for(editor, "story", f"{fields['title'] or ''}\n{fields['body']}", story)
    old_tag_ids = [t.id for t in story.tags]
    was_live = story.status == Status.PUBLISHED.value
    db.session.add(Revision(story_id=story.id, title=story.title, body=story.body))
    story.title, story.body = fields["title"], fields["body"]
    story.body_html = textlib.render_markdown(story.body)
    story.age_band, story.setting, story.content_note = (
        fields["age_band"],
        fields["setting"],
        fields["content_note"],
    )
    story.tags = tags_named(fields["tag_names"])
    story.edited_at = utcnow()
    db.session.flush()
    if was_live:
        lifecycle.retagged(story, old_tag_ids, [t.id for t in story.tags])
    if status == Status.PENDING.value:
        lifecycle.set_status(story, status)
    jobs.enqueue_follow_ups(story, edited=True)
    lifecycle.commit()  # announces a hold for approval; the edit itself is content_changed
    hooks.content_changed.send(_app(), item=story)
    return story


def delete_story(actor: User, story: Story, *, remove_everything: bool = False) -> None:
    """Delete the author's own story (a tombstone stays); optionally its replies too."""
    require("delete_story", story, actor)
    lifecycle.set_status(story, Status.DELETED.value)
    if remove_everything:
        lifecycle.set_status_where(
            Reply,
            sa.and_(Reply.story_id == story.id, Reply.status != Status.DELETED.value),
            Status.DELETED.value,
        )
    db.session.execute(
        sa.delete(UpdateReminder).where(UpdateReminder.story_id == story.id, UpdateReminder.sent_at.is_(None))
    )
    lifecycle.commit()


def add_reply(
    author: User, story: Story, *, body: str, submission_key: str | None = None, quoting: Reply | None = None
) -> Reply:
    """Reply to a story; the story's author (and a quoted reply's author) are notified."""
    found = existing(Reply, submission_key, author.id, _author)
    if found is not None:
        return found
    if story.locked:
        raise NotAllowed("This conversation is closed to new replies.")
    require("reply", story, author)
    body = validate_reply(body)
    status = _status_for(author, "reply", body, story)

    def build() -> Reply:
        now = utcnow()
        reply = Reply(
            story_id=story.id,
            author_id=author.id,
            body=body,
            body_html=textlib.render_markdown(body),
            status=status,
            created_at=now,
            submission_key=submission_key or None,
        )
        db.session.add(reply)
        drafts.discard_posted(author.id, f"reply-{story.id}")
        lifecycle.published(reply)  # the reply count, in SQL: concurrent replies never lose a count
        telling = []
        if status == Status.PUBLISHED.value:
            # Its story's author, a quoted member and the followers hear of it from a job queued with its
            # follow-ups (one statement): the parent posting it waits for none of their rows or mail.
            quoted = quoting is not None and quoting.story_id == story.id and ">" in body
            telling.append(notes.tell_of_new_reply(reply, quoting.author_id if quoted else None))  # type: ignore[union-attr]
        jobs.enqueue_follow_ups(reply, also=telling)
        return reply

    reply = commit_once(Reply, submission_key, author.id, _author, build)
    hooks.content_created.send(_app(), item=reply)
    return reply


def edit_reply(editor: User, reply: Reply, *, body: str) -> Reply:
    """Change the member's own reply, keeping the previous version for moderators."""
    require("edit_reply", reply, editor)
    body = validate_reply(body)
    status = _status_for(editor, "reply", body, reply)
    db.session.add(Revision(reply_id=reply.id, body=reply.body))
    reply.body, reply.body_html, reply.edited_at = body, textlib.render_markdown(body), utcnow()
    if status == Status.PENDING.value and reply.status == Status.PUBLISHED.value:
        lifecycle.set_status(reply, status)
    jobs.enqueue_follow_ups(reply, edited=True)
    lifecycle.commit()
    hooks.content_changed.send(_app(), item=reply)
    return reply


def delete_reply(actor: User, reply: Reply) -> None:
    """Delete the member's own reply."""
    require("delete_reply", reply, actor)
    lifecycle.set_status(reply, Status.DELETED.value)
    lifecycle.commit()


def add_update(
    author: User, story: Story, *, body: str, outcome: str, submission_key: str | None = None
) -> StoryUpdate:
    """Add a dated "how it turned out" update to the author's own story."""
    found = existing(StoryUpdate, submission_key, author.id, _story_author)
    if found is not None:
        return found
    require("add_update", story, author)
    body = validate_update(body, outcome)
    status = _status_for(author, "update", body, story)

    def build() -> StoryUpdate:
        now = utcnow()
        update = StoryUpdate(
            story_id=story.id,
            body=body,
            body_html=textlib.render_markdown(body),
            outcome=outcome,
            status=status,
            created_at=now,
            submission_key=submission_key or None,
        )
        db.session.add(update)
        lifecycle.published(update)
        jobs.enqueue_follow_ups(update)
        # She has written an update: no reminder needed any more.
        db.session.execute(
            sa.update(UpdateReminder)
            .where(UpdateReminder.story_id == story.id, UpdateReminder.sent_at.is_(None))
            .values(sent_at=now)
        )
        return update

    update = commit_once(StoryUpdate, submission_key, author.id, _story_author, build)
    hooks.content_created.send(_app(), item=update)
    return update


def set_reaction(
    user: User, *, kind: str, on: bool, story: Story | None = None, reply: Reply | None = None
) -> bool:
    """Make one supportive reaction on or off; returns the state it is now in. The wanted state travels with
    the request, so the same request sent twice (a tap whose answer was lost) leaves the same state and
    counts. Counters count people."""
    if (story is None) == (reply is None):
        raise ValueError("react to exactly one story or reply")
    if kind not in {k.value for k in ReactionKind}:
        raise ValidationFailed([("kind", "That reaction isn't available.")])
    target: Story | Reply = story if story is not None else reply  # type: ignore[assignment]
    require("react", target, user)
    hooks.run_before_write(user, "reaction", kind, target)
    # Lock the target's row (PostgreSQL; SQLite has one writer anyway) so concurrent reactions count each
    # other.
    model = type(target)
    db.session.execute(sa.select(model.id).where(model.id == target.id).with_for_update())
    column = Reaction.story_id if story is not None else Reaction.reply_id
    found = db.session.scalar(
        sa.select(Reaction).where(Reaction.user_id == user.id, column == target.id, Reaction.kind == kind)
    )
    if (found is not None) == on:
        db.session.commit()  # already as wanted: nothing changes, nobody is notified again
        return on
    if found is not None:
        db.session.delete(found)
    else:
        db.session.add(
            Reaction(
                user_id=user.id,
                kind=kind,
                story_id=story.id if story else None,
                reply_id=reply.id if reply else None,
            )
        )
    db.session.flush()
    target.reaction_count = (
        db.session.scalar(sa.select(sa.func.count(sa.distinct(Reaction.user_id))).where(column == target.id))
        or 0
    )
    notes.reaction_changed(target.author_id, user, kind, story=story, reply=reply, added=on)
    try:
        db.session.commit()
    except IntegrityError:  # the same "on" arrived twice at once: the other one made it on
        db.session.rollback()
        return True
    return on


def toggle_reaction(user: User, *, kind: str, story: Story | None = None, reply: Reply | None = None) -> bool:
    """Flip one reaction from whatever it is now (for scripts and tests; the site sends the wanted state)."""
    column = Reaction.story_id if story is not None else Reaction.reply_id
    target_id = story.id if story is not None else reply.id if reply is not None else None
    current = db.session.scalar(
        sa.select(Reaction.id).where(Reaction.user_id == user.id, column == target_id, Reaction.kind == kind)
    )
    return set_reaction(user, kind=kind, on=current is None, story=story, reply=reply)
