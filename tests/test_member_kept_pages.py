"""Members' feed pages kept whole (forum/memberpages.py): a kept page, laid out for a member, is the page
rendered afresh for her; it never carries one member's private bits (her unread count, CSRF token, draft key,
her own anonymous story, her blocks and mutes, whether she follows a tag) to another; new content shows at once."""

from __future__ import annotations

import re

import pytest
from flask import Flask, g
from itsdangerous import URLSafeTimedSerializer

from forum.care.preferences import block_author_of, save_preferences
from forum.extensions import db
from forum.following import services as following
from forum.models import Tag
from forum.stories import services
from tests.factories import make_story, make_user, signed_in_client
from tests.test_query_counts import counted


def get(client, url: str) -> tuple[str, list[str]]:
    """The page as this member gets it, and the statements it took. The tests' requests share one app context,
    so this request's CSRF token is dropped from `g` first (a real request starts without one)."""
    g.pop("csrf_token", None)
    db.session.expire_all()
    with counted() as statements:
        response = client.get(url)
    assert response.status_code == 200, url
    return response.get_data(as_text=True), list(statements)


def fresh(app: Flask, client, url: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The same page rendered for this member with nothing kept."""
    monkeypatch.setitem(app.config, "MEMBER_PAGE_CACHE_ENABLED", False)
    monkeypatch.setitem(app.config, "FRAGMENT_CACHE_ENABLED", False)
    try:
        return get(client, url)[0]
    finally:
        monkeypatch.setitem(app.config, "MEMBER_PAGE_CACHE_ENABLED", True)
        monkeypatch.setitem(app.config, "FRAGMENT_CACHE_ENABLED", True)


def reads_stories(statements: list[str]) -> bool:
    return any("FROM stories" in s for s in statements)


TOKEN = re.compile(r'(name="csrf_token" value=")([^"]+)"')


def csrf_tokens(html: str) -> set[str]:
    return {token for _, token in TOKEN.findall(html)}


def without_tokens(html: str) -> str:
    """The page with its CSRF tokens blanked: a token is signed with the second it was made in."""
    return TOKEN.sub(r'\1"', html)


def tokens_are_hers(app: Flask, client, html: str) -> bool:
    """Every CSRF token on the page is this member's session's own."""
    with client.session_transaction() as session:
        raw = session["csrf_token"]
    signer = URLSafeTimedSerializer(app.secret_key, salt="wtf-csrf-token")
    tokens = csrf_tokens(html)
    return bool(tokens) and all(signer.loads(token) == raw for token in tokens)


def test_a_kept_page_is_the_page_rendered_afresh_for_each_of_two_members(
    app, member, page_cache, monkeypatch
):
    story = make_story(member, title="Sleep regression", body="Four months and nobody sleeps.", tags="sleep")
    make_story(
        member, title="Drop-off tears", body="She clung to the gate again today.", tags="sleep nursery"
    )
    first, second = make_user(pseudonym="FirstReader"), make_user(pseudonym="SecondReader")
    # The second reader has two unread notifications (her header shows them), the first none.
    mine = make_story(second, title="Her own night", body="Another night of walking the landing.")
    services.add_reply(member, mine, body="Ours passed after two weeks.")
    services.add_reply(first, mine, body="Sending you strength tonight.")
    readers = {"first": signed_in_client(app, first), "second": signed_in_client(app, second)}
    for url in ("/", "/tags/sleep", "/?sort=active"):
        rendered, statements = get(readers["first"], url)  # rendered and kept
        assert reads_stories(statements)
        for name, reader in readers.items():
            kept, statements = get(reader, url)
            if url.startswith("/tags") or name == "first":  # (her own story is on the home pages: hers alone)
                assert not reads_stories(statements), f"{url} for {name}: not served from the kept page"
            assert without_tokens(kept) == without_tokens(fresh(app, reader, url, monkeypatch)), (
                f"{url} {name}"
            )
            assert tokens_are_hers(app, reader, kept)
            assert "Sleep regression" in kept and story.title in kept
        # Each member's own header and tokens, never the first reader's.
        second_page = get(readers["second"], url)[0]
        assert 'class="badge">2<' in second_page and 'class="badge">2<' not in rendered
        assert csrf_tokens(second_page) and csrf_tokens(second_page).isdisjoint(csrf_tokens(rendered))
        owners = {re.search(r'data-draft-owner="([^"]*)"', page).group(1) for page in (rendered, second_page)}
        assert len(owners) == 2 and "" not in owners


def test_her_own_anonymous_story_never_reaches_another_member(app, member, other_member, page_cache):
    make_story(member, title="Hard week", body="Nobody must know it is me.", anonymous=True, tags="hard")
    author, reader = signed_in_client(app, member), signed_in_client(app, other_member)
    for url in ("/", "/tags/hard"):
        # The author first (her page is hers alone and not kept), then another member, then the author again
        # (a page kept from the other member's view is not hers: she gets her own).
        for client, own in ((author, True), (reader, False), (reader, False), (author, True)):
            html = get(client, url)[0]
            assert "Hard week" in html and "Anonymous parent" in html or own
            assert ("You (posted anonymously)" in html) == own, url
            if not own:
                assert member.pseudonym not in html


def test_blocks_and_mutes_still_hide_what_they_hide(app, member, other_member, page_cache):
    named = make_story(member, title="Named worry", body="My son will not eat anything green.", tags="food")
    make_story(
        other_member, title="Muted topic", body="Weaning has been so hard this month.", tags="weaning food"
    )
    blocker, muter, plain = (make_user(pseudonym=name) for name in ("Blocker", "Muter", "PlainReader"))
    block_author_of(blocker, named)
    save_preferences(muter, muted="weaning", notes={})
    db.session.commit()
    clients = {
        name: signed_in_client(app, user)
        for name, user in (("plain", plain), ("blocker", blocker), ("muter", muter))
    }
    for url in ("/", "/tags/food"):
        for _ in range(2):  # rendered and kept for the plain member, then each of the others after her
            html = {name: get(client, url)[0] for name, client in clients.items()}
            assert "Named worry" in html["plain"] and "Muted topic" in html["plain"]
            assert "Named worry" not in html["blocker"] and "Muted topic" in html["blocker"]
            assert "Named worry" in html["muter"] and "Muted topic" not in html["muter"]
    # The blocked member no longer sees the blocker's named stories either (a named block works both ways).
    make_story(blocker, title="From the blocker", body="Our first week at the new nursery went well.")
    assert "From the blocker" in get(clients["plain"], "/")[0]
    assert "From the blocker" not in get(signed_in_client(app, member), "/")[0]


def test_new_content_shows_at_once_and_flashes_are_never_kept(app, member, other_member, page_cache):
    reader = signed_in_client(app, other_member)
    get(reader, "/")
    assert "A brand new morning" not in get(reader, "/")[0]
    services.publish_story(member, title="A brand new morning", body="Today drop-off went a little better.")
    assert "A brand new morning" in get(reader, "/")[0]
    with reader.session_transaction() as session:
        session["_flashes"] = [("info", "Your settings are saved.")]
    assert "Your settings are saved." in get(reader, "/")[0]
    assert "Your settings are saved." not in get(reader, "/")[0]


def test_following_a_tag_is_her_own(app, member, other_member, page_cache):
    make_story(member, title="Teething again", body="Molars this time, nobody is sleeping.", tags="teeth")
    follower, reader = (
        signed_in_client(app, other_member),
        signed_in_client(app, make_user(pseudonym="Reader")),
    )
    following.follow_tag(other_member, db.session.scalar(db.select(Tag).where(Tag.name == "teeth")), True)
    db.session.commit()
    for _ in range(2):
        assert "Following #teeth" in get(follower, "/tags/teeth")[0]
        page = get(reader, "/tags/teeth")[0]
        assert "Follow #teeth" in page and "Following #teeth" not in page


def test_moderators_pages_are_never_kept(app, member, moderator, page_cache):
    make_story(member, title="Rough day", body="Everything went wrong before nine.")
    staff = signed_in_client(app, moderator)
    for _ in range(2):
        html, statements = get(staff, "/")
        assert reads_stories(statements) and "Moderation" in html
    assert not any(str(key).startswith("mpage:") for key in page_cache._cache)


def test_a_large_tag_lists_the_same_stories_either_way_it_is_read(app, member, other_member, monkeypatch):
    from forum.feeds import queries

    for i in range(25):
        make_story(member, title=f"Big tag story {i}", body=f"Another day of this, number {i}.", tags="big")
    make_story(member, title="Not tagged", body="A story without the big tag at all.", tags="other")
    reader = signed_in_client(app, other_member)

    def titles(url: str) -> list[str]:
        return re.findall(r'story-card-title"><a[^>]*>([^<]*)', get(reader, url)[0])

    for url in ("/tags/big", "/tags/big?sort=active"):
        monkeypatch.setattr(queries, "WALK_TAGGED_FROM", 10**9)  # from the tag's own list of stories
        listed = titles(url)
        monkeypatch.setattr(queries, "WALK_TAGGED_FROM", 1)  # walking the stories, checking each one's tags
        walked = titles(url)
        assert listed == walked and len(walked) == 20 and "Not tagged" not in walked


def test_her_notifications_page_is_kept_for_her_alone(app, member, other_member, page_cache, monkeypatch):
    from forum.notifications import services as notes
    from forum.notifications.mail import prefs as mail_prefs

    story = make_story(member, title="Bedtime battles", body="Two hours of bedtime every single night.")
    services.add_reply(other_member, story, body="We had the same, a lamp helped us.")
    author, replier = signed_in_client(app, member), signed_in_client(app, other_member)
    for _ in range(2):  # rendered and kept, then from the kept page
        mine, statements = get(author, "/notifications")
        assert "replied to “Bedtime battles”" in mine and 'class="badge">1<' in mine
        theirs = get(replier, "/notifications")[0]
        assert "Bedtime battles" not in theirs and "badge" not in theirs
    assert len(statements) == 1  # her sign-in, which reads this page's notifications as one text with it
    assert without_tokens(mine) == without_tokens(fresh(app, author, "/notifications", monkeypatch))
    assert tokens_are_hers(app, author, mine)
    # A new notification, and marking them read, show at once.
    notes.notify_message(member, "A moderator restored your story.")
    db.session.commit()
    assert "A moderator restored your story." in get(author, "/notifications")[0]
    author.post("/notifications/read-all")
    page = get(author, "/notifications")[0]
    assert "badge" not in page and "Mark all as read" not in page
    assert without_tokens(page) == without_tokens(fresh(app, author, "/notifications", monkeypatch))
    # Confirming her address shows at once too (the page then links her mail settings instead).
    assert "once you confirm your address" in page
    prefs = mail_prefs.get(member.id)
    prefs.verified_email = member.email
    db.session.add(prefs)
    db.session.commit()
    assert "once you confirm your address" not in get(author, "/notifications")[0]


def test_a_kept_tag_page_asks_nothing_beyond_her_sign_in(app, member, other_member, page_cache):
    """Whether she follows the tag comes with her sign-in statement (the tags she follows), not a statement of
    its own; following or unfollowing shows on the next page."""
    from tests.test_query_counts import counted

    make_story(
        member, title="Teething again", body="Molars this time, nobody is sleeping.", tags="teeth naps"
    )
    teeth, naps = (db.session.scalar(db.select(Tag).where(Tag.name == name)) for name in ("teeth", "naps"))
    follower = signed_in_client(app, other_member)
    following.follow_tag(other_member, naps, True)
    following.follow_tag(other_member, teeth, True)
    db.session.commit()
    get(follower, "/tags/teeth")  # kept
    with counted() as statements:
        page = get(follower, "/tags/teeth")[0]
    assert "Following #teeth" in page
    assert len(statements) == 1, statements
    following.follow_tag(other_member, teeth, False)
    db.session.commit()
    assert "Follow #teeth" in get(follower, "/tags/teeth")[0]
    assert "Following #naps" in get(follower, "/tags/naps")[0]


def test_a_feed_page_with_her_story_is_kept_for_her_alone(app, member, other_member, page_cache, monkeypatch):
    """The member who has just posted reads the home and tag pages her story is on: kept for her alone (her
    id in the key), the page rendered afresh for her; never served to another member, and rendered again when
    something new is posted."""
    make_story(member, title="Hard week", body="Nobody must know it is me.", anonymous=True, tags="hard")
    author, reader = signed_in_client(app, member), signed_in_client(app, other_member)
    for url in ("/", "/tags/hard"):
        assert reads_stories(get(author, url)[1])  # rendered, kept for her
        kept, statements = get(author, url)
        assert not reads_stories(statements), url
        assert "You (posted anonymously)" in kept
        assert without_tokens(kept) == without_tokens(fresh(app, author, url, monkeypatch))
        assert tokens_are_hers(app, author, kept)
        for _ in range(2):  # another member: the page kept for readers like him, never hers
            page = get(reader, url)[0]
            assert "Hard week" in page and "You (posted anonymously)" not in page
            assert member.pseudonym not in page
    make_story(other_member, title="A new night", body="Teething again, everyone awake.", tags="hard")
    for url in ("/", "/tags/hard"):
        page, statements = get(author, url)
        assert reads_stories(statements) and "A new night" in page and "You (posted anonymously)" in page


def test_her_own_story_page_is_rendered_for_her_every_time(app, member, page_cache):
    """Her story page carries things of hers that change without a new post (the support card): never kept."""
    story = make_story(member, title="Hard week", body="Nobody must know it is me.", tags="hard")
    author = signed_in_client(app, member)
    for _ in range(3):
        assert any("FROM stories" in s for s in get(author, f"/stories/{story.id}")[1])
