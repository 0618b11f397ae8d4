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
        body="What worked for us:\n\n- a goodbye song\n- a photo in his pocket\n\nSecond paragraph that is long.",
    )
    reply = factories.make_reply(other_member, story, body="> quoted before\n\nMy own words here.\n\nAnd more.")
    c = factories.signed_in_client(app, other_member)
    page = c.get(f"/stories/{story.id}?quote=story").text
    assert "SunnyMum wrote:\n&gt; What worked for us:\n\n" in page
    anonymous = factories.make_story(other_member, anonymous=True, body="Hard night again.\n\n- one\n- two\n\nEnd.")
    page = factories.signed_in_client(app, member).get(f"/stories/{anonymous.id}?quote=story").text
    assert "Anonymous parent wrote:\n&gt; Hard night again." in page and "RainyDad" not in page.split("<textarea")[1]
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
