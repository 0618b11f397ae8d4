"""Everything a member wrote and their account data, as JSON and as a readable page; nothing of anyone else."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Draft, Flag, Notification, Reaction, Reply, SimilarSignal, Story, StoryUpdate, User


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _story_titles(user: User, story_ids: set[int], reactions: list[Reaction]) -> dict[tuple[str, int], str]:
    """Titles of the stories her replies and reactions were on, as the site shows them to anyone: a story
    no longer shown (hidden, removed, deleted) is not named, and one without a title reads "a story"."""
    reply_ids = {r.reply_id for r in reactions if r.reply_id}
    story_ids = story_ids | {r.story_id for r in reactions if r.story_id}
    found = db.session.execute(sa.select(Reply.id, Reply.story_id).where(Reply.id.in_(reply_ids or [-1])))
    via_reply: dict[int, int] = {reply_id: story_id for reply_id, story_id in found}
    rows = db.session.execute(
        sa.select(Story.id, Story.title, Story.status, Story.author_id).where(
            Story.id.in_((story_ids | set(via_reply.values())) or [-1])
        )
    ).all()
    named = {
        sid: (title or "a story")
        if status == "published" or author_id == user.id
        else "a story that is no longer shown"
        for sid, title, status, author_id in rows
    }
    titles = {("story", sid): name for sid, name in named.items()}
    titles.update({("reply", rid): named.get(sid, "") for rid, sid in via_reply.items()})
    return titles


def member_export(user: User) -> dict[str, Any]:
    """The member's account, stories (anonymous ones too), updates, replies, reactions, answers on similar
    stories, drafts, notices and reports."""
    stories = list(db.session.scalars(sa.select(Story).where(Story.author_id == user.id).order_by(Story.id)))
    story_ids = [s.id for s in stories]
    updates = list(
        db.session.scalars(
            sa.select(StoryUpdate).where(StoryUpdate.story_id.in_(story_ids or [-1])).order_by(StoryUpdate.id)
        )
    )
    replies = list(db.session.scalars(sa.select(Reply).where(Reply.author_id == user.id).order_by(Reply.id)))
    reactions = list(
        db.session.scalars(sa.select(Reaction).where(Reaction.user_id == user.id).order_by(Reaction.id))
    )
    answers = list(
        db.session.scalars(
            sa.select(SimilarSignal).where(SimilarSignal.user_id == user.id).order_by(SimilarSignal.id)
        )
    )
    titles = _story_titles(
        user,
        {r.story_id for r in replies} | {a.source_id for a in answers} | {a.match_id for a in answers},
        reactions,
    )
    drafts = list(db.session.scalars(sa.select(Draft).where(Draft.user_id == user.id)))
    notices = list(
        db.session.scalars(
            sa.select(Notification).where(Notification.user_id == user.id).order_by(Notification.id)
        )
    )
    reports = list(db.session.scalars(sa.select(Flag).where(Flag.reporter_id == user.id).order_by(Flag.id)))
    return {
        "account": {
            "pseudonym": user.pseudonym,
            "email": user.email,
            "role": user.role,
            "member_since": _time(user.created_at),
        },
        "stories": [
            {
                "id": s.id,
                "title": s.title,
                "body": s.body,
                "anonymous": s.anonymous,
                "status": s.status,
                "tags": [t.name for t in s.tags],
                "age_band": s.age_band,
                "setting": s.setting,
                "content_note": s.content_note,
                "created_at": _time(s.created_at),
                "edited_at": _time(s.edited_at),
            }
            for s in stories
        ],
        "updates": [
            {
                "id": u.id,
                "story_id": u.story_id,
                "outcome": u.outcome,
                "body": u.body,
                "status": u.status,
                "created_at": _time(u.created_at),
            }
            for u in updates
        ],
        "replies": [
            {
                "id": r.id,
                "story_id": r.story_id,
                "story_title": titles.get(("story", r.story_id), ""),
                "body": r.body,
                "status": r.status,
                "created_at": _time(r.created_at),
            }
            for r in replies
        ],
        "reactions_given": [
            {
                "kind": r.kind,
                "story_id": r.story_id,
                "reply_id": r.reply_id,
                "story_title": titles.get(
                    ("story", r.story_id) if r.story_id else ("reply", r.reply_id or 0), ""
                ),
                "created_at": _time(r.created_at),
            }
            for r in reactions
        ],
        # Her "this helped" / "not like mine" answers on the similar stories shown beside a story.
        "similar_answers": [
            {
                "answer": a.verdict,
                "story_id": a.source_id,
                "story_title": titles.get(("story", a.source_id), ""),
                "match_id": a.match_id,
                "match_title": titles.get(("story", a.match_id), ""),
                "answered_at": _time(a.updated_at),
            }
            for a in answers
        ],
        "drafts": [
            {"key": d.key, "title": d.title, "body": d.body, "tags": d.tags, "saved_at": _time(d.updated_at)}
            for d in drafts
            if d.key and not d.key.startswith("stash:")
        ],
        # Notices are kept to what concerns the member; other members' names are left out.
        "notifications": [
            {
                "kind": n.kind,
                "story_id": n.story_id,
                "created_at": _time(n.created_at),
                "message": n.message if n.kind == "moderation" else "",
                "read": n.read_at is not None,
            }
            for n in notices
        ],
        "reports_made": [
            {
                "reason": f.reason,
                "note": f.note,
                "item": f"{f.target_type} {f.target_id}",
                "created_at": _time(f.created_at),
                "outcome": f.resolution,
            }
            for f in reports
        ],
    }
