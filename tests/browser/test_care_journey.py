"""Gentle signposting in a real browser: the card appears while writing, and after posting for the writer only."""

from __future__ import annotations

from typing import Any

import pytest

pytestmark = pytest.mark.browser
CRISIS = "Since the baby came I feel nothing at all. I keep thinking they'd be better off without me."


def test_card_while_writing_and_for_the_writer_only(
    live_app: Any, live_server: str, sign_in_page: Any
) -> None:
    live_app.config["CARE_CHECK_ON_WRITE"] = True
    try:
        writer = sign_in_page("QuietMum")
        writer.goto(f"{live_server}/stories/new")
        writer.fill("#body", CRISIS)
        writer.wait_for_selector(
            ".care-card:not([hidden]) >> text=You don't have to face this alone", timeout=15_000
        )
        writer.click("text=Post story")
        writer.wait_for_selector("text=Thank you for sharing")
        assert "Samaritans" in writer.locator("aside.care-card").inner_text()
        story_url = writer.url.split("?")[0]
        other = sign_in_page("OtherParent")
        other.goto(story_url)
        other.wait_for_selector("text=Thank you for sharing", state="detached")
        assert other.locator("aside.care-card").count() == 0
    finally:
        live_app.config["CARE_CHECK_ON_WRITE"] = False


def test_privacy_note_under_the_editor(live_server: str, sign_in_page: Any) -> None:
    page = sign_in_page("NamingMum")
    page.goto(f"{live_server}/stories/new")
    page.fill("#body", "Oliver Bennett cried all morning at Little Acorns Nursery and I felt awful.")
    page.wait_for_selector(".privacy-note:not([hidden])")
    page.fill("#body", "He cried all morning at nursery and I felt awful about it.")
    page.wait_for_selector(".privacy-note[hidden]", state="attached")
