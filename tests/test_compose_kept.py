"""The empty compose page kept whole (forum/memberpages.py kept_form): served from the keep it is the page
rendered afresh for each member, with her own CSRF token and a new one-time submission key at every GET;
posting from it publishes the story; a restored draft, prefill or validation error is never kept or served
from the keep."""

from __future__ import annotations

import re

import pytest
from flask import Flask, template_rendered

from forum import drafts
from forum.extensions import db
from forum.models import Story
from tests.factories import make_story, make_user, signed_in_client
from tests.test_member_kept_pages import fresh, get, tokens_are_hers

BODY = "Left him sobbing at nursery this morning and cried in the car afterwards."
KEY_INPUT = re.compile(r'<input[^>]*name="submission_key"[^>]*>')


def submission_key(html: str) -> str:
    inputs = KEY_INPUT.findall(html)
    assert len(inputs) == 1, inputs
    found = re.search(r'value="([^"]*)"', inputs[0])
    assert found is not None and found.group(1), inputs[0]
    return found.group(1)


def csrf_tokens(html: str) -> set[str]:
    return set(re.findall(r'<input[^>]*name="csrf_token"[^>]*value="([^"]*)"', html)) | set(
        re.findall(r'<input[^>]*value="([^"]*)"[^>]*name="csrf_token"', html)
    )


def mine_blanked(html: str) -> str:
    """The page with the member's one-time bits (CSRF tokens, submission key) blanked."""
    for value in csrf_tokens(html) | {submission_key(html)}:
        html = html.replace(value, "")
    return html


def rendered_templates(client, url: str) -> tuple[str, list[str]]:
    """The page, and the templates rendered for it (none when it came from the keep)."""
    names: list[str] = []

    def note(sender, template, context, **extra):  # noqa: ARG001
        names.append(template.name)

    with template_rendered.connected_to(note):
        html = get(client, url)[0]
    return html, names


def kept_entries(cache) -> list[str]:
    return [str(key) for key in cache._cache if str(key).startswith("mpage:/stories/new")]


@pytest.fixture
def csrf_on(app: Flask, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)


def test_kept_compose_page_is_the_fresh_page_for_two_members(app, page_cache, csrf_on, monkeypatch):
    first, second = make_user(pseudonym="FirstWriter"), make_user(pseudonym="SecondWriter")
    readers = [signed_in_client(app, first), signed_in_client(app, second)]
    rendered, templates = rendered_templates(readers[0], "/stories/new")  # rendered and kept
    assert "stories/compose.html" in templates
    assert kept_entries(page_cache), "the empty compose page was not kept"
    keys: set[str] = {submission_key(rendered)}
    for reader in readers:
        kept, templates = rendered_templates(reader, "/stories/new")
        assert templates == [], "not served from the kept page"
        assert mine_blanked(kept) == mine_blanked(fresh(app, reader, "/stories/new", monkeypatch))
        assert tokens_are_hers(app, reader, kept)
        again = get(reader, "/stories/new")[0]
        assert tokens_are_hers(app, reader, again)
        keys |= {submission_key(kept), submission_key(again)}
    assert len(keys) == 5, "every GET gets its own one-time submission key"
    assert all("\x00" not in key for key in keys)
    pages = [get(reader, "/stories/new")[0] for reader in readers]
    assert csrf_tokens(pages[0]).isdisjoint(csrf_tokens(pages[1]))
    owners = {re.search(r'data-draft-owner="([^"]*)"', page).group(1) for page in pages}
    assert len(owners) == 2 and "" not in owners


def test_posting_from_a_kept_page_publishes_the_story(app, page_cache, csrf_on):
    writer = make_user(pseudonym="KeptWriter")
    client = signed_in_client(app, writer)
    get(signed_in_client(app, make_user()), "/stories/new")  # kept by someone else first
    page = get(client, "/stories/new")[0]
    assert kept_entries(page_cache)
    token, key = next(iter(csrf_tokens(page))), submission_key(page)
    data = {"csrf_token": token, "submission_key": key, "title": "From the keep", "body": BODY}
    response = client.post("/stories/new", data=data)
    assert response.status_code == 302 and "/stories/" in response.headers["Location"]
    story = db.session.scalar(db.select(Story).where(Story.title == "From the keep"))
    assert story is not None and story.author_id == writer.id and story.submission_key == key
    client.post("/stories/new", data=data)  # a double tap: the same key creates nothing more
    assert (
        db.session.scalar(db.select(db.func.count()).select_from(Story).where(Story.title == "From the keep"))
        == 1
    )


def test_a_saved_draft_is_never_kept_nor_hidden_by_the_keep(app, page_cache):
    writer, other = make_user(pseudonym="DraftWriter"), make_user(pseudonym="NoDraft")
    writer_client, other_client = signed_in_client(app, writer), signed_in_client(app, other)
    get(other_client, "/stories/new")  # the empty page is kept
    drafts.save_draft(writer, "story", {"title": "My unfinished night", "body": BODY})
    db.session.commit()
    for _ in range(2):
        page, templates = rendered_templates(writer_client, "/stories/new")
        assert "My unfinished night" in page and "stories/compose.html" in templates
    assert all("My unfinished night" not in str(entry) for entry in page_cache._cache.values())
    assert "My unfinished night" not in get(other_client, "/stories/new")[0]


def test_restore_prefill_and_validation_errors_are_never_served_from_the_keep(app, page_cache):
    writer = make_user(pseudonym="ErrWriter")
    client = signed_in_client(app, writer)
    get(client, "/stories/new")
    entries = kept_entries(page_cache)
    assert len(entries) == 1
    # A query argument (a stash to restore, anything else) renders as usual and keeps nothing.
    assert "Share a story" in get(client, "/stories/new?restore=nope")[0]
    assert "Share a story" in get(client, "/stories/new?title=Prefilled")[0]
    assert kept_entries(page_cache) == entries
    # A failed post re-renders her text with its errors, never the kept empty form.
    response = client.post(
        "/stories/new", data={"title": "Too short", "body": "short", "submission_key": "v1"}
    )
    assert response.status_code in (200, 400, 422)
    assert 'value="Too short"' in response.text and 'value="v1"' in response.text
    assert "Please check the highlighted" in response.text
    assert kept_entries(page_cache) == entries
    # A flashed message waiting: rendered afresh and shown.
    with client.session_transaction() as session:
        session["_flashes"] = [("info", "Welcome back.")]
    assert "Welcome back." in get(client, "/stories/new")[0]


def test_moderators_compose_page_is_never_kept(app, page_cache):
    staff = signed_in_client(app, make_user(pseudonym="Staff", role="moderator"))
    make_story(make_user(), title="Anything", body=BODY)
    for _ in range(2):
        assert "Moderation" in get(staff, "/stories/new")[0]
    assert not kept_entries(page_cache)


def test_the_kept_compose_page_asks_nothing_beyond_her_sign_in(app, page_cache):
    """Whether she has a story draft comes with her sign-in statement: the kept empty page costs that one
    statement, and a draft saved since is restored on the next visit."""
    from tests.test_query_counts import counted

    writer = make_user(pseudonym="QuickWriter")
    client = signed_in_client(app, writer)
    get(client, "/stories/new")  # kept
    with counted() as statements:
        page, templates = rendered_templates(client, "/stories/new")
    assert templates == [] and len(statements) == 1, statements
    drafts.save_draft(writer, "story", {"title": "Half a story", "body": BODY})
    db.session.commit()
    assert "Half a story" in get(client, "/stories/new")[0]
