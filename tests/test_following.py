"""Following stories and tags, the Following feed, "My stories" with new replies, and the unread marker."""

from __future__ import annotations

import sqlalchemy as sa

from forum.extensions import db
from forum.models import Follow
from forum.notifications.mail import prefs as P
from tests import factories


def follows(user) -> list[tuple[int | None, int | None]]:  # noqa: ANN001
    return list(
        db.session.execute(sa.select(Follow.story_id, Follow.tag_id).where(Follow.user_id == user.id))
    )


def test_follow_and_unfollow_a_story_and_a_tag_from_their_pages(app, member, other_member):
    story = factories.make_story(other_member, title="Night feeds", tags="sleep")
    c = factories.signed_in_client(app, member)
    page = c.get(f"/stories/{story.id}").text
    assert "Follow this story" in page
    assert c.post(f"/stories/{story.id}/follow", data={"on": "1"}).status_code == 302
    assert follows(member) == [(story.id, None)]
    assert "Following this story" in c.get(f"/stories/{story.id}").text
    c.post(f"/stories/{story.id}/follow", data={"on": "1"})  # the same tap twice: still one follow
    assert len(follows(member)) == 1
    c.post(f"/stories/{story.id}/follow", data={"on": "0"})
    assert follows(member) == []
    assert "Follow #sleep" in c.get("/tags/sleep").text
    c.post("/tags/sleep/follow", data={"on": "1"})
    assert follows(member)[0][1] is not None
    assert c.post("/tags/nosuch/follow", data={"on": "1"}).status_code == 404
    assert (
        app.test_client().post(f"/stories/{story.id}/follow", data={"on": "1"}).status_code == 302
    )  # sign in


def test_replying_follows_the_story_unless_turned_off(app, member, other_member):
    story = factories.make_story(other_member, title="Tantrums")
    factories.make_reply(member, story, body="We count to ten together.")
    assert follows(member) == [(story.id, None)]
    prefs = P.get_for_update(member.id)
    prefs.follow_replied = False
    db.session.commit()
    second = factories.make_story(
        other_member, title="Biting", body="He bit another child at nursery today, mortified."
    )
    factories.make_reply(member, second, body="Ours did that too, it passed.")
    assert follows(member) == [(story.id, None)]


def test_the_following_feed_lists_followed_stories_and_tag_stories(app, member, other_member):
    followed = factories.make_story(other_member, title="Followed one")
    factories.make_story(
        other_member, title="Tagged one", tags="weaning", body="Weaning is going badly, any tips at all?"
    )
    factories.make_story(
        other_member, title="Unrelated", body="Something else entirely about the school run."
    )
    c = factories.signed_in_client(app, member)
    c.post(f"/stories/{followed.id}/follow", data={"on": "1"})
    c.post("/tags/weaning/follow", data={"on": "1"})
    page = c.get("/following").text
    assert "Followed one" in page and "Tagged one" in page and "Unrelated" not in page


def test_my_stories_counts_new_replies_and_the_story_marks_the_first_unread(app, member, other_member):
    story = factories.make_story(member, title="First week")
    c = factories.signed_in_client(app, member)
    c.get(f"/stories/{story.id}")  # she looks: nothing new yet
    first = factories.make_reply(other_member, story, body="Hang in there, it gets better.")
    factories.make_reply(other_member, story, body="And one more thing: bring a photo.")
    mine = c.get("/me").text
    assert "First week" in mine and "2 new" in mine
    page = c.get(f"/stories/{story.id}").text
    assert "Jump to 2 new replies" in page and f'href="/stories/{story.id}#reply-{first.id}"' in page
    marker = page.index('id="new-replies"')
    assert marker < page.index(f'id="reply-{first.id}"')
    again = c.get(f"/stories/{story.id}").text  # seen now
    assert 'id="new-replies"' not in again and "2 new" not in c.get("/me").text
    other = factories.signed_in_client(app, other_member)
    assert "First week" in other.get("/me").text  # stories she replied to


def test_unknown_hidden_and_hostile_targets_are_not_found(app, member, other_member):
    from forum.stories import lifecycle

    hidden = factories.make_story(
        other_member, title="Hidden", body="This one is hidden by the moderators now."
    )
    lifecycle.set_status(hidden, "hidden")
    lifecycle.commit()
    c = factories.signed_in_client(app, member)
    for path in (
        "/stories/999999/follow",
        f"/stories/{hidden.id}/follow",
        "/stories/99999999999/follow",
        "/tags/" + "x" * 5000 + "/follow",
        "/tags/%00/follow",
    ):
        assert c.post(path, data={"on": "1"}).status_code == 404, path
    assert follows(member) == []
    for path in (
        "/stories/99999999999/replies.atom",
        f"/stories/{hidden.id}/replies.atom",
        "/feeds/tags/%3Cx%3E.atom",
    ):
        assert c.get(path).status_code == 404, path
    assert c.get("/following?page=999999").status_code == 200
    story = factories.make_story(
        other_member, title="Open", body="A story that can be followed, for the redirect."
    )
    answer = c.post(f"/stories/{story.id}/follow", data={"on": "1", "next": "//evil.example/"})
    assert answer.status_code == 302 and answer.location.endswith(f"/stories/{story.id}")


def test_a_visit_that_cannot_be_saved_never_fails_the_story_page(app, member, other_member, monkeypatch):
    import sqlalchemy.exc

    from forum.following import services as following

    story = factories.make_story(other_member, title="Busy database", body="The page must open even so.")
    c = factories.signed_in_client(app, member)
    real = db.session.commit
    calls = []

    def busy() -> None:
        calls.append(1)
        if len(calls) == 1:
            raise sqlalchemy.exc.OperationalError("COMMIT", {}, Exception("database is locked"))
        real()

    monkeypatch.setattr(following.db.session, "commit", busy)
    page = c.get(f"/stories/{story.id}")
    assert page.status_code == 200 and "Busy database" in page.text
