"""The story page and /not-alone from kept parts (forum/stories/kept.py, forum/similar/routes.py): each reply kept
whole with slots for the reader's own state, each story's similar stories kept as the index gave them. A kept
page is the page rendered afresh for every member, never carries one member's reactions, blocks or anonymous
authorship to another, and blocks still hide what they hide."""

from __future__ import annotations

import re

import pytest
import sqlalchemy as sa
from flask import g

from forum import fragments
from forum.care.preferences import block_author_of
from forum.extensions import db
from forum.models import Notification
from forum.similar import feedback
from forum.similar import store as similar_store
from forum.stories import services
from tests.factories import make_story, make_user, signed_in_client
from tests.test_query_counts import counted, statements_for

NURSERY = [
    ("Clinging at the door", "My son screams don't leave me and clings to my legs every morning at nursery."),
    ("Sobbing at daycare", "My daughter sobs and holds on to me at the daycare gate when I try to go."),
    ("Tears at drop-off", "Every drop-off ends with him crying for me as the key worker carries him inside."),
    ("Weaning", "We are stopping breastfeeding because I go back to work, and I feel sad about it."),
]


@pytest.fixture(autouse=True)
def fresh_parts(embed_on_write):
    fragments.clear_local()
    yield
    fragments.clear_local()


def _without_keys(html: str) -> str:
    # The reply form's one-time submission key is new on every page.
    return re.sub(r"<input[^>]*submission_key[^>]*>", "", html)


def _fresh(app, monkeypatch, client, url: str) -> str:
    monkeypatch.setitem(app.config, "FRAGMENT_CACHE_ENABLED", False)
    try:
        return _without_keys(client.get(url).get_data(as_text=True))
    finally:
        monkeypatch.setitem(app.config, "FRAGMENT_CACHE_ENABLED", True)


def _reaction_button(html: str, reply_id: int, kind: str) -> str:
    """The <button> of one reaction on one reply."""
    block = html[html.index(f'id="reactions-reply-{reply_id}"') :]
    return re.search(rf'<button[^>]*data-kind="{kind}"[^>]*>', block).group(0)


@pytest.fixture
def thread(member, other_member):
    """A story by member with three replies by others, reactions from several members on them."""
    story = make_story(member, title="Long nights", body="Up every hour again, we are all exhausted.")
    third = make_user(pseudonym="ThirdParent")
    fourth = make_user(pseudonym="FourthParent")
    replies = [
        services.add_reply(other_member, story, body="It passes, I promise. Ours took a month."),
        services.add_reply(third, story, body="Try taking turns so one of you sleeps."),
        services.add_reply(fourth, story, body="Sending strength, we have been there too."),
    ]
    services.set_reaction(third, kind="hugs", on=True, reply=replies[0])
    services.set_reaction(fourth, kind="hugs", on=True, reply=replies[0])
    services.set_reaction(other_member, kind="me-too", on=True, reply=replies[1])
    return story, replies, third, fourth


def test_kept_story_page_is_the_page_rendered_afresh_for_two_members(app, monkeypatch, thread):
    story, replies, third, fourth = thread
    url = f"/stories/{story.id}"
    readers = [signed_in_client(app, third), signed_in_client(app, fourth)]
    for reader in readers:
        reader.get(url)  # renders and keeps (the first reader) or fills the kept replies (the second)
    for reader in readers:
        kept = _without_keys(reader.get(url).get_data(as_text=True))
        assert kept == _fresh(app, monkeypatch, reader, url)


def test_her_reactions_are_hers_alone_on_kept_replies(app, thread):
    story, replies, third, fourth = thread
    url = f"/stories/{story.id}"
    theirs = signed_in_client(app, third)
    other = signed_in_client(app, make_user(pseudonym="FifthParent"))
    for _ in range(2):  # rendered and kept, then from the kept parts
        mine = theirs.get(url).get_data(as_text=True)
        button = _reaction_button(mine, replies[0].id, "hugs")
        assert 'aria-pressed="true"' in button and "is-on" in button
        assert 'aria-pressed="false"' in _reaction_button(mine, replies[0].id, "me-too")
        page = other.get(url).get_data(as_text=True)
        assert 'aria-pressed="false"' in _reaction_button(page, replies[0].id, "hugs")
        assert "is-on" not in _reaction_button(page, replies[0].id, "hugs")
        # Names and counts are everyone's: both see who sent hugs.
        for html in (mine, page):
            assert "ThirdParent, FourthParent" in html
    # Each reader's own CSRF token in every kept form, never another's (the test's app context keeps one
    # token in g across requests: dropped before each page here, as a real request starts without it).
    tokens = []
    for reader in (theirs, other):
        g.pop("csrf_token", None)
        tokens.append(
            set(re.findall(r'name="csrf_token" value="([^"]+)"', reader.get(url).get_data(as_text=True)))
        )
    assert len(tokens[0]) == len(tokens[1]) == 1 and tokens[0] != tokens[1]


def test_a_reaction_changes_the_kept_reply(app, thread):
    story, replies, third, fourth = thread
    url = f"/stories/{story.id}"
    reader = signed_in_client(app, make_user(pseudonym="FifthParent"))
    reader.get(url)
    services.set_reaction(fourth, kind="got-this", on=True, reply=replies[2])
    html = reader.get(url).get_data(as_text=True)
    assert "FourthParent" in html[html.index(f'id="reactions-reply-{replies[2].id}"') :]


def test_blocks_still_hide_on_kept_pages(app, monkeypatch, thread, other_member):
    story, replies, third, fourth = thread
    url = f"/stories/{story.id}"
    blocker = make_user(pseudonym="Blocker")
    plain = signed_in_client(app, make_user(pseudonym="PlainReader"))
    assert "ThirdParent" in plain.get(url).get_data(as_text=True)  # every reply kept with ThirdParent's name
    block_author_of(blocker, replies[1])  # blocks ThirdParent (named)
    blocked_view = signed_in_client(app, blocker)
    for _ in range(2):
        html = blocked_view.get(url).get_data(as_text=True)
        # Neither her reply nor her hugs on another reply show to the member who blocked her.
        assert "Try taking turns" not in html and "ThirdParent" not in html
        assert "FourthParent" in html and "It passes" in html
        assert _without_keys(html) == _fresh(app, monkeypatch, blocked_view, url)
    # The blocker's view (fewer names) is never what the others get.
    assert "ThirdParent, FourthParent" in plain.get(url).get_data(as_text=True)


def test_anonymous_author_stays_anonymous_in_kept_reactions(app, member, other_member):
    story = make_story(
        member, title="Hard week", body="Nobody must know this is me, it has been so hard.", anonymous=True
    )
    reply = services.add_reply(other_member, story, body="You are doing better than you think.")
    services.set_reaction(member, kind="hugs", on=True, reply=reply)  # the anonymous author reacts
    url = f"/stories/{story.id}"
    readers = [
        signed_in_client(app, make_user()),
        signed_in_client(app, make_user()),
        signed_in_client(app, member),
    ]
    for reader in readers + readers:
        html = reader.get(url).get_data(as_text=True)
        assert member.pseudonym not in html
        assert "Anonymous parent" in html[html.index(f'id="reactions-reply-{reply.id}"') :]
    # Only she sees her hug as hers.
    assert 'aria-pressed="true"' in _reaction_button(
        readers[2].get(url).get_data(as_text=True), reply.id, "hugs"
    )
    assert 'aria-pressed="false"' in _reaction_button(
        readers[0].get(url).get_data(as_text=True), reply.id, "hugs"
    )


def test_story_page_statements_constant_with_kept_replies(app, thread, other_member):
    story, replies, third, fourth = thread
    url = f"/stories/{story.id}"
    reader = signed_in_client(app, make_user(pseudonym="Counter"))
    statements_for(reader, url)  # her first visit writes it (and keeps the replies)
    few = statements_for(reader, url)
    for i in range(10):
        services.add_reply(fourth, story, body=f"Another thought from me, number {i}, it gets easier.")
    statements_for(reader, url)  # the visit moves on to the newest reply
    assert statements_for(reader, url) == few


def test_reading_a_story_again_writes_nothing_until_something_is_new(app, thread, member):
    story, replies, third, fourth = thread
    url = f"/stories/{story.id}"
    reader = signed_in_client(app, member)  # the author, with notifications of the replies
    reader.get(url)  # her first visit: recorded, her notifications of the replies marked read
    with counted() as statements:
        assert reader.get(url).status_code == 200
    assert not [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]
    services.add_reply(fourth, story, body="One more thing: it really does pass, hang on.")
    with counted() as statements:
        html = reader.get(url).get_data(as_text=True)
    assert "Jump to 1 new reply" in html
    assert [s for s in statements if s.lstrip().upper().startswith("UPDATE")]
    # Her reply notification was marked read by that visit: nothing is left to write.
    unread = (
        sa.select(sa.func.count())
        .select_from(Notification)
        .where(
            Notification.user_id == member.id,
            Notification.story_id == story.id,
            Notification.read_at.is_(None),
        )
    )
    assert (
        db.session.scalar(
            sa.select(sa.func.count())
            .select_from(Notification)
            .where(Notification.user_id == member.id, Notification.story_id == story.id)
        )
        >= 1
    )
    assert db.session.scalar(unread) == 0
    with counted() as statements:
        assert "Jump to" not in reader.get(url).get_data(as_text=True)
    assert not [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]


@pytest.fixture
def similar_site(member, other_member):
    """Three drop-off stories by other_member and one unrelated; the member's own drop-off story."""
    stories = [services.publish_story(other_member, title=t, body=b) for t, b in NURSERY]
    own = services.publish_story(
        member, title="My morning", body="My girl cried and wouldn't let go of me at nursery."
    )
    return stories, own


def test_kept_not_alone_is_the_page_afresh_and_never_her_own(app, monkeypatch, similar_site, member):
    stories, own = similar_site
    second = make_user(pseudonym="SecondWriter")
    theirs = services.publish_story(
        second, title="Goodbyes", body="Saying goodbye at nursery breaks my heart, he cries."
    )
    readers = [(signed_in_client(app, member), own), (signed_in_client(app, second), theirs)]
    for reader, _ in readers:
        reader.get("/not-alone")
    for reader, mine in readers:
        html = reader.get("/not-alone").get_data(as_text=True)
        assert "Clinging at the door" in html
        assert f'href="/stories/{mine.id}"' not in html  # never her own story
        assert html == _fresh(app, monkeypatch, reader, "/not-alone")
    # Each one's page offers the other's story: kept lists are per story, the filters per reader.
    assert "Goodbyes" in readers[0][0].get("/not-alone").get_data(as_text=True)
    assert "My morning" in readers[1][0].get("/not-alone").get_data(as_text=True)


def test_blocks_hide_kept_similar_stories(app, similar_site, member, other_member):
    stories, own = similar_site
    reader = signed_in_client(app, member)
    page = f"/stories/{stories[0].id}"
    visitor_view = signed_in_client(app, make_user(pseudonym="Onlooker"))
    assert "Sobbing at daycare" in visitor_view.get(page).get_data(as_text=True)  # the panel, kept
    assert "Clinging at the door" in reader.get("/not-alone").get_data(as_text=True)  # her lists, kept
    block_author_of(member, stories[1])  # she blocks other_member
    assert "Clinging at the door" not in reader.get("/not-alone").get_data(as_text=True)
    assert other_member.pseudonym not in reader.get("/not-alone").get_data(as_text=True)
    # Her own story's page: the similar panel (kept from the onlooker's view of other pages) leaves them out.
    html = reader.get(f"/stories/{own.id}").get_data(as_text=True)
    assert "Sobbing at daycare" not in html and "Clinging at the door" not in html
    assert "Sobbing at daycare" in visitor_view.get(page).get_data(as_text=True)


def test_kept_similar_lists_follow_the_index(app, similar_site, member):
    stories, own = similar_site
    reader = signed_in_client(app, member)
    assert "Clinging at the door" in reader.get("/not-alone").get_data(as_text=True)
    late = make_user(pseudonym="LateWriter")
    services.publish_story(
        late, title="New at nursery", body="My girl cried and would not let go of me at nursery today."
    )
    assert "New at nursery" in reader.get("/not-alone").get_data(as_text=True)
    stories[0].status = "hidden"
    db.session.commit()
    assert "Clinging at the door" not in reader.get("/not-alone").get_data(as_text=True)


def test_kept_similar_panel_is_the_panel_afresh_and_her_verdicts_stay_hers(app, monkeypatch, similar_site):
    stories, own = similar_site
    url = f"/stories/{stories[0].id}"
    first, second = make_user(pseudonym="FirstReader"), make_user(pseudonym="SecondReader")
    feedback.record_signal(first, stories[0], stories[1], "helped")
    readers = [signed_in_client(app, first), signed_in_client(app, second)]
    for reader in readers:
        reader.get(url)  # rendered and kept by the first, filled for the second
    pages = []
    for reader in readers:
        html = _without_keys(reader.get(url).get_data(as_text=True))
        assert "Sobbing at daycare" in html and "shared something similar" in html.replace("&#39;", "'")
        assert html == _fresh(app, monkeypatch, reader, url)
        pages.append(html)
    helped = f'action="/stories/{stories[0].id}/similar/{stories[1].id}/signal"'
    for html, pressed in zip(pages, ("true", "false"), strict=True):
        form = html[html.index(helped) :]
        button = re.search(r'<button[^>]*data-verdict="helped"[^>]*>', form).group(0)
        assert f'aria-pressed="{pressed}"' in button


def test_reply_pages_count_every_reply_even_past_the_end(app, thread):
    story, replies, third, fourth = thread
    reader = signed_in_client(app, make_user(pseudonym="PageReader"))
    for i in range(30):
        services.add_reply(fourth, story, body=f"More thoughts from me, number {i}, hang on in there.")
    first = reader.get(f"/stories/{story.id}").get_data(as_text=True)
    assert "33 replies" in first and "Page 1 of 2" in first and 'rel="next"' in first
    second = reader.get(f"/stories/{story.id}?page=2").get_data(as_text=True)
    assert "33 replies" in second and "Page 2 of 2" in second and "number 29" in second
    past = reader.get(f"/stories/{story.id}?page=9").get_data(as_text=True)
    assert "33 replies" in past and "number 29" not in past


def test_a_story_waiting_for_its_vector_is_embedded_once_for_all_its_readers(
    app, monkeypatch, member, other_member
):
    """Posted moments ago, before the similar.embed job ran: its page computes a vector for itself, once."""
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)
    story = make_story(member, title="Clinging", body=NURSERY[0][1])
    assert story.embedding is None
    computed = []
    real = similar_store.story_vector
    monkeypatch.setattr(similar_store, "story_vector", lambda s: computed.append(s.id) or real(s))
    for reader in (other_member, make_user(pseudonym="ThirdReader"), other_member):
        assert signed_in_client(app, reader).get(f"/stories/{story.id}").status_code == 200
    assert computed == [story.id]


@pytest.mark.parametrize("has_stories", [True, False], ids=["her-stories", "no-stories-yet"])
def test_a_kept_not_alone_asks_nothing_beyond_her_sign_in(
    app, monkeypatch, similar_site, member, page_cache, has_stories
):
    """What her /not-alone is kept under (her recent stories) comes with her sign-in statement; so does having
    none (an empty text, not NULL: not read)."""
    from tests.test_query_counts import counted

    if has_stories:
        reader, shown = signed_in_client(app, member), "Clinging at the door"
    else:
        reader, shown = signed_in_client(app, make_user(pseudonym="NoStoriesYet")), "What happened today?"
    reader.get("/not-alone")  # rendered and kept
    db.session.expire_all()
    with counted() as statements:
        html = reader.get("/not-alone").get_data(as_text=True)
    assert len(statements) == 1 and shown in html, [s[:300] for s in statements]
    assert html == _fresh(app, monkeypatch, reader, "/not-alone")


def test_a_reply_kept_by_another_release_is_rendered_again(app, monkeypatch, thread):
    """Fragments live up to a day in Redis: after a deploy (other templates or code) they are rendered anew,
    never served as the earlier release rendered them."""
    story, replies, third, fourth = thread
    url = f"/stories/{story.id}"
    reader = signed_in_client(app, make_user(pseudonym="FifthParent"))
    reader.get(url)  # rendered and kept
    key = f"frag:reply:{replies[0].id}"
    ver, html = fragments._local[key]
    fragments._local[key] = (ver, html.replace("It passes, I promise.", "KEPT-EARLIER"))
    assert "KEPT-EARLIER" in reader.get(url).get_data(as_text=True)  # the kept one is what is served

    monkeypatch.setattr(fragments, "_release", fragments._release + b"-next")
    page = reader.get(url).get_data(as_text=True)
    assert "KEPT-EARLIER" not in page and "It passes, I promise." in page


def test_the_release_digest_follows_every_template_and_module(tmp_path):
    (tmp_path / "templates").mkdir()
    (tmp_path / "templates" / "reply.html").write_text("<p>{{ reply }}</p>")
    (tmp_path / "views.py").write_text("X = 1\n")
    first = fragments.release_digest(tmp_path)
    assert fragments.release_digest(tmp_path) == first
    (tmp_path / "templates" / "reply.html").write_text("<p class=reply>{{ reply }}</p>")
    second = fragments.release_digest(tmp_path)
    (tmp_path / "views.py").write_text("X = 2\n")
    assert len({first, second, fragments.release_digest(tmp_path)}) == 3
    assert fragments._release  # the app's own, set when it started
