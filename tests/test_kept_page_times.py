"""Relative times on a page kept for members (forum/memberpages.py): a time old enough to be shown as its date
is written into the kept text once; a recent one stays a slot and moves with the clock at every fill."""

from __future__ import annotations

import pickle
from datetime import UTC, datetime, timedelta

import sqlalchemy as sa

from forum import memberpages
from forum.extensions import db
from forum.models import Reply, Story
from forum.templating import RELATIVE_FOR, relative_time
from tests.factories import make_reply, make_story, make_user, signed_in_client
from tests.test_member_kept_pages import get
from tests.test_story_page_kept_whole import rendered


def test_relative_time_turns_into_a_date_at_the_settled_age():
    when = datetime(2024, 3, 5, 12, 0, tzinfo=UTC)
    assert relative_time(when, when + RELATIVE_FOR - timedelta(seconds=1)) == "30 days ago"
    assert relative_time(when, when + RELATIVE_FOR) == "5 Mar 2024"
    assert relative_time(when, when + timedelta(seconds=59)) == "just now"
    assert relative_time(when, when + timedelta(minutes=1)) == "1 minute ago"
    assert relative_time(when, when + timedelta(hours=5, minutes=3)) == "5 hours ago"


def test_old_dates_are_kept_in_the_text_and_recent_times_still_move(
    app, member, other_member, page_cache, monkeypatch
):
    story = make_story(other_member, title="Bedtime again", body="Bedtime took two hours again tonight.")
    reply = make_reply(make_user(pseudonym="NightOwl"), story, body="Same here, it passes.")
    long_ago = datetime.now(UTC) - timedelta(days=90)
    db.session.execute(sa.update(Story).where(Story.id == story.id).values(created_at=long_ago))
    recent = datetime.now(UTC) - timedelta(minutes=5)
    db.session.execute(sa.update(Reply).where(Reply.id == reply.id).values(created_at=recent))
    db.session.commit()
    reader = signed_in_client(app, member)
    url = f"/stories/{story.id}"

    first, _ = get(reader, url)
    kept, statements = get(reader, url)
    assert not rendered(statements)  # served from the kept page
    date = long_ago.strftime("%-d %b %Y")
    assert date in first and date in kept
    assert "5 minutes ago" in kept
    # The story's date is part of the kept text; the reply's time is still a slot.
    (entry,) = [value for key, value in page_cache._cache.items() if key.startswith(f"mpage:{url}")]
    slots = pickle.loads(entry[1])[4]
    assert f"t{long_ago.isoformat()}" not in slots
    assert f"t{recent.isoformat()}" in slots

    class Later(datetime):
        @classmethod
        def now(cls, tz=None):  # type: ignore[override]
            return datetime.now(tz) + timedelta(hours=3)

    monkeypatch.setattr(memberpages, "datetime", Later)
    later, statements = get(reader, url)
    assert not rendered(statements)
    assert "3 hours ago" in later and "5 minutes ago" not in later
    assert date in later
