"""The support card reaches the page the writer lands on after posting, even when only the classifier (which
runs in the care.check background job) flags her post: the page asks a small JSON endpoint for a few seconds."""

from __future__ import annotations

import pytest

from forum.care import services as care_services
from forum.care.detector import CareResult
from forum.jobs.worker import work_due
from forum.stories import services
from tests.factories import signed_in_client

# No reviewed crisis phrase here: only the (stand-in) classifier flags it, so the card waits for the job.
QUIET = "Another night awake with the baby. Everything feels grey and heavy and I don't talk to anyone now."
CARD_TEXT = "have to face this alone"
NO_CARD = {"card": False, "pending": False}


@pytest.fixture(autouse=True)
def classifier_only(app, monkeypatch):
    monkeypatch.setitem(app.config, "CARE_CHECK_ON_WRITE", True)
    monkeypatch.setitem(app.config, "JOBS_INLINE", False)  # the check waits for the worker, as in production
    monkeypatch.setattr(care_services, "check", lambda text: CareResult(True, 0.7, ["classifier"]))


def _card_url(kind: str, item_id: int) -> str:
    return f"/care/posts/{kind}/{item_id}/card"


def test_story_landing_page_waits_for_the_check_then_the_card_arrives(app, member):
    story = services.publish_story(member, title="Grey", body=QUIET, anonymous=True)
    writer = signed_in_client(app, member)
    page = writer.get(f"/stories/{story.id}?posted=1").get_data(as_text=True)
    assert CARD_TEXT not in page
    assert 'role="status" aria-live="polite" data-care-watch="' + _card_url("story", story.id) in page
    pending = writer.get(_card_url("story", story.id))
    assert pending.get_json() == {"card": False, "pending": True}
    assert "no-store" in pending.headers["Cache-Control"]

    assert work_due().done >= 1
    answer = writer.get(_card_url("story", story.id)).get_json()
    assert answer["card"] is True and CARD_TEXT in answer["html"] and "Close this" in answer["html"]
    # The check is done: the landing page shows the card itself and no longer waits.
    page = writer.get(f"/stories/{story.id}?posted=1").get_data(as_text=True)
    assert CARD_TEXT in page and "data-care-watch" not in page


def test_nobody_else_learns_whether_a_post_raised_the_card(app, client, member, other_member, moderator):
    story = services.publish_story(member, title="Grey", body=QUIET, anonymous=True)
    reply = services.add_reply(
        member, services.publish_story(other_member, body="An ordinary day at the nursery gate."), body=QUIET
    )
    others = [client, signed_in_client(app, other_member), signed_in_client(app, moderator)]
    for stage in ("pending", "checked"):
        for kind, item_id in (("story", story.id), ("reply", reply.id)):
            for someone in others:
                response = someone.get(_card_url(kind, item_id))
                assert response.status_code == 200 and response.get_json() == NO_CARD, (stage, kind)
            assert "data-care-watch" not in someone.get(f"/stories/{story.id}?posted=1").get_data(
                as_text=True
            )
        work_due()
    # The writer's own checked post with no card answers the very same.
    ordinary = services.publish_story(member, body="We had a lovely walk to the park today.")
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(care_services, "check", lambda text: CareResult(False, 0.1, []))
        work_due()
    assert signed_in_client(app, member).get(_card_url("story", ordinary.id)).get_json() == NO_CARD


def test_reply_landing_page_watches_at_the_top_of_her_reply(app, member, other_member):
    story = services.publish_story(
        other_member, title="Ordinary", body="An ordinary hard morning at nursery."
    )
    reply = services.add_reply(member, story, body=QUIET)
    writer = signed_in_client(app, member)
    page = writer.get(f"/stories/{story.id}?sent={reply.id}").get_data(as_text=True)
    article = page.index(f'id="reply-{reply.id}"')
    watch = page.index('data-care-watch="' + _card_url("reply", reply.id))
    assert article < watch < page.index("reply-body", article), "inside her reply, above its text"
    assert writer.get(_card_url("reply", reply.id)).get_json() == {"card": False, "pending": True}
    work_due()
    answer = writer.get(_card_url("reply", reply.id)).get_json()
    assert answer["card"] is True and CARD_TEXT in answer["html"]
