"""Writing messages to the outbox in the same transaction as the event they tell about.

Nothing in the services calls this: SQLAlchemy session events watch what a transaction flushes.
- a new in-site Notification becomes a queued message when its kind is set to "at once" (reactions never);
  replies to the same story within COALESCE_SECONDS share one message;
- a reply that goes out (posted, or approved from the queue) queues a job (forum.jobs) that tells the members
  following its story (an in-site notification, which in turn may become mail) and makes its author follow
  the story if she wants that; the mail for the notifications the reply itself brought (the story's author,
  a quoted member) is decided by that job too, so the parent posting the reply never waits for it. A reply
  posted straight out has its job queued by the service with the reply's other follow-ups (one statement:
  forum.notifications.services.tell_of_new_reply), and that job also writes those two notifications;
- a new member, or a changed address, gets a verification message.
Because the rows are flushed inside the caller's transaction, a rolled-back action leaves no mail behind and a
committed one always has its message waiting.
"""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from flask import current_app, has_app_context
from sqlalchemy import orm

from forum.extensions import db
from forum.jobs import queue as jobs
from forum.models import (
    Block,
    Follow,
    MailOutbox,
    MailPreference,
    Notification,
    Reply,
    Status,
    Story,
    StoryVisit,
    User,
    utcnow,
)
from forum.notifications.mail import kinds as K
from forum.notifications.mail import prefs as P
from forum.notifications.services import QUOTE, REPLY, TELL_OF_REPLY_JOB, TOLD_BY_JOB

COALESCE_SECONDS = 180
FOLLOW_REPLY = "follow_reply"
_PENDING = "mail.outbox.pending"
# The notifications a reply brings its story's author and a quoted member: mailed (or not) by its fan-out job.
_MAILED_BY_FAN_OUT = frozenset(
    kind for kind, mail_kind in K.NOTIFICATION_KINDS.items() if mail_kind in (K.REPLIES, K.QUOTES)
)
LIVE = Status.PUBLISHED.value


def new_message_id() -> str:
    """A Message-ID fixed when the row is written: a retry after a crash sends the very same one."""
    domain = str(current_app.config.get("MAIL_MESSAGE_ID_DOMAIN") or "village.local")
    return f"<{uuid.uuid4().hex}@{domain}>"


def queue(
    session: orm.Session,
    user_id: int,
    kind: str,
    payload: dict[str, Any],
    *,
    due_at: datetime,
    group_key: str | None = None,
) -> MailOutbox:
    row = MailOutbox(
        user_id=user_id,
        kind=kind,
        payload=payload,
        group_key=group_key,
        message_id=new_message_id(),
        state="queued",
        due_at=due_at,
        attempts=0,
        last_error="",
        created_at=utcnow(),
    )
    session.add(row)
    return row


def _pending(session: orm.Session) -> dict[str, list[Any]]:
    fresh: dict[str, list[Any]] = {"notes": [], "replies": [], "users": [], "erased": [], "mail_later": []}
    pending: dict[str, list[Any]] = session.info.setdefault(_PENDING, fresh)
    return pending


def _collect(session: orm.Session, context: Any) -> None:
    """Note what this flush wrote that may need mail; acted on just after, still inside the transaction."""
    if not has_app_context():
        return
    found = None
    for obj in session.new:
        if isinstance(obj, Notification | Reply | User):
            found = found or _pending(session)
            key = (
                "notes" if isinstance(obj, Notification) else "replies" if isinstance(obj, Reply) else "users"
            )
            if isinstance(obj, Reply) and obj.status != LIVE:
                continue
            if isinstance(obj, User) and not obj.email:
                continue
            found[key].append(obj)
    for obj in session.dirty:
        if isinstance(obj, Reply):
            history = sa.inspect(obj).attrs.status.history
            if history.has_changes() and obj.status == LIVE and LIVE not in (history.deleted or ()):
                (found := found or _pending(session))["replies"].append(obj)
        elif isinstance(obj, User):
            history = sa.inspect(obj).attrs.email.history
            if history.has_changes() and obj.email:
                (found := found or _pending(session))["users"].append(obj)
            elif history.has_changes() or obj.deleted_at is not None:
                # The account is being deleted: her address, follows and visits go with it.
                (found := found or _pending(session))["erased"].append(obj.id)


def _write(session: orm.Session, context: Any) -> None:
    pending = session.info.get(_PENDING)
    if not pending:
        return
    users, notes, erased = pending["users"], pending["notes"], pending["erased"]
    pending["users"], pending["notes"], pending["erased"] = [], [], []
    if erased:
        for model in (MailPreference, MailOutbox, Follow, StoryVisit):
            session.execute(sa.delete(model).where(model.user_id.in_(erased)))
    going_out = {reply.id for reply in pending["replies"]}
    with session.no_autoflush:
        now = utcnow()
        for user in users:
            queue(session, user.id, K.VERIFY, {"email": user.email}, due_at=now)
        for note in notes:
            if note.reply_id in going_out and note.kind in _MAILED_BY_FAN_OUT:
                pending["mail_later"].append(note)  # the reply's fan-out job decides (_fan_out_replies)
            else:
                _queue_for_notification(session, note, now)


def _fan_out_replies(session: orm.Session) -> None:
    """Followers hear of a reply from a background job queued in the reply's own transaction (a story may
    have thousands of followers; the parent posting the reply does not wait for them). The job runs once the
    whole action is written, so its author and any quoted member, notified by the service, are left out."""
    queued = session.info.pop(TOLD_BY_JOB, set())  # replies whose job their service queued already
    pending = session.info.get(_PENDING)
    if not pending or not pending["replies"]:
        return
    session.flush()  # the reply's own notifications too (commit would flush them next): _write defers their mail
    replies, pending["replies"] = pending["replies"], []
    later, pending["mail_later"] = pending["mail_later"], []
    for reply in replies:
        if reply.id in queued:
            continue
        notes = [note.id for note in later if note.reply_id == reply.id]
        jobs.enqueue(TELL_OF_REPLY_JOB, {"reply_id": reply.id, "notifications": notes}, session=session)


def fan_out_job(payload: dict[str, Any]) -> None:
    """The job: the notifications a reply posted straight out brings its story's author and a quoted member
    ("tell" in the payload), the mail for those (or for the ones named by id: a reply approved from the queue),
    then tell the followers of a reply still out (a reply hidden or deleted meanwhile mails and tells nobody).
    Its writes commit with the job's end, so they happen once; run again, it notifies nobody twice."""
    reply = db.session.get(Reply, payload["reply_id"])
    if reply is None or reply.status != LIVE:
        return
    session = db.session()
    story = session.get(Story, reply.story_id)
    if story is None:
        return
    note_ids = payload.get("notifications") or []
    if note_ids:
        now = utcnow()
        for note in session.scalars(sa.select(Notification).where(Notification.id.in_(note_ids))):
            _queue_for_notification(session, note, now)
    if "tell" in payload:  # their mail is queued as they are flushed (_write), like any new notification's
        _notify_of_reply(session, reply, story, payload["tell"].get("quoted"))
    _fan_out(session, reply, story)


def _notify_of_reply(session: orm.Session, reply: Reply, story: Story, quoted_author_id: int | None) -> None:
    """The story's author hears of a reply, and a member it quotes (when she is not the story's author); never
    the reply's own author, and nobody who already has a notification of it (a job run again)."""
    told = set(session.scalars(_TOLD_OF_REPLY, {"reply_id": reply.id})) | {reply.author_id}
    for user_id, kind in ((story.author_id, REPLY), (quoted_author_id, QUOTE)):
        if user_id is not None and user_id not in told:
            told.add(user_id)
            _tell(session, user_id, kind, reply, reply.created_at)


def _tell(session: orm.Session, user_id: int, kind: str, reply: Reply, at: datetime) -> None:
    """A member's notification of a reply."""
    session.add(
        Notification(user_id=user_id, kind=kind, story_id=reply.story_id, reply_id=reply.id, created_at=at)
    )


def _forget(session: orm.Session) -> None:
    session.info.pop(_PENDING, None)
    session.info.pop(TOLD_BY_JOB, None)


# In the order they fire within a transaction; install() attaches them to every session.
_LISTENERS = (
    ("after_flush", _collect),
    ("after_flush_postexec", _write),
    ("before_commit", _fan_out_replies),
    ("after_rollback", _forget),
)


def install() -> None:
    """Watch every session's flushes and commits (attaching twice, as several apps in one process do, changes
    nothing); followers are told by the job TELL_OF_REPLY_JOB."""
    jobs.register(TELL_OF_REPLY_JOB, fan_out_job)
    for event, listener in _LISTENERS:
        if not sa.event.contains(orm.Session, event, listener):
            sa.event.listen(orm.Session, event, listener)


def _followers_statement(with_author_blocks: bool) -> sa.Select[Any]:
    """Up to 5000 followers of :story_id, less those who blocked the story's anonymous author and, when wanted,
    those on either side of a block with :author_id (see _fan_out)."""
    hidden: Any = sa.select(Block.blocker_id).where(Block.blocked_story_id == sa.bindparam("story_id"))
    if with_author_blocks:
        author_id = sa.bindparam("author_id", type_=sa.Integer)
        hidden = sa.union(
            hidden,
            sa.select(Block.blocker_id).where(Block.blocked_id == author_id),
            sa.select(Block.blocked_id).where(Block.blocker_id == author_id, Block.blocked_id.is_not(None)),
        )
    return (
        sa.select(Follow.user_id)
        .where(Follow.story_id == sa.bindparam("story_id"), Follow.user_id.not_in(hidden))
        .limit(5000)
    )


# The fan-out job's statements, built once: every reply posted runs the job, and building its statements cost
# more CPU than running them.
_FOLLOWING = sa.select(Follow.id).where(
    Follow.user_id == sa.bindparam("user_id"), Follow.story_id == sa.bindparam("story_id")
)
_TOLD_OF_REPLY = sa.select(Notification.user_id).where(Notification.reply_id == sa.bindparam("reply_id"))
_FOLLOWERS = {with_author: _followers_statement(with_author) for with_author in (False, True)}


def _fan_out(session: orm.Session, reply: Reply, story: Story) -> None:
    """Tell the followers of the reply's story; make its author follow the story if she wants that."""
    author_id = reply.author_id
    if author_id is not None and story.author_id != author_id:
        wanted = P.get(author_id, session).follow_replied
        already = session.scalar(_FOLLOWING, {"user_id": author_id, "story_id": story.id})
        if wanted and already is None:
            session.add(Follow(user_id=author_id, story_id=story.id, created_at=utcnow()))
    # The story's author and a quoted member already get their own notification about this reply.
    told = {author_id, story.author_id}
    told |= set(session.scalars(_TOLD_OF_REPLY, {"reply_id": reply.id}))
    # Blocks as forum.care.preferences defines them: whoever blocked this story's anonymous author hears
    # nothing more of the story; a block between named members (either way) silences the reply's author,
    # but never the story's "Anonymous parent" replying in her own story, or the block would say who she is.
    with_author = author_id is not None and not (story.anonymous and author_id == story.author_id)
    followers = session.scalars(_FOLLOWERS[with_author], {"story_id": story.id, "author_id": author_id})
    for user_id in followers:
        if user_id not in told:
            _tell(session, user_id, FOLLOW_REPLY, reply, utcnow())


# Built once: a reply to a member who gets mail at once looks for her message still waiting (building the
# statement cost more CPU than running it).
_WAITING = (
    sa.select(MailOutbox)
    .where(
        MailOutbox.user_id == sa.bindparam("user_id"),
        MailOutbox.state == "queued",
        MailOutbox.group_key == sa.bindparam("group_key"),
        MailOutbox.due_at > sa.bindparam("now"),
        MailOutbox.attempts == 0,
    )
    .order_by(MailOutbox.id.desc())
    .limit(1)
)


def _queue_for_notification(session: orm.Session, note: Notification, now: datetime) -> None:
    kind = K.NOTIFICATION_KINDS.get(note.kind)
    if kind is None or note.id is None:
        return  # reactions only ever reach a digest
    prefs = P.get(note.user_id, session)
    if P.mode(prefs, kind) != K.NOW:
        return  # "in the digest" is read from the notifications themselves; "off" is off
    user = session.get(User, note.user_id)
    if user is None or not P.is_verified(user, prefs):
        return
    group_key = (
        f"{kind}:{note.story_id}" if note.story_id and kind in (K.REPLIES, K.FOLLOWED, K.QUOTES) else None
    )
    if group_key:
        # Several replies within a few minutes become one message: join a message that is still waiting.
        waiting = session.scalar(_WAITING, {"user_id": note.user_id, "group_key": group_key, "now": now})
        if waiting is not None:
            ids = list((waiting.payload or {}).get("notifications", []))
            waiting.payload = {**waiting.payload, "notifications": [*ids, note.id]}
            return
    delay = COALESCE_SECONDS if group_key else 0
    queue(
        session,
        note.user_id,
        kind,
        {"notifications": [note.id]},
        due_at=now + timedelta(seconds=delay),
        group_key=group_key,
    )
