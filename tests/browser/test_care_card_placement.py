"""The support card is seen: while writing on a phone it appears right under the story box, inside the
viewport, in a polite live region, and the writer can still post (issue 15, item 6)."""

from __future__ import annotations

import re
from typing import Any

import pytest

from tests.browser.conftest import DESKTOP, PHONE, no_horizontal_scroll

pytestmark = pytest.mark.browser
RISKY = (
    "Since the baby came I feel nothing at all and I can't see a way out of this. "
    "I keep thinking they'd be better off without me."
)
NEAR = 80  # px from the textarea's bottom to the card's top (the counter line may sit between)


def _write_and_wait(page: Any, base: str) -> tuple[dict[str, float], dict[str, float]]:
    page.goto(f"{base}/stories/new")
    page.fill("#title", "Three weeks in")
    page.locator("#body").click()
    page.keyboard.type(RISKY, delay=1)
    page.wait_for_selector(
        ".care-card:not([hidden]) >> text=You don't have to face this alone", timeout=20_000
    )
    return page.locator("#body").bounding_box(), page.locator(".care-card").bounding_box()


def test_on_a_phone_the_card_appears_right_under_the_story_box(live_server: str, sign_in_page: Any) -> None:
    page = sign_in_page("QuietPhoneMum", PHONE)
    assert page.viewport_size["width"] == 390
    area, card = _write_and_wait(page, live_server)
    # Just below the textarea, as wide as the column, not below the whole form.
    assert 0 <= card["y"] - (area["y"] + area["height"]) <= NEAR
    assert card["x"] >= 0 and card["x"] + card["width"] <= 390
    button = page.get_by_role("button", name="Post story").bounding_box()
    assert card["y"] < button["y"], "the card is above the rest of the form, not after it"
    # Within the viewport where the writer is typing: its top is on screen without scrolling.
    scroll = page.evaluate("window.scrollY")
    assert area["y"] - scroll < 844 and 0 <= card["y"] - scroll < 844
    live = page.locator(".care-slot")
    assert live.get_attribute("aria-live") == "polite"
    assert live.locator(".care-card").count() == 1
    # It never blocks posting: focus stayed in the story box, and the story can be posted with the card open.
    assert page.evaluate("document.activeElement.id") == "body"
    page.get_by_role("button", name="Post story").click()
    page.wait_for_url(re.compile(r"/stories/\d+"))
    assert "Three weeks in" in page.locator("h1").inner_text()


def test_on_a_wide_screen_the_card_sits_beside_the_story_box(live_server: str, sign_in_page: Any) -> None:
    page = sign_in_page("QuietDesktopMum", DESKTOP)
    area, card = _write_and_wait(page, live_server)
    assert card["x"] >= area["x"] + area["width"], "beside the story box"
    assert card["x"] + card["width"] <= DESKTOP["viewport"]["width"]
    # Level with the story box: it starts at the box's label and overlaps the box itself.
    field = page.locator(".compose-body").bounding_box()
    assert abs(card["y"] - field["y"]) <= 2
    assert card["y"] < area["y"] + area["height"] and card["y"] + card["height"] > area["y"]
    assert no_horizontal_scroll(page)
