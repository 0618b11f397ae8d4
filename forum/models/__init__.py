"""All models, imported here so Alembic and create_all see every table."""

from forum.models import search as _search_ddl  # noqa: F401  (registers full-text DDL)
from forum.models.base import Base, utcnow
from forum.models.care import Block, CareCard, CarePhrase, MemberPreference, SignpostShown, SupportResource
from forum.models.jobs import Job
from forum.models.mail import Follow, MailOutbox, MailPreference, StoryVisit
from forum.models.moderation import (
    Appeal,
    AuditEntry,
    Claim,
    Flag,
    FlagReason,
    ModeratorNote,
    SiteSetting,
    WatchedWord,
)
from forum.models.similar import SimilarSignal, Verdict
from forum.models.story import (
    CONTENT_NOTES,
    AgeBand,
    Draft,
    Notification,
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
    story_tags,
)
from forum.models.user import LoginSession, Role, User

__all__ = [
    "Block",
    "Follow",
    "Job",
    "MailOutbox",
    "MailPreference",
    "StoryVisit",
    "CareCard",
    "CarePhrase",
    "MemberPreference",
    "SignpostShown",
    "SupportResource",
    "Appeal",
    "AuditEntry",
    "Claim",
    "Flag",
    "FlagReason",
    "ModeratorNote",
    "SiteSetting",
    "SimilarSignal",
    "Verdict",
    "WatchedWord",
    "CONTENT_NOTES",
    "AgeBand",
    "Base",
    "Draft",
    "LoginSession",
    "Notification",
    "Outcome",
    "Reaction",
    "ReactionKind",
    "Reply",
    "Revision",
    "Role",
    "Setting",
    "Status",
    "Story",
    "StoryUpdate",
    "Tag",
    "UpdateReminder",
    "User",
    "story_tags",
    "utcnow",
]
