"""A page issues the same number of SQL statements whatever the number of items on it."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import pytest
import sqlalchemy as sa

from forum.extensions import db
from forum.similar.store import worker_index
from forum.stories import services


@contextmanager
def counted() -> Iterator[list[str]]:
    statements: list[str] = []

    def record(conn, cursor, statement, parameters, context, executemany):  # noqa: ANN001
        statements.append(statement)

    sa.event.listen(db.engine, "before_cursor_execute", record)
    try:
        yield statements
    finally:
        sa.event.remove(db.engine, "before_cursor_execute", record)


def fill(author, other, count: int) -> int:
    story_id = 0
    for i in range(count):
        story = services.publish_story(
            author, title=f"Nursery story {i}", body=f"Nursery tears again, day {i}.", tags=f"nursery, tag{i}"
        )
        reply = services.add_reply(other, story, body=f"Nursery hugs from me, number {i}.")
        services.toggle_reaction(other, kind="hugs", story=story)
        services.toggle_reaction(author, kind="me-too", reply=reply)
        story_id = story.id
    return story_id


def statements_for(client, url: str) -> int:
    db.session.expire_all()
    with counted() as statements:
        assert client.get(url).status_code == 200
    return len(statements)


@pytest.mark.parametrize("url", ["/", "/tags/nursery", "/search?q=nursery", "/api/stories", "/?sort=active"])
def test_list_pages_constant_queries(client, member, other_member, url):
    fill(member, other_member, 3)
    few = statements_for(client, url)
    fill(member, other_member, 17)
    many = statements_for(client, url)
    assert few == many, f"{url}: {few} statements with 3 items, {many} with 20"


def test_story_page_constant_in_replies(client, member, other_member, auth):
    story = services.publish_story(
        member, title="Busy thread", body="A story that gathers many replies over time."
    )

    def add_replies(n: int) -> None:
        for i in range(n):
            reply = services.add_reply(other_member, story, body=f"Reply number {i} with kind words.")
            services.toggle_reaction(member, kind="hugs", reply=reply)

    def statements_for_story() -> int:
        # The similar-stories panel's index looks for changes every few seconds, whatever the page holds:
        # bring it up to date first so only the page's own statements are counted.
        worker_index().refresh(force=True)
        return statements_for(client, f"/stories/{story.id}")

    add_replies(2)
    few = statements_for_story()
    add_replies(20)
    many = statements_for_story()
    assert few == many
