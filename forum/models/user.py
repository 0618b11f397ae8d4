"""Members, their roles and their login sessions."""

from __future__ import annotations

import enum
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.orm import Mapped, mapped_column, relationship

from forum.models.base import Base, utcnow
from forum.names import lookalike_key


class Role(str, enum.Enum):
    """What a member may do: moderators review reports, admins also manage moderators."""

    MEMBER = "member"
    MODERATOR = "moderator"
    ADMIN = "admin"


class User(Base):
    """A member. Only the pseudonym is ever shown to other members."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    pseudonym: Mapped[str] = mapped_column(sa.String(30))
    # Lower-cased pseudonym: "Sam" and "sam" are the same member.
    pseudonym_key: Mapped[str] = mapped_column(sa.String(30), unique=True)
    # The look-alike key (forum.names): "ΑliceA" with a Greek Alpha has the key of "AliceA", so the
    # unique index refuses look-alikes in one lookup, race-safe. Kept in step with the name by the events
    # below; null once the account is deleted (the name is free again) and for look-alikes that were
    # registered before the key existed (migration 0004).
    pseudonym_skeleton: Mapped[str | None] = mapped_column(sa.String(120), unique=True)
    # Null once the account is deleted: the email and password hash are gone.
    email: Mapped[str | None] = mapped_column(sa.String(254), unique=True)
    password_hash: Mapped[str | None] = mapped_column(sa.String(255))
    role: Mapped[str] = mapped_column(
        sa.String(16), default=Role.MEMBER.value, server_default=Role.MEMBER.value
    )
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column()
    # Moderation state (managed by forum.moderation).
    suspended_until: Mapped[datetime | None] = mapped_column()
    banned_at: Mapped[datetime | None] = mapped_column()
    # Why the account was closed: shown to the member at sign-in.
    ban_reason: Mapped[str] = mapped_column(sa.Text, default="", server_default="")
    # Read-only until then: every write is refused (forum.moderation.members.check_not_silenced).
    silenced_until: Mapped[datetime | None] = mapped_column()
    # A moderator on duty gets welfare reports by email at once; off duty, only the badge and the digest.
    on_duty: Mapped[bool] = mapped_column(default=True, server_default=sa.true())
    # Bumped when the password changes; stale password-reset tokens carry the old value.
    credentials_version: Mapped[int] = mapped_column(default=0, server_default="0")

    sessions: Mapped[list[LoginSession]] = relationship(back_populates="user", cascade="all, delete-orphan")

    # The login session this request authenticated with (set by the user loader, not stored).
    current_session_token = None  # type: str | None

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.deleted_at is None and self.banned_at is None

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str | None:
        """The login session token, so logging out can end exactly this session server-side."""
        return self.current_session_token

    @property
    def is_moderator(self) -> bool:
        return self.role in (Role.MODERATOR.value, Role.ADMIN.value)

    @property
    def is_admin(self) -> bool:
        return self.role == Role.ADMIN.value

    @property
    def is_deleted(self) -> bool:
        return self.deleted_at is not None

    def __repr__(self) -> str:
        return f"<User {self.id} {self.pseudonym!r}>"


def _set_pseudonym_skeleton(user: User) -> None:
    user.pseudonym_skeleton = None if user.deleted_at is not None else lookalike_key(user.pseudonym)


@sa.event.listens_for(User, "before_insert")
def _skeleton_on_insert(mapper: object, connection: object, user: User) -> None:
    _set_pseudonym_skeleton(user)


@sa.event.listens_for(User, "before_update")
def _skeleton_on_update(mapper: object, connection: object, user: User) -> None:
    """Recompute the look-alike key when the name changes or the account is deleted, however that happens."""
    state = sa.inspect(user)
    if state.attrs.pseudonym.history.has_changes() or state.attrs.deleted_at.history.has_changes():
        _set_pseudonym_skeleton(user)


class LoginSession(Base):
    """One signed-in browser. Deleting the row signs that browser out, wherever it is."""

    __tablename__ = "login_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(sa.String(64), unique=True)
    user_id: Mapped[int] = mapped_column(sa.ForeignKey("users.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_seen_at: Mapped[datetime] = mapped_column(default=utcnow)
    user_agent: Mapped[str] = mapped_column(sa.String(200), default="")

    user: Mapped[User] = relationship(back_populates="sessions")
