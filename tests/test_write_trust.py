"""The trust check every rate-limited write runs (forum.moderation.trust.is_new): the same answer as the trust level,
from the account's age and its upheld reports alone (posts only decide "trusted", so they are not counted)."""

from __future__ import annotations

from datetime import timedelta

import sqlalchemy as sa

from forum.extensions import db
from forum.models import User, utcnow
from forum.moderation import services as mod
from forum.moderation import trust
from forum.moderation.targets import target_of
from forum.stories import services
from tests.factories import make_user

BODY = "Drop-off was hard again this morning and I cried in the car afterwards, again."


def _older(user: User, days: int = 60) -> User:
    user.created_at = utcnow() - timedelta(days=days)
    db.session.commit()
    return user


def _statements(during) -> tuple[object, int]:
    count = 0

    def on_execute(*args: object) -> None:
        nonlocal count
        count += 1

    sa.event.listen(db.engine, "before_cursor_execute", on_execute)
    try:
        answer = during()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", on_execute)
    return answer, count


def test_is_new_agrees_with_the_level_for_young_old_and_reported_accounts(app, moderator) -> None:
    young = make_user()
    assert trust.is_new(young) and trust.level(young) == trust.NEW
    veteran = _older(make_user())
    posts = [services.publish_story(veteran, title=f"Post {i}", body=f"{BODY} {i}") for i in range(3)]
    assert not trust.is_new(veteran) and trust.level(veteran) == trust.MEMBER
    for n, post in enumerate(posts, start=1):
        mod.report(_older(make_user()), target_of(post), reason="unkind")
        mod.act_on_item(moderator, target_of(post), "remove", reason="unkind")
        # Two upheld reports leave her a member; the third makes her new again (the stricter limits).
        assert trust.is_new(veteran) == (n >= trust.UPHELD_TO_NEW)
        assert trust.is_new(veteran) == (trust.level(veteran) == trust.NEW)


def test_is_new_reads_one_statement_for_an_older_account_and_none_for_a_young_one(app) -> None:
    veteran = _older(make_user())
    for i in range(3):
        services.publish_story(veteran, title=f"Post {i}", body=f"{BODY} {i}")
    assert veteran.created_at is not None  # the member as a request has her: loaded
    answer, count = _statements(lambda: trust.is_new(veteran))
    assert answer is False and count == 1
    young = make_user()
    assert young.created_at is not None
    answer, count = _statements(lambda: trust.is_new(young))
    assert answer is True and count == 0
