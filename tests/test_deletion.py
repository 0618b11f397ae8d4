"""Deleting an account: "keep" leaves anonymous writing exactly as it was; "remove everything" leaves none of
her words anywhere (every text column of every table, the search index, the API, the similar index)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient

from forum import text as textlib
from forum.auth.services import delete_account
from forum.extensions import db
from forum.models import (
    Draft,
    MemberPreference,
    ModeratorNote,
    Reaction,
    Reply,
    SimilarSignal,
    Status,
    Story,
    Tag,
    User,
)
from forum.moderation import services as moderation
from forum.moderation.targets import target_of
from forum.similar import engine, store
from forum.stories import services
from tests.factories import DEFAULT_PASSWORD, login, make_user

MARK = "qxvelmorant"  # a word found nowhere else


def _vector(seed: int) -> bytes:
    vector = np.random.default_rng(seed).standard_normal(store.current_model().dimensions).astype(np.float32)
    return engine.to_bytes(vector / np.linalg.norm(vector))


# Finding 4: "keep" must not touch what was written anonymously.


@pytest.fixture
def alice() -> User:
    return make_user(pseudonym="AliceLeaving")


def _anonymous_surfaces(story_id: int) -> list[str]:
    return [f"/stories/{story_id}", f"/api/stories/{story_id}", f"/stories/{story_id}/replies.atom"]


def test_keeping_stories_leaves_anonymous_ones_exactly_as_they_were(
    app: Flask, client: FlaskClient, alice: User, other_member: User
) -> None:
    named = services.publish_story(
        alice, title="Named one", body="Written under my own name, kept after I go."
    )
    secret = services.publish_story(
        alice,
        title="The quiet one",
        body="Written as Anonymous parent, about the hardest month.",
        anonymous=True,
    )
    services.add_reply(alice, secret, body="Thank you all, it helps to read this at night.")
    services.add_reply(other_member, secret, body="You are doing better than you think.")
    services.add_update(alice, secret, body="Things are a little lighter this week.", outcome="mixed")
    services.add_reply(
        alice,
        services.publish_story(other_member, body="A story of the other member's."),
        body="Me too, hang on.",
    )
    services.toggle_reaction(alice, kind="hugs", story=secret)  # her own reaction on her anonymous story
    services.toggle_reaction(other_member, kind="me-too", story=secret)
    reader = app.test_client()
    login(reader, other_member)

    before = {url: client.get(url) for url in _anonymous_surfaces(secret.id)}
    listed_before = [s for s in client.get("/api/stories").get_json()["stories"] if s["id"] == secret.id]
    label_for_reader = reader.get(f"/stories/{secret.id}").get_data(as_text=True)
    assert "Anonymous parent" in label_for_reader

    delete_account(alice, password=DEFAULT_PASSWORD, keep_stories=True)
    db.session.expire_all()

    # Visitors: the same bytes on the anonymous story's page and in the API.
    for url, earlier in before.items():
        now = client.get(url)
        assert now.status_code == earlier.status_code == 200, url
        assert now.data == earlier.data and now.headers.get("ETag") == earlier.headers.get("ETag"), url
    listed_after = [s for s in client.get("/api/stories").get_json()["stories"] if s["id"] == secret.id]
    assert listed_after == listed_before
    # Another member: still "Anonymous parent", her replies in the thread still "who shared this story".
    page = reader.get(f"/stories/{secret.id}").get_data(as_text=True)
    assert "Anonymous parent (who shared this story)" in page and "former member" not in page
    assert page.count("Anonymous parent") == label_for_reader.count("Anonymous parent")
    assert db.session.get(Story, secret.id).reaction_count == 2  # type: ignore[union-attr]
    # Her named writing is what changes: "a former member", no name.
    named_page = client.get(f"/stories/{named.id}").get_data(as_text=True)
    assert "a former member" in named_page and "AliceLeaving" not in named_page
    assert db.session.get(Story, named.id).author_id is None  # type: ignore[union-attr]


def test_keeping_stories_takes_her_name_off_cached_pages_at_once(
    app: Flask, alice: User, other_member: User
) -> None:
    from flask_caching.backends.simplecache import SimpleCache

    from forum.extensions import cache

    named = services.publish_story(
        alice, title="Named one", body="Written under my own name, kept after I go."
    )
    elsewhere = services.publish_story(other_member, body="The other member's story, with Alice's reply.")
    services.add_reply(alice, elsewhere, body="Me too, hang on in there.")
    original = app.extensions["cache"][cache]
    app.extensions["cache"][cache] = SimpleCache(default_timeout=300)
    try:
        visitor = app.test_client()
        for url in (f"/stories/{named.id}", f"/stories/{elsewhere.id}", "/"):
            assert "AliceLeaving" in visitor.get(url).get_data(as_text=True)
            assert visitor.get(url).headers.get("X-Cache") == "hit"
        delete_account(alice, password=DEFAULT_PASSWORD, keep_stories=True)
        for url in (f"/stories/{named.id}", f"/stories/{elsewhere.id}", "/"):
            assert "AliceLeaving" not in visitor.get(url).get_data(as_text=True), url
    finally:
        app.extensions["cache"][cache] = original


def test_keeping_stories_withdraws_her_reactions_elsewhere_and_their_counts(
    alice: User, other_member: User
) -> None:
    story = services.publish_story(other_member, body="A story that Alice sent a hug and a me-too to.")
    services.toggle_reaction(alice, kind="hugs", story=story)
    services.toggle_reaction(alice, kind="me-too", story=story)
    services.toggle_reaction(make_user(), kind="hugs", story=story)
    assert db.session.get(Story, story.id).reaction_count == 2  # type: ignore[union-attr]
    delete_account(alice, password=DEFAULT_PASSWORD, keep_stories=True)
    db.session.expire_all()
    assert db.session.get(Story, story.id).reaction_count == 1  # type: ignore[union-attr]
    assert (
        db.session.scalar(
            sa.select(sa.func.count()).select_from(Reaction).where(Reaction.user_id == alice.id)
        )
        == 0
    )


# Finding 5: "remove everything" erases every word she wrote.


def _every_text(app: Flask) -> list[tuple[str, str, str]]:
    """(table, column, value) for every text-ish value in every table the models know, and on SQLite also in
    the full-text index's own tables."""
    found = []
    for table in db.metadata.sorted_tables:
        for row in db.session.execute(sa.select(table)).mappings():
            for column, value in row.items():
                if isinstance(value, (dict, list)):
                    value = json.dumps(value)
                if isinstance(value, bytes):
                    value = value.decode("latin-1")
                if isinstance(value, str):
                    found.append((table.name, column, value))
    if db.engine.dialect.name == "sqlite":
        names = db.session.scalars(sa.text("SELECT name FROM sqlite_master WHERE type = 'table'"))
        for name in [n for n in names if n.startswith("search_")]:
            for row in db.session.execute(sa.text(f'SELECT * FROM "{name}"')):  # noqa: S608 - names from the schema
                for value in row:
                    if isinstance(value, bytes):
                        value = value.decode("latin-1")
                    if isinstance(value, str):
                        found.append((name, "?", value))
    return found


def _with_mark(app: Flask) -> list[tuple[str, str]]:
    return [(table, column) for table, column, value in _every_text(app) if MARK in value.lower()]


@pytest.fixture
def everywhere(app: Flask, alice: User, other_member: User, moderator: User) -> dict[str, int]:
    """Alice's words (with MARK) in every place a member's words can be; returns ids to look at after."""
    bob = other_member
    story = services.publish_story(
        alice,
        title=f"Nights with {MARK}",
        body=f"Every night the {MARK} feeling comes back, and I sit on the stairs until it passes.",
        tags=f"sleep {MARK}",
    )
    story.embedding = _vector(1)
    db.session.commit()
    services.edit_story(
        alice,
        story,
        title=f"Nights with {MARK}",
        body=f"Every night the {MARK} feeling comes back; I sit on the stairs until it passes, then sleep.",
        tags=f"sleep {MARK}",
    )
    services.add_update(alice, story, body=f"A month later the {MARK} nights are rarer.", outcome="better")
    bobs_story = services.publish_story(
        bob, title="Bob's evenings", body="Bob writes about his evenings at home.", tags="sleep"
    )
    her_reply = services.add_reply(
        alice, bobs_story, body=f"I know this: {MARK} evenings are the longest ones."
    )
    services.edit_reply(
        alice, her_reply, body=f"I know this well: {MARK} evenings are the longest ones of all."
    )
    # Bob quotes her reply, and her story; then edits his quoting reply (a revision keeps the quote).
    quote = textlib.quote_markdown(textlib.excerpt(her_reply.body, 600))
    bobs_quote = services.add_reply(bob, bobs_story, body=quote + "So true, thank you.")
    services.edit_reply(bob, bobs_quote, body=quote + "So true, thank you for saying it.")
    bobs_reply_on_hers = services.add_reply(
        bob, story, body=textlib.quote_markdown(textlib.excerpt(story.body, 600)) + "Sending you strength."
    )
    services.toggle_reaction(alice, kind="hugs", story=bobs_story)
    services.toggle_reaction(alice, kind="me-too", reply=bobs_quote)
    # Moderation: her report note, her appeal, a moderator's edit quoting her title, a notice to Bob with it.
    moderation.report(alice, target_of(bobs_story), reason="other", note=f"This reminds me of {MARK}, sorry")
    moderation.act_on_item(moderator, target_of(her_reply), "remove", reason="other", message=f"about {MARK}")
    moderation.appeal(alice, target_of(her_reply), f"Please look again, {MARK} was about my own night.")
    moderation.edit_title_and_tags(moderator, story, title=f"Nights with {MARK}", tags=f"sleep {MARK}")
    moderation.act_on_item(moderator, target_of(bobs_reply_on_hers), "remove", reason="spam")
    moderation.add_note(moderator, alice, f"Kind member; wrote about {MARK} before.")
    db.session.add(Draft(user_id=alice.id, key="story", title=MARK, body=f"A draft about {MARK}."))
    db.session.add(MemberPreference(user_id=alice.id, muted_tags=MARK))
    # Her private verdict on a similar story beside Bob's, and Bob's about her story.
    db.session.add(
        SimilarSignal(user_id=alice.id, source_id=bobs_story.id, match_id=story.id, verdict="helped")
    )
    db.session.add(
        SimilarSignal(user_id=bob.id, source_id=bobs_story.id, match_id=story.id, verdict="helped")
    )
    db.session.commit()
    assert {t for t, _ in _with_mark(app)} >= {
        "stories",
        "replies",
        "story_updates",
        "revisions",
        "tags",
        "flags",
        "appeals",
        "audit_entries",
        "notifications",
        "drafts",
        "moderator_notes",
    }
    return {"story": story.id, "bobs_story": bobs_story.id, "bobs_quote": bobs_quote.id}


def test_removing_everything_leaves_her_words_nowhere(
    app: Flask, client: FlaskClient, alice: User, everywhere: dict[str, int]
) -> None:
    app.extensions.pop("similar_index", None)
    index = store.worker_index(app)
    index.refresh(force=True)
    assert everywhere["story"] in index.index._row_of

    login(client, alice)
    response = client.post("/settings/delete", data={"keep_stories": "remove", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    db.session.expire_all()

    assert _with_mark(app) == []
    # Every place a reader could look.
    visitor = app.test_client()
    found = visitor.get(f"/search?q={MARK}").get_data(as_text=True)  # the page repeats the query itself
    assert "Nights with" not in found and "longest ones" not in found and "stairs" not in found
    for url in (
        "/",
        "/api/stories",
        f"/api/stories/{everywhere['bobs_story']}",
        f"/stories/{everywhere['bobs_story']}",
        f"/stories/{everywhere['story']}",
        "/tags",
        "/feeds/stories.atom",
        f"/stories/{everywhere['bobs_story']}/replies.atom",
    ):
        assert MARK not in visitor.get(url).get_data(as_text=True).lower(), url
    assert visitor.get(f"/api/stories/{everywhere['story']}").status_code == 404
    if db.engine.dialect.name == "sqlite":
        assert (
            db.session.execute(
                sa.text("SELECT rowid FROM search_fts WHERE search_fts MATCH :q"), {"q": MARK}
            ).all()
            == []
        )
    assert everywhere["story"] not in index.index._row_of
    # The quote reads "[removed]" in Bob's reply, which is otherwise his.
    quote = db.session.get(Reply, everywhere["bobs_quote"])
    assert quote is not None and "> [removed]" in quote.body and "So true" in quote.body
    assert "[removed]" in quote.body_html
    # Her reactions no longer count; tags only she used are gone; the counts moved.
    assert db.session.get(Story, everywhere["bobs_story"]).reaction_count == 0  # type: ignore[union-attr]
    assert quote.reaction_count == 0
    assert dict(db.session.execute(sa.select(Tag.name, Tag.story_count)).all()) == {"sleep": 1}
    assert db.session.get(Story, everywhere["story"]).status == Status.DELETED.value  # type: ignore[union-attr]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(ModeratorNote)) == 0
    assert db.session.scalar(sa.select(sa.func.count()).select_from(SimilarSignal)) == 0
    # The moderation record keeps its rows: what was done, not her words.
    from forum.models import AuditEntry

    actions = set(db.session.scalars(sa.select(AuditEntry.action)))
    assert {"remove", "edit", "note"} <= actions


def test_the_privacy_page_says_what_each_choice_does(client: FlaskClient) -> None:
    page = client.get("/privacy").get_data(as_text=True)
    assert 'id="keep"' in page and 'id="remove-everything"' in page
    assert "stays exactly as it was" in page and "[removed]" in page and "audit log" in page
