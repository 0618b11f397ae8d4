"""Every status change of a story, reply or update, seen afterwards by a visitor (through the page cache), a
member, the author and a moderator on every surface; and the counters the lifecycle keeps by increments."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

import numpy as np
import pytest
import sqlalchemy as sa
from flask import Flask
from flask.testing import FlaskClient
from flask_caching.backends.simplecache import SimpleCache

from forum.auth.services import erase_account
from forum.care import services as care
from forum.extensions import cache, db
from forum.models import AuditEntry, CarePhrase, Status, Story, SupportResource, Tag, User
from forum.moderation import services as moderation
from forum.moderation.targets import target_of
from forum.similar import engine, store
from forum.stories import services
from tests.factories import login, make_user

TITLE = "Harbour of small hands"
TAG = "harbourtag"
WORD = "zephyrine"
REPLY_TEXT = "Sending you strength, quillwort mornings pass."
UPDATE_TEXT = "A month on: kestrelwise, she walks in smiling now."


@pytest.fixture
def page_cache(app: Flask) -> Iterator[SimpleCache]:
    """A real (in-process) cache in place of the tests' NullCache, so visitors get cached pages."""
    original = app.extensions["cache"][cache]
    backend = SimpleCache(default_timeout=300)
    app.extensions["cache"][cache] = backend
    app.extensions.pop("similar_index", None)
    yield backend
    app.extensions["cache"][cache] = original
    app.extensions.pop("similar_index", None)


@dataclass
class World:
    app: Flask
    author: User
    member: User
    moderator: User
    second_moderator: User
    probe: Story
    story: Story | None = None

    def client(self, who: str) -> FlaskClient:
        """A client for a viewer: a visitor has no cookies at all (so the page cache serves them)."""
        client = self.app.test_client()
        if who != "visitor":
            login(client, getattr(self, who))
        return client


def _vector() -> bytes:
    vector = np.random.default_rng(7).standard_normal(store.current_model().dimensions).astype(np.float32)
    return engine.to_bytes(vector / np.linalg.norm(vector))


@pytest.fixture
def world(app: Flask, page_cache: SimpleCache) -> World:
    author = make_user(pseudonym="HarbourMum")
    other = make_user(pseudonym="ProbeDad")
    probe = services.publish_story(
        other, title="A probe story", body="Another story about the mornings at the nursery gate."
    )
    probe.embedding = _vector()
    db.session.commit()
    return World(
        app,
        author,
        make_user(pseudonym="ReadingMember"),
        make_user(pseudonym="KindModerator", role="moderator"),
        make_user(pseudonym="SecondModerator", role="moderator"),
        probe,
    )


def _post_story(w: World) -> Story:
    story = services.publish_story(
        w.author, title=TITLE, body=f"Every morning at the gate she cries, {WORD} and all.", tags=TAG
    )
    story.embedding = _vector()
    db.session.commit()
    return story


def _surfaces(w: World, story_id: int) -> dict[str, str]:
    return {
        "story page": f"/stories/{story_id}",
        "home": "/",
        "newest": "/?sort=newest",
        "active": "/?sort=active",
        "needs support": "/?sort=needs-support",
        "tag page": f"/tags/{TAG}",
        "search": f"/search?q={WORD}",
        "api list": "/api/stories",
        "api story": f"/api/stories/{story_id}",
        "similar api": f"/api/stories/{w.probe.id}/similar",
        "atom feed": "/feeds/stories.atom",
        "tag atom feed": f"/feeds/tags/{TAG}.atom",
    }


def _shows(client: FlaskClient, url: str, text: str) -> bool:
    response = client.get(url)
    assert response.status_code in (200, 404), (url, response.status_code)
    return text in response.get_data(as_text=True)


def _report_three_times(w: World, item: object) -> None:
    for _ in range(3):
        moderation.report(make_user(), target_of(item), reason="unkind")  # type: ignore[arg-type]


def _appeal_and_restore(w: World, item: object) -> None:
    target = target_of(item)  # type: ignore[arg-type]
    entry = moderation.appeal(w.author, target, "Please look again: this was about my own child.")
    moderation.decide_appeal(w.second_moderator, entry, target, restore=True)


def _hold_first_posts(w: World) -> None:
    moderation.set_setting(w.moderator, "approve_first_posts", "1")


def _remove(w: World, item: object) -> None:
    moderation.act_on_item(w.moderator, target_of(item), "remove", reason="unkind")  # type: ignore[arg-type]


@dataclass
class StoryCase:
    name: str
    before: Callable[[World], Story]  # the story as it stands when visitors fill the cache
    act: Callable[[World, Story], None]
    status: str
    account_gone: bool = False

    def __str__(self) -> str:
        return self.name


def _published(w: World) -> Story:
    return _post_story(w)


def _removed(w: World) -> Story:
    story = _post_story(w)
    _remove(w, story)
    return story


def _auto_hidden(w: World) -> Story:
    story = _post_story(w)
    _report_three_times(w, story)
    return story


def _held(w: World) -> Story:
    _hold_first_posts(w)
    return _post_story(w)


def _edit_into_hold(w: World, story: Story) -> None:
    from forum.models import WatchedWord

    db.session.add(WatchedWord(phrase="brambleshade", action="hold"))
    db.session.commit()
    services.edit_story(w.author, story, title=TITLE, body=f"{story.body} brambleshade", tags=TAG)


STORY_CASES = [
    StoryCase("held for approval by an edit", _published, _edit_into_hold, "pending"),
    StoryCase("auto-hidden by three reports", _published, lambda w, s: _report_three_times(w, s), "hidden"),
    StoryCase(
        "hidden by a moderator",
        _published,
        lambda w, s: moderation.act_on_item(w.moderator, target_of(s), "hide"),
        "hidden",
    ),
    StoryCase("removed by a moderator", _published, lambda w, s: _remove(w, s), "removed"),
    StoryCase(
        "deleted by its author", _published, lambda w, s: services.delete_story(w.author, s), "deleted"
    ),
    StoryCase(
        "account deleted, removing everything",
        _published,
        lambda w, s: erase_account(w.author, keep_stories=False),
        "deleted",
        account_gone=True,
    ),
    StoryCase("restored after an appeal", _removed, lambda w, s: _appeal_and_restore(w, s), "published"),
    StoryCase(
        "reports dismissed after an auto-hide",
        _auto_hidden,
        lambda w, s: moderation.act_on_item(w.moderator, target_of(s), "dismiss"),
        "published",
    ),
    StoryCase(
        "approved after being held",
        _held,
        lambda w, s: moderation.act_on_item(w.moderator, target_of(s), "approve"),
        "published",
    ),
]
VIEWERS = ["visitor", "member", "author", "moderator"]


@pytest.mark.parametrize("viewer", VIEWERS)
@pytest.mark.parametrize("case", STORY_CASES, ids=str)
def test_a_story_status_change_shows_on_every_surface(world: World, case: StoryCase, viewer: str) -> None:
    story = case.before(world)
    story_id = story.id
    surfaces = _surfaces(world, story_id)
    visitor = world.client("visitor")
    # Visitors fill the page cache with every surface as it stands before the change.
    for url in surfaces.values():
        visitor.get(url)
    assert visitor.get("/").headers.get("X-Cache") == "hit"

    case.act(world, story)
    db.session.expire_all()
    assert db.session.get(Story, story_id).status == case.status  # type: ignore[union-attr]

    client = visitor if viewer == "visitor" else world.client(viewer)
    if viewer == "author" and case.account_gone:
        client = world.app.test_client()
    live = case.status == Status.PUBLISHED.value
    for surface, url in surfaces.items():
        if surface == "similar api" and viewer == "author":
            continue  # "you're not alone" never shows a member her own stories
        expected = live
        if surface == "story page" and viewer in ("author", "moderator") and not case.account_gone:
            expected = case.status != Status.DELETED.value
        assert _shows(client, url, TITLE) is expected, f"{viewer} on the {surface} after: {case}"

    count = db.session.scalar(sa.select(Tag.story_count).where(Tag.name == TAG))
    assert (count or 0) == (1 if live else 0)  # (a tag only an erased account used is gone)


@dataclass
class ReplyCase:
    name: str
    act: Callable[[World, Story], object]  # returns the reply
    visible: bool

    def __str__(self) -> str:
        return self.name


def _reply(w: World, story: Story) -> object:
    return services.add_reply(w.member, story, body=REPLY_TEXT)


def _approve_held_reply(w: World, story: Story) -> object:
    _hold_first_posts(w)
    newcomer = make_user(pseudonym="NewParent")
    reply = services.add_reply(newcomer, story, body=REPLY_TEXT)
    assert reply.status == Status.PENDING.value
    w.member = newcomer
    _warm(w, story)
    moderation.act_on_item(w.moderator, target_of(reply), "approve")
    return reply


def _then(act: Callable[[World, object], None]) -> Callable[[World, Story], object]:
    def run(w: World, story: Story) -> object:
        reply = _reply(w, story)
        _warm(w, story)
        act(w, reply)
        return reply

    return run


def _removed_then_restored(w: World, story: Story) -> object:
    reply = services.add_reply(w.member, story, body=REPLY_TEXT)
    _remove(w, reply)
    _warm(w, story)
    target = target_of(reply)
    entry = moderation.appeal(w.member, target, "Please look again at my reply, it was kind.")
    moderation.decide_appeal(w.second_moderator, entry, target, restore=True)
    return reply


def _warm(w: World, story: Story) -> None:
    visitor = w.client("visitor")
    for url in (f"/stories/{story.id}", f"/api/stories/{story.id}", "/?sort=needs-support", "/api/stories"):
        visitor.get(url)


REPLY_CASES = [
    ReplyCase("a held reply approved", _approve_held_reply, True),
    ReplyCase(
        "a reply removed by a moderator",
        _then(lambda w, r: _remove(w, r)),
        False,
    ),
    ReplyCase("a reply auto-hidden by reports", _then(_report_three_times), False),
    ReplyCase(
        "a reply deleted by its author",
        _then(lambda w, r: services.delete_reply(r.author, r)),  # type: ignore[attr-defined]
        False,
    ),
    ReplyCase("a reply restored after an appeal", _removed_then_restored, True),
]


@pytest.mark.parametrize("case", REPLY_CASES, ids=str)
def test_a_reply_status_change_moves_the_count_and_needs_support(world: World, case: ReplyCase) -> None:
    story = _post_story(world)
    story_id = story.id
    case.act(world, story)
    db.session.expire_all()
    story = db.session.get(Story, story_id)  # type: ignore[assignment]
    assert story.reply_count == (1 if case.visible else 0)
    reader = world.app.test_client()
    login(reader, make_user(pseudonym="JustReading"))
    for client in (world.client("visitor"), reader):
        assert _shows(client, f"/stories/{story_id}", REPLY_TEXT) is case.visible
        assert _shows(client, f"/stories/{story_id}/replies.atom", REPLY_TEXT) is case.visible
        data = client.get(f"/api/stories/{story_id}").get_json()
        assert data["reply_count"] == (1 if case.visible else 0)
        assert [r["body"] for r in data["replies"]] == ([REPLY_TEXT] if case.visible else [])
        # "Needs support" lists stories nobody has answered yet.
        assert _shows(client, "/?sort=needs-support", TITLE) is not case.visible
        listed = {s["id"]: s for s in client.get("/api/stories").get_json()["stories"]}
        assert listed[story_id]["reply_count"] == (1 if case.visible else 0)


@pytest.mark.parametrize("action", ["lock", "unlock"])
def test_locking_reaches_visitors_through_the_page_cache(world: World, action: str) -> None:
    story = _post_story(world)
    if action == "unlock":
        moderation.act_on_item(world.moderator, target_of(story), "lock")
    visitor = world.client("visitor")
    before = visitor.get(f"/stories/{story.id}").get_data(as_text=True)
    assert visitor.get(f"/stories/{story.id}").headers.get("X-Cache") == "hit"
    moderation.act_on_item(world.moderator, target_of(story), action)
    after = visitor.get(f"/stories/{story.id}").get_data(as_text=True)
    assert after != before
    assert ("your words could help" in after) is (action == "unlock")


def test_an_approved_reply_tells_the_story_author(world: World) -> None:
    story = _post_story(world)
    _approve_held_reply(world, story)
    notes = world.client("author").get("/notifications").get_data(as_text=True)
    assert "NewParent</strong> replied" in notes


def test_removing_an_update_takes_it_off_every_surface(world: World) -> None:
    story = _post_story(world)
    update = services.add_update(world.author, story, body=UPDATE_TEXT, outcome="better")
    visitor = world.client("visitor")
    assert _shows(visitor, f"/stories/{story.id}", UPDATE_TEXT)
    assert _shows(visitor, "/?updates=1", TITLE)
    assert visitor.get(f"/api/stories/{story.id}").get_json()["update_count"] == 1
    _remove(world, update)
    assert not _shows(visitor, f"/stories/{story.id}", UPDATE_TEXT)
    assert not _shows(visitor, "/?updates=1", TITLE)
    data = visitor.get(f"/api/stories/{story.id}").get_json()
    assert data["update_count"] == 0 and data["latest_outcome"] is None and data["updates"] == []
    assert _shows(world.client("author"), f"/stories/{story.id}", UPDATE_TEXT)  # she still sees her own


def test_tag_counts_follow_edits_of_a_published_story_only(world: World) -> None:
    story = _post_story(world)
    services.edit_story(world.author, story, title=TITLE, body=story.body, tags="othertag")
    counts = dict(db.session.execute(sa.select(Tag.name, Tag.story_count)).all())
    assert counts[TAG] == 0 and counts["othertag"] == 1
    _remove(world, story)
    moderation.edit_title_and_tags(world.moderator, story, title=TITLE, tags=f"{TAG} thirdtag")
    counts = dict(db.session.execute(sa.select(Tag.name, Tag.story_count)).all())
    assert counts == {TAG: 0, "othertag": 0, "thirdtag": 0}


def test_one_signal_after_the_commit_with_every_change(world: World) -> None:
    """A story deleted with its replies: one announcement naming the story and each reply, sent once the
    transaction is committed (a listener reading the database sees the new state)."""
    from forum.stories import hooks

    story = _post_story(world)
    replies = [services.add_reply(world.member, story, body=f"{REPLY_TEXT} {n}") for n in range(2)]
    seen: list[tuple[tuple[str, str | None, str], ...]] = []

    def listener(_sender: object, changes: tuple[hooks.Change, ...] = (), **_extra: object) -> None:
        committed = db.session.scalar(sa.select(Story.status).where(Story.id == story.id))
        assert committed == Status.DELETED.value
        seen.append(tuple((type(c.item).__name__, c.before, c.after) for c in changes))

    with hooks.post_visibility_changed.connected_to(listener):
        services.delete_story(world.author, story, remove_everything=True)
    assert seen == [
        (
            ("Story", "published", "deleted"),
            ("Reply", "published", "deleted"),
            ("Reply", "published", "deleted"),
        )
    ]
    assert db.session.get(Story, story.id).reply_count == 0  # type: ignore[union-attr]
    assert all(r.status == Status.DELETED.value for r in replies)


def test_nothing_is_announced_for_a_rolled_back_change(world: World) -> None:
    from forum.stories import hooks, lifecycle

    story = _post_story(world)
    lifecycle.set_status(story, Status.HIDDEN.value)
    db.session.rollback()
    seen: list[object] = []
    with hooks.post_visibility_changed.connected_to(lambda *_a, **k: seen.append(k)):
        lifecycle.commit()
    assert seen == []
    assert db.session.scalar(sa.select(Tag.story_count).where(Tag.name == TAG)) == 1


# Care admin edits: services, audited, one commit each.


def test_care_admin_edits_are_audited(client: FlaskClient, admin: User) -> None:
    login(client, admin)
    fields = {
        "new-name": "Night Line",
        "new-helps_with": "Parents awake at 3am",
        "new-phone": "0800 000 000",
        "new-url": "",
        "new-hours": "Nights",
        "new-region": "UK",
        "new-position": "3",
    }
    assert client.post("/admin/care/resources", data=fields).status_code == 302
    resource = db.session.scalar(sa.select(SupportResource).where(SupportResource.name == "Night Line"))
    assert resource is not None and resource.needs_check and resource.position == 3
    edit = {key.removeprefix("new-"): value for key, value in fields.items()} | {
        "name": "Night Line Plus",
        "checked": "y",
    }
    assert client.post(f"/admin/care/resources/{resource.id}", data=edit).status_code == 302
    client.post("/admin/care/phrases", data={"phrase": "  Cannot   Go On  "})
    phrase = db.session.scalar(sa.select(CarePhrase))
    assert phrase is not None and phrase.phrase == "cannot go on"
    client.post(f"/admin/care/phrases/{phrase.id}/delete")
    client.post(f"/admin/care/resources/{resource.id}/delete")
    actions = db.session.execute(
        sa.select(AuditEntry.action, AuditEntry.actor_id, AuditEntry.reason).order_by(AuditEntry.id)
    ).all()
    assert [a for a, _, _ in actions] == [
        "care-resource-add",
        "care-resource-edit",
        "care-phrase-add",
        "care-phrase-delete",
        "care-resource-delete",
    ]
    assert {actor for _, actor, _ in actions} == {admin.id}
    assert "Night Line Plus" in actions[1][2] and actions[2][2] == "cannot go on"
    assert db.session.get(SupportResource, resource.id) is None


def test_care_admin_services_refuse_members(member: User) -> None:
    from forum.errors import NotAllowed

    with pytest.raises(NotAllowed):
        care.add_phrase(member, "a phrase")
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CarePhrase)) == 0


def test_a_care_card_and_its_welfare_flag_are_one_transaction(
    app: Flask, member: User, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The care job records the card, the count and the welfare report; the worker commits them with the
    job's end, in one commit."""
    from forum.models import CareCard, Flag

    commits: list[int] = []
    sa.event.listen(db.session(), "after_commit", lambda _s: commits.append(1))
    story = services.publish_story(
        member, title="Tonight", body="I can't go on like this, I want to disappear."
    )
    with monkeypatch.context() as patch:
        patch.setitem(app.config, "CARE_CHECK_ON_WRITE", True)
        commits.clear()
        care.check_post(story)
        db.session.commit()
    assert commits == [1]
    assert db.session.scalar(sa.select(sa.func.count()).select_from(CareCard)) == 1
    assert db.session.scalar(sa.select(Flag.reason)) == "at-risk"


# Counters under concurrency (PostgreSQL: SQLite has one writer at a time).


def _wait_for_a_lock_wait(app: Flask, timeout: float = 10.0) -> bool:
    """True once some connection of this database waits for a row lock (the second post's count)."""
    import time

    deadline = time.monotonic() + timeout
    with db.engine.connect() as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.scalar(
                sa.text(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE wait_event_type = 'Lock' AND datname = current_database()"
                )
            )
            watcher.rollback()
            if waiting:
                return True
            time.sleep(0.02)
    return False


def test_two_concurrent_posts_with_one_tag_both_count(app: Flask) -> None:
    """Both transactions insert a story with the same tag before either commits; the second's count waits
    for the first's row lock and then adds to the committed value: 2. (A recount would see its statement's
    snapshot, without the other story, and leave 1.)"""
    import threading

    from forum.stories import lifecycle

    if db.engine.dialect.name != "postgresql":
        pytest.skip("needs PostgreSQL (TEST_DATABASE_URL): SQLite never runs two writers at once")
    authors = [make_user().id, make_user().id]
    tag = Tag(name="together")
    db.session.add(tag)
    db.session.commit()
    tag_id = tag.id
    both_inserted = threading.Barrier(2, timeout=10)
    first_counted = threading.Event()
    errors: list[BaseException] = []

    def post(author_id: int, first: bool) -> None:
        try:
            with app.app_context():
                story = Story(author_id=author_id, body="Posted at the same moment.", body_html="")
                story.tags = [db.session.get(Tag, tag_id)]  # type: ignore[list-item]
                db.session.add(story)
                db.session.flush()
                both_inserted.wait()
                if first:
                    lifecycle.published(story)
                    first_counted.set()
                    assert _wait_for_a_lock_wait(app), "the second count never waited for the first"
                else:
                    assert first_counted.wait(10)
                    lifecycle.published(story)  # blocks until the first commits
                lifecycle.commit()
                db.session.remove()
        except BaseException as error:  # noqa: BLE001 - reported by the test below
            errors.append(error)
            first_counted.set()

    threads = [threading.Thread(target=post, args=(a, n == 0)) for n, a in enumerate(authors)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert not errors, errors
    db.session.expire_all()
    assert (
        db.session.scalar(sa.select(sa.func.count()).select_from(Story).where(Story.author_id.in_(authors)))
        == 2
    )
    assert db.session.get(Tag, tag_id).story_count == 2  # type: ignore[union-attr]
