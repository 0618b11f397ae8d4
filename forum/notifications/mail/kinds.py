"""The kinds of mail a member can get, what each is called, and its default delivery."""

from __future__ import annotations

from dataclasses import dataclass

NOW, DIGEST, OFF = "now", "digest", "off"
MODES = {NOW: "At once", DIGEST: "In the digest", OFF: "Off"}

REPLIES = "replies"  # a reply to my story
FOLLOWED = "followed"  # a reply in a story I replied to or follow
QUOTES = "quotes"  # someone quoted me
REMINDERS = "reminders"  # add "how it turned out"
MODERATION = "moderation"  # notices about my posts and my account
DIGEST_KIND = "digest"  # the daily or weekly digest itself
VERIFY = "verify"  # confirm your address (always sent, never a setting)

# The in-site notification kind that a message of each kind tells about.
NOTIFICATION_KINDS = {
    "reply": REPLIES,
    "follow_reply": FOLLOWED,
    "quote": QUOTES,
    "update_reminder": REMINDERS,
    "moderation": MODERATION,
    "message": MODERATION,
}
# Reactions are never worth a message of their own: they only ever appear in a digest ("5 parents sent hugs").
REACTION_NOTIFICATION = "reaction"


@dataclass(frozen=True)
class Kind:
    name: str
    label: str  # the settings page
    default: str
    subject: str  # one item; the count replaces {n} for several


KINDS: dict[str, Kind] = {
    k.name: k
    for k in (
        Kind(REPLIES, "Replies to my stories", NOW, "{who} replied to {story}"),
        Kind(FOLLOWED, "Replies in stories I replied to or follow", DIGEST, "New replies in {story}"),
        Kind(QUOTES, "Someone quoted me", NOW, "{who} quoted you in {story}"),
        Kind(REMINDERS, "Reminders to add how it turned out", NOW, "How did {story} turn out?"),
        Kind(
            MODERATION,
            "Notices from the moderators about my posts",
            NOW,
            "A note from the Village moderators",
        ),
    )
}
DIGEST_FREQUENCIES = {"daily": "Daily", "weekly": "Weekly", "off": "Off"}
