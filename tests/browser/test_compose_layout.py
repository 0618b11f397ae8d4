"""The compose page while typing: at 390 px "Others who felt this" sits right under the story box, before the
rest of the form; on a wide screen it is beside the form (left; the support card takes the right)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, no_horizontal_scroll

pytestmark = pytest.mark.browser


def test_similar_stories_are_visible_while_typing(live_app: Any, live_server: str, sign_in_page: Any) -> None:
    from forum.stories import services
    from tests import factories

    live_app.config["SIMILAR_EMBED_ON_WRITE"] = True
    live_app.extensions.pop("similar_index", None)
    try:
        with live_app.app_context():
            other = factories.make_user(pseudonym="SideBySide")
            services.publish_story(
                other,
                title="She clung to me at daycare",
                body="My daughter sobbed and held my legs at the daycare gate every morning.",
            )
        text = "He screamed DON'T LEAVE ME and the key worker had to peel him off me at nursery."
        for name, size in (("phone", PHONE), ("desktop", DESKTOP)):
            page = sign_in_page(f"Typing{name.title()}", size)
            page.goto(f"{live_server}/stories/new")
            page.fill("#body", text)
            page.wait_for_selector(".compose-similar:not([hidden]) >> text=She clung to me", timeout=15_000)
            panel = page.locator(".compose-similar").bounding_box()
            body = page.locator("#body").bounding_box()
            tags = page.locator("#tags").bounding_box()
            if name == "phone":
                assert body["y"] + body["height"] <= panel["y"] < tags["y"]  # under the box, before the rest
                assert no_horizontal_scroll(page)
            else:
                assert panel["x"] + panel["width"] <= body["x"]  # beside the form
                assert panel["y"] < body["y"] + body["height"]
    finally:
        live_app.config["SIMILAR_EMBED_ON_WRITE"] = False
        live_app.extensions.pop("similar_index", None)
