"""The support card on a kept story page (forum/stories/kept_page.py): a member's card shows on every page of
the story it belongs to, whether or not the post that raised it is on the page she reads, and never reaches
another member through a kept page."""

from __future__ import annotations

import pytest

from forum.extensions import db
from forum.following import services as following
from forum.models import CareCard
from forum.models.base import utcnow
from forum.stories import services
from tests.factories import make_user, signed_in_client
from tests.test_care_signposting import CARD_TEXT, CRISIS
from tests.test_member_kept_pages import get


@pytest.fixture(autouse=True)
def care_on(app, monkeypatch):
    monkeypatch.setitem(app.config, "CARE_CHECK_ON_WRITE", True)


def long_story(author):
    """A story whose first page of replies is full, so a reply posted now is on page 2."""
    story = services.publish_story(author, title="Long night", body="An ordinary hard night with the baby.")
    helpers = [make_user(pseudonym=f"Helper{i}") for i in range(3)]
    for i in range(31):
        services.add_reply(helpers[i % 3], story, body=f"Sending you strength, reply {i}.")
    return story


def test_her_card_shows_on_every_page_and_reaches_nobody_else(app, member, other_member, page_cache):
    story = long_story(other_member)
    writer = make_user(pseudonym="QuietWriter")
    services.add_reply(writer, story, body=CRISIS)  # on page 2; she follows the story now, as repliers do
    follower = make_user(pseudonym="OtherFollower")
    following.follow_story(follower, story, True)
    db.session.commit()
    readers = {
        "plain": signed_in_client(app, make_user(pseudonym="PlainReader")),
        "follower": signed_in_client(app, follower),
        "writer": signed_in_client(app, writer),
    }
    url = f"/stories/{story.id}"
    for round_ in range(3):
        for order in (("plain", "follower", "writer"), ("writer", "follower", "plain")):
            for name in order:
                page = get(readers[name], url)[0]
                assert (CARD_TEXT in page) == (name == "writer"), (round_, name)


def test_a_card_raised_after_the_page_was_kept_still_reaches_her(app, member, other_member, page_cache):
    """The classifier's card comes from a background job, after her page may have been kept: she gets it on
    her next visit, and once she closes it, it is gone."""
    story = long_story(other_member)
    writer = make_user(pseudonym="QuietWriter")
    services.add_reply(writer, story, body="Thinking of you, it was like this for us too.")  # on page 2
    writer_client, url = signed_in_client(app, writer), f"/stories/{story.id}"
    for _ in range(2):
        assert CARD_TEXT not in get(writer_client, url)[0]  # kept for her kind of reader
    card = CareCard(user_id=writer.id, story_id=story.id)  # as the care.check job adds it
    db.session.add(card)
    db.session.commit()
    for _ in range(2):
        assert CARD_TEXT in get(writer_client, url)[0]
    card.dismissed_at = utcnow()
    db.session.commit()
    assert CARD_TEXT not in get(writer_client, url)[0]
