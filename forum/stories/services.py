"""Posting, editing and deleting stories, replies and updates, and toggling reactions. One commit per action."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from flask import current_app
from sqlalchemy.exc import IntegrityError

from forum import text as textlib
from forum.errors import NotAllowed, ValidationFailed
from forum.extensions import db
from forum.models import (
    AgeBand,
    Draft,
    Outcome,
    Reaction,
    ReactionKind,
    Reply,
    Revision,
    Setting,
    Status,
    Story,
    StoryUpdate,
    Tag,
    UpdateReminder,
    User,
    utcnow,
)
from forum.notifications import services as notes
from forum.permissions import require
from forum.stories import hooks, lifecycle

TITLE_MAX = 150
BODY_MIN, BODY_MAX = 20, 20_000
REPLY_MIN, REPLY_MAX = 2, 10_000
UPDATE_MIN, UPDATE_MAX = 10, 10_000
REMINDER_WEEKS = (1, 3)
CONTENT_NOTES = {
    "baby-loss": "Baby loss",
    "medical": "Medical",
    "birth-trauma": "Birth trauma",
    "self-harm": "Self-harm",
    "mental-health": "Mental health",
}
T = TypeVar("T")


def _length_errors(field: str, value: str, low: int, high: int, what: str) -> list[tuple[str | None, str]]:
    n = len(value)
    if n == 0:
        return [(field, f"Please write your {what}; it's empty at the moment.")]
    if n < low:
        return [
            (field, f"Please write a little more: your {what} needs at least {low} characters (it has {n}).")
        ]
    if n > high:
        return [
            (field, f"Your {what} is {n:,} characters; the limit is {high:,}. Please shorten it a little.")
        ]
    return []


def _choice(
    field: str, value: str | None, allowed: Iterable[str], errors: list[tuple[str | None, str]]
) -> str | None:
    if not value:
        return None
    if value not in set(allowed):
        errors.append((field, "Please pick one of the options."))
    return value


def validate_story(
    title: str | None,
    body: str,
    tags: str | Iterable[str],
    age_band: str | None,
    setting: str | None,
    content_note: str | None,
) -> dict[str, Any]:
    """A story's fields cleaned and checked; raises ValidationFailed with a message per field."""
    errors: list[tuple[str | None, str]] = []
    title = textlib.clean_line(title) or None
    body = textlib.clean_text(body).strip()
    if title and len(title) > TITLE_MAX:
        errors.append(("title", f"Please keep the title to {TITLE_MAX} characters (it has {len(title)})."))
    errors += _length_errors("body", body, BODY_MIN, BODY_MAX, "story")
    age_band = _choice("age_band", age_band, (a.value for a in AgeBand), errors)
    setting = _choice("setting", setting, (s.value for s in Setting), errors)
    content_note = _choice("content_note", content_note, CONTENT_NOTES, errors)
    names: list[str] = []
    try:
        names = textlib.parse_tags(tags, body)
    except ValidationFailed as error:
        errors += error.errors
    if errors:
        raise ValidationFailed(errors)
    return {
        "title": title,
        "body": body,
        "tag_names": names,
        "age_band": age_band,
        "setting": setting,
        "content_note": content_note,
    }


def _existing(model: type[T], key: str | None, author: User) -> T | None:
    """The item already created with this submission key (a repeated "Post"), if any."""
    if not key:
        return None
    item = db.session.scalar(sa.select(model).where(model.submission_key == key))  # type: ignore[attr-defined]
    if item is not None and item.author_id != author.id:  # type: ignore[attr-defined]
        raise NotAllowed("That form was already used. Please reload the page and try again.")
    return item


def _commit_once(model: type[T], key: str | None, author: User, build: Callable[[], T]) -> T:
    """Build and commit; if a concurrent request with the same key won the race, return its item instead."""
    for attempt in range(2):
        try:
            item = build()
            db.session.commit()
            return item
        except IntegrityError:
            db.session.rollback()
            existing = _existing(model, key, author)
            if existing is not None:
                return existing
            if attempt:
                raise
    raise AssertionError("unreachable")


def tags_named(names: list[str]) -> list[Tag]:
    if not names:
        return []
    found = {t.name: t for t in db.session.scalars(sa.select(Tag).where(Tag.name.in_(names)))}
    tags = []
    for name in names:
        if name not in found:
            found[name] = Tag(name=name)
            db.session.add(found[name])
        tags.append(found[name])
    return tags


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
    existing = _existing(Story, submission_key, author)
    if existing is not None:
        return existing
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
        db.session.execute(sa.delete(Draft).where(Draft.user_id == author.id, Draft.key == "story"))
        lifecycle.published(story)
        return story

    story = _commit_once(Story, submission_key, author, build)
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
    if anonymous is not None:
        story.anonymous = anonymous
    story.tags = tags_named(fields["tag_names"])
    story.edited_at = utcnow()
    db.session.flush()
    if was_live:
        lifecycle.retagged(story, old_tag_ids, [t.id for t in story.tags])
    if status == Status.PENDING.value:
        lifecycle.set_status(story, status)
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


def validate_reply(body: str) -> str:
    """A reply's text cleaned and checked."""
    body = textlib.clean_text(body).strip()
    errors = _length_errors("body", body, REPLY_MIN, REPLY_MAX, "reply")
    if errors:
        raise ValidationFailed(errors)
    return body


def add_reply(
    author: User, story: Story, *, body: str, submission_key: str | None = None, quoting: Reply | None = None
) -> Reply:
    """Reply to a story; the story's author (and a quoted reply's author) are notified."""
    existing = _existing(Reply, submission_key, author)
    if existing is not None:
        return existing
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
        db.session.execute(
            sa.delete(Draft).where(Draft.user_id == author.id, Draft.key == f"reply-{story.id}")
        )
        lifecycle.published(reply)  # the reply count, in SQL: concurrent replies never lose a count
        if status == Status.PUBLISHED.value:
            notes.notify(story.author_id, notes.REPLY, actor=author, story=story, reply=reply)
            quoted = quoting is not None and quoting.story_id == story.id and ">" in body
            if quoted and quoting.author_id not in (story.author_id,):  # type: ignore[union-attr]
                notes.notify(quoting.author_id, notes.QUOTE, actor=author, story=story, reply=reply)  # type: ignore[union-attr]
        return reply

    reply = _commit_once(Reply, submission_key, author, build)
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
    existing = (
        db.session.scalar(sa.select(StoryUpdate).where(StoryUpdate.submission_key == submission_key))
        if submission_key
        else None
    )
    if existing is not None and existing.story_id == story.id:
        return existing
    require("add_update", story, author)
    body = textlib.clean_text(body).strip()
    errors = _length_errors("body", body, UPDATE_MIN, UPDATE_MAX, "update")
    if outcome not in {o.value for o in Outcome}:
        errors.append(("outcome", "Please choose how things are now."))
    if errors:
        raise ValidationFailed(errors)
    status = _status_for(author, "update", body, story)
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
    # She has written an update: no reminder needed any more.
    db.session.execute(
        sa.update(UpdateReminder)
        .where(UpdateReminder.story_id == story.id, UpdateReminder.sent_at.is_(None))
        .values(sent_at=now)
    )
    try:
        db.session.commit()
    except IntegrityError:
        db.session.rollback()
        existing = db.session.scalar(
            sa.select(StoryUpdate).where(StoryUpdate.submission_key == submission_key)
        )
        if existing is None:
            raise
        return existing
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
