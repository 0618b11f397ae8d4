"""Turning an outbox row into an email: plain text and HTML, an excerpt, a link to the reply, unsubscribe.

Rendered when sent, from what the database says then: a reply hidden or removed in the meantime is left out
(and a message with nothing left is cancelled). Anonymous authors stay "Anonymous parent"; a story with a
content note is named by its note, never by its title, and quoted lines are never excerpted.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import format_datetime

import sqlalchemy as sa
from flask import current_app, render_template, url_for
from itsdangerous import BadSignature, URLSafeSerializer

from forum.extensions import db
from forum.mail import set_text
from forum.models import CONTENT_NOTES, Block, MailOutbox, Notification, Reply, Status, Story, User, utcnow
from forum.notifications.mail import kinds as K
from forum.stories.queries import author_label, reply_page_number

LIVE = Status.PUBLISHED.value
EXCERPT_CHARS = 280
UNSUBSCRIBE_SALT = "village-mail-unsubscribe"
VERIFY_SALT = "village-mail-verify"


@dataclass
class Item:
    heading: str
    url: str
    excerpt: str = ""
    action: str = "Read it on Village"


@dataclass
class Rendered:
    subject: str
    intro: str
    items: list[Item] = field(default_factory=list)
    unsubscribe_url: str | None = None


def excerpt(markdown: str, limit: int = EXCERPT_CHARS) -> str:
    """The start of a post as plain text: quoted lines dropped, Markdown marks and extra space removed."""
    lines = [line for line in markdown.splitlines() if not line.lstrip().startswith(">")]
    text = " ".join(" ".join(lines).split())
    # [label](url) -> label; bounded and without nested brackets (unbounded, 20,000 '[' took 15 s)
    text = re.sub(r"\[([^\[\]]{0,1000})\]\([^()]{0,2048}\)", r"\1", text)
    text = re.sub(r"(\*\*|__|\*|_|`)", "", text)
    if len(text) <= limit:
        return text
    cut = text[:limit].rsplit(" ", 1)[0]
    return cut.rstrip(",.;:") + "…"


def story_name(story: Story, recipient_id: int) -> str:
    own = story.author_id == recipient_id
    if story.content_note:
        note = CONTENT_NOTES.get(story.content_note, "a content note")
        return f"{'your story' if own else 'a story'} with the content note “{note}”"
    if story.title:
        return f"{'your story ' if own else ''}“{story.title}”"
    return "your story" if own else "a story"


def _serializer(salt: str) -> URLSafeSerializer:
    return URLSafeSerializer(current_app.config["SECRET_KEY"], salt=salt)


def unsubscribe_token(user_id: int, kind: str) -> str:
    """Works without signing in and only turns this one kind off; nothing else can be done with it."""
    return _serializer(UNSUBSCRIBE_SALT).dumps({"u": user_id, "k": kind})


def read_unsubscribe_token(token: str) -> tuple[int, str] | None:
    try:
        data = _serializer(UNSUBSCRIBE_SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int):
        return None
    kind = data.get("k")
    if kind not in K.KINDS and kind != K.DIGEST_KIND:
        return None
    return data["u"], kind


def verify_token(user_id: int, email: str) -> str:
    """Confirms this address for this member; a changed address needs a new token."""
    return _serializer(VERIFY_SALT).dumps({"u": user_id, "e": email})


def read_verify_token(token: str) -> tuple[int, str] | None:
    try:
        data = _serializer(VERIFY_SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or not isinstance(data.get("u"), int) or not isinstance(data.get("e"), str):
        return None
    return data["u"], data["e"]


def _blocked(recipient_id: int, author_id: int | None) -> bool:
    if author_id is None:
        return False
    return (
        db.session.scalar(
            sa.select(Block.id)
            .where(Block.blocker_id == recipient_id, Block.blocked_id == author_id)
            .limit(1)
        )
        is not None
    )


def _reply_url(reply: Reply) -> str:
    page = reply_page_number(reply)
    return url_for(
        "stories.show",
        story_id=reply.story_id,
        page=page if page > 1 else None,
        _anchor=f"reply-{reply.id}",
        _external=True,
    )


def _reply_item(note: Notification, recipient: User) -> Item | None:
    reply, story = note.reply, note.story
    if reply is None or story is None or reply.status != LIVE or story.status != LIVE:
        return None  # hidden, removed, deleted or still held: nothing of it goes out
    # The same rule as the follower fan-out: a named block silences the reply's author, never the story's
    # "Anonymous parent" replying in her own story (that silence would say who she is).
    anonymous_author = story.anonymous and reply.author_id == story.author_id
    if not anonymous_author and _blocked(recipient.id, reply.author_id):
        return None
    who = author_label(reply, recipient)
    where = story_name(story, recipient.id)
    if note.kind == "quote":
        heading = f"{who} quoted you in {where}"
    elif note.kind == "reply":
        heading = f"{who} replied to {where}"
    else:
        heading = f"{who} replied in {where}"
    return Item(heading=heading, url=_reply_url(reply), excerpt=excerpt(reply.body), action="Read the reply")


def notification_items(row: MailOutbox, recipient: User) -> list[Item]:
    ids = [i for i in (row.payload or {}).get("notifications", []) if isinstance(i, int)]
    if not ids:
        return []
    notes = db.session.scalars(
        sa.select(Notification)
        .where(Notification.id.in_(ids), Notification.user_id == recipient.id)
        .order_by(Notification.id)
    ).all()
    items = []
    for note in notes:
        item: Item | None
        if note.kind in ("reply", "quote", "follow_reply"):
            item = _reply_item(note, recipient)
        elif note.kind == "update_reminder":
            story = note.story
            if (
                story is None
                or story.status not in (LIVE, Status.PENDING.value)
                or story.author_id != recipient.id
            ):
                item = None
            else:
                item = Item(
                    heading="You asked us to remind you: how did "
                    f"{story_name(story, recipient.id)} turn out?",
                    url=url_for("stories.add_update", story_id=story.id, _external=True),
                    excerpt="Other parents would love to hear how it went, better, mixed or still hard.",
                    action="Add an update",
                )
        else:
            item = Item(
                heading="A note from the Village moderators",
                url=url_for("notifications.index", _external=True),
                excerpt=note.message,
                action="See it on Village",
            )
        if item is not None:
            items.append(item)
    return items


def render(row: MailOutbox, recipient: User) -> Rendered | None:
    """What the message says, or None when nothing in it may be sent any more."""
    if row.kind == K.VERIFY:
        link = url_for(
            "mail.verify", token=verify_token(recipient.id, row.payload.get("email", "")), _external=True
        )
        return Rendered(
            subject="Please confirm your email for Village",
            intro=f"Hello {recipient.pseudonym}, please confirm this address so Village can tell you when "
            "someone replies. Until then we send you nothing but this.",
            items=[Item(heading="Confirm your email", url=link, action="Confirm my email")],
        )
    if row.kind == K.DIGEST_KIND:
        from forum.notifications.mail.digest import digest_items

        items = digest_items(row, recipient)
        subject = "Your Village digest"
        intro = f"Hello {recipient.pseudonym}, here is what happened on Village since your last digest."
    else:
        items = notification_items(row, recipient)
        if not items:
            return None
        if len(items) == 1:
            subject = items[0].heading
        elif row.kind == K.REPLIES:
            subject = f"{len(items)} new replies to your story"
        elif row.kind == K.FOLLOWED:
            subject = f"{len(items)} new replies in a story you follow"
        else:
            subject = f"{len(items)} new notes from Village"
        intro = f"Hello {recipient.pseudonym},"
    if not items:
        return None
    return Rendered(
        subject=subject[:150],
        intro=intro,
        items=items,
        unsubscribe_url=url_for(
            "mail.unsubscribe", token=unsubscribe_token(recipient.id, row.kind), _external=True
        ),
    )


def build_email(row: MailOutbox, recipient: User, content: Rendered) -> EmailMessage:
    """The message itself: plain text and HTML, the stable Message-ID, RFC 8058 one-click unsubscribe."""
    settings_url = url_for("mail.settings", _external=True)
    context = {"content": content, "settings_url": settings_url, "kind": K.KINDS.get(row.kind)}
    message = EmailMessage()
    message["From"] = current_app.config["MAIL_DEFAULT_SENDER"]
    message["To"] = recipient.email
    message["Subject"] = content.subject
    message["Message-ID"] = row.message_id
    message["Date"] = format_datetime(utcnow())
    # The idempotency key: a recipient server (or a relay) can drop a retry it has already seen.
    message["X-Village-Message-Key"] = row.message_id.strip("<>")
    message["Auto-Submitted"] = "auto-generated"
    if content.unsubscribe_url:
        message["List-Unsubscribe"] = f"<{content.unsubscribe_url}>"
        message["List-Unsubscribe-Post"] = "List-Unsubscribe=One-Click"
    set_text(message, render_template("notifications/mail/message.txt", **context))
    message.add_alternative(render_template("notifications/mail/message.html", **context), subtype="html")
    return message
