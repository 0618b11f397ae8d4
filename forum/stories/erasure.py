"""What happens to a member's writing when she deletes her account (the caller tombstones the account and
commits through the lifecycle).

"Keep": her named stories and replies stay, signed "a former member". Everything written as "Anonymous
parent" (her anonymous stories, their updates, her replies in their threads, her reactions there) stays
exactly as it was, still tied to the tombstone row so nothing about it changes at the moment of deletion:
relabelling it together with her named posts would tie them to her.

"Remove everything": every text she wrote is erased everywhere: her stories (titles, bodies, tags only she
used), their updates, her replies, every earlier version of them, other members' quotes of her words (replaced
by "[removed]" in the quoting post and its earlier versions), her appeal messages, her report notes, the
reasons in audit entries about her or her posts (the action rows stay), moderators' notes about her, and
notices that carried her story's title. Search (SQLite's FTS table through its triggers; PostgreSQL indexes
expressions over the rows) and the similar-stories vectors go with the rows.

In both cases her reactions are withdrawn and the counts they added taken back, except, with "keep", those on
her own anonymous threads, and her private verdicts on similar stories ("this helped", "not like mine") go;
with "remove everything", so do everyone's verdicts about her stories.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

import sqlalchemy as sa

from forum import text as textlib
from forum.extensions import db
from forum.models import (
    Appeal,
    AuditEntry,
    CareCard,
    Flag,
    MemberPreference,
    ModeratorNote,
    Notification,
    Reaction,
    Reply,
    Revision,
    SimilarSignal,
    Status,
    Story,
    StoryUpdate,
    Tag,
    UpdateReminder,
    User,
    story_tags,
)
from forum.notifications import services as notes
from forum.stories import lifecycle

REMOVED = "[removed]"
REMOVED_REASON = "[removed with the member's account]"
# A quoted line shorter than this (after tidying) is too common to say whose words it was.
MIN_QUOTED = 12
_QUOTE_BLOCK = re.compile(r"(?m)^(?:[ \t]*>.*(?:\n|$))+")


def _anonymous_story_ids(user: User) -> list[int]:
    return list(db.session.scalars(sa.select(Story.id).where(Story.author_id == user.id, Story.anonymous)))


def keep_writing(user: User) -> list[int]:
    """Detach her named stories and replies; leave everything anonymous as it was. Returns the anonymous
    story ids (her reactions in those threads stay too)."""
    anonymous = _anonymous_story_ids(user)
    forget_similar_signals(user)
    named = sa.or_(
        sa.and_(Story.author_id == user.id, Story.anonymous.is_(False)),
        Story.id.in_(
            sa.select(Reply.story_id).where(
                Reply.author_id == user.id, Reply.story_id.not_in(anonymous or [-1])
            )
        ),
    )
    for story in db.session.scalars(sa.select(Story).where(named)):
        lifecycle.shown_differently(story)  # her name leaves these pages at once, cached ones too
    db.session.execute(
        sa.update(Story)
        .where(Story.author_id == user.id, Story.anonymous.is_(False))
        .values(author_id=None)
        .execution_options(synchronize_session=False)
    )
    db.session.execute(
        sa.update(Reply)
        .where(Reply.author_id == user.id, Reply.story_id.not_in(anonymous or [-1]))
        .values(author_id=None)
        .execution_options(synchronize_session=False)
    )
    return anonymous


def forget_similar_signals(user: User, story_ids: Iterable[int] = ()) -> None:
    """Delete her verdicts on similar stories, and anyone's about the given stories (hers, being erased)."""
    ids = list(story_ids) or [-1]
    db.session.execute(
        sa.delete(SimilarSignal).where(
            sa.or_(
                SimilarSignal.user_id == user.id,
                SimilarSignal.source_id.in_(ids),
                SimilarSignal.match_id.in_(ids),
            )
        )
    )


def withdraw_reactions(user: User, keep_on_stories: Iterable[int] = ()) -> None:
    """Delete her reactions (except on the given stories and their replies) and take back what they added:
    one person less on each post's count, one less in the owner's unread grouped notice."""
    kept = list(keep_on_stories) or [-1]
    # Spelled out with IS NOT NULL: NOT (NULL IN (...)) is NULL, which would keep every reaction on a reply.
    in_kept_thread = sa.or_(
        sa.and_(Reaction.story_id.is_not(None), Reaction.story_id.in_(kept)),
        sa.and_(
            Reaction.reply_id.is_not(None),
            Reaction.reply_id.in_(sa.select(Reply.id).where(Reply.story_id.in_(kept))),
        ),
    )
    rows = list(
        db.session.execute(
            sa.select(Reaction.id, Reaction.story_id, Reaction.reply_id, Reaction.kind).where(
                Reaction.user_id == user.id, sa.not_(in_kept_thread)
            )
        )
    )
    if not rows:
        return
    for model, ids in (
        (Story, {r.story_id for r in rows if r.story_id}),
        (Reply, {r.reply_id for r in rows if r.reply_id}),
    ):
        if ids:  # counts count people: each post loses one, however many kinds she sent
            db.session.execute(
                sa.update(model)
                .where(model.id.in_(sorted(ids)))
                .values(reaction_count=sa.case((model.reaction_count > 0, model.reaction_count - 1), else_=0))
                .execution_options(synchronize_session=False)
            )
    owners = _owners(rows)
    for row in rows:
        story = db.session.get(Story, row.story_id) if row.story_id else None
        reply = db.session.get(Reply, row.reply_id) if row.reply_id else None
        notes.reaction_changed(
            owners.get((row.story_id, row.reply_id)), user, row.kind, story=story, reply=reply, added=False
        )
    db.session.execute(sa.delete(Reaction).where(Reaction.id.in_([r.id for r in rows])))


def _owners(
    rows: list[sa.Row[tuple[int, int | None, int | None, str]]],
) -> dict[tuple[int | None, int | None], int | None]:
    owners: dict[tuple[int | None, int | None], int | None] = {}
    for row in rows:
        if row.story_id:
            owners[(row.story_id, None)] = db.session.scalar(
                sa.select(Story.author_id).where(Story.id == row.story_id)
            )
        else:
            owners[(None, row.reply_id)] = db.session.scalar(
                sa.select(Reply.author_id).where(Reply.id == row.reply_id)
            )
    return owners


def _plain(value: str) -> str:
    """Text reduced the way a quote is made (textlib.excerpt without a limit), lower-cased."""
    plain = re.sub(r"\]\([^()]{0,2048}\)", "]", textlib.clean_text(value))  # as textlib.excerpt (bounded)
    plain = re.sub(r"[*_>`\[\]]", "", plain)
    return re.sub(r"\s+", " ", plain).strip().lower()


def _scrub_quotes(body: str, hers: list[str]) -> str:
    """The text with every quote block that repeats her words replaced by a quote of "[removed]"."""

    def replace(match: re.Match[str]) -> str:
        block = match.group(0)
        for line in block.splitlines():
            quoted = _plain(line).rstrip("…").strip()
            if len(quoted) >= MIN_QUOTED and any(quoted in text for text in hers):
                return f"> {REMOVED}\n" + ("\n" if block.endswith("\n\n") else "")
        return block

    return _QUOTE_BLOCK.sub(replace, body)


def _her_texts(story_ids: list[int], reply_ids: list[int]) -> list[str]:
    texts: list[str | None] = []
    texts += db.session.scalars(sa.select(Story.body).where(Story.id.in_(story_ids or [-1])))
    texts += db.session.scalars(sa.select(Story.title).where(Story.id.in_(story_ids or [-1])))
    texts += db.session.scalars(sa.select(Reply.body).where(Reply.id.in_(reply_ids or [-1])))
    texts += db.session.scalars(
        sa.select(StoryUpdate.body).where(StoryUpdate.story_id.in_(story_ids or [-1]))
    )
    texts += db.session.scalars(
        sa.select(Revision.body).where(
            sa.or_(Revision.story_id.in_(story_ids or [-1]), Revision.reply_id.in_(reply_ids or [-1]))
        )
    )
    return [_plain(t) for t in texts if t]


def _scrub_quoting_posts(user: User, story_ids: list[int], reply_ids: list[int], hers: list[str]) -> None:
    """Other members' replies (and their earlier versions) in threads she wrote in: quotes of her removed."""
    threads = set(story_ids) | set(
        db.session.scalars(sa.select(Reply.story_id).where(Reply.id.in_(reply_ids or [-1])))
    )
    if not threads or not hers:
        return
    others = db.session.scalars(
        sa.select(Reply).where(
            Reply.story_id.in_(sorted(threads)),
            sa.or_(Reply.author_id.is_(None), Reply.author_id != user.id),
            Reply.id.not_in(reply_ids or [-1]),
            Reply.body.contains(">"),
        )
    )
    for reply in others:
        scrubbed = _scrub_quotes(reply.body, hers)
        if scrubbed != reply.body:
            reply.body, reply.body_html = scrubbed, textlib.render_markdown(scrubbed)
        for revision in db.session.scalars(sa.select(Revision).where(Revision.reply_id == reply.id)):
            revision.body = _scrub_quotes(revision.body, hers)


def remove_writing(user: User) -> None:
    """Erase everything she wrote, everywhere (see the module's docstring); the caller commits."""
    stories = list(db.session.scalars(sa.select(Story).where(Story.author_id == user.id)))
    story_ids = [s.id for s in stories]
    reply_ids = list(db.session.scalars(sa.select(Reply.id).where(Reply.author_id == user.id)))
    titles = sorted({s.title for s in stories if s.title and len(s.title) >= 4}, key=len, reverse=True)
    hers = _her_texts(story_ids, reply_ids)
    _scrub_quoting_posts(user, story_ids, reply_ids, hers)
    forget_similar_signals(user, story_ids)

    # Statuses through the lifecycle (tag, reply and update counts move), then the text goes.
    for story in stories:
        lifecycle.set_status(story, Status.DELETED.value)
    lifecycle.set_status_where(Reply, Reply.id.in_(reply_ids or [-1]), Status.DELETED.value)
    lifecycle.set_status_where(StoryUpdate, StoryUpdate.story_id.in_(story_ids or [-1]), Status.DELETED.value)
    gone = {"body": "", "body_html": ""}
    if story_ids:
        db.session.execute(
            sa.update(Story)
            .where(Story.id.in_(story_ids))
            .values(title=None, embedding=None, content_note=None, submission_key=None, **gone)
            .execution_options(synchronize_session=False)
        )
        db.session.execute(
            sa.update(StoryUpdate)
            .where(StoryUpdate.story_id.in_(story_ids))
            .values(**gone)
            .execution_options(synchronize_session=False)
        )
        _drop_tags(story_ids)
    if reply_ids:
        db.session.execute(
            sa.update(Reply)
            .where(Reply.id.in_(reply_ids))
            .values(author_id=None, submission_key=None, **gone)
            .execution_options(synchronize_session=False)
        )
    db.session.execute(
        sa.delete(Revision).where(
            sa.or_(Revision.story_id.in_(story_ids or [-1]), Revision.reply_id.in_(reply_ids or [-1]))
        )
    )
    _scrub_moderation(user, story_ids, reply_ids, titles)
    db.session.execute(sa.delete(UpdateReminder).where(UpdateReminder.story_id.in_(story_ids or [-1])))
    if db.session.get_bind().dialect.name == "sqlite":
        # The triggers took her rows out of the search table, but FTS5 keeps the old terms in its index pages
        # until they are merged: rewrite them now (seconds on a large forum; an erasure is rare).
        db.session.execute(sa.text("INSERT INTO search_fts(search_fts) VALUES ('optimize')"))
    for story in stories:
        db.session.expire(story)


def _drop_tags(story_ids: list[int]) -> None:
    """Unlink her stories' tags; a tag nobody else uses goes (its name may be her words)."""
    tag_ids = list(
        db.session.scalars(sa.select(story_tags.c.tag_id).where(story_tags.c.story_id.in_(story_ids)))
    )
    db.session.execute(sa.delete(story_tags).where(story_tags.c.story_id.in_(story_ids)))
    if tag_ids:
        used = sa.select(story_tags.c.tag_id).where(story_tags.c.tag_id == Tag.id).exists()
        db.session.execute(
            sa.delete(Tag)
            .where(Tag.id.in_(tag_ids), sa.not_(used))
            .execution_options(synchronize_session=False)
        )


def _scrub_moderation(user: User, story_ids: list[int], reply_ids: list[int], titles: list[str]) -> None:
    update_ids = list(
        db.session.scalars(sa.select(StoryUpdate.id).where(StoryUpdate.story_id.in_(story_ids or [-1])))
    )
    about_her_posts = sa.or_(
        sa.and_(AuditEntry.target_type == "story", AuditEntry.target_id.in_(story_ids or [-1])),
        sa.and_(AuditEntry.target_type == "reply", AuditEntry.target_id.in_(reply_ids or [-1])),
        sa.and_(AuditEntry.target_type == "update", AuditEntry.target_id.in_(update_ids or [-1])),
        AuditEntry.subject_id == user.id,
    )
    db.session.execute(
        sa.update(AuditEntry)
        .where(about_her_posts, AuditEntry.reason != "")
        .values(reason=REMOVED_REASON)
        .execution_options(synchronize_session=False)
    )
    for title in titles:  # her titles quoted in other entries and in notices sent to others
        for model, column in ((AuditEntry, AuditEntry.reason), (Notification, Notification.message)):
            db.session.execute(
                sa.update(model)
                .where(column.contains(title, autoescape=True))
                .values({column.key: sa.func.replace(column, title, REMOVED)})
                .execution_options(synchronize_session=False)
            )
    db.session.execute(sa.delete(Appeal).where(Appeal.member_id == user.id))
    db.session.execute(
        sa.update(Flag)
        .where(Flag.reporter_id == user.id)
        .values(note="")
        .execution_options(synchronize_session=False)
    )
    db.session.execute(sa.delete(ModeratorNote).where(ModeratorNote.member_id == user.id))
    db.session.execute(sa.delete(MemberPreference).where(MemberPreference.user_id == user.id))
    db.session.execute(sa.delete(CareCard).where(CareCard.user_id == user.id))
