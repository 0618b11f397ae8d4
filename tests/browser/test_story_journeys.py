"""Story journeys in headless Chromium at phone size: post with hashtags, survive an expired token, reply,
react, update."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import no_horizontal_scroll

pytestmark = pytest.mark.browser
BODY = "Left him sobbing at nursery this morning. I cried in the car park. #nurseryguilt #dropoffguilt #mum#mumlife"


def test_post_with_hashtags_after_an_expired_token_then_reply_react_and_update(
    live_server: str, sign_in_page: Any, tmp_path: Path
) -> None:
    base = live_server
    mum = sign_in_page("CarParkMum")
    mum.goto(base + "/stories/new")
    assert no_horizontal_scroll(mum)
    mum.fill("#title", "First week at nursery")
    mum.fill("#body", BODY)
    mum.fill("#tags", "toddler")
    # The security token expires while she writes: nothing she typed may be lost.
    mum.evaluate("document.querySelector('form.story-form input[name=csrf_token]').value = 'expired'")
    mum.click("text=Post story")
    mum.wait_for_selector("text=security check expired")
    assert mum.input_value("#body") == BODY and mum.input_value("#title") == "First week at nursery"
    mum.click("text=Post story")
    mum.wait_for_selector("text=Thank you for sharing")
    for tag in ("nurseryguilt", "dropoffguilt", "mum", "mumlife", "toddler"):
        assert mum.locator(f"a.tag[href='/tags/{tag}']").count() == 1
    # A posted story leaves no draft behind under any member's key.
    assert mum.evaluate("Object.keys(localStorage).filter(k => k.endsWith(':story'))") == []
    story_url = mum.url.split("?")[0]

    dad = sign_in_page("BeenThereDad")
    dad.goto(story_url)
    dad.click("button.chip:has-text('What helped you?')")
    dad.type("#body", "a very short goodbye and a wave at the window.")
    dad.click("text=Post reply")
    dad.wait_for_selector("article.reply:has-text('a very short goodbye')")
    assert no_horizontal_scroll(dad)

    # Reacting with JavaScript: the count changes without a page load.
    dad.evaluate("window.__sameDocument = true")
    dad.click("#reactions-story-1 button[data-kind=hugs]")
    dad.wait_for_selector("#reactions-story-1 button[data-kind=hugs][aria-pressed=true]")
    assert dad.evaluate("window.__sameDocument") is True
    assert dad.locator("#reactions-story-1").inner_text().count("1 parent sent hugs") == 1
    # One form holds the four buttons: a second kind, then hugs taken back, each button sending its own state.
    dad.click("#reactions-story-1 button[data-kind=me-too]")
    dad.wait_for_selector("#reactions-story-1 button[data-kind=me-too][aria-pressed=true]")
    dad.click("#reactions-story-1 button[data-kind=hugs]")
    dad.wait_for_selector("#reactions-story-1 button[data-kind=hugs][aria-pressed=false]")
    assert dad.evaluate("window.__sameDocument") is True
    after = dad.locator("#reactions-story-1").inner_text()
    assert "sent hugs" not in after and "1 parent" in after
    dad.reload()
    assert dad.get_attribute("#reactions-story-1 button[data-kind=me-too]", "aria-pressed") == "true"
    assert dad.get_attribute("#reactions-story-1 button[data-kind=hugs]", "aria-pressed") == "false"

    mum.goto(story_url)
    mum.click("text=Add an update")
    mum.check("text=Still hard")
    mum.fill("#body", "Two weeks on, mornings are still hard, but he smiles at pick-up.")
    mum.click("text=Add update")
    mum.wait_for_selector(".update .outcome-badge:has-text('Still hard')")
    mum.screenshot(path=str(tmp_path / "story-phone.png"), full_page=True)
    assert no_horizontal_scroll(mum)

    # Blocking from a reply: its button sends the page's one hidden form (one CSRF token for the page) to the
    # reply's own block address.
    mum.goto(story_url)
    assert mum.locator("form[action*='/care/block/']").count() == 1  # the hidden one, whatever the replies
    mum.click("article.reply:has-text('a very short goodbye') button:has-text('Block this member')")
    mum.wait_for_selector("text=Blocked. You won't see each other's stories")
    mum.goto(story_url)
    assert mum.locator("article.reply:has-text('a very short goodbye')").count() == 0
