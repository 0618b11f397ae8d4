"""The signed-in member is read with one statement per request, which also brings her preferences and the
header's unread count; what changes between requests (or within one) still shows at once."""

from __future__ import annotations

import re

import sqlalchemy as sa

from forum.care.preferences import block_author_of
from forum.extensions import db
from forum.models import MemberPreference, User, utcnow
from tests.factories import make_reply, make_story, signed_in_client
from tests.test_query_counts import counted

UNREAD = re.compile(r'<span class="badge">(\d+)<span class="visually-hidden"> unread')


def unread_badge(html: str) -> int:
    found = UNREAD.search(html)
    return int(found.group(1)) if found else 0


def test_one_sign_in_statement_and_none_twice(app, member, other_member):
    db.session.add(MemberPreference(user_id=member.id, muted_tags="sleep", content_notes=""))
    make_story(other_member, title="Nursery mornings", tags="nursery")
    db.session.commit()
    client = signed_in_client(app, member)
    for path in ("/", "/stories/new", "/notifications"):
        assert client.get(path).status_code == 200  # the first visit may move the last-seen time on
        db.session.expire_all()
        with counted() as statements:
            assert client.get(path).status_code == 200
        text = [" ".join(s.split()) for s in statements]
        assert sum("login_sessions" in s for s in text) == 1, path
        assert not [s for s in text if s.startswith("SELECT member_preferences")], path
        assert not [s for s in text if s.startswith("SELECT count(*) AS count_1 FROM notifications")], path
        assert len(set(text)) == len(text), f"{path}: a statement ran twice"


def test_the_badge_counts_what_this_request_marked_read(app, member, other_member):
    story = make_story(member, title="Bedtime battles")
    make_reply(other_member, story, body="Same here, every single night.")
    client = signed_in_client(app, member)
    assert unread_badge(client.get("/stories/new").get_data(as_text=True)) == 1
    # Opening the story marks its reply notifications read before the page is drawn: its header says so.
    assert unread_badge(client.get(f"/stories/{story.id}").get_data(as_text=True)) == 0
    make_reply(other_member, story, body="And the next night too.")
    assert unread_badge(client.get("/notifications").get_data(as_text=True)) == 1


def test_muted_tags_read_with_the_member_still_apply(app, member, other_member):
    make_story(other_member, title="Potty training woes", tags="toilet")
    make_story(other_member, title="Weaning worries", tags="food")
    client = signed_in_client(app, member)
    assert "Potty training woes" in client.get("/").get_data(as_text=True)
    db.session.add(MemberPreference(user_id=member.id, muted_tags="toilet", content_notes=""))
    db.session.commit()
    page = client.get("/").get_data(as_text=True)
    assert "Potty training woes" not in page and "Weaning worries" in page


def test_a_ban_deletion_or_demotion_takes_effect_on_the_next_request(app, member, moderator):
    client = signed_in_client(app, member)
    staff = signed_in_client(app, moderator)
    assert client.get("/settings").status_code == 200
    assert staff.get("/moderation").status_code == 200
    db.session.execute(sa.update(User).where(User.id == member.id).values(banned_at=utcnow()))
    db.session.execute(sa.update(User).where(User.id == moderator.id).values(role="member"))
    db.session.commit()
    assert client.get("/settings").status_code == 302  # signed out: sent to the sign-in page
    assert staff.get("/moderation").status_code in (403, 404)
    db.session.execute(sa.update(User).where(User.id == moderator.id).values(deleted_at=utcnow()))
    db.session.commit()
    assert staff.get("/settings").status_code == 302


def test_the_story_page_reads_blocks_once(app, member, other_member):
    story = make_story(other_member, title="Toddler tantrums")
    make_reply(other_member, story, body="It passes, I promise.")
    client = signed_in_client(app, member)

    def block_reads() -> int:
        db.session.expire_all()
        with counted() as statements:
            assert client.get(f"/stories/{story.id}").status_code == 200
        return sum(s.lstrip().startswith("SELECT blocks.blocker_id") for s in statements)

    # No block concerns her (her sign-in statement says so): none is read.
    assert client.get(f"/stories/{story.id}").status_code == 200
    assert block_reads() == 0
    # A block on one of her anonymous stories, made by someone else, concerns her: read once.
    hers = make_story(member, title="Quiet one", anonymous=True)
    block_author_of(other_member, hers)
    db.session.commit()
    assert block_reads() == 1
