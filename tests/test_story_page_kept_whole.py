"""The story page and /not-alone kept whole for members (forum/stories/kept_page.py, forum/memberpages.py): a kept
page laid out for a member is the page rendered afresh for her; her reactions, verdicts, follows, draft, unread
marker, replies and anonymous stories never reach another member; new replies show at once."""

from __future__ import annotations

import re
from datetime import timedelta

import pytest
import sqlalchemy as sa

from forum import drafts, fragments
from forum.auth import sessions
from forum.database import FIELD_SEPARATOR
from forum.extensions import db
from forum.following import services as following
from forum.models import Status, Story, StoryVisit, utcnow
from forum.similar import feedback
from forum.stories import lifecycle, services
from tests.factories import make_story, make_user, signed_in_client
from tests.test_member_kept_pages import csrf_tokens, fresh, get, tokens_are_hers

NURSERY = [
    ("Clinging at the door", "My son screams don't leave me and clings to my legs every morning at nursery."),
    ("Sobbing at daycare", "My daughter sobs and holds on to me at the daycare gate when I try to go."),
    ("Tears at drop-off", "Every drop-off ends with him crying for me as the key worker carries him inside."),
]


@pytest.fixture(autouse=True)
def kept_pages(page_cache, embed_on_write):
    fragments.clear_local()
    yield page_cache
    fragments.clear_local()


def comparable(html: str) -> str:
    """The page without what is new at every render: CSRF tokens and the reply box's one-time key."""
    for token in set(re.findall(r'name="csrf_token" value="([^"]+)"', html)):
        html = html.replace(token, "")  # wherever it is on the page (forms, the feedback script's data)
    return re.sub(r'(name="submission_key"[^>]*value=")[^"]+"', r'\1"', html)


def rendered(statements: list[str]) -> bool:
    """The request read the page's replies (rendered it) rather than serving it kept."""
    return any(
        "FROM replies" in s and "OVER" in s for s in statements
    )  # the page of replies with their count


def reaction_button(html: str, target: str, kind: str) -> str:
    block = html[html.index(f'id="reactions-{target}"') :]
    return re.search(rf'<button[^>]*data-kind="{kind}"[^>]*>', block).group(0)


@pytest.fixture
def thread(member, other_member):
    """A nursery story by member with replies by others, and similar stories by others."""
    authors = [make_user(pseudonym=f"Neighbour{i}") for i in range(len(NURSERY))]
    for author, (title, body) in zip(authors, NURSERY, strict=True):
        make_story(author, title=title, body=body, tags="nursery")
    story = make_story(
        member,
        title="Screaming at the nursery gate",
        body="He screamed don't leave me and clung to me at the nursery gate this morning.",
        tags="nursery dropoff",
    )
    replies = [
        services.add_reply(other_member, story, body="It passes, I promise. Ours took a month."),
        services.add_reply(authors[0], story, body="The key worker will text you a photo, ask her."),
    ]
    return story, replies, authors


def test_two_members_share_the_kept_story_page_each_with_her_own_bits(app, monkeypatch, thread):
    story, replies, _ = thread
    url = f"/stories/{story.id}"
    first, second = make_user(pseudonym="FirstReader"), make_user(pseudonym="SecondReader")
    readers = [signed_in_client(app, first), signed_in_client(app, second)]
    for reader in readers:
        reader.get(url)  # each member's first visit (her visit is recorded)
    html, statements = get(readers[0], url)
    assert "Clinging at the door" in html  # the similar stories panel is on it
    for reader in readers:
        kept, statements = get(reader, url)
        # One statement: her sign-in, which also reads her visit and what else of hers the page shows.
        assert not rendered(statements) and len(statements) == 1, statements
        assert comparable(kept) == comparable(fresh(app, reader, url, monkeypatch))
        assert tokens_are_hers(app, reader, kept)
    pages = [get(reader, url)[0] for reader in readers]
    assert csrf_tokens(pages[0]).isdisjoint(csrf_tokens(pages[1]))
    keys = [re.search(r'name="submission_key"[^>]*value="([^"]+)"', page).group(1) for page in pages]
    assert keys[0] != keys[1]  # the double-submit guard stays one key per render


def test_her_reactions_verdicts_and_follow_are_hers_alone(app, monkeypatch, thread):
    story, replies, authors = thread
    url = f"/stories/{story.id}"
    reacting, plain = make_user(pseudonym="Reacting"), make_user(pseudonym="Plain")
    clients = {"reacting": signed_in_client(app, reacting), "plain": signed_in_client(app, plain)}
    get(clients["plain"], url)
    get(clients["plain"], url)  # kept for readers with nothing of theirs on the page
    services.set_reaction(reacting, kind="hugs", on=True, reply=replies[0])
    following.follow_story(reacting, story, True)
    match = db.session.scalar(sa.select(Story).where(Story.title == NURSERY[0][0]))
    feedback.record_signal(reacting, story, match, "helped")
    db.session.commit()
    for visit in range(2):  # rendered for each (a new reaction is a new page) and kept, then from that
        mine, statements = get(clients["reacting"], url)
        assert rendered(statements) == (visit == 0)
        assert 'aria-pressed="true"' in reaction_button(mine, f"reply-{replies[0].id}", "hugs")
        assert "Following" in mine and "is-on" in mine
        assert comparable(mine) == comparable(fresh(app, clients["reacting"], url, monkeypatch))
        theirs, statements = get(clients["plain"], url)
        assert rendered(statements) == (visit == 0)
        assert 'aria-pressed="false"' in reaction_button(theirs, f"reply-{replies[0].id}", "hugs")
        assert "Following" not in theirs and "Reacting" in theirs  # her name with her hugs is everyone's
        assert comparable(theirs) == comparable(fresh(app, clients["plain"], url, monkeypatch))


@pytest.mark.parametrize("on", ["story", "reply"])
def test_a_reaction_taken_back_and_another_given_is_a_new_page(app, monkeypatch, thread, on):
    """The count of reactions stays the same, their newest id does not: the kept page names the new sender."""
    story, replies, _ = thread
    url = f"/stories/{story.id}"
    first, second = make_user(pseudonym="FirstHugger"), make_user(pseudonym="SecondHugger")
    target = {"story": story} if on == "story" else {"reply": replies[0]}
    reader = signed_in_client(app, make_user(pseudonym="JustReading"))
    services.set_reaction(first, kind="hugs", on=True, **target)
    get(reader, url)
    page, statements = get(reader, url)
    assert not rendered(statements) and "FirstHugger" in page  # kept
    services.set_reaction(first, kind="hugs", on=False, **target)
    services.set_reaction(second, kind="hugs", on=True, **target)
    page, statements = get(reader, url)
    assert rendered(statements)
    assert "SecondHugger" in page and "FirstHugger" not in page
    assert comparable(page) == comparable(fresh(app, reader, url, monkeypatch))


def test_the_author_of_a_reply_or_of_a_listed_story_never_gets_the_kept_page(app, thread, other_member):
    story, replies, authors = thread
    url = f"/stories/{story.id}"
    plain = signed_in_client(app, make_user(pseudonym="Plain"))
    get(plain, url)
    get(plain, url)
    # Her own reply carries her Edit link; the page kept from the plain reader's view does not.
    replier = signed_in_client(app, other_member)
    for _ in range(2):
        html, statements = get(replier, url)
        assert rendered(statements) and f"/replies/{replies[0].id}/edit" in html
    # The author of a story in the similar list: her own stories are never offered to her.
    neighbour = signed_in_client(app, authors[1])
    for _ in range(2):
        html, statements = get(neighbour, url)
        assert rendered(statements) and NURSERY[1][0] not in html


def test_an_anonymous_story_in_the_list_never_names_or_reaches_its_author(app, member):
    author = make_user(pseudonym="QuietAuthor")
    make_story(author, title="Nobody knows it is me", body=NURSERY[0][1], anonymous=True, tags="nursery")
    story = make_story(member, title="Gate tears", body=NURSERY[1][1], tags="nursery")
    url = f"/stories/{story.id}"
    reader = signed_in_client(app, make_user(pseudonym="Reader"))
    for _ in range(2):
        html = get(reader, url)[0]
        assert "Nobody knows it is me" in html and "QuietAuthor" not in html
    # Her view of the page is her own (her story is not offered to her), before and after the others'.
    for _ in range(2):
        html, statements = get(signed_in_client(app, author), url)
        assert rendered(statements) and "Nobody knows it is me" not in html


def test_her_draft_and_her_unread_marker_are_never_kept_for_others(app, thread, other_member):
    story, replies, _ = thread
    url = f"/stories/{story.id}"
    writer, plain = make_user(pseudonym="Writer"), make_user(pseudonym="Plain")
    writing, reading = signed_in_client(app, writer), signed_in_client(app, plain)
    get(reading, url)
    drafts.save_draft(writer, f"reply-{story.id}", {"body": "Half a reply about our own gate"})
    db.session.commit()
    for _ in range(2):
        assert "Half a reply about our own gate" in get(writing, url)[0]
        assert "Half a reply about our own gate" not in get(reading, url)[0]
    # A new reply since her last visit: her marker, and never anyone else's.
    services.add_reply(other_member, story, body="Update from us: three weeks on and he waves me off now.")
    marked = get(reading, url)[0]
    assert "New since your last visit" in marked
    again, statements = get(reading, url)
    assert "New since your last visit" not in again and "three weeks on" in again
    other = signed_in_client(app, make_user(pseudonym="Newcomer"))
    assert "New since your last visit" not in get(other, url)[0]


def test_a_new_reply_and_a_locked_story_show_at_once(app, thread):
    story, replies, _ = thread
    url = f"/stories/{story.id}"
    reader = signed_in_client(app, make_user(pseudonym="Reader"))
    get(reader, url)
    get(reader, url)
    services.add_reply(replies[0].author, story, body="One more thing: bring his favourite teddy.")
    assert "favourite teddy" in get(reader, url)[0]
    assert 'name="body"' in get(reader, url)[0]
    lifecycle.set_locked(story, True)
    lifecycle.commit()
    assert 'name="body"' not in get(reader, url)[0]


def test_her_not_alone_page_is_kept_for_her_and_shows_new_stories(app, member, monkeypatch):
    for title, body in NURSERY[:2]:
        make_story(make_user(), title=title, body=body, tags="nursery")
    make_story(member, title="My gate story", body=NURSERY[2][1], tags="nursery")
    mine = signed_in_client(app, member)
    get(mine, "/not-alone")
    html, statements = get(mine, "/not-alone")
    assert NURSERY[0][0] in html and len(statements) <= 3, statements
    assert comparable(html) == comparable(fresh(app, mine, "/not-alone", monkeypatch))
    make_story(make_user(), title="Crying at the door again", body=NURSERY[0][1] + " Again.", tags="nursery")
    assert "Crying at the door again" in get(mine, "/not-alone")[0]
    # Another member's /not-alone is her own.
    theirs = get(signed_in_client(app, make_user(pseudonym="NoStories")), "/not-alone")[0]
    assert NURSERY[0][0] not in theirs and "What happened today?" in theirs


def test_her_reply_waiting_for_a_moderator_is_shown_to_her_alone(app, thread):
    story, replies, _ = thread
    url = f"/stories/{story.id}"
    waiting_author, plain = make_user(pseudonym="Waiting"), make_user(pseudonym="Plain")
    reading = signed_in_client(app, plain)
    get(reading, url)
    get(reading, url)  # kept for readers with nothing of theirs on the page
    held = services.add_reply(waiting_author, story, body="My first reply here, held for a moderator.")
    held.status = Status.PENDING.value
    db.session.commit()
    for _ in range(2):
        html, statements = get(signed_in_client(app, waiting_author), url)
        assert rendered(statements) and "held for a moderator" in html
        assert "held for a moderator" not in get(reading, url)[0]


def writes(statements: list[str]) -> list[str]:
    return [s for s in statements if s.lstrip().upper().startswith(("UPDATE", "INSERT", "DELETE"))]


def test_her_visit_and_bits_come_with_her_sign_in_and_agree_with_their_own_reads(app, monkeypatch, thread):
    """A kept story page is one statement: her sign-in also reads her visit and what else of hers the page shows.
    Read on their own (as when the request wrote those tables first), they give the same key: the same page."""
    story, replies, _ = thread
    url = f"/stories/{story.id}"
    member = make_user(pseudonym="Reacting")
    reader = signed_in_client(app, member)
    get(reader, url)
    services.toggle_reaction(member, kind="hugs", reply=replies[0])
    get(reader, url)  # rendered for her reactions, and kept
    kept, statements = get(reader, url)
    assert not rendered(statements) and len(statements) == 1, statements
    assert 'aria-pressed="true"' in reaction_button(kept, f"reply-{replies[0].id}", "hugs")
    monkeypatch.delitem(sessions._PAGE_READS, "stories.show")
    again, statements = get(reader, url)
    assert not rendered(statements) and len(statements) == 3, statements  # sign-in, her visit, her bits
    assert comparable(again) == comparable(kept)


@pytest.mark.parametrize("with_sign_in", [True, False], ids=["with-sign-in", "own-statements"])
def test_her_visit_moves_on_when_old_or_when_there_is_something_new(app, monkeypatch, thread, with_sign_in):
    story, replies, _ = thread
    url = f"/stories/{story.id}"
    if not with_sign_in:
        monkeypatch.delitem(sessions._PAGE_READS, "stories.show")
    member = make_user(pseudonym="Visitor")
    reader = signed_in_client(app, member)
    assert writes(get(reader, url)[1])  # her first visit is recorded
    assert not writes(get(reader, url)[1])  # nothing new: a read
    visit = sa.select(StoryVisit.seen_at).where(
        StoryVisit.user_id == member.id, StoryVisit.story_id == story.id
    )
    old = utcnow() - following.VISIT_RESOLUTION - timedelta(minutes=5)
    db.session.execute(
        sa.update(StoryVisit)
        .where(StoryVisit.user_id == member.id, StoryVisit.story_id == story.id)
        .values(seen_at=old)
    )
    db.session.commit()
    assert writes(get(reader, url)[1])  # an old visit is moved on
    assert db.session.scalar(visit) > utcnow() - timedelta(minutes=1)
    assert not writes(get(reader, url)[1])
    services.add_reply(replies[0].author, story, body="Week three: he ran in without looking back today.")
    html, statements = get(reader, url)
    assert "New since your last visit" in html and writes(statements)
    html, statements = get(reader, url)
    assert "New since your last visit" not in html and not writes(statements)


def test_her_visit_read_for_one_story_is_never_used_for_another(app, thread, member):
    """The kept read is of the story in the request's address; opening another story reads that one."""
    story, replies, _ = thread
    other = make_story(
        make_user(), title="Another story", body="Another nursery morning with tears at the gate."
    )
    services.add_reply(replies[0].author, other, body="Ours cried for a fortnight, then stopped.")
    with app.test_request_context(f"/stories/{story.id}"):
        following.OPENING_KEPT.keep(
            member.id, f"{story.id}{FIELD_SEPARATOR}1{FIELD_SEPARATOR}{FIELD_SEPARATOR}0"
        )
        assert following.open_story(member, other.id) == following.Unread(
            None, 0, 1
        )  # her first visit: no marker
    assert db.session.scalar(
        sa.select(StoryVisit.last_reply_id).where(
            StoryVisit.user_id == member.id, StoryVisit.story_id == other.id
        )
    )


def test_her_long_sign_in_statement_is_parsed_once_on_postgresql(app, db_url, thread):
    """psycopg parses a statement's placeholders and caches the result only up to a length (forum.database): the
    kept story page's one statement, her sign-in with the page's reads, is longer than psycopg's own limit, and is
    parsed at her first visit only."""
    if not db_url.startswith("postgresql"):
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL)")
    from psycopg import _queries

    story, _, _ = thread
    url = f"/stories/{story.id}"
    reader = signed_in_client(app, make_user(pseudonym="LongReader"))
    get(reader, url)
    get(reader, url)
    before = _queries._query2pg.cache_info()
    _, statements = get(reader, url)
    after = _queries._query2pg.cache_info()
    assert len(statements) == 1 and len(statements[0].encode()) > 4096  # over psycopg's default limit
    assert after.misses == before.misses and after.hits == before.hits + 1
