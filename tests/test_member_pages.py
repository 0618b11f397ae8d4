"""Members' feed pages from kept story cards (forum/fragments.py): the same statements whatever the page holds,
and a kept card never carries one reader's view (her own anonymous story, her content-note choice) to another."""

from __future__ import annotations

import re
from datetime import timedelta

from forum import fragments
from forum.care.preferences import block_author_of, save_preferences
from forum.extensions import db
from forum.models.base import utcnow
from forum.stories import bulk, services
from tests.factories import make_story, make_user, signed_in_client
from tests.test_query_counts import statements_for


def fill(author, count: int, start: int = 0, tag: str = "nursery") -> None:
    """Stories through the bulk loader (the seed's path: same validation, no per-post side work)."""
    bulk.insert_stories(
        [
            bulk.prepare_story(
                bulk.NewStory(
                    author_id=author.id,
                    title=f"Nursery story {i}",
                    created_at=utcnow() - timedelta(minutes=i),
                    body=f"Nursery tears again, day {i}.",
                    tags=[tag, f"t{i}"],
                )
            )
            for i in range(start, start + count)
        ]
    )


def test_member_home_and_tag_page_constant_statements(app, member, other_member):
    reader = signed_in_client(app, other_member)
    reader.get("/")  # a session's first page also looks for due update reminders (one statement, once)
    for url, tag in (("/", "nursery"), ("/tags/dropoff", "dropoff")):
        fragments.clear_local()
        db.session.rollback()
        fill(member, 5, start=0 if url == "/" else 100, tag=tag)
        few = statements_for(reader, url)
        fill(member, 45, start=200 if url == "/" else 300, tag=tag)
        many = statements_for(reader, url)
        assert few == many, f"{url}: {few} statements with 5 stories, {many} with 50"
        # With every card kept, the bodies are not read: one statement fewer, still constant.
        kept = statements_for(reader, url)
        assert kept == many - 1


def test_kept_cards_never_carry_the_authors_own_view(app, member, other_member):
    secret = make_story(member, title="Hard week", body="Nobody must know it is me.", anonymous=True)
    mine = signed_in_client(app, member)
    theirs = signed_in_client(app, other_member)
    fragments.clear_local()
    # Her own anonymous story is shown to her as hers, and that is never what anyone else gets.
    assert "You (posted anonymously)" in mine.get("/").get_data(as_text=True)
    for page in (theirs.get("/"), app.test_client().get("/"), theirs.get("/")):
        html = page.get_data(as_text=True)
        assert "Hard week" in html and "Anonymous parent" in html
        assert "You (posted anonymously)" not in html and member.pseudonym not in html
    assert "You (posted anonymously)" in mine.get("/").get_data(as_text=True)
    assert secret.id


def test_content_note_choice_is_per_reader(app, member, other_member):
    make_story(member, title="Scan day", body="The scan showed something we feared.", content_note="medical")
    shows = make_user(pseudonym="ShowsNotes")
    save_preferences(shows, muted="", notes={"medical": "show"})
    collapsed = signed_in_client(app, other_member)
    open_reader = signed_in_client(app, shows)
    fragments.clear_local()
    for _ in range(2):  # rendered, then kept: each reader keeps her own view
        assert "Read with care" in collapsed.get("/").get_data(as_text=True)
        html = open_reader.get("/").get_data(as_text=True)
        assert "The scan showed something" in html and "Read with care" not in html


def test_kept_cards_follow_edits_replies_and_blocks(app, member, other_member):
    story = make_story(member, title="First title", body="A story that will be edited later on.")
    reader = signed_in_client(app, other_member)
    fragments.clear_local()
    assert "First title" in reader.get("/").get_data(as_text=True)
    services.edit_story(member, story, title="Second title", body="A story that was edited now.", tags="")
    services.add_reply(other_member, story, body="Sending you strength today.")
    html = reader.get("/").get_data(as_text=True)
    assert "Second title" in html and "First title" not in html and "1 reply" in html
    block_author_of(other_member, story)
    assert "Second title" not in reader.get("/").get_data(as_text=True)


def test_kept_replies_carry_nobodys_own_view(app, member, other_member, moderator):
    story = make_story(
        member, title="Night feeds", body="Up every hour again, I am so tired.", anonymous=True
    )
    services.add_reply(member, story, body="Thank you all, it helps to read this.")
    services.add_reply(other_member, story, body="Hang on in there, it passes.")
    third = make_user(pseudonym="ThirdParent")
    readers = [signed_in_client(app, third), signed_in_client(app, third)]
    fragments.clear_local()
    url = f"/stories/{story.id}"
    for reader in readers:  # rendered and kept, then from the kept parts
        html = reader.get(url).get_data(as_text=True)
        assert "Anonymous parent (who shared this story)" in html and "You (anonymous)" not in html
        assert member.pseudonym not in html and "Hang on in there" in html and ">Edit<" not in html
        assert "Moderate" not in html and "Report" in html
    author = signed_in_client(app, member).get(url).get_data(as_text=True)
    assert "You (anonymous)" in author
    replier = signed_in_client(app, other_member).get(url).get_data(as_text=True)
    assert ">Edit<" in replier
    assert "Moderate" in signed_in_client(app, moderator).get(url).get_data(as_text=True)
    # The reader's own CSRF token fills the kept Block form, never the first reader's.
    token_page = readers[1].get(url).get_data(as_text=True)
    assert token_page.count('name="csrf_token"') >= 2


def test_kept_pages_are_the_pages_rendered_afresh(app, member, other_member, monkeypatch):
    story = make_story(member, title="Sleep regression", body="Four months and nobody sleeps.", tags="sleep")
    services.add_reply(other_member, story, body="Ours passed after two weeks.")
    services.add_reply(member, story, body="Thank you, that gives me hope.")
    reader = signed_in_client(app, make_user(pseudonym="Reader"))
    fragments.clear_local()
    for url in ("/", "/tags/sleep", f"/stories/{story.id}"):
        reader.get(url)  # renders and keeps
        kept = reader.get(url).get_data(as_text=True)
        monkeypatch.setitem(app.config, "FRAGMENT_CACHE_ENABLED", False)
        fresh = reader.get(url).get_data(as_text=True)
        monkeypatch.setitem(app.config, "FRAGMENT_CACHE_ENABLED", True)
        # (the reply form's one-time submission key is new on every page)
        assert _without_keys(kept) == _without_keys(fresh), url


def _without_keys(html: str) -> str:
    return re.sub(r"<input[^>]*submission_key[^>]*>", "", html)
