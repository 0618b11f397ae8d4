"""Search through HTTP: ranked, highlighted, paginated, only what may be seen, robust to any input."""

from __future__ import annotations

import pytest

from forum.extensions import db
from forum.feeds.search import highlight, search_terms
from forum.models import Status
from forum.stories import services


def test_finds_stories_updates_and_replies_with_highlight(client, member, other_member):
    story = services.publish_story(
        member,
        title="Clingy at the gate",
        body="Every morning he clings to my coat at the nursery gate and sobs.",
    )
    services.add_reply(other_member, story, body="Ours was clingy too; a goodbye ritual with a wave helped.")
    services.add_update(
        member, story, body="Two weeks on he is much less clingy and waves at the window.", outcome="better"
    )
    html = client.get("/search?q=clingy").get_data(as_text=True)
    assert "Clingy at the gate" in html
    assert html.count("<mark>") >= 3
    assert "A reply on" in html and "An update on" in html


def test_edits_are_reindexed(client, member):
    story = services.publish_story(
        member, title="Sleep", body="Original words about bedtime battles and naps."
    )
    services.edit_story(
        member, story, title="Sleep", body="Completely different text about teething pain tonight."
    )
    assert "Nothing matched" in client.get("/search?q=bedtime").get_data(as_text=True)
    assert "teething" in client.get("/search?q=teething").get_data(as_text=True)


def test_hidden_removed_and_deleted_never_found(client, member, other_member):
    hidden = services.publish_story(
        member, title="Hidden", body="Zebra crossing story that was hidden by moderators."
    )
    hidden.status = Status.HIDDEN.value
    visible = services.publish_story(
        member, title="Visible", body="Zebra stripes on the nursery wall made him smile."
    )
    reply = services.add_reply(other_member, visible, body="A zebra reply that the author later deleted.")
    services.delete_reply(other_member, reply)
    db.session.commit()
    html = client.get("/search?q=zebra").get_data(as_text=True)
    assert "Visible" in html and "Hidden" not in html and "later deleted" not in html


def test_anonymous_author_not_revealed_in_results(client, member):
    services.publish_story(
        member,
        title="Quiet worry",
        body="Something private about the nursery settling period.",
        anonymous=True,
    )
    html = client.get("/search?q=settling").get_data(as_text=True)
    assert "Quiet worry" in html and member.pseudonym not in html


@pytest.mark.parametrize(
    "query",
    [
        '"',
        "*",
        "NEAR(a b",
        "a AND OR NOT",
        "(((",
        "'; DROP TABLE stories;--",
        "x" * 5000,
        "\u202e\u200d emoji 😭",
        "%_",
        "title:secret",
        "^start",
    ],
)
def test_hostile_queries_never_break(client, member, query):
    services.publish_story(member, title="Anything", body="Some ordinary text about a drop-off at nursery.")
    response = client.get("/search", query_string={"q": query})
    assert response.status_code == 200


def test_results_are_paginated(client, member):
    for i in range(25):
        services.publish_story(
            member, title=f"Teething night {i}", body=f"Teething again, night number {i} of many."
        )
    first = client.get("/search?q=teething").get_data(as_text=True)
    assert 'rel="next"' in first
    second = client.get("/search?q=teething&page=2").get_data(as_text=True)
    assert 'rel="prev"' in second and second.count("story-card") >= 5


def test_highlight_escapes_before_marking():
    marked = str(highlight("<script>alert(1)</script> nursery tears", ["nursery"]))
    assert "<script>" not in marked and "<mark>nursery</mark>" in marked


def test_search_terms_strip_operators():
    assert search_terms('"NEAR(cry* OR sob)') == ["near", "cry", "or", "sob"]


def test_postgres_search_uses_the_indexed_expression() -> None:
    """The story query repeats the GIN index's expression verbatim, or PostgreSQL would scan every story."""
    from forum.feeds.search import _POSTGRES_SEARCH
    from forum.models.search import STORY_VECTOR

    assert STORY_VECTOR.replace("title", "s.title").replace("body", "s.body") in _POSTGRES_SEARCH
