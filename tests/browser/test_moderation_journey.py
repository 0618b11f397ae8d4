"""A member reports a post and a moderator clears it from the queue, at phone size."""

from __future__ import annotations

from typing import Any

import pytest

from forum.extensions import db
from forum.models import Status, Story
from tests.browser.conftest import no_horizontal_scroll

pytestmark = pytest.mark.browser


def test_report_then_remove_from_queue(live_app: Any, live_server: str, sign_in_page: Any) -> None:
    from forum.stories import services
    from tests import factories

    with live_app.app_context():
        author = factories.make_user(pseudonym="Writer")
        story_id = services.publish_story(
            author, title="Buy my course", body="Click my link to buy the best sleep course now!"
        ).id

    reader = sign_in_page("Reader")
    reader.goto(f"{live_server}/stories/{story_id}")
    reader.click("a.report-link")
    reader.check("text=Spam or advertising")
    reader.fill("#note", "Advertising a paid course.")
    reader.click("button:has-text('Send report')")
    reader.wait_for_selector("text=A moderator will look at this soon")

    moderator = sign_in_page("Mod", role="moderator")
    moderator.goto(f"{live_server}/moderation")
    assert no_horizontal_scroll(moderator)
    moderator.wait_for_selector("text=Advertising a paid course.")
    moderator.click("a:has-text('Open')")
    moderator.select_option("#reason", "spam")
    moderator.click("button[value=remove]")
    moderator.wait_for_selector("text=Done: remove")
    assert "The queue is clear" in moderator.content()
    with live_app.app_context():
        assert db.session.get(Story, story_id).status == Status.REMOVED.value
