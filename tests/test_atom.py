"""Atom feeds: valid Atom 1.0 (parsed with ElementTree, required elements checked), only visible content,
anonymous authors anonymous, content notes respected, ETag / Last-Modified answered with 304."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from datetime import datetime

from forum.stories import lifecycle
from tests import factories

A = "{http://www.w3.org/2005/Atom}"


def parse_valid(body: bytes) -> ET.Element:
    """Parse and check what RFC 4287 requires: feed id/title/updated, an author for every entry (here on each
    entry), entry id/title/updated/link, RFC 3339 dates, unique ids."""
    feed = ET.fromstring(body)
    assert feed.tag == f"{A}feed"
    for name in ("id", "title", "updated"):
        assert len(feed.findall(f"{A}{name}")) == 1, name
    assert feed.find(f"{A}link[@rel='self']") is not None
    ids = [feed.findtext(f"{A}id")]
    for entry in feed.findall(f"{A}entry"):
        for name in ("id", "title", "updated"):
            assert len(entry.findall(f"{A}{name}")) == 1, name
        assert entry.find(f"{A}author/{A}name").text
        assert entry.find(f"{A}link[@rel='alternate']").get("href").startswith("http")
        assert entry.find(f"{A}content").get("type") == "html"
        for name in ("updated", "published"):
            datetime.fromisoformat(entry.findtext(f"{A}{name}").replace("Z", "+00:00"))
        ids.append(entry.findtext(f"{A}id"))
    assert all(i.startswith("tag:") for i in ids) and len(set(ids)) == len(ids)
    return feed


def titles(feed: ET.Element) -> list[str]:
    return [e.findtext(f"{A}title") for e in feed.findall(f"{A}entry")]


def test_newest_stories_feed_is_valid_and_shows_only_visible_content(client, member, other_member):
    named = factories.make_story(member, title="Named story", tags="sleep")
    factories.make_story(
        other_member, title="Secret one", anonymous=True, body="Anonymous body text, a hard week."
    )
    gone = factories.make_story(member, title="Hidden later", body="This one will be hidden by a moderator.")
    factories.make_story(
        member, title="Loss", content_note="baby-loss", body="Words about a loss nobody should read."
    )
    lifecycle.set_status(gone, "hidden")
    lifecycle.commit()
    answer = client.get("/feeds/stories.atom")
    assert answer.status_code == 200 and answer.mimetype == "application/atom+xml"
    feed = parse_valid(answer.data)
    assert "Hidden later" not in titles(feed) and "Named story" in titles(feed)
    authors = {e.findtext(f"{A}title"): e.findtext(f"{A}author/{A}name") for e in feed.findall(f"{A}entry")}
    assert authors["Secret one"] == "Anonymous parent"
    assert b"RainyDad" not in answer.data and b"nobody should read" not in answer.data
    assert "A story with the content note “Baby loss”" in titles(feed)
    assert named.title in titles(parse_valid(client.get("/feeds/tags/sleep.atom").data))
    assert client.get("/feeds/tags/nosuchtag.atom").status_code == 404


def test_replies_feed_and_the_alternate_links(client, member, other_member):
    story = factories.make_story(member, title="First week", tags="nursery", anonymous=True)
    factories.make_reply(other_member, story, body="It gets easier, I promise.")
    factories.make_reply(member, story, body="Thank you so much.")
    hidden = factories.make_reply(other_member, story, body="Something unkind that gets hidden.")
    lifecycle.set_status(hidden, "hidden")
    lifecycle.commit()
    feed = parse_valid(client.get(f"/stories/{story.id}/replies.atom").data)
    assert [e.findtext(f"{A}author/{A}name") for e in feed.findall(f"{A}entry")] == [
        "Anonymous parent (who shared this story)",
        "RainyDad",
    ]
    assert b"unkind" not in client.get(f"/stories/{story.id}/replies.atom").data
    page = client.get(f"/stories/{story.id}").text
    link = (
        f'type="application/atom+xml" title="Replies to this story" href="/stories/{story.id}/replies.atom"'
    )
    assert link in page
    assert 'href="/feeds/tags/nursery.atom"' in client.get("/tags/nursery").text
    assert 'href="/feeds/stories.atom"' in client.get("/").text


def test_an_unchanged_feed_answers_304(client, member):
    factories.make_story(member, title="Polled")
    first = client.get("/feeds/stories.atom")
    etag, modified = first.headers["ETag"], first.headers["Last-Modified"]
    assert client.get("/feeds/stories.atom", headers={"If-None-Match": etag}).status_code == 304
    assert client.get("/feeds/stories.atom", headers={"If-Modified-Since": modified}).status_code == 304
    factories.make_story(member, title="A new one", body="Another morning at the gate, she let go of my hand")
    assert client.get("/feeds/stories.atom", headers={"If-None-Match": etag}).status_code == 200
