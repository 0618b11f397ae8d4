"""Posting, reading, editing and deleting stories through HTTP."""

from __future__ import annotations

import html as html_lib
import re
import threading
from collections.abc import Iterator

import pytest
import sqlalchemy as sa
from flask import Flask, g, request_started
from flask.testing import FlaskClient

from forum.errors import NotAllowed
from forum.extensions import db
from forum.models import Reply, Revision, Status, Story, StoryUpdate, Tag, User
from forum.stories import lifecycle, queries, services
from tests import factories
from tests.conftest import count_rows

BODY = (
    "Left him sobbing at nursery this morning and cried in the car. #nurseryguilt #dropoffguilt #mum#mumlife"
)


def _reset_login(sender: Flask, **extra: object) -> None:
    g.pop("_login_user", None)


@pytest.fixture(autouse=True)
def fresh_login_per_request(app: Flask) -> Iterator[None]:
    """Each request loads its own member (the test app context otherwise keeps the first one in g)."""
    request_started.connect(_reset_login, app)
    yield
    request_started.disconnect(_reset_login, app)


def textarea(html: str, name: str = "body") -> str:
    match = re.search(rf'<textarea[^>]*name="{name}"[^>]*>(?:\r?\n)?(.*?)</textarea>', html, re.S)
    assert match, f"no {name} textarea"
    return html_lib.unescape(match.group(1))


def test_compose_posts_a_story_with_glued_hashtags(client: FlaskClient, auth, member: User) -> None:
    auth.login(member)
    assert "Share a story" in client.get("/stories/new").text
    response = client.post(
        "/stories/new",
        data={
            "title": "Drop-off",
            "body": BODY,
            "tags": "Toddler, #first week",
            "submission_key": "k-1",
            "age_band": "2-3",
            "setting": "nursery",
            "content_note": "",
            "remind": "1",
        },
    )
    assert response.status_code == 302 and response.location.endswith("?posted=1")
    story = db.session.scalar(sa.select(Story))
    assert [t.name for t in story.tags] == sorted(
        ["toddler", "first", "week", "nurseryguilt", "dropoffguilt", "mum", "mumlife"]
    )
    page = client.get(response.location).text
    assert "Thank you for sharing" in page and 'data-clear-draft="story"' in page
    assert 'href="/tags/mumlife"' in page and "Child aged 2–3" in page and "Nursery" in page
    assert db.session.scalar(sa.select(Tag.story_count).where(Tag.name == "mum")) == 1


@pytest.mark.parametrize(
    "data, message",
    [
        ({"body": ""}, "Please write your story"),
        ({"body": "   \n\t  "}, "Please write your story"),
        ({"body": "too short"}, "at least 20 characters (it has 9)"),
        ({"body": "x" * 20_001}, "20,001 characters; the limit is 20,000"),
        ({"body": "x" * 40, "title": "t" * 151}, "keep the title to 150 characters"),
        ({"body": "x" * 40, "tags": "a b c d e f g h i"}, "2–30 letters or numbers"),
        ({"body": "x" * 40, "tags": "aa bb cc dd ee ff gg hh ii"}, "at most 8 tags"),
        ({"body": "x" * 40, "age_band": "forged"}, "Please pick one of the options"),
    ],
)
def test_bad_input_gets_a_clear_message_and_keeps_the_text(
    client: FlaskClient, auth, member: User, data: dict[str, str], message: str
) -> None:
    auth.login(member)
    response = client.post("/stories/new", data={"submission_key": "k", **data})
    assert response.status_code == 200
    assert message in response.text
    assert "Nothing you typed has been lost" in response.text
    if data["body"].strip():
        assert textarea(response.text) == data["body"]
    assert count_rows(Story) == 0


def test_odd_unicode_round_trips_and_controls_are_stripped(client: FlaskClient, auth, member: User) -> None:
    auth.login(member)
    body = "Family 👨\u200d👩\u200d👧 שלום עולם e\u0301 zero\u200bwidth and more words here\r\nsecond\x00 line\x1b"
    client.post("/stories/new", data={"body": body, "title": "مرحبا 🌧️", "submission_key": "u"})
    story = db.session.scalar(sa.select(Story))
    assert (
        story.body
        == "Family 👨\u200d👩\u200d👧 שלום עולם e\u0301 zero\u200bwidth and more words here\nsecond line"
    )
    page = client.get(f"/stories/{story.id}").text
    assert "👨\u200d👩\u200d👧 שלום עולם e\u0301 zero\u200bwidth" in page and "مرحبا 🌧️" in page


def test_script_and_raw_html_are_neutralised_on_the_page(client: FlaskClient, auth, member: User) -> None:
    auth.login(member)
    body = (
        'Hello <script>alert("x")</script> [a](javascript:alert(1)) <img src=x onerror=alert(1)> enough text'
    )
    client.post("/stories/new", data={"body": body, "title": "<b>title</b>", "submission_key": "s"})
    page = client.get(f"/stories/{db.session.scalar(sa.select(Story.id))}").text
    assert "<script>alert" not in page and 'href="javascript' not in page and "<img src=x" not in page
    assert "&lt;b&gt;title&lt;/b&gt;" in page


def test_double_submit_creates_one_story(client: FlaskClient, auth, member: User) -> None:
    auth.login(member)
    data = {"body": BODY, "submission_key": "same-key"}
    first = client.post("/stories/new", data=data)
    second = client.post("/stories/new", data=data)
    assert first.location == second.location
    assert count_rows(Story) == 1


def test_concurrent_double_submit_creates_one_story(app: Flask, member: User) -> None:
    clients = [factories.signed_in_client(app, member), factories.signed_in_client(app, member)]
    barrier = threading.Barrier(2)
    results: list[str] = []

    def post(c: FlaskClient) -> None:
        with app.app_context():
            barrier.wait()
            response = c.post("/stories/new", data={"body": BODY, "submission_key": "raced"})
            results.append(response.location)
            db.session.remove()

    threads = [threading.Thread(target=post, args=(c,)) for c in clients]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    db.session.expire_all()
    assert count_rows(Story) == 1
    assert len(results) == 2 and results[0] == results[1]


def test_expired_csrf_token_reshows_the_text(
    app: Flask, client: FlaskClient, auth, member: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    auth.login(member)
    client.get("/stories/new")
    response = client.post(
        "/stories/new", data={"body": BODY, "title": "Kept", "csrf_token": "expired", "submission_key": "kk"}
    )
    assert response.status_code == 200
    assert "security check expired" in response.text
    assert textarea(response.text) == BODY and 'value="Kept"' in response.text
    assert 'value="kk"' in response.text  # the same key, so re-sending can't double post
    assert count_rows(Story) == 0


def test_post_after_the_login_session_ended_is_restored_after_sign_in(
    app: Flask, client: FlaskClient, member: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post(
        "/stories/new",
        data={
            "body": BODY,
            "title": "Kept",
            "tags": "nursery",
            "anonymous": "y",
            "csrf_token": "gone",
            "submission_key": "k9",
        },
    )
    assert response.status_code == 302 and "/login" in response.location
    next_url = re.search(r"next=([^&]+)", response.location).group(1)
    from urllib.parse import unquote

    next_url = unquote(next_url)
    assert next_url.startswith("/stories/new?restore=")
    assert BODY not in (
        client.get_cookie("village_session").value if client.get_cookie("village_session") else ""
    )
    factories.login(client, member)
    page = client.get(next_url).text
    assert "We kept what you wrote" in page and textarea(page) == BODY and 'value="Kept"' in page
    assert 'value="k9"' in page and re.search(
        r'name="anonymous"[^>]*checked|checked[^>]*name="anonymous"', page
    )
    # Restored once only.
    assert "We kept what you wrote" not in client.get(next_url).text


def test_anonymous_author_never_leaks(
    app: Flask, client: FlaskClient, member: User, other_member: User
) -> None:
    story = factories.make_story(member, anonymous=True, title="Quiet one")
    author_view = factories.signed_in_client(app, member).get(f"/stories/{story.id}").text
    assert "You (posted anonymously)" in author_view and "Edit" in author_view
    for viewer in (client, factories.signed_in_client(app, other_member)):
        page = viewer.get(f"/stories/{story.id}").text
        assert "Anonymous parent" in page
        assert member.pseudonym not in page and f"/users/{member.id}" not in page
    # The anonymous author replying in their own thread stays anonymous too.
    services.add_reply(member, story, body="Thank you all so much.")
    page = client.get(f"/stories/{story.id}").text
    assert "Anonymous parent (who shared this story)" in page and member.pseudonym not in page


def test_author_edits_and_revisions_are_kept(client: FlaskClient, auth, member: User) -> None:
    story = factories.make_story(member, tags="nursery")
    auth.login(member)
    form = client.get(f"/stories/{story.id}/edit").text
    assert "Left him sobbing at nursery" in form and 'value="nursery"' in form
    response = client.post(
        f"/stories/{story.id}/edit", data={"body": "A changed story, still long enough.", "tags": "school"}
    )
    assert response.status_code == 302
    db.session.expire_all()
    assert story.body == "A changed story, still long enough." and story.edited_at is not None
    assert [t.name for t in story.tags] == ["school"]
    assert db.session.scalar(sa.select(Revision.body)) == factories.STORY_BODY
    assert "edited" in client.get(f"/stories/{story.id}").text
    assert db.session.scalar(sa.select(Tag.story_count).where(Tag.name == "nursery")) == 0


@pytest.mark.parametrize("remove_everything", [False, True])
def test_delete_leaves_a_tombstone_and_optionally_the_replies(
    app: Flask, client: FlaskClient, member: User, other_member: User, remove_everything: bool
) -> None:
    story = factories.make_story(member, title="To be deleted")
    services.add_reply(other_member, story, body="A reply that should stay readable.")
    author = factories.signed_in_client(app, member)
    data = {"remove_everything": "y"} if remove_everything else {}
    assert author.post(f"/stories/{story.id}/delete", data=data).status_code == 302
    page = client.get(f"/stories/{story.id}").text
    assert "This story was deleted by its author." in page and "To be deleted" not in page
    assert ("A reply that should stay readable." in page) is not remove_everything


def test_locked_story_refuses_replies(app: Flask, member: User, other_member: User) -> None:
    story = factories.make_story(member)
    story.locked = True
    db.session.commit()
    c = factories.signed_in_client(app, other_member)
    page = c.get(f"/stories/{story.id}").text
    assert "This conversation is closed to new replies." in page and 'id="reply-form"' not in page
    response = c.post(f"/stories/{story.id}/replies", data={"body": "Trying anyway, with enough text."})
    assert response.status_code == 403 and count_rows(Reply) == 0


def test_others_never_see_pending_or_removed_stories(
    app: Flask, client: FlaskClient, member: User, other_member: User
) -> None:
    story = factories.make_story(member)
    story.status = Status.PENDING.value
    db.session.commit()
    assert client.get(f"/stories/{story.id}").status_code == 404
    assert factories.signed_in_client(app, other_member).get(f"/stories/{story.id}").status_code == 404
    assert (
        "waiting for a moderator" in factories.signed_in_client(app, member).get(f"/stories/{story.id}").text
    )
    assert client.get("/stories/999999").status_code == 404


def test_story_page_query_count_does_not_grow_with_replies(
    app: Flask, member: User, other_member: User
) -> None:
    story = factories.make_story(member)
    viewer = factories.signed_in_client(app, other_member)

    def queries_for_page() -> int:
        count = 0

        def on_execute(*args: object) -> None:
            nonlocal count
            count += 1

        db.session.expire_all()  # as in production, the request starts with nothing cached
        sa.event.listen(db.engine, "before_cursor_execute", on_execute)
        try:
            assert viewer.get(f"/stories/{story.id}").status_code == 200
        finally:
            sa.event.remove(db.engine, "before_cursor_execute", on_execute)
        return count

    services.add_reply(other_member, story, body="First reply here.")
    queries_for_page()  # her first visit is recorded (a write); re-reading with nothing new writes nothing
    few = queries_for_page()
    for n in range(25):
        author = factories.make_user()
        reply = services.add_reply(author, story, body=f"Reply number {n} from a parent.")
        services.toggle_reaction(member, kind="hugs", reply=reply)
    queries_for_page()  # the visit moves on to the newest reply
    assert queries_for_page() <= few


def test_replies_are_paginated(app: Flask, client: FlaskClient, member: User) -> None:
    story = factories.make_story(member)
    for n in range(32):
        services.add_reply(member, story, body=f"Reply {n:02d} text")
    first = client.get(f"/stories/{story.id}").text
    assert "Reply 00 text" in first and "Reply 31 text" not in first and "Page 1 of 2" in first
    assert "Reply 31 text" in client.get(f"/stories/{story.id}?page=2").text


def test_a_posted_reply_goes_to_the_page_it_is_on(
    app: Flask, auth, client: FlaskClient, member: User
) -> None:
    """Counted from the end of the thread (the story's count as the reply's own counter UPDATE returned it),
    across a page's edge, with a hidden reply and a reply held for approval among them, as counting from the
    start says."""
    story = factories.make_story(member)
    others = [factories.make_user() for _ in range(3)]
    for n in range(29):
        services.add_reply(others[n % 3], story, body=f"Earlier reply {n:02d} from a parent.")
    hidden = services.add_reply(others[0], story, body="A reply a moderator hid later on.")
    lifecycle.set_status(hidden, Status.HIDDEN.value)
    lifecycle.commit()
    auth.login(member)
    for n, page in ((30, 1), (31, 2), (32, 2)):
        answer = client.post(
            f"/stories/{story.id}/replies", data={"body": f"My reply number {n} to the thread."}
        )
        assert answer.status_code == 302
        posted = db.session.scalar(sa.select(Reply).order_by(Reply.id.desc()).limit(1))
        assert f"page={page}" in answer.location and f"#reply-{posted.id}" in answer.location
        assert queries.reply_page_number(posted) == page  # counted from the start
        assert f"My reply number {n} to the thread." in client.get(answer.location).text


def test_reply_posted_after_sign_in_ended_is_restored(app: Flask, client: FlaskClient, member: User) -> None:
    story = factories.make_story(member)
    response = client.post(
        f"/stories/{story.id}/replies", data={"body": "My reply, typed before sign-in ended."}
    )
    assert response.status_code == 302 and "/login" in response.location
    from urllib.parse import parse_qs, urlparse

    next_url = parse_qs(urlparse(response.location).query)["next"][0]
    factories.login(client, member)
    assert textarea(client.get(next_url).text) == "My reply, typed before sign-in ended."


def test_an_update_sent_twice_with_one_key_is_added_once(member: User, other_member: User) -> None:
    """add_update goes through the shared submission-key helper: a resent update is the first one, and
    another member's key is refused rather than answered with her update."""
    story = factories.make_story(member)
    first = services.add_update(
        member, story, body="Much better now, thank you.", outcome="better", submission_key="u-1"
    )
    again = services.add_update(
        member, story, body="Much better now, thank you.", outcome="better", submission_key="u-1"
    )
    assert again.id == first.id
    assert count_rows(StoryUpdate) == 1
    theirs = factories.make_story(other_member)
    with pytest.raises(NotAllowed):
        services.add_update(
            other_member, theirs, body="Things are calmer this week.", outcome="better", submission_key="u-1"
        )
