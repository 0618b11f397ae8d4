"""Issue 16 item 7: quotes say who wrote them and keep the first paragraph's lines; "needs support" counts
replies from other members only; "N parents" counts parents."""

from __future__ import annotations

from forum.feeds import queries as feed_queries
from forum.text import first_paragraph, quote_attribution
from tests import factories


def test_a_quote_takes_the_first_paragraph_with_its_list_and_says_who_wrote_it(app, member, other_member):
    story = factories.make_story(
        member,
        title="Lists",
        body="What worked for us:\n\n- a goodbye song\n- a photo in his pocket\n\nSecond paragraph here.",
    )
    reply = factories.make_reply(
        other_member, story, body="> quoted before\n\nMy own words here.\n\nAnd more."
    )
    c = factories.signed_in_client(app, other_member)
    page = c.get(f"/stories/{story.id}?quote=story").text
    assert "SunnyMum wrote:\n&gt; What worked for us:\n\n" in page
    anonymous = factories.make_story(
        other_member, anonymous=True, body="Hard night again.\n\n- one\n- two\n\nEnd."
    )
    page = factories.signed_in_client(app, member).get(f"/stories/{anonymous.id}?quote=story").text
    assert (
        "Anonymous parent wrote:\n&gt; Hard night again." in page
        and "RainyDad" not in page.split("<textarea")[1]
    )
    page = factories.signed_in_client(app, member).get(f"/stories/{story.id}?quote=reply-{reply.id}").text
    assert "RainyDad wrote:\n&gt; My own words here.\n\n" in page


def test_first_paragraph_keeps_list_lines_and_skips_quotes():
    assert first_paragraph("- one\n- two\n\nlater") == "- one\n- two"
    assert first_paragraph("> theirs\n\nmine\nstill mine\n\nnext") == "mine\nstill mine"
    assert first_paragraph("word " * 400).endswith("…")
    assert quote_attribution("Anonymous parent (who shared this story)") == "Anonymous parent wrote:"
    assert quote_attribution("a former member") == "A former member wrote:"


def test_needs_support_keeps_a_story_whose_only_replies_are_its_authors(member, other_member):
    story = factories.make_story(member, title="Waiting")
    factories.make_reply(member, story, body="Adding a bit more: it was worse this evening.")
    filters = feed_queries.FeedFilters.from_args({"sort": "needs-support"})
    assert [s.id for s in feed_queries.feed_page(filters).stories] == [story.id]
    factories.make_reply(other_member, story, body="Sending you strength, it passes.")
    assert feed_queries.feed_page(filters).stories == []


def test_similar_count_counts_parents_not_stories(app, member, other_member, monkeypatch):
    """Several similar stories by one parent are one parent; the story's own author is never counted."""
    from forum.similar import store
    from forum.stories import services

    monkeypatch.setitem(app.config, "SIMILAR_EMBED_ON_WRITE", True)
    app.extensions.pop("similar_index", None)
    try:
        drop_offs = [
            ("Crying at drop-off", "My son cries every morning at nursery drop-off and clings to my legs."),
            ("Nursery tears", "She screams when I leave her at nursery and I feel terrible all day."),
            (
                "Clinging at the door",
                "Every drop-off at nursery he holds onto me and sobs, staff peel him off.",
            ),
        ]
        for title, body in drop_offs:
            services.publish_story(other_member, title=title, body=body)
        services.publish_story(
            member, title="Me again", body="My boy sobs at nursery drop-off, clinging to me."
        )
        story = services.publish_story(
            member, title="Drop-off", body="He cried and clung to me at nursery drop-off."
        )
        matches, count = store.similar_with_count(story, None, 5)
        assert len([m for m in matches if m.story.author_id == other_member.id]) >= 2
        assert count == 1  # three stories, one parent; her own other story is not "another parent"
    finally:
        app.extensions.pop("similar_index", None)
