"""The bulk paths (bench seeding, moving a community in): same rules as posting, ids paired with the right rows,
every counter right, and the search index kept in step."""

from __future__ import annotations

from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum.errors import ValidationFailed
from forum.extensions import db
from forum.feeds import search
from forum.models import Reply, Story, Tag
from forum.models.base import utcnow
from forum.stories import bulk


def _story(author_id: int, n: int, **extra) -> bulk.NewStory:
    return bulk.NewStory(
        author_id=author_id,
        title=f"Drop-off number {n}",
        created_at=utcnow() - timedelta(hours=n),
        body=f"Story {n}: she clung to me at the nursery gate and I cried in the car. #dropoff",
        tags=["nurseryguilt"],
        **extra,
    )


def test_bulk_stories_and_replies_get_their_own_ids_and_counters(member, other_member) -> None:
    # A story posted the ordinary way first, so new ids do not start at 1.
    from forum.stories import services

    services.publish_story(
        member, title="Before the load", body="A story that was here before the bulk load."
    )
    prepared = [bulk.prepare_story(_story(member.id, n)) for n in range(1, 31)]
    story_ids = bulk.insert_stories(prepared)
    assert len(story_ids) == len(set(story_ids)) == 30
    for n, story_id in enumerate(story_ids, start=1):
        story = db.session.get(Story, story_id)
        assert story.title == f"Drop-off number {n}"
        assert sorted(t.name for t in story.tags) == ["dropoff", "nurseryguilt"]
        assert "<script" not in story.body_html

    replies = [
        bulk.prepare_reply(
            bulk.NewReply(
                story_id=story_ids[i % 3],
                author_id=other_member.id,
                body=f"Reply {i}: it gets better, truly.",
                created_at=utcnow(),
            )
        )
        for i in range(10)
    ]
    reply_ids = bulk.insert_replies(replies)
    for i, reply_id in enumerate(reply_ids):
        reply = db.session.get(Reply, reply_id)
        assert reply.body == f"Reply {i}: it gets better, truly." and reply.story_id == story_ids[i % 3]
    reacted = bulk.insert_reactions(
        [
            {"user_id": other_member.id, "kind": "hugs", "story_id": story_ids[0], "reply_id": None},
            {
                "user_id": other_member.id,
                "kind": "hugs",
                "story_id": story_ids[0],
                "reply_id": None,
            },  # repeat: dropped
            {"user_id": member.id, "kind": "me-too", "story_id": None, "reply_id": reply_ids[0]},
        ]
    )
    assert reacted == 2
    db.session.expire_all()
    assert [db.session.get(Story, i).reply_count for i in story_ids[:4]] == [4, 3, 3, 0]
    assert db.session.get(Story, story_ids[0]).reaction_count == 1
    assert db.session.get(Reply, reply_ids[0]).reaction_count == 1
    assert db.session.scalar(sa.select(Tag.story_count).where(Tag.name == "nurseryguilt")) == 30
    found = {hit.story.id for hit in search.search("clung nursery gate").hits if hit.kind == "story"}
    assert found and found <= set(story_ids)


def test_bulk_stories_follow_the_posting_rules(member) -> None:
    with pytest.raises(ValidationFailed):
        bulk.prepare_story(bulk.NewStory(author_id=member.id, body="too short", created_at=utcnow()))
    with pytest.raises(ValueError):
        bulk.insert_reactions([{"user_id": member.id, "kind": "like", "story_id": 1, "reply_id": None}])


def test_a_long_load_rebuilds_the_search_indexes_at_the_end(member) -> None:
    with bulk.search_indexes_deferred():
        story_ids = bulk.insert_stories([bulk.prepare_story(_story(member.id, n)) for n in range(1, 6)])
    if db.engine.dialect.name == "postgresql":
        names = set(
            db.session.scalars(
                sa.text(
                    "SELECT indexname FROM pg_indexes WHERE tablename IN "
                    "('stories', 'replies') AND indexname LIKE 'ix_search_%'"
                )
            )
        )
        assert names == {"ix_search_stories", "ix_search_replies"}
    found = {hit.story.id for hit in search.search("clung nursery gate").hits}
    assert found == set(story_ids)
