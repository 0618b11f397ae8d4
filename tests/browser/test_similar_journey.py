"""You're not alone in a real browser: the compose panel after a pause, then the landing after posting."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser


def test_compose_panel_then_landing_leads_with_similar(
    live_app: Any, live_server: str, sign_in_page: Any
) -> None:
    from forum.stories import services
    from tests import factories

    live_app.config["SIMILAR_EMBED_ON_WRITE"] = True
    live_app.extensions.pop("similar_index", None)
    try:
        with live_app.app_context():
            other = factories.make_user(pseudonym="BeenThere")
            services.publish_story(
                other,
                title="She clung to me at daycare",
                body="My daughter sobbed and held my legs at the daycare gate every morning.",
            )
            services.publish_story(
                other, title="Potty training", body="Three days of puddles and no progress at all."
            )
        page = sign_in_page("CarParkMum")
        page.goto(f"{live_server}/stories/new")
        page.fill("#body", "He screamed DON'T LEAVE ME and the key worker had to peel him off me at nursery.")
        page.wait_for_selector(
            ".compose-similar:not([hidden]) >> text=She clung to me at daycare", timeout=15_000
        )
        page.click("text=Post story")
        page.wait_for_selector("text=Thank you for sharing")
        lead = page.locator("section.posted").inner_text()
        assert "not alone" in lead and "She clung to me at daycare" in lead
    finally:
        live_app.config["SIMILAR_EMBED_ON_WRITE"] = False
        live_app.extensions.pop("similar_index", None)
