"""Browsing through HTTP: home feed sorts and filters, keyset pages, tag pages, the tag directory, trending tags."""

from __future__ import annotations

from datetime import timedelta

import pytest

from forum.extensions import db
from forum.feeds.queries import decode_cursor, encode_cursor
from forum.models import Status, utcnow
from forum.stories import services

BODY = "We had a really hard morning at the nursery gate today, lots of tears all round."


def story(author, title, minutes_ago=0, **fields):
    fields.setdefault("body", f"{BODY} ({title})")
    made = services.publish_story(author, title=title, **fields)
    made.created_at = made.last_activity_at = utcnow() - timedelta(minutes=minutes_ago)
    db.session.commit()
    return made


def titles(html: str, candidates: list[str]) -> list[str]:
    """The candidate titles in the order they appear on the page."""
    found = [(html.find(t), t) for t in candidates if t in html]
    return [t for _, t in sorted(found)]


def test_home_lists_newest_first_with_cards(client, member):
    story(member, "Older one", minutes_ago=30, tags="nurseryguilt")
    story(member, "Newer one", minutes_ago=5, setting="nursery", age_band="2-3")
    html = client.get("/").get_data(as_text=True)
    assert titles(html, ["Older one", "Newer one"]) == ["Newer one", "Older one"]
    assert 'href="/tags/nurseryguilt"' in html and "Nursery" in html and "child 2–3" in html
    assert "Join and share your story" in html  # the welcome for visitors


def test_active_sort_uses_latest_reply(client, member, other_member):
    quiet = story(member, "Quiet story", minutes_ago=5)
    busy = story(member, "Busy story", minutes_ago=50)
    services.add_reply(other_member, busy, body="Sending hugs, we went through exactly the same.")
    html = client.get("/?sort=active").get_data(as_text=True)
    assert titles(html, [quiet.title, busy.title]) == ["Busy story", "Quiet story"]


def test_needs_support_shows_unanswered_recent_oldest_first(client, member, other_member):
    story(member, "Unanswered newer", minutes_ago=10)
    story(member, "Unanswered older", minutes_ago=100)
    answered = story(member, "Answered", minutes_ago=20)
    services.add_reply(other_member, answered, body="You are doing brilliantly, it does get easier.")
    old = story(member, "Too old", minutes_ago=60 * 24 * 8)
    html = client.get("/?sort=needs-support").get_data(as_text=True)
    assert titles(html, ["Unanswered newer", "Unanswered older", "Answered", old.title]) == [
        "Unanswered older",
        "Unanswered newer",
    ]


@pytest.mark.parametrize(
    ("query", "shown", "hidden"),
    [
        ("setting=school", "At school", "At nursery"),
        ("age=under-1", "At nursery", "At school"),
    ],
)
def test_filters_by_setting_and_age(client, member, query, shown, hidden):
    story(member, "At school", setting="school", age_band="4-5")
    story(member, "At nursery", setting="nursery", age_band="under-1")
    html = client.get(f"/?{query}").get_data(as_text=True)
    assert shown in html and hidden not in html


def test_filter_to_stories_with_updates(client, member):
    updated = story(member, "With update")
    story(member, "Without update")
    services.add_update(member, updated, body="Three weeks later he runs in happily.", outcome="better")
    html = client.get("/?updates=1").get_data(as_text=True)
    assert "With update" in html and "Without update" not in html
    assert "Update: better now" in html


def test_keyset_pages_cover_everything_once(client, member):
    for i in range(45):
        story(member, f"Story number {i:02d}", minutes_ago=i)
    seen: list[str] = []
    url = "/"
    while url:
        html = client.get(url).get_data(as_text=True)
        seen += [f"Story number {i:02d}" for i in range(45) if f"Story number {i:02d}<" in html]
        marker = 'rel="next" href="'
        url = html.split(marker, 1)[1].split('"', 1)[0].replace("&amp;", "&") if marker in html else ""
    assert sorted(seen) == sorted(f"Story number {i:02d}" for i in range(45))
    assert len(seen) == 45


@pytest.mark.parametrize("cursor", ["garbage", "", "x" * 500, encode_cursor(utcnow(), 10) + "!!"])
def test_bad_cursor_is_ignored(client, member, cursor):
    story(member, "Still shown")
    response = client.get(f"/?cursor={cursor}")
    assert response.status_code == 200


def test_cursor_round_trip():
    when = utcnow()
    assert decode_cursor(encode_cursor(when, 42)) == (when, 42)


def test_hidden_and_deleted_stories_never_listed(client, member):
    hidden = story(member, "Hidden one", tags="secret")
    story(member, "Visible one", tags="secret")
    hidden.status = Status.HIDDEN.value
    db.session.commit()
    for url in ("/", "/tags/secret", "/?sort=active", "/?sort=needs-support"):
        html = client.get(url).get_data(as_text=True)
        assert "Hidden one" not in html and "Visible one" in html


def test_anonymous_author_not_shown_in_feeds(client, member):
    story(member, "Private thing", anonymous=True, tags="quiet")
    for url in ("/", "/tags/quiet"):
        html = client.get(url).get_data(as_text=True)
        assert "Anonymous parent" in html and member.pseudonym not in html


def test_tag_page_is_case_insensitive_and_404_for_unknown(client, member):
    story(member, "Tagged", tags="DropOffGuilt")
    assert "Tagged" in client.get("/tags/dropoffguilt").get_data(as_text=True)
    assert "Tagged" in client.get("/tags/DropOffGuilt").get_data(as_text=True)
    missing = client.get("/tags/nothing-here")
    assert missing.status_code == 404 and "No stories are tagged" in missing.get_data(as_text=True)


def test_tag_directory_counts_and_trending(client, member):
    story(member, "One", tags="sleep, nursery")
    story(member, "Two", tags="sleep")
    old = story(member, "Old", tags="archive", minutes_ago=60 * 24 * 10)
    html = client.get("/tags").get_data(as_text=True)
    assert "#sleep" in html and "2 stories" in html and "#archive" in html
    trending = html.split("Trending this week", 1)[1].split("All tags", 1)[0]
    assert "#sleep" in trending and "#archive" not in trending
    assert old.title not in trending


def test_content_note_story_shows_note_not_text(client, member):
    story(
        member,
        "Hard news",
        content_note="baby-loss",
        body="A very painful story that readers may want to skip.",
    )
    html = client.get("/").get_data(as_text=True)
    assert "Content note" in html and "A very painful story" not in html


@pytest.mark.parametrize("status", [Status.PENDING.value, Status.HIDDEN.value, Status.REMOVED.value])
def test_tags_only_on_unpublished_stories_are_unknown_everywhere(client, member, status):
    """Issue 12, finding 13: a tag page, the directory, trending and the API know only tags on a published
    story; a tag used only by pending or hidden content answers like a tag never used."""
    unseen = story(member, "Not out yet", tags="onlywaiting, shared")
    story(member, "Out there", tags="shared")
    unseen.status = status  # set directly: the counters may lag, the pages must not
    db.session.commit()
    missing = client.get("/tags/onlywaiting")
    assert missing.status_code == 404
    assert missing.get_data(as_text=True) == client.get("/tags/neverused").get_data(as_text=True).replace(
        "neverused", "onlywaiting"
    )
    assert client.get("/tags/shared").status_code == 200
    for url in ("/tags", "/", "/api/stories", "/api/stories?tag=onlywaiting"):
        assert "onlywaiting" not in client.get(url).get_data(as_text=True), url
    assert client.get("/api/stories?tag=onlywaiting").get_json()["stories"] == []
