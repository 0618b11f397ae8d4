"""Learning from the community in a real browser: "This helped" on a story page's similar panel is recorded
without a reload, says so to screen readers, and is still there after a reload."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_this_helped_without_a_reload(live_app: Any, live_server: str, sign_in_page: Any) -> None:
    import sqlalchemy as sa

    from forum.extensions import db
    from forum.models import SimilarSignal
    from tests import factories
    from tests.test_similar_feedback import _publish

    live_app.extensions.pop("similar_index", None)
    with live_app.app_context():
        writer, other = factories.make_user(pseudonym="DoorMum"), factories.make_user(pseudonym="GateDad")
        source_id = _publish(writer, "Clinging at the nursery door", 1).id
        _publish(other, "She held my legs at the gate", 2)
    page = sign_in_page("Reader")
    page.goto(f"{live_server}/stories/{source_id}")
    item = page.locator(".similar-item", has_text="She held my legs at the gate")
    helped = item.get_by_role("button", name="This helped")
    page.evaluate("window.__same_page = true")  # gone if the click reloaded the page
    helped.click()
    item.locator("button[data-verdict=helped][aria-pressed=true]").wait_for()
    assert "Only you can see this" in item.get_by_role("status").inner_text()
    assert page.evaluate("window.__same_page === true")
    page.reload()
    item.locator("button[data-verdict=helped][aria-pressed=true]").wait_for()
    with live_app.app_context():
        assert db.session.scalars(sa.select(SimilarSignal.verdict)).all() == ["helped"]
    live_app.extensions.pop("similar_index", None)
