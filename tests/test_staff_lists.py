"""Site settings, watched words and the admins' care phrases are kept in each process for a few seconds
(forum.staff_lists): read once, not by every post; a change applies at once in the process that made it and
within KEEP_SECONDS in every other one (another worker or host on the same database)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask

from forum import staff_lists
from forum.care import services as care_services
from forum.extensions import db
from forum.models import SiteSetting, Story, User, WatchedWord
from forum.moderation import protection
from forum.moderation.services import get_setting
from tests.conftest import make_app
from tests.factories import signed_in_client

BODY = "He cried at the nursery door again this morning and I sat in the car for ten minutes."


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> Clock:
    ticking = Clock()
    monkeypatch.setattr(staff_lists.time, "monotonic", ticking)
    return ticking


@pytest.fixture
def other_host(tmp_path, db_url: str) -> Iterator[Flask]:
    """A second app on the same database: another worker or host."""
    other = make_app(tmp_path, db_url)
    yield other
    with other.app_context():
        db.session.remove()
        db.engine.dispose()


def _statements_reading(table: str, run) -> int:
    seen: list[str] = []

    def note(_conn, _cursor, statement, *_args) -> None:
        if f"FROM {table}" in statement:
            seen.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", note)
    try:
        run()
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", note)
    return len(seen)


def test_posts_read_the_lists_once_not_each_time(app: Flask, member: User, clock: Clock) -> None:
    client = signed_in_client(app, member)

    def post_three() -> None:
        for day in range(3):
            answer = client.post("/stories/new", data={"title": f"Day {day}", "body": f"{BODY} Day {day}."})
            assert answer.status_code == 302

    assert _statements_reading("watched_words", post_three) == 1
    clock.now += staff_lists.KEEP_SECONDS + 1
    assert _statements_reading("watched_words", lambda: protection.matching_words("anything")) == 1


def test_a_change_applies_at_once_here(app: Flask, member: User, clock: Clock) -> None:
    client = signed_in_client(app, member)
    assert client.post("/stories/new", data={"title": "One", "body": BODY}).status_code == 302
    db.session.add(WatchedWord(phrase="buy now", action="block"))
    db.session.add(SiteSetting(key="welfare_message", value="Changed here"))
    db.session.commit()
    refused = client.post("/stories/new", data={"title": "Two", "body": "Buy now at my shop, " + BODY})
    assert "isn&#39;t allowed on Village" in refused.get_data(as_text=True)
    assert get_setting("welfare_message") == "Changed here"
    # A bulk delete through the session counts too.
    db.session.execute(sa.delete(WatchedWord))
    db.session.commit()
    assert protection.matching_words("buy now") == []


def test_a_change_elsewhere_applies_within_seconds(
    app: Flask, admin: User, other_host: Flask, clock: Clock
) -> None:
    assert protection.matching_words("buy now please") == []
    assert care_services.extra_phrases() == () and get_setting("approve_first_posts") == ""
    with other_host.app_context():
        db.session.add(WatchedWord(phrase="buy now", action="block"))
        db.session.add(SiteSetting(key="approve_first_posts", value="1"))
        db.session.commit()
        care_services.add_phrase(db.session.get(User, admin.id), "at the end of my rope")  # type: ignore[arg-type]
    # Here, the kept copies stand until they age out ...
    assert protection.matching_words("buy now please") == []
    assert get_setting("approve_first_posts") != "1" and care_services.extra_phrases() == ()
    clock.now += staff_lists.KEEP_SECONDS + 0.1
    # ... and no longer.
    assert [word.phrase for word in protection.matching_words("buy now please")] == ["buy now"]
    assert get_setting("approve_first_posts") == "1"
    assert care_services.extra_phrases() == ("at the end of my rope",)
    assert db.session.scalar(sa.select(sa.func.count()).select_from(Story)) == 0


def test_a_rolled_back_change_forgets_nothing(app: Flask, clock: Clock) -> None:
    assert protection.matching_words("buy now") == []
    db.session.add(WatchedWord(phrase="buy now", action="block"))
    db.session.flush()
    db.session.rollback()
    assert staff_lists._kept()  # still kept: nothing changed
    assert protection.matching_words("buy now") == []
